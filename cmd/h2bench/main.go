// Command h2bench measures one benchmark workload (json-small by default:
// POST /json, a ~90-byte order echoed back) over HTTP/1.1 with wrk and over
// h2c with h2load, against the same server in the same sitting, and prints
// the figures side by side: `go tool task bench:h2`.
//
// The server runs in this process on 127.0.0.1 with HTTP/2 on (HTTP/1.1 and
// h2c share its port, so every client talks to the same listener and the
// same pipeline). Each round runs these clients in turn, each after a
// warm-up of its own, and the round with the median rate is reported per
// client (-repeat rounds, 3 by default, so that load from elsewhere on the
// machine falls on every client alike):
//
//   - wrk, HTTP/1.1 (the yardstick of bench/);
//   - h2load --h1, HTTP/1.1 from h2load, so that the client's own cost can
//     be told apart from the protocol's;
//   - h2load over h2c with 1 stream per connection, then with -m streams
//     (multiplexed).
//
// Needs wrk and h2load (Debian: apt-get install -y wrk nghttp2-client).
// The machine has 2 cores shared by the clients and the server: the
// figures compare protocols on one box, they are not a server's capacity.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spikard/spikard-go"
	"github.com/spikard/spikard-go/bench/workload"
	"github.com/spikard/spikard-go/bench/wrk"
	"golang.org/x/net/http2"
)

func main() {
	if err := run(); err != nil {
		log.SetFlags(0)
		log.Fatalf("h2bench: %v", err)
	}
}

