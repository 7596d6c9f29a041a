// Command mwbench measures what Spikard's middleware costs: the benchmark's
// json route (bench/workload) served by the Spikard Go API with no
// middleware, with each of request ID, CORS, rate limit, JWT and gzip
// alone, and with all five, each variant its own server process on
// 127.0.0.1, timed with wrk in rounds of one run:
//
//	go run ./bench/cmd/mwbench [-workloads json-small,json-medium] [-repeat 7] [-duration 1s]
//	    [-variants none,full] [-idle-wait 10s] [-profile full] [-out mw.md]
//
// Every request carries what makes its middleware work (Origin, a valid
// HS256 bearer token, Accept-Encoding: gzip; wrk -H). Before any timing
// each variant is checked on each workload: the right answer, its
// middleware's visible effect (X-Request-ID, Access-Control-Allow-Origin,
// RateLimit-* headers, Content-Encoding: gzip above min_size), its refusals
// (401 without the token, 403 from another origin) and no trace of the
// middleware it does not run. Each round runs every variant between two
// runs without middleware; the Markdown table gives per variant the median
// req/s with its spread, its cost against the runs around it, and the
// server's and wrk's CPU per request with the cost they imply.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
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
	duration, warmup     time.Duration
	repeat               int
	connections, threads int
	workloads            []workload.Workload
	variants             []*variant
	profile              string
	out                  string
	idleWait             time.Duration
}

func main() {
	if name := os.Getenv(serveEnv); name != "" {
		serve(name)
	}
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mwbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "mwbench:", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	var workloads, vars string
	flag.DurationVar(&o.duration, "duration", time.Second, "length of each measured wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up wrk run per variant and workload (excluded; 0: none)")
	flag.IntVar(&o.repeat, "repeat", 7, "rounds; each runs, per workload, every variant once between runs without middleware")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.StringVar(&workloads, "workloads", "json-small,json-medium", "comma-separated json workloads (the route's answer is the request body)")
	flag.StringVar(&vars, "variants", "", "comma-separated variants (default all): "+strings.Join(variantNames(), ", ")+"; none is always added")
	flag.StringVar(&o.profile, "profile", "", "a variant whose server runs under pprof; its top functions are printed (its numbers are then low)")
	flag.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	flag.DurationVar(&o.idleWait, "idle-wait", 0, "before each round of each workload, wait up to this long for other processes to leave the CPUs idle")
	flag.Parse()
	if o.duration < time.Second || o.repeat < 1 || o.connections < 1 || o.threads < 1 || o.threads > o.connections {
		return o, errors.New("need -duration ≥ 1s, -repeat ≥ 1, and 1 ≤ -threads ≤ -connections")
	}
	for _, name := range strings.Split(workloads, ",") {
		w, ok := workload.ByName(name)
		if !ok || w.Route.Kind != workload.KindEcho {
			return o, fmt.Errorf("unknown or non-json workload %q (want json-small, json-medium, ...)", name)
		}
		o.workloads = append(o.workloads, w)
	}
	want := strings.Split(vars, ",")
	for _, v := range variants {
		if vars == "" || v.name == "none" || slices.Contains(want, v.name) {
			o.variants = append(o.variants, v)
		}
	}
	for _, name := range want {
		if name != "" && variantByName(name) == nil {
			return o, fmt.Errorf("unknown variant %q", name)
		}
	}
	if o.profile != "" && !slices.ContainsFunc(o.variants, func(v *variant) bool { return v.name == o.profile }) {
		return o, fmt.Errorf("-profile %q is not among the variants run", o.profile)
	}
	return o, nil
}

