// Command bench measures every Spikard binding against the servers its
// ecosystem would choose, and against raw fasthttp, on the same workloads
// (bench/workload), with wrk on 127.0.0.1:
//
//	go run ./bench/cmd/bench [-quick] [-repeat 3] [-duration 1s] [-servers a,b] [-langs go,python]
//	    [-workloads a,b] [-profile] [-callgrind 2000] [-no-install] [-out bench/results]
//
// Peers are installed from their registries into bench/.peers on first use
// (a server that does not install is reported unavailable, with the
// reason). Every server is started once, checked for correct answers and
// for refusing bad input before any timing, warmed up per workload, then
// measured -repeat times in interleaved rounds. Results go to
// <out>/<YYYY-MM-DD>/results.{json,md} and *.svg; the tables are printed.
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
	callgrind   int
	noInstall   bool
	idleWait    time.Duration
	servers     []*bench.Server
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
	var servers, workloads, langs string
	flag.BoolVar(&o.quick, "quick", false, "a few workloads ("+strings.Join(workload.Quick, ", ")+"), 2 rounds: under 5 minutes")
	flag.DurationVar(&o.duration, "duration", time.Second, "length of each measured wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up run per (server, route) before its first workload is measured (excluded)")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.repeat, "repeat", 3, "interleaved measured rounds per workload; the median is reported")
	flag.StringVar(&o.out, "out", "bench/results", "results directory (a dated subdirectory is created)")
	flag.BoolVar(&o.profile, "profile", false, "CPU profiles: pprof of the Go servers, py-spy of the Python ones, node --cpu-prof of the Node ones, perf record of the C, Ruby and PHP ones")
	flag.IntVar(&o.callgrind, "callgrind", 2000, "requests per workload for the instructions-per-request count of spikard-go under callgrind (0: skip)")
	flag.BoolVar(&o.noInstall, "no-install", false, "do not install missing peers (report them unavailable)")
	flag.DurationVar(&o.idleWait, "idle-wait", 0, "before each measured round, wait up to this long for other processes to leave the CPUs idle")
	flag.StringVar(&servers, "servers", "", "comma-separated servers to run (default all; "+bench.RawFasthttp+" is always added)")
	flag.StringVar(&langs, "langs", "", "comma-separated languages to run (go, c, python, node, ruby, php)")
	flag.StringVar(&workloads, "workloads", "", "comma-separated workloads to run (default all, or the quick set)")
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick && !set["repeat"] {
		o.repeat = 2
	}
	if o.duration < time.Second || o.repeat < 1 || o.connections < 1 || o.threads < 1 || o.threads > o.connections {
		return o, errors.New("need -duration ≥ 1s, -repeat ≥ 1, and 1 ≤ -threads ≤ -connections")
	}
	for _, s := range bench.Servers {
		keep := true
		if servers != "" {
			keep = slices.Contains(strings.Split(servers, ","), s.Name)
		}
		if langs != "" {
			keep = keep && slices.Contains(strings.Split(langs, ","), s.Lang)
		}
		if keep || s.Name == bench.RawFasthttp {
			o.servers = append(o.servers, s)
		}
	}
	for _, name := range strings.Split(servers, ",") {
		if name != "" && bench.ServerByName(name) == nil {
			return o, fmt.Errorf("unknown server %q", name)
		}
	}
	names := []string{}
	switch {
	case workloads != "":
		names = strings.Split(workloads, ",")
	case o.quick:
		names = workload.Quick
	}
	if len(names) == 0 {
		o.workloads = workload.All
	}
	for _, name := range names {
		w, ok := workload.ByName(name)
		if !ok {
			return o, fmt.Errorf("unknown workload %q", name)
		}
		o.workloads = append(o.workloads, w)
	}
	return o, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