func run() error {
	name := flag.String("workload", "json-small", "workload of bench/workload (a POST echo: json-*)")
	duration := flag.Duration("duration", 5*time.Second, "each measured run")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each run")
	conns := flag.Int("connections", 64, "connections (both tools)")
	threads := flag.Int("threads", 2, "client threads (both tools)")
	streams := flag.Int("streams", 10, "h2load -m of the multiplexed run (concurrent streams per connection)")
	only := flag.String("only", "", "run only these (comma-separated: wrk, h1, h2, h2m)")
	cpuprofile := flag.String("cpuprofile", "", "write the process's CPU profile (the server's, mostly) during the runs to this file")
	verbose := flag.Bool("v", false, "print the tools' reports")
	repeat := flag.Int("repeat", 3, "rounds (each runs every client once); the median round is reported")
	flag.Parse()

	w, ok := workload.ByName(*name)
	if !ok || w.Route == nil || w.Route.Kind != workload.KindEcho {
		return fmt.Errorf("%q is not an echo workload of bench/workload", *name)
	}
	wrkBin, err := wrk.Find()
	if err != nil {
		return err
	}
	h2loadBin, err := exec.LookPath("h2load")
	if err != nil {
		return errors.New("h2load is not installed: apt-get install -y nghttp2-client")
	}

	addr, stop, err := serve(w)
	if err != nil {
		return err
	}
	defer stop()
	url := "http://" + addr + w.Target
	if err := check(url, w); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "h2bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script, err := wrk.WriteScript(dir, w.Name, w.Method, w.ContentType, w.Body)
	if err != nil {
		return err
	}
	bodyFile := filepath.Join(dir, "body")
	if err := os.WriteFile(bodyFile, w.Body, 0o644); err != nil {
		return err
	}

	fmt.Printf("h2bench: %s (%s %s, %d-byte body) on %s; %d connections, %d threads; %d rounds of %v runs after %v warm-ups\n",
		w.Name, w.Method, w.Target, len(w.Body), addr, *conns, *threads, max(1, *repeat), *duration, *warmup)
	fmt.Printf("%s; %s; load average before: %s\n\n", wrk.Version(wrkBin), h2loadVersion(h2loadBin), loadavg())

	want := func(run string) bool { return *only == "" || strings.Contains(","+*only+",", ","+run+",") }
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	h2 := h2loadRun{bin: h2loadBin, url: url, body: bodyFile, contentType: w.ContentType,
		threads: *threads, conns: *conns, duration: *duration, warmup: *warmup}
	type runner struct {
		id, proto, tool string
		run             func() (row, string, error)
	}
	h2loadRunner := func(id, proto, tool string, args ...string) runner {
		return runner{id, proto, tool, func() (row, string, error) {
			r, text, err := h2.run(ctx, args...)
			return row{proto, tool, r.reqPerSec, r.meanMS, r.done, r.errors}, text, err
		}}
	}
	runners := []runner{
		{"wrk", "HTTP/1.1", "wrk", func() (row, string, error) {
			wo := wrk.Options{Bin: wrkBin, URL: url, Threads: *threads, Connections: *conns, Script: script}
			wo.Duration = *warmup
			if _, _, err := wrk.Run(ctx, wo); err != nil {
				return row{}, "", err
			}
			wo.Duration = *duration
			res, text, err := wrk.Run(ctx, wo)
			return row{"HTTP/1.1", "wrk", res.ReqPerSec, res.P50.Seconds() * 1000,
				res.Requests, res.Non2xx + res.SocketErrs.Total()}, text, err
		}},
		h2loadRunner("h1", "HTTP/1.1", "h2load --h1", "--h1"),
		h2loadRunner("h2", "h2c", "h2load -m 1", "-m", "1"),
		h2loadRunner("h2m", "h2c", "h2load -m "+strconv.Itoa(*streams), "-m", strconv.Itoa(*streams)),
	}
	// Rounds run every client once, in turn, so that load from elsewhere on
	// the machine falls on all of them alike; each row is the round with
	// the median rate.
	results := map[string][]row{}
	for round := 0; round < max(1, *repeat); round++ {
		for _, r := range runners {
			if !want(r.id) {
				continue
			}
			got, text, err := r.run()
			if err != nil {
				return err
			}
			if *verbose {
				fmt.Println(text)
			}
			results[r.id] = append(results[r.id], got)
		}
	}
	var rows []row
	spread := map[string]string{}
	for _, r := range runners {
		rs := results[r.id]
		if len(rs) == 0 {
			continue
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].reqPerSec < rs[j].reqPerSec })
		med := rs[len(rs)/2]
		med.errors = 0
		for _, x := range rs {
			med.errors += x.errors
		}
		rows = append(rows, med)
		spread[r.tool] = fmt.Sprintf("%.0f–%.0f", rs[0].reqPerSec, rs[len(rs)-1].reqPerSec)
	}

	fmt.Printf("%-9s %-14s %12s %14s %12s %8s %s\n", "protocol", "client", "req/s", "latency (ms)", "requests", "errors",
		"req/s of the rounds")
	for _, r := range rows {
		fmt.Printf("%-9s %-14s %12.0f %14.2f %12d %8d %s\n", r.proto, r.tool, r.reqPerSec, r.latencyMS, r.requests, r.errors,
			spread[r.tool])
	}
	fmt.Println("\nreq/s, latency, requests: the round with the median rate. latency: wrk's median, h2load's mean time")
	fmt.Println("for request. errors (every round): non-2xx answers, failed requests and socket errors.")
	fmt.Printf("load average after: %s (other work on the machine skews every figure)\n", loadavg())
	rate := map[string]float64{}
	for _, r := range rows {
		rate[r.tool] = r.reqPerSec
	}
	if rate["wrk"] > 0 && rate["h2load -m 1"] > 0 {
		fmt.Printf("h2c (h2load -m 1) / HTTP/1.1 (wrk): %.2f\n", rate["h2load -m 1"]/rate["wrk"])
	}
	for _, r := range rows {
		if r.errors != 0 {
			return fmt.Errorf("%s %s: %d errors", r.proto, r.tool, r.errors)
		}
	}
	return nil
}

type row struct {
	proto, tool string
	reqPerSec   float64
	latencyMS   float64
	requests    int64
	errors      int64
}

// serve starts the workload's route with HTTP/2 on, on a free port.
func serve(w workload.Workload) (string, func(), error) {
	on := true
	app := spikard.New(spikard.Config{Host: "127.0.0.1", HTTP2: &on})
	schema := w.Route.PlainBody
	if w.Validated {
		schema = w.Route.Body
	}
	var opts []spikard.Option
	if schema != nil {
		opts = append(opts, spikard.Body(spikard.Schema(schema)))
	}
	app.Route(w.Method, w.Target, func(c *spikard.Ctx) error {
		return c.Send(200, "application/json", c.RawBody())
	}, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		if err := app.Serve(ln); err != nil {
			log.Fatal(err)
		}
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = app.Shutdown(ctx)
	}, nil
}

