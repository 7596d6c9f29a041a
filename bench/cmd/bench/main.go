// Command bench measures the Spikard Go API against plain fasthttp and
// net/http on the same workloads, with wrk, on 127.0.0.1:
//
//	go run ./bench/cmd/bench [-quick] [-duration 10s] [-connections 64]
//	    [-threads 2] [-repeat 3] [-out bench/results] [-profile]
//
// Every server is built once and run as its own process (so its RSS and CPU
// time can be read from /proc), checked for correct answers before any
// timing, warmed up, then measured -repeat times. Results go to
// <out>/<YYYY-MM-DD>/results.{json,md}; the tables are printed as well.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spikard/spikard-go/bench"
	"github.com/spikard/spikard-go/bench/procstat"
	"github.com/spikard/spikard-go/bench/report"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
	"github.com/spikard/spikard-go/bench/wrk"
)

type options struct {
	quick       bool
	duration    time.Duration
	warmup      time.Duration
	connections int
	threads     int
	repeat      int
	out         string
	profile     bool
	idleWait    time.Duration
	servers     []bench.Server
	workloads   []workload.Workload
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	var servers, workloads string
	flag.BoolVar(&o.quick, "quick", false, "short runs (3s, 1s warm-up, 1 repeat) over all workloads: under 2 minutes")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the warm-up run before measuring each server (excluded)")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.repeat, "repeat", 3, "measured runs per (server, workload); the median is reported")
	flag.StringVar(&o.out, "out", "bench/results", "results directory (a dated subdirectory is created)")
	flag.BoolVar(&o.profile, "profile", false, "make the spikard-go server write a CPU profile per workload (env "+servekit.ProfileEnv+") and print pprof -top")
	flag.DurationVar(&o.idleWait, "idle-wait", 60*time.Second, "before each measured run, wait up to this long for other processes to leave the CPUs idle (0: do not wait; -quick defaults to 0)")
	flag.StringVar(&servers, "servers", "", "comma-separated servers to run (default all)")
	flag.StringVar(&workloads, "workloads", "", "comma-separated workloads to run (default all)")
	flag.Parse()

	// -quick sets short defaults, but flags given explicitly still win.
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["duration"] {
			o.duration = 3 * time.Second
		}
		if !set["warmup"] {
			o.warmup = time.Second
		}
		if !set["repeat"] {
			o.repeat = 1
		}
		// Waiting for a quiet machine could break the 2-minute promise;
		// the background load is still measured and reported.
		if !set["idle-wait"] {
			o.idleWait = 0
		}
	}
	if o.duration < time.Second || o.repeat < 1 || o.connections < 1 || o.threads < 1 || o.threads > o.connections {
		return o, errors.New("need -duration ≥ 1s, -repeat ≥ 1, and 1 ≤ -threads ≤ -connections")
	}
	o.servers = bench.Servers
	if servers != "" {
		o.servers = nil
		for _, name := range strings.Split(servers, ",") {
			i := slices.IndexFunc(bench.Servers, func(s bench.Server) bool { return s.Name == name })
			if i < 0 {
				return o, fmt.Errorf("unknown server %q", name)
			}
			o.servers = append(o.servers, bench.Servers[i])
		}
	}
	o.workloads = workload.All
	if workloads != "" {
		o.workloads = nil
		for _, name := range strings.Split(workloads, ",") {
			w, ok := workload.ByName(name)
			if !ok {
				return o, fmt.Errorf("unknown workload %q", name)
			}
			o.workloads = append(o.workloads, w)
		}
	}
	return o, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, o options) error {
	wrkBin, err := wrk.Find()
	if err != nil {
		return err
	}
	started := time.Now()
	root, err := bench.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "spikard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	outDir := filepath.Join(o.out, started.Format("2006-01-02"))
	if o.profile {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
	}

	progress("building %d servers", len(o.servers))
	bins, err := bench.Build(ctx, root, tmp, o.servers)
	if err != nil {
		return err
	}

	res := &report.Results{
		Meta: report.Meta{
			Date: started.Format("2006-01-02"), Started: started,
			GoVersion: runtime.Version(), WrkVersion: wrk.Version(wrkBin),
			CPUs: runtime.NumCPU(), CPUModel: cpuModel(), Commit: gitCommit(ctx, root),
			Quick: o.quick, Duration: o.duration, Warmup: o.warmup, Repeat: o.repeat,
			Threads: o.threads, Connections: o.connections, Profile: o.profile,
		},
		Subject:   bench.SpikardGo,
		Baselines: []string{bench.RawFasthttp, bench.NetHTTP},
	}
	for _, s := range o.servers {
		res.Servers = append(res.Servers, s.Name)
	}
	for _, w := range o.workloads {
		res.Workloads = append(res.Workloads, report.Workload{
			Name: w.Name, Request: w.Method + " " + w.Target, Validated: w.Validated, Goal: w.Goal,
		})
		for _, s := range o.servers {
			res.Rows = append(res.Rows, report.Row{Server: s.Name, Workload: w.Name, Valid: true})
		}
	}

	client := &http.Client{Timeout: 10 * time.Second}
	if err := correctness(ctx, o, bins, tmp, client, res); err != nil {
		return err
	}

	scripts := map[string]string{}
	for _, w := range o.workloads {
		if w.Body != nil {
			p, err := wrk.WriteScript(tmp, w.Name, w.Method, w.ContentType, w.Body)
			if err != nil {
				return err
			}
			scripts[w.Name] = p
		}
	}

	var profiles []string
	for wi, w := range o.workloads {
		progress("[%d/%d] %s: %s %s", wi+1, len(o.workloads), w.Name, w.Method, w.Target)
		prof, err := measure(ctx, o, w, bins, tmp, outDir, scripts[w.Name], wrkBin, client, res)
		if err != nil {
			return err
		}
		if prof != "" {
			profiles = append(profiles, prof)
		}
	}
	for i := range res.Rows {
		res.Rows[i].Summarize()
	}
	res.ComputeRatios()
	res.Meta.Elapsed = time.Since(started).Round(time.Second)
	if err := res.Write(outDir); err != nil {
		return err
	}
	fmt.Println(res.Markdown())
	progress("wrote %s and %s", filepath.Join(outDir, "results.json"), filepath.Join(outDir, "results.md"))

	for _, p := range profiles {
		// The flat top is dominated by syscalls (fasthttp's reads and
		// writes); the cumulative view restricted to the framework's own
		// packages shows where the per-request overhead is.
		flat, err := pprofTop(ctx, bins[bench.SpikardGo], p)
		if err != nil {
			progress("pprof %s: %v", p, err)
			continue
		}
		cum, err := pprofTop(ctx, bins[bench.SpikardGo], p, "-cum", "-show="+frameworkPackages)
		if err != nil {
			progress("pprof %s: %v", p, err)
			continue
		}
		base := strings.TrimSuffix(p, ".pprof")
		_ = os.WriteFile(base+".top.txt", []byte(flat), 0o644)
		_ = os.WriteFile(base+".top-cum.txt", []byte(cum), 0o644)
		fmt.Printf("\n### CPU profile of spikard-go: %s\n\n`go tool pprof -top` (full: %s.top.txt)\n\n```\n%s```\n", filepath.Base(p), base, firstLines(flat, 26))
		fmt.Printf("\n`go tool pprof -top -cum -show='%s'` (full: %s.top-cum.txt)\n\n```\n%s```\n", frameworkPackages, base, firstLines(cum, 30))
	}

	var invalid []string
	for _, r := range res.Rows {
		if !r.Valid {
			invalid = append(invalid, r.Server+"/"+r.Workload)
		}
	}
	if len(invalid) > 0 {
		return fmt.Errorf("%d invalid row(s): %s", len(invalid), strings.Join(invalid, ", "))
	}
	return nil
}