type live struct {
	// warmed lists the routes (plain or validated) already warmed up.
	warmed map[string]bool
	s      *bench.Server
	l      *bench.Launch
	p      *bench.Proc
	pids   []int
	spy    *exec.Cmd
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
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	absOut, _ := filepath.Abs(outDir)
	spec, doc, err := bench.WriteSpec(tmp)
	if err != nil {
		return err
	}

	res := &report.Results{
		Meta: report.Meta{
			Date: started.Format("2006-01-02"), Started: started, Command: "go run ./bench/cmd/bench " + strings.Join(os.Args[1:], " "),
			GoVersion: runtime.Version(), WrkVersion: wrk.Version(wrkBin),
			CPUs: runtime.NumCPU(), CPUModel: cpuModel(), Commit: gitCommit(ctx, root),
			Quick: o.quick, Duration: o.duration, Warmup: o.warmup, Repeat: o.repeat,
			Threads: o.threads, Connections: o.connections, Profile: o.profile,
		},
		Baseline: bench.RawFasthttp,
	}
	for _, w := range o.workloads {
		res.Workloads = append(res.Workloads, report.Workload{Name: w.Name, Group: w.Group,
			Request: w.Method + " " + w.Target, Bytes: len(w.Body), Validated: w.Validated})
	}

	// Prepare (build, install) every server.
	env := &bench.Env{Root: root, Peers: filepath.Join(root, "bench", ".peers"), Tmp: tmp, NoInstall: o.noInstall, Log: progress}
	var lives []*live
	defer func() {
		for _, lv := range lives {
			lv.stop()
		}
	}()
	for _, s := range o.servers {
		progress("preparing %s (%s)", s.Name, s.Lang)
		rs := report.Server{Name: s.Name, Lang: s.Lang, Ours: s.Ours, Peer: s.Peer, Also: s.Also, What: s.What}
		l, err := s.Prepare(ctx, env)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			rs.Unavailable = err.Error()
			progress("  %s unavailable: %s", s.Name, oneLine(err.Error()))
		}
		res.Servers = append(res.Servers, rs)
		for _, w := range o.workloads {
			row := report.Row{Server: s.Name, Lang: s.Lang, Workload: w.Name, Status: report.OK}
			switch {
			case err != nil:
				row.Status, row.Problem = report.Unavailable, "server unavailable"
			case s.NotImplemented(w.Name) != "":
				row.Status, row.Problem = report.NotImplemented, s.NotImplemented(w.Name)
			}
			res.Rows = append(res.Rows, row)
		}
		if err == nil {
			lives = append(lives, &live{s: s, l: l})
		}
	}

	// Start every server once, and check every answer before any timing.
	client := &http.Client{Timeout: 20 * time.Second}
	for _, lv := range lives {
		var extraEnv, extraArgs []string
		if o.profile {
			dir := filepath.Join(absOut, "profiles")
			_ = os.MkdirAll(dir, 0o755)
			switch lv.l.Profiler {
			case "go":
				extraEnv = append(extraEnv, servekit.ProfileEnv+"="+filepath.Join(dir, lv.s.Name+".pprof"))
			case "node":
				extraArgs = append(extraArgs, "--cpu-prof", "--cpu-prof-dir="+filepath.Join(dir, lv.s.Name))
			}
		}
		p, err := bench.Start(lv.s.Name, lv.l, spec, doc, filepath.Join(tmp, lv.s.Name+".log"), extraEnv, extraArgs)
		if err != nil {
			progress("  %s did not start: %s", lv.s.Name, oneLine(err.Error()))
			res.Servers[slices.IndexFunc(res.Servers, func(r report.Server) bool { return r.Name == lv.s.Name })].Unavailable = err.Error()
			for _, w := range o.workloads {
				if r := res.Row(lv.s.Name, w.Name); r.Status == report.OK {
					r.Status, r.Problem = report.Unavailable, "did not start"
				}
			}
			continue
		}
		lv.p = p
		lv.pids = procstat.Tree(p.PIDs)
		if o.profile && lv.l.Profiler == "perf" {
			lv.spy = startPerf(lv.s.Name, lv.pids, filepath.Join(absOut, "profiles", lv.s.Name+".perf.data"))
		}
		if o.profile && lv.l.Profiler == "python" {
			if lv.l.PySpy == "" {
				progress("  %s: py-spy not installed, no profile", lv.s.Name)
			} else {
				out := filepath.Join(absOut, "profiles", lv.s.Name+".speedscope.json")
				lv.spy = exec.Command(lv.l.PySpy, "record", "--pid", fmt.Sprint(p.PID()), "--rate", "250", "--format", "speedscope", "-o", out)
				lv.spy.Stdout, lv.spy.Stderr = nil, nil
				if err := lv.spy.Start(); err != nil {
					progress("  py-spy: %v", err)
					lv.spy = nil
				}
			}
		}
		bad := 0
		for _, w := range o.workloads {
			row := res.Row(lv.s.Name, w.Name)
			if row.Status != report.OK {
				continue
			}
			_, err := bench.Check(ctx, client, p, w)
			if err == nil {
				err = bench.CheckRejects(ctx, client, p, w)
			}
			if err != nil {
				if k := lv.s.Known(w.Name); k != "" {
					err = fmt.Errorf("known defect: %s: %w", k, err)
				}
				row.Invalidate("correctness check: " + err.Error())
				bad++
				progress("  FAIL %s", oneLine(err.Error()))
			}
		}
		progress("started %-15s %s; %d workload(s) answer correctly, %d do not", lv.s.Name, p.Addr, len(o.workloads)-bad-notImpl(res, lv.s.Name), bad)
	}
	if err := ctx.Err(); err != nil {
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
	for wi, w := range o.workloads {
		progress("[%d/%d] %s: %s %s", wi+1, len(o.workloads), w.Name, w.Method, w.Target)
		if err := measure(ctx, o, w, lives, scripts[w.Name], wrkBin, res); err != nil {
			return err
		}
	}
	for _, lv := range lives {
		lv.stop()
	}
	for i := range res.Rows {
		res.Rows[i].Summarize()
	}
	res.ComputeRatios()

	if o.callgrind > 0 {
		res.Callgrind = callgrind(ctx, env, o.callgrind)
	}
	if o.profile {
		writeProfiles(ctx, env, absOut, res)
	}
	res.Meta.Elapsed = time.Since(started).Round(time.Second)
	if err := res.Write(outDir); err != nil {
		return err
	}
	fmt.Println(res.Markdown())
	progress("wrote %s (results.json, results.md, charts) in %s", outDir, res.Meta.Elapsed)
	return nil
}