func variantNames() []string {
	var ns []string
	for _, v := range variants {
		ns = append(ns, v.name)
	}
	return ns
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// server is a running variant.
type server struct {
	v    *variant
	p    *bench.Proc
	pids []int
}

// startServers starts one server process per variant: exe re-executed
// with serveEnv naming the variant. profile names the variant whose CPU
// profile goes to profPath.
func startServers(exe, dir string, vs []*variant, profile, profPath string) ([]*server, error) {
	var out []*server
	for _, v := range vs {
		l := &bench.Launch{Announce: true, Cmds: []bench.Cmd{{
			Argv: []string{exe, "-addr", "127.0.0.1:{port}"},
			Env:  []string{serveEnv + "=" + v.name}}}}
		var env []string
		if v.name == profile {
			env = append(env, servekit.ProfileEnv+"="+profPath)
		}
		p, err := bench.Start("mw-"+v.name, l, "", "", filepath.Join(dir, v.name+".log"), env, nil)
		if err != nil {
			stopServers(out)
			return nil, err
		}
		out = append(out, &server{v: v, p: p, pids: procstat.Tree(p.PIDs)})
	}
	return out, nil
}

func stopServers(ss []*server) {
	for _, s := range ss {
		if s.p != nil {
			if err := s.p.Stop(); err != nil {
				progress("  %v", err)
			}
			s.p = nil
		}
	}
}

// checkAll runs every variant's checks on every workload.
func checkAll(ctx context.Context, ss []*server, ws []workload.Workload) error {
	for _, s := range ss {
		snd := newSender("http://" + s.p.Addr)
		for _, w := range ws {
			if err := s.v.check(ctx, snd, w); err != nil {
				return fmt.Errorf("variant %s, %s: %w", s.v.name, w.Name, err)
			}
		}
	}
	return nil
}

func run(ctx context.Context, o options) error {
	wrkBin, err := wrk.Find()
	if err != nil {
		return err
	}
	started := time.Now()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "spikard-mwbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	profPath := ""
	if o.profile != "" {
		profPath, _ = filepath.Abs("mwbench-" + o.profile + ".pprof")
	}

	ss, err := startServers(exe, tmp, o.variants, o.profile, profPath)
	if err != nil {
		return err
	}
	defer stopServers(ss)
	if err := checkAll(ctx, ss, o.workloads); err != nil {
		return fmt.Errorf("correctness check (nothing timed): %w", err)
	}
	progress("%d variants started and checked on %d workload(s)", len(ss), len(o.workloads))

	res := &report.Results{Baseline: "none"}
	scripts := map[string]string{}
	for _, w := range o.workloads {
		res.Workloads = append(res.Workloads, report.Workload{Name: w.Name, Request: w.Method + " " + w.Target, Bytes: len(w.Body)})
		if scripts[w.Name], err = wrk.WriteScript(tmp, w.Name, w.Method, w.ContentType, w.Body); err != nil {
			return err
		}
		for _, s := range ss {
			res.Rows = append(res.Rows, report.Row{Server: s.v.name, Workload: w.Name, Status: report.OK})
		}
	}
	for _, s := range ss {
		res.Servers = append(res.Servers, report.Server{Name: s.v.name, Ours: s.v.name != "none", Peer: "none", What: s.v.label()})
	}
	wrkRun := func(s *server, w workload.Workload, d time.Duration) (wrk.Result, error) {
		r, _, err := wrk.Run(ctx, wrk.Options{Bin: wrkBin, URL: s.p.URL(w.Target), Threads: o.threads,
			Connections: o.connections, Duration: d, Script: scripts[w.Name], Headers: s.v.headers()})
		return r, err
	}
	if o.warmup > 0 {
		progress("warm-up: %s per variant and workload", o.warmup)
		for _, w := range o.workloads {
			for _, s := range ss {
				if _, err := wrkRun(s, w, o.warmup); err != nil {
					return err
				}
			}
		}
	}
	// Each round runs, per workload, the server without middleware before
	// and after every other variant (none, a, none, b, ..., none), the
	// variants starting one later each round: a variant's cost in the
	// round is measured against the mean of the two runs around it, so
	// load that comes and goes on a shared machine cancels out as far as
	// it can.
	base, others := ss[0], ss[1:]
	ratios := map[string][]float64{} // variant/workload → req/s ÷ the runs around it without middleware
	for round := 1; round <= o.repeat; round++ {
		for wi, w := range o.workloads {
			if err := procstat.WaitIdle(ctx, o.idleWait, report.NoisyCores/2); err != nil {
				return err
			}
			var line []string
			measure := func(s *server) (report.Run, error) {
				if !s.p.Alive() {
					return report.Run{}, fmt.Errorf("variant %s: server exited during the run", s.v.name)
				}
				run, err := report.Measure(round, s.pids, func() (wrk.Result, error) { return wrkRun(s, w, o.duration) })
				if err != nil {
					return run, err
				}
				row := res.Row(s.v.name, w.Name)
				row.Runs = append(row.Runs, run)
				line = append(line, fmt.Sprintf("%s %.0f", s.v.name, run.ReqPerSec))
				return run, nil
			}
			before, err := measure(base)
			if err != nil {
				return err
			}
			for i := range others {
				s := others[(i+round-1+wi)%len(others)]
				run, err := measure(s)
				if err != nil {
					return err
				}
				after, err := measure(base)
				if err != nil {
					return err
				}
				if mean := (before.ReqPerSec + after.ReqPerSec) / 2; mean > 0 {
					k := s.v.name + "/" + w.Name
					ratios[k] = append(ratios[k], run.ReqPerSec/mean)
				}
				before = after
			}
			progress("round %d/%d %s req/s: %s", round, o.repeat, w.Name, strings.Join(line, ", "))
		}
	}
	// Answers must not have changed under load (a refused request would
	// also show as non-2xx in the rows).
	if err := checkAll(ctx, ss, o.workloads); err != nil {
		return fmt.Errorf("correctness check after the run: %w", err)
	}
	stopServers(ss) // flushes the profile
	for i := range res.Rows {
		res.Rows[i].Summarize()
	}

	cmd := "go run ./bench/cmd/mwbench"
	if len(os.Args) > 1 {
		cmd += " " + strings.Join(os.Args[1:], " ")
	}
	md := markdown(res, ratios, o, cmd, wrk.Version(wrkBin), time.Since(started))
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if o.profile != "" {
		out, err := exec.CommandContext(ctx, bench.GoTool(), "tool", "pprof", "-top", "-nodecount=45", exe, profPath).CombinedOutput()
		fmt.Printf("\nCPU profile of variant %s: %s\n\n```\n%s```\n", o.profile, profPath, out)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
	}
	return nil
}

// markdown renders one table per workload.
func markdown(res *report.Results, ratios map[string][]float64, o options, cmd, wrkVersion string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Middleware cost — %s\n\n`%s`: wrk `-t%d -c%d -d%s`, %s warm-up, %d interleaved rounds; %s, %s, %d CPUs shared by wrk and the servers; took %s.\n",
		time.Now().Format("2006-01-02"), cmd, o.threads, o.connections, o.duration, o.warmup, o.repeat,
		runtime.Version(), wrkVersion, runtime.NumCPU(), took.Round(time.Second))
	if o.profile != "" {
		fmt.Fprintf(&b, "\n**Variant %s ran under pprof: its numbers are low.**\n", o.profile)
	}
	b.WriteString(`
- **cost (req/s)**: 1 − req/s ÷ the mean req/s of the no-middleware runs just before and just after it (each round runs
  none, a, none, b, …, none): median, and range over the rounds.
- **server CPU / req**, **wrk CPU / req**: CPU time (user + system, from /proc) per request over all runs.
- **cost (CPU)**: 1 − (server + wrk CPU per request without middleware) ÷ (the same with it): the throughput cost when
  wrk and the server saturate the same cores, unmoved by what else runs on the machine.
- **other load**: CPU other processes used meanwhile (median, in cores): above ~0.2 the req/s columns are noisy.
`)
	for _, w := range o.workloads {
		comp := "below gzip's min_size: sent uncompressed"
		if len(w.Expect) >= gzipMinSize {
			comp = fmt.Sprintf("gzipped to %d bytes", len(compressed(w.Expect)))
		}
		fmt.Fprintf(&b, "\n### %s — `%s %s`, %d-byte JSON echoed (%s)\n\n", w.Name, w.Method, w.Target, len(w.Body), comp)
		b.WriteString("| variant | req/s (median) | min–max | cost (req/s) | server CPU / req | wrk CPU / req | cost (CPU) | other load |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		base := res.Row("none", w.Name)
		baseCPU := base.CPUPerReq + wrkCPUPerReq(base)
		for _, s := range res.Servers {
			r := res.Row(s.Name, w.Name)
			name := fmt.Sprintf("%s (`%s`)", s.What, s.Name)
			if !r.Valid() {
				name += " **invalid**: " + r.Problem
			}
			cost, cpuCost := "—", "—"
			if q := ratios[s.Name+"/"+w.Name]; len(q) > 0 {
				cost = fmt.Sprintf("%.1f %% (%.1f … %.1f)", 100*(1-median(q)), 100*(1-slices.Max(q)), 100*(1-slices.Min(q)))
				if cpu := r.CPUPerReq + wrkCPUPerReq(r); cpu > 0 && baseCPU > 0 {
					cpuCost = fmt.Sprintf("%.1f %%", 100*(1-float64(baseCPU)/float64(cpu)))
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %.2f cores |\n", name,
				report.FmtInt(int64(math.Round(r.ReqPerSec))), r.Spread(), cost, report.FmtDur(r.CPUPerReq),
				report.FmtDur(wrkCPUPerReq(r)), cpuCost, r.OtherCores)
		}
	}
	return b.String()
}

// wrkCPUPerReq is the load generator's CPU time per request (all runs):
// bigger requests and answers cost the client too, and on a shared
// machine that is throughput the server does not get.
func wrkCPUPerReq(r *report.Row) time.Duration {
	var cpu time.Duration
	var n int64
	for _, run := range r.Runs {
		cpu += run.Result.CPU
		n += run.Requests
	}
	if n == 0 {
		return 0
	}
	return cpu / time.Duration(n)
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