// correctness runs every server once and checks every workload's answer
// before any timing: a server that answers wrongly (404, 422, a different
// document) would otherwise be measured doing something else. Failing
// (server, workload) rows are marked invalid and not measured.
func correctness(ctx context.Context, o options, bins map[string]string, tmp string, client *http.Client, res *report.Results) error {
	progress("checking answers of every server on every workload")
	for _, s := range o.servers {
		p, err := bench.Start(s.Name, bins[s.Name], filepath.Join(tmp, s.Name+"-check.log"))
		if err != nil {
			return err
		}
		for _, w := range o.workloads {
			if _, err := bench.Check(ctx, client, p, w); err != nil {
				res.Row(s.Name, w.Name).Invalidate("correctness check: " + err.Error())
				progress("  FAIL %s", err)
			}
		}
		if err := p.Stop(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// measure runs one workload against every valid server. The servers are
// started fresh (so RSS and CPU belong to this workload alone) and run side
// by side; the measured runs are interleaved — run 1 of each server, then
// run 2 of each — so that drift in machine speed (thermal, noisy
// neighbours) spreads over all servers instead of biasing one.
func measure(ctx context.Context, o options, w workload.Workload, bins map[string]string, tmp, outDir, script, wrkBin string, client *http.Client, res *report.Results) (profile string, err error) {
	var procs []*bench.Proc
	defer func() {
		for _, p := range procs {
			if e := p.Stop(); e != nil && err == nil {
				err = e
			}
		}
	}()
	for _, s := range o.servers {
		row := res.Row(s.Name, w.Name)
		if !row.Valid {
			progress("  skip %-13s %s", s.Name, row.Problem)
			continue
		}
		var env []string
		if o.profile && s.Name == bench.SpikardGo {
			abs, err := filepath.Abs(filepath.Join(outDir, "spikard-go-"+w.Name+".pprof"))
			if err != nil {
				return "", err
			}
			profile = abs
			env = append(env, servekit.ProfileEnv+"="+abs)
		}
		p, err := bench.Start(s.Name, bins[s.Name], filepath.Join(tmp, s.Name+"-"+w.Name+".log"), env...)
		if err != nil {
			return "", err
		}
		procs = append(procs, p)
	}

	wrkRun := func(p *bench.Proc, d time.Duration) (wrk.Result, error) {
		r, _, err := wrk.Run(ctx, wrk.Options{
			Bin: wrkBin, URL: p.URL(w.Target), Threads: o.threads, Connections: o.connections,
			Duration: d, Script: script,
		})
		return r, err
	}
	live := procs[:0:0]
	for _, p := range procs {
		// The fresh process must answer as the checked one did.
		if _, err := bench.Check(ctx, client, p, w); err != nil {
			res.Row(p.Name, w.Name).Invalidate("correctness check: " + err.Error())
			progress("  FAIL %s", err)
			continue
		}
		if _, err := wrkRun(p, o.warmup); err != nil {
			if ctx.Err() != nil {
				return profile, ctx.Err()
			}
			res.Row(p.Name, w.Name).Invalidate("warm-up: " + err.Error())
			progress("  FAIL %s warm-up: %v", p.Name, err)
			continue
		}
		live = append(live, p)
	}
	progress("  warmed up %d server(s) for %s each", len(live), o.warmup)

	for i := range o.repeat {
		for _, p := range live {
			row := res.Row(p.Name, w.Name)
			if !row.Valid || !p.Alive() {
				row.Invalidate("server exited during the run")
				continue
			}
			if err := waitIdle(ctx, o.idleWait); err != nil {
				return profile, err
			}
			cpu0, err := procstat.ReadCPU(p.PID)
			if err != nil {
				return profile, err
			}
			sys0, err := procstat.ReadSystemBusy()
			if err != nil {
				return profile, err
			}
			t0 := time.Now()
			r, err := wrkRun(p, o.duration)
			wall := time.Since(t0)
			if err != nil {
				if ctx.Err() != nil {
					return profile, ctx.Err()
				}
				row.Invalidate(err.Error())
				progress("  FAIL %s run %d: %v", p.Name, i+1, err)
				continue
			}
			cpu1, err := procstat.ReadCPU(p.PID)
			if err != nil {
				return profile, err
			}
			sys1, err := procstat.ReadSystemBusy()
			if err != nil {
				return profile, err
			}
			// Whatever the machine did beyond the server and wrk was done by
			// someone else (the idle servers and this driver are negligible).
			other := max(0, (sys1-sys0)-(cpu1-cpu0)-r.CPU)
			run := report.Run{Result: r, CPU: cpu1 - cpu0, Wall: wall, Other: other}
			row.Runs = append(row.Runs, run)
			note := ""
			if oc := other.Seconds() / wall.Seconds(); oc > report.NoisyCores {
				note = fmt.Sprintf("  (other processes used %.1f cores)", oc)
			}
			if r.Non2xx > 0 || r.SocketErrs.Total() > 0 {
				note += fmt.Sprintf("  INVALID: %d non-2xx, %d socket errors", r.Non2xx, r.SocketErrs.Total())
			}
			progress("  %-13s run %d/%d  %9.0f req/s  p50 %-9s p99 %-9s server cpu %.2fs (%.1f µs/req)%s", p.Name, i+1, o.repeat,
				r.ReqPerSec, r.P50, r.P99, run.CPU.Seconds(), run.CPU.Seconds()*1e6/float64(max(1, r.Requests)), note)
		}
	}
	for _, p := range live {
		if m, err := procstat.ReadMemory(p.PID); err == nil {
			row := res.Row(p.Name, w.Name)
			row.RSSKiB, row.PeakRSSKiB = m.RSSKiB, m.PeakKiB
		}
	}
	return profile, nil
}

// waitIdle waits, up to limit, until processes other than ours leave the
// CPUs idle: on a machine shared with builds or tests, a run taken while
// they compute measures them as much as the server. The servers are idle
// between runs, so all the busy time sampled here is someone else's.
func waitIdle(ctx context.Context, limit time.Duration) error {
	if limit <= 0 {
		return nil
	}
	const sample = 500 * time.Millisecond
	deadline := time.Now().Add(limit)
	announced := false
	for {
		b0, err := procstat.ReadSystemBusy()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sample):
		}
		b1, err := procstat.ReadSystemBusy()
		if err != nil {
			return err
		}
		cores := (b1 - b0).Seconds() / sample.Seconds()
		if cores <= report.NoisyCores/2 {
			return nil
		}
		if time.Now().After(deadline) {
			progress("  machine still busy (%.1f cores used by other processes) after %s: measuring anyway", cores, limit)
			return nil
		}
		if !announced {
			progress("  waiting up to %s for other processes to go idle (%.1f cores busy)", limit, cores)
			announced = true
		}
	}
}

// frameworkPackages selects the code between fasthttp and the handler:
// Spikard's core, the schema library and encoding/json.
const frameworkPackages = `spikard-go/core|jsonschema|encoding/json|fasthttp/router`

func pprofTop(ctx context.Context, bin, profile string, extra ...string) (string, error) {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=40"}, extra...)
	cmd := exec.CommandContext(ctx, bench.GoTool(), append(args, bin, profile)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	return string(out), nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "")
}

func gitCommit(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