// check sends the workload once over HTTP/1.1 and once over h2c: both
// answer the expected document.
func check(url string, w workload.Workload) error {
	h2c := &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	for _, c := range []struct {
		proto string
		rt    http.RoundTripper
		major int
	}{{"HTTP/1.1", http.DefaultTransport, 1}, {"h2c", h2c, 2}} {
		req, _ := http.NewRequest(w.Method, url, bytes.NewReader(w.Body))
		req.Header.Set("Content-Type", w.ContentType)
		resp, err := c.rt.RoundTrip(req)
		if err != nil {
			return fmt.Errorf("%s: %w", c.proto, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(w.Expect, &b)
		if resp.StatusCode != 200 || resp.ProtoMajor != c.major || !reflect.DeepEqual(a, b) {
			return fmt.Errorf("%s: %s %d %s; want 200 and %s", c.proto, resp.Proto, resp.StatusCode, got, w.Expect)
		}
	}
	return nil
}

// loadavg is the 1, 5 and 15 minute load averages (Linux), or "?".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func h2loadVersion(bin string) string {
	out, _ := exec.Command(bin, "--version").Output()
	return strings.TrimSpace(string(out))
}

type h2loadRun struct {
	bin, url, body, contentType string
	threads, conns              int
	duration, warmup            time.Duration
}

// h2loadResult is what one h2load run reports.
type h2loadResult struct {
	reqPerSec float64
	meanMS    float64
	done      int64 // requests done
	// errors: requests failed, errored or timed out, and answers not 2xx
	// (h2load counts the requests of the warm-up's last moments in its
	// status codes too, so done and the 2xx count differ by a few).
	errors int64
}

func (h h2loadRun) run(ctx context.Context, extra ...string) (h2loadResult, string, error) {
	args := append([]string{"-t", strconv.Itoa(h.threads), "-c", strconv.Itoa(h.conns),
		"-D", strconv.Itoa(max(1, int(h.duration/time.Second))),
		"--warm-up-time", strconv.Itoa(max(1, int(h.warmup/time.Second))),
		"-d", h.body, "-H", "content-type: " + h.contentType}, extra...)
	args = append(args, h.url)
	ctx, cancel := context.WithTimeout(ctx, h.duration+h.warmup+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, h.bin, args...).CombinedOutput()
	if err != nil {
		return h2loadResult{}, string(out), fmt.Errorf("h2load %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseH2load(string(out))
	if err != nil {
		return r, string(out), fmt.Errorf("h2load %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return r, string(out), nil
}

var (
	h2loadRate     = regexp.MustCompile(`finished in [^,]+, ([0-9.]+) req/s`)
	h2loadRequests = regexp.MustCompile(`requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadStatus   = regexp.MustCompile(`status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	h2loadTime     = regexp.MustCompile(`time for request:\s+\S+\s+\S+\s+(\S+)`)
)

// parseH2load reads h2load's report.
func parseH2load(text string) (h2loadResult, error) {
	var r h2loadResult
	m := h2loadRate.FindStringSubmatch(text)
	n := h2loadRequests.FindStringSubmatch(text)
	s := h2loadStatus.FindStringSubmatch(text)
	t := h2loadTime.FindStringSubmatch(text)
	if m == nil || n == nil || s == nil || t == nil {
		return r, errors.New("unrecognised h2load report")
	}
	r.reqPerSec, _ = strconv.ParseFloat(m[1], 64)
	r.done, _ = strconv.ParseInt(n[1], 10, 64)
	for _, v := range append(n[2:], s[1:]...) {
		k, _ := strconv.ParseInt(v, 10, 64)
		r.errors += k
	}
	mean, err := wrk.ParseDuration(t[1]) // the same units as wrk's
	if err != nil {
		return r, err
	}
	r.meanMS = mean.Seconds() * 1000
	return r, nil
}
