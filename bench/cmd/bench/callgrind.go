package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spikard/spikard-go/bench"
	"github.com/spikard/spikard-go/bench/report"
	"github.com/spikard/spikard-go/bench/workload"
)

// callgrindWorkloads are counted: the smallest GET-like echo and the
// validated POST.
var callgrindWorkloads = []string{"json-small", "json-small-validated"}

// callgrind counts the instructions per request of the spikard-go server
// (the core: fasthttp, routing, decoding, validation) under
// valgrind --tool=callgrind: a count, unlike req/s, that other processes on
// the machine do not change. The server starts under callgrind, answers a
// warm-up, then per workload: counters zeroed (callgrind_control -z), n
// sequential requests from one keep-alive Go client, a dump
// (callgrind_control -d) whose total Ir ÷ n is the figure.
func callgrind(ctx context.Context, env *bench.Env, n int) []report.Callgrind {
	var out []report.Callgrind
	fail := func(err error) []report.Callgrind {
		progress("callgrind: %v", err)
		for _, w := range callgrindWorkloads {
			out = append(out, report.Callgrind{Workload: w, Requests: n, Error: err.Error()})
		}
		return out
	}
	vg, err := exec.LookPath("valgrind")
	if err != nil {
		if err := bench.Apt(ctx, env, "valgrind"); err != nil {
			return fail(fmt.Errorf("valgrind not installed (apt-get install -y valgrind): %v", err))
		}
		if vg, err = exec.LookPath("valgrind"); err != nil {
			return fail(err)
		}
	}
	ctl, err := exec.LookPath("callgrind_control")
	if err != nil {
		return fail(err)
	}
	bin, err := bench.GoBuild(ctx, env, "spikard-go-callgrind", "./bench/servers/spikardgo")
	if err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp(env.Tmp, "callgrind-")
	if err != nil {
		return fail(err)
	}
	progress("callgrind: spikard-go under valgrind, %d requests per workload", n)
	start := time.Now()
	l := &bench.Launch{Announce: true, Cmds: []bench.Cmd{{
		Argv: []string{vg, "--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "cg.out"), bin, "-addr", "127.0.0.1:{port}"},
		// One P: the count does not depend on how work spreads over threads.
		// No GC and no signal-based preemption: both crash the Go runtime
		// under valgrind 3.19 (and GC cycles would make the count jumpy).
		Env: []string{"GOMAXPROCS=1", "GOGC=off", "GODEBUG=asyncpreemptoff=1"}}}}
	p, err := bench.Start("spikard-go-callgrind", l, "", "", filepath.Join(dir, "server.log"), nil, nil)
	if err != nil {
		return fail(err)
	}
	defer p.Stop()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	send := func(w workload.Workload, k int) error {
		for range k {
			if _, err := bench.Check(ctx, client, p, w); err != nil {
				return err
			}
		}
		return nil
	}
	for i, name := range callgrindWorkloads {
		w, _ := workload.ByName(name)
		c := report.Callgrind{Workload: name, Requests: n}
		err := send(w, 200) // warm-up: pools, caches, JIT-free but lazy inits
		if err == nil {
			err = exec.CommandContext(ctx, ctl, "-z", strconv.Itoa(p.PID())).Run()
		}
		if err == nil {
			err = send(w, n)
		}
		if err == nil {
			err = exec.CommandContext(ctx, ctl, "-d", strconv.Itoa(p.PID())).Run()
		}
		if err == nil {
			c.Ir, err = dumpIr(dir, i+1)
		}
		if err != nil {
			c.Error = err.Error()
			progress("callgrind %s: %v", name, err)
		} else {
			c.PerReq = float64(c.Ir) / float64(n)
			progress("callgrind %s: %.0f instructions per request", name, c.PerReq)
		}
		out = append(out, c)
	}
	progress("callgrind took %s", time.Since(start).Round(time.Second))
	return out
}

var totalsRe = regexp.MustCompile(`^(?:totals|summary):\s+(\d+)`)

// dumpIr reads the total Ir of the k-th dump (cg.out.<k>, or cg.out.<pid>.<k>).
func dumpIr(dir string, k int) (int64, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "cg.out*"))
	for _, m := range matches {
		if !strings.HasSuffix(m, "."+strconv.Itoa(k)) {
			continue
		}
		f, err := os.Open(m)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var total int64
		for sc.Scan() {
			if mm := totalsRe.FindStringSubmatch(sc.Text()); mm != nil {
				total, _ = strconv.ParseInt(mm[1], 10, 64)
			}
		}
		if total > 0 {
			return total, nil
		}
		return 0, fmt.Errorf("no totals in %s", m)
	}
	return 0, fmt.Errorf("no callgrind dump %d in %s (files: %v)", k, dir, matches)
}

// writeProfiles renders what the profilers wrote: pprof -top for the Go
// servers, perf report for the perf-sampled ones; py-spy and node already
// wrote speedscope / .cpuprofile files.
func writeProfiles(ctx context.Context, env *bench.Env, out string, res *report.Results) {
	dir := filepath.Join(out, "profiles")
	for i := range res.Servers {
		s := &res.Servers[i]
		if s.Lang == "go" {
			prof := filepath.Join(dir, s.Name+".pprof")
			if _, err := os.Stat(prof); err != nil {
				continue
			}
			bin := filepath.Join(env.Tmp, s.Name)
			top, err := exec.CommandContext(ctx, bench.GoTool(), "tool", "pprof", "-top", "-nodecount=40", bin, prof).CombinedOutput()
			if err == nil {
				_ = os.WriteFile(strings.TrimSuffix(prof, ".pprof")+".top.txt", top, 0o644)
			}
			s.Profile = prof
			continue
		}
		if data := filepath.Join(dir, s.Name+".perf.data"); fileExists(data) {
			rep, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children",
				"--sort", "comm,dso,symbol", "--percent-limit", "0.5", "-g", "none").CombinedOutput()
			if err == nil {
				// and by thread ("pid" is the thread id: a PHP worker's own thread is its process id)
				byTid, _ := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "pid", "-g", "none").CombinedOutput()
				rep = append(append(rep, "\n# By thread\n"...), byTid...)
				txt := strings.TrimSuffix(data, ".data") + ".txt"
				_ = os.WriteFile(txt, rep, 0o644)
				s.Profile = txt
			}
			continue
		}
		for _, cand := range []string{filepath.Join(dir, s.Name+".speedscope.json"), filepath.Join(dir, s.Name)} {
			if _, err := os.Stat(cand); err == nil {
				s.Profile = cand
			}
		}
	}
	for _, s := range res.Servers {
		if s.Profile != "" {
			progress("profile of %s: %s", s.Name, s.Profile)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