// startPerf samples every thread of the server's processes with perf
// record (call graphs, 499 Hz) until SIGINT; nil when perf is missing.
func startPerf(name string, pids []int, out string) *exec.Cmd {
	bin, err := exec.LookPath("perf")
	if err != nil {
		progress("  %s: perf not installed (apt-get install linux-perf), no profile", name)
		return nil
	}
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = fmt.Sprint(p)
	}
	cmd := exec.Command(bin, "record", "-q", "-F", "499", "-g", "-o", out, "-p", strings.Join(ps, ","))
	if err := cmd.Start(); err != nil {
		progress("  perf: %v", err)
		return nil
	}
	return cmd
}

// stop ends the profiler first (py-spy and perf write their file on SIGINT), then
// the server.
func (lv *live) stop() {
	if lv.spy != nil {
		_ = lv.spy.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = lv.spy.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = lv.spy.Process.Kill()
			<-done
		}
		lv.spy = nil
	}
	if lv.p != nil {
		if err := lv.p.Stop(); err != nil {
			progress("  %v", err)
		}
		lv.p = nil
	}
}

func notImpl(res *report.Results, server string) int {
	n := 0
	for _, r := range res.Rows {
		if r.Server == server && r.Status == report.NotImplemented {
			n++
		}
	}
	return n
}

// measure runs one workload against every live server: a warm-up each on
// the first workload of each route (the json sizes share one route: warming
// it again would only spend the time budget), then -repeat rounds, each round running every server once back to back,
// so that drift in machine speed spreads over all servers.
func measure(ctx context.Context, o options, w workload.Workload, lives []*live, script, wrkBin string, res *report.Results) error {
	wrkRun := func(p *bench.Proc, d time.Duration) (wrk.Result, error) {
		r, _, err := wrk.Run(ctx, wrk.Options{Bin: wrkBin, URL: p.URL(w.Target), Threads: o.threads,
			Connections: o.connections, Duration: d, Script: script})
		return r, err
	}
	var ready []*live
	for _, lv := range lives {
		if lv.p == nil || res.Row(lv.s.Name, w.Name).Status != report.OK {
			continue
		}
		route := fmt.Sprint(w.Route.ID, w.Validated)
		if lv.warmed == nil {
			lv.warmed = map[string]bool{}
		}
		if lv.warmed[route] {
			ready = append(ready, lv)
			continue
		}
		lv.warmed[route] = true
		if _, err := wrkRun(lv.p, o.warmup); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Row(lv.s.Name, w.Name).Invalidate("warm-up: " + err.Error())
			continue
		}
		ready = append(ready, lv)
	}
	for round := 1; round <= o.repeat; round++ {
		if err := procstat.WaitIdle(ctx, o.idleWait, report.NoisyCores/2); err != nil {
			return err
		}
		var line []string
		for _, lv := range ready {
			row := res.Row(lv.s.Name, w.Name)
			if row.Status != report.OK {
				continue
			}
			if !lv.p.Alive() {
				row.Invalidate("server exited during the run")
				continue
			}
			lv.pids = procstat.Tree(lv.p.PIDs)
			run, err := report.Measure(round, lv.pids, func() (wrk.Result, error) { return wrkRun(lv.p, o.duration) })
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				row.Invalidate(err.Error())
				continue
			}
			row.Runs = append(row.Runs, run)
			r := run.Result
			mark := ""
			if r.Non2xx > 0 || r.SocketErrs.Total() > 0 {
				mark = fmt.Sprintf(" INVALID(%d non-2xx, %d socket errors)", r.Non2xx, r.SocketErrs.Total())
			}
			line = append(line, fmt.Sprintf("%s %.0f%s", lv.s.Name, r.ReqPerSec, mark))
		}
		progress("  round %d/%d req/s: %s", round, o.repeat, strings.Join(line, ", "))
	}
	for _, lv := range ready {
		res.Row(lv.s.Name, w.Name).RSSKiB = procstat.TreeRSS(procstat.Tree(lv.p.PIDs))
	}
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
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
