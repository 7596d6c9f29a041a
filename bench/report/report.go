// Package report turns wrk runs into the benchmark's rows and renders them
// as results.json (everything, for tooling), results.md (the tables) and
// SVG bar charts (req/s and p99 per workload, grouped by language).
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spikard/spikard-go/bench/procstat"
	"github.com/spikard/spikard-go/bench/wrk"
)

// Run is one measured wrk run and the server CPU time it cost.
type Run struct {
	wrk.Result
	// Round is the interleaving round (1..repeat): runs of the same round
	// were taken back to back, so their ratio is the least noisy.
	Round int           `json:"round"`
	CPU   time.Duration `json:"server_cpu_ns"`
	Wall  time.Duration `json:"wall_ns"`
	// Other is the CPU time processes other than the server and wrk used
	// during the run: on a shared machine, the noise in its numbers.
	Other time.Duration `json:"other_cpu_ns"`
}

// Measure makes one timed run: run (a wrk run) and, from /proc, the CPU
// time the server's processes (pids) used during it and the CPU time other
// processes than the server and wrk used.
func Measure(round int, pids []int, run func() (wrk.Result, error)) (Run, error) {
	cpu0 := procstat.TreeCPU(pids)
	sys0, _ := procstat.ReadSystemBusy()
	t0 := time.Now()
	r, err := run()
	wall := time.Since(t0)
	if err != nil {
		return Run{}, err
	}
	cpu1 := procstat.TreeCPU(pids)
	sys1, _ := procstat.ReadSystemBusy()
	return Run{Round: round, Result: r, CPU: cpu1 - cpu0, Wall: wall,
		Other: max(0, (sys1-sys0)-(cpu1-cpu0)-r.CPU)}, nil
}

// Row statuses.
const (
	OK             = "ok"
	Invalid        = "invalid"
	NotImplemented = "not implemented"
	Unavailable    = "unavailable"
)

// Row is one (server, workload) cell of the report.
type Row struct {
	Server   string `json:"server"`
	Lang     string `json:"lang"`
	Workload string `json:"workload"`
	// Status is ok, invalid (the correctness check failed, or wrk saw
	// non-2xx answers or socket errors: its numbers mean nothing), not
	// implemented (the server declares it does not do this workload) or
	// unavailable (the server did not install or start).
	Status  string `json:"status"`
	Problem string `json:"problem,omitempty"`
	Runs    []Run  `json:"runs,omitempty"`

	// Medians across runs (min and max give the spread).
	ReqPerSec float64       `json:"req_per_sec_median"`
	MinRPS    float64       `json:"req_per_sec_min"`
	MaxRPS    float64       `json:"req_per_sec_max"`
	P50       time.Duration `json:"p50_ns_median"`
	P99       time.Duration `json:"p99_ns_median"`
	// RSS of the server's processes after the workload, summed.
	RSSKiB int64 `json:"rss_kib"`
	// Server CPU time over the measured runs, total and per request.
	CPU       time.Duration `json:"server_cpu_ns_total"`
	CPUPerReq time.Duration `json:"server_cpu_ns_per_request"`
	Non2xx    int64         `json:"non_2xx_total"`
	SocketErr int64         `json:"socket_errors_total"`
	// OtherCores is the median CPU (in cores) other processes used during
	// the runs; above ~0.2 the row's req/s is unreliable on a 2-core box.
	OtherCores float64 `json:"other_cores_median"`
}

// Valid reports whether the row has trustworthy numbers.
func (r *Row) Valid() bool { return r.Status == OK }

// NoisyCores is the background load above which the report warns.
const NoisyCores = 0.2

// Invalidate marks the row invalid, keeping the first reason.
func (r *Row) Invalidate(reason string) {
	if r.Status == OK || r.Problem == "" {
		r.Problem = reason
	}
	r.Status = Invalid
}

// Summarize computes the row's aggregate fields from its runs and marks it
// invalid if any run saw non-2xx answers or socket errors.
func (r *Row) Summarize() {
	if len(r.Runs) == 0 {
		return
	}
	var rps []float64
	var p50, p99 []time.Duration
	var other []float64
	var reqs int64
	r.CPU, r.Non2xx, r.SocketErr = 0, 0, 0
	for _, run := range r.Runs {
		rps = append(rps, run.ReqPerSec)
		p50 = append(p50, run.P50)
		p99 = append(p99, run.P99)
		reqs += run.Requests
		r.CPU += run.CPU
		r.Non2xx += run.Non2xx
		r.SocketErr += run.SocketErrs.Total()
		if run.Wall > 0 {
			other = append(other, run.Other.Seconds()/run.Wall.Seconds())
		}
	}
	if len(other) > 0 {
		r.OtherCores = median(other)
	}
	r.ReqPerSec, r.MinRPS, r.MaxRPS = median(rps), slices.Min(rps), slices.Max(rps)
	r.P50, r.P99 = median(p50), median(p99)
	if reqs > 0 {
		r.CPUPerReq = r.CPU / time.Duration(reqs)
	}
	if r.Non2xx > 0 {
		r.Invalidate(fmt.Sprintf("%d non-2xx answers", r.Non2xx))
	}
	if r.SocketErr > 0 {
		r.Invalidate(fmt.Sprintf("%d socket errors", r.SocketErr))
	}
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Meta describes the run.
type Meta struct {
	Date        string        `json:"date"`
	Started     time.Time     `json:"started"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	GoVersion   string        `json:"go_version"`
	WrkVersion  string        `json:"wrk_version"`
	CPUs        int           `json:"cpus"`
	CPUModel    string        `json:"cpu_model,omitempty"`
	Commit      string        `json:"commit,omitempty"`
	Command     string        `json:"command"`
	Quick       bool          `json:"quick"`
	Duration    time.Duration `json:"duration_ns"`
	Warmup      time.Duration `json:"warmup_ns"`
	Repeat      int           `json:"repeat"`
	Threads     int           `json:"threads"`
	Connections int           `json:"connections"`
	// Profile is set when servers ran under a profiler, which slows them
	// down: such a run is for the profiles, not the ratios.
	Profile bool `json:"profile"`
}

// Workload is how a workload is described in the report.
type Workload struct {
	Name      string `json:"name"`
	Group     string `json:"group"`
	Request   string `json:"request"`
	Bytes     int    `json:"request_body_bytes"`
	Validated bool   `json:"validated"`
}

// Server is how a server is described in the report.
type Server struct {
	Name string `json:"name"`
	Lang string `json:"lang"`
	Ours bool   `json:"ours"`
	Peer string `json:"peer,omitempty"`
	// Also are more servers a binding is compared with (its ecosystem's
	// framework, the original package), after Peer.
	Also        []string `json:"also,omitempty"`
	What        string   `json:"what"`
	Unavailable string   `json:"unavailable,omitempty"`
	Profile     string   `json:"profile,omitempty"`
}

// Ratio compares a binding with a reference server on one workload.
type Ratio struct {
	Server   string  `json:"server"`
	Workload string  `json:"workload"`
	Versus   string  `json:"versus"`
	Ratio    float64 `json:"ratio"` // of the median req/s
	// Per-round ratios (runs taken back to back): median, min and max.
	RoundMedian float64 `json:"round_ratio_median"`
	RoundMin    float64 `json:"round_ratio_min"`
	RoundMax    float64 `json:"round_ratio_max"`
	// CPURatio is the reference's server CPU per request over the
	// binding's: steadier than req/s when other processes share the machine.
	CPURatio float64 `json:"cpu_ratio,omitempty"`
}

// Callgrind is the instruction count per request of the core.
type Callgrind struct {
	Workload string  `json:"workload"`
	Requests int     `json:"requests"`
	Ir       int64   `json:"ir"`
	PerReq   float64 `json:"ir_per_request"`
	Error    string  `json:"error,omitempty"`
}

// Results is the whole report.
type Results struct {
	Meta      Meta        `json:"meta"`
	Workloads []Workload  `json:"workloads"`
	Servers   []Server    `json:"servers"`
	Rows      []Row       `json:"rows"`
	Ratios    []Ratio     `json:"ratios"`
	Callgrind []Callgrind `json:"callgrind,omitempty"`
	// Baseline is the server every binding is also compared with.
	Baseline string `json:"baseline"`
}

// Row returns the row of server on workload, or nil.
func (res *Results) Row(server, workload string) *Row {
	for i := range res.Rows {
		if res.Rows[i].Server == server && res.Rows[i].Workload == workload {
			return &res.Rows[i]
		}
	}
	return nil
}

func (res *Results) server(name string) *Server {
	for i := range res.Servers {
		if res.Servers[i].Name == name {
			return &res.Servers[i]
		}
	}
	return nil
}

// versus lists what binding s is compared with: its peer, the servers it
// is also compared with, and the baseline.
func (res *Results) versus(s Server) []string {
	var out []string
	for i, v := range append([]string{s.Peer}, s.Also...) {
		// The peer is always listed; the others when this run has them.
		if v != "" && v != s.Name && !slices.Contains(out, v) && (i == 0 || res.server(v) != nil) {
			out = append(out, v)
		}
	}
	if s.Name != res.Baseline && !slices.Contains(out, res.Baseline) {
		out = append(out, res.Baseline)
	}
	return out
}

// ComputeRatios fills Ratios: every binding against its peer, the servers
// it is also compared with and the baseline, on every workload where both
// rows are valid.
func (res *Results) ComputeRatios() {
	res.Ratios = nil
	for _, s := range res.Servers {
		if !s.Ours {
			continue
		}
		versus := res.versus(s)
		for _, w := range res.Workloads {
			a := res.Row(s.Name, w.Name)
			for _, v := range versus {
				b := res.Row(v, w.Name)
				if a == nil || b == nil || !a.Valid() || !b.Valid() || b.ReqPerSec == 0 {
					continue
				}
				r := Ratio{Server: s.Name, Workload: w.Name, Versus: v, Ratio: a.ReqPerSec / b.ReqPerSec}
				if a.CPUPerReq > 0 {
					r.CPURatio = float64(b.CPUPerReq) / float64(a.CPUPerReq)
				}
				var rounds []float64
				for _, ra := range a.Runs {
					for _, rb := range b.Runs {
						if ra.Round == rb.Round && rb.ReqPerSec > 0 {
							rounds = append(rounds, ra.ReqPerSec/rb.ReqPerSec)
						}
					}
				}
				if len(rounds) > 0 {
					r.RoundMedian, r.RoundMin, r.RoundMax = median(rounds), slices.Min(rounds), slices.Max(rounds)
				}
				res.Ratios = append(res.Ratios, r)
			}
		}
	}
}

func (res *Results) ratio(server, workload, versus string) (Ratio, bool) {
	for _, r := range res.Ratios {
		if r.Server == server && r.Workload == workload && r.Versus == versus {
			return r, true
		}
	}
	return Ratio{}, false
}

// Write stores results.json, results.md and the charts in dir.
func (res *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	for name, svg := range res.Charts() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.Markdown()), 0o644)
}

// geomean of xs (0 when empty).
func geomean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs)))
}

// Markdown renders the summary of ratios and one table per workload.
func (res *Results) Markdown() string {
	var b strings.Builder
	m := res.Meta
	mode := "full"
	if m.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "# Spikard benchmark — %s (%s)\n\n", m.Date, mode)
	fmt.Fprintf(&b, "`%s`: wrk `-t%d -c%d -d%s --latency`, %s warm-up per server and route (excluded), %d interleaved round(s); %s, %s, %d CPUs",
		m.Command, m.Threads, m.Connections, m.Duration, m.Warmup, m.Repeat, m.GoVersion, m.WrkVersion, m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(&b, " (%s)", m.CPUModel)
	}
	if m.Commit != "" {
		fmt.Fprintf(&b, ", commit %s", m.Commit)
	}
	fmt.Fprintf(&b, "; took %s. wrk and the servers share the machine's CPUs, so absolute numbers understate a dedicated server; the ratios, measured in the same run, are the point.\n", m.Elapsed)
	if m.Profile {
		b.WriteString("\n**Servers ran under profilers in this run: their numbers are low.**\n")
	}

	b.WriteString("\n## Servers\n\n| server | language | what | status |\n|---|---|---|---|\n")
	for _, s := range res.Servers {
		st := "ran"
		if s.Unavailable != "" {
			st = "**unavailable**: " + oneLine(s.Unavailable)
		}
		name := s.Name
		if s.Ours {
			name = "**" + name + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, s.Lang, s.What, st)
	}

	// The geometric means first: what the issues track.
	b.WriteString("\n## Summary\n\nGeometric mean over the workloads of each binding's req/s ÷ each reference's (same run), and the range of the per-workload ratios.\n\n| binding | compared with | geometric mean | per workload (min–max) | workloads |\n|---|---|---:|---:|---:|\n")
	for _, s := range res.Servers {
		if !s.Ours || s.Unavailable != "" {
			continue
		}
		for _, v := range res.versus(s) {
			var qs []float64
			for _, w := range res.Workloads {
				if q, ok := res.ratio(s.Name, w.Name, v); ok {
					qs = append(qs, q.Ratio)
				}
			}
			if len(qs) == 0 {
				fmt.Fprintf(&b, "| %s | %s | — | — | 0 |\n", s.Name, v)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | **%.2f×** | %.2f–%.2f× | %d |\n", s.Name, v, geomean(qs), slices.Min(qs), slices.Max(qs), len(qs))
		}
	}

	// Ratios: one table per binding.
	b.WriteString("\n## Each binding against its peers and against " + res.Baseline + "\n\n")
	b.WriteString("Ratio of median req/s (same run); in brackets the min–max of the per-round ratios (runs taken back to back); CPU: the reference's server CPU per request ÷ the binding's. The first column compared is the binding's peer, then the other servers it is compared with, then " + res.Baseline + ".\n")
	for _, s := range res.Servers {
		if !s.Ours || s.Unavailable != "" {
			continue
		}
		versus := res.versus(s)
		fmt.Fprintf(&b, "\n### %s (%s)\n\n| workload | %s req/s |", s.Name, s.Lang, s.Name)
		for _, v := range versus {
			fmt.Fprintf(&b, " ÷ %s | CPU/req ÷ %s |", v, v)
		}
		b.WriteString("\n|---|---:|" + strings.Repeat("---:|---:|", len(versus)) + "\n")
		all := map[string][]float64{}
		for _, w := range res.Workloads {
			r := res.Row(s.Name, w.Name)
			fmt.Fprintf(&b, "| %s | %s |", w.Name, cell(r))
			for _, v := range versus {
				if q, ok := res.ratio(s.Name, w.Name, v); ok {
					all[v] = append(all[v], q.Ratio)
					fmt.Fprintf(&b, " %.2f× (%.2f–%.2f) | %.2f× |", q.Ratio, q.RoundMin, q.RoundMax, q.CPURatio)
				} else {
					b.WriteString(" — | — |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("| **geometric mean** | |")
		for _, v := range versus {
			if len(all[v]) > 0 {
				fmt.Fprintf(&b, " **%.2f×** (%d workloads) | |", geomean(all[v]), len(all[v]))
			} else {
				b.WriteString(" — | |")
			}
		}
		b.WriteString("\n")
	}

	if len(res.Callgrind) > 0 {
		b.WriteString("\n## Instructions per request (callgrind, spikard-go)\n\n")
		b.WriteString("The noise-free regression signal: the spikard-go server under `valgrind --tool=callgrind`, counters zeroed after a warm-up, then N sequential requests from a Go client on one keep-alive connection; Ir (instructions executed, all threads) ÷ N.\n\n| workload | requests | Ir | Ir / request |\n|---|---:|---:|---:|\n")
		for _, c := range res.Callgrind {
			if c.Error != "" {
				fmt.Fprintf(&b, "| %s | %d | **failed**: %s | |\n", c.Workload, c.Requests, oneLine(c.Error))
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", c.Workload, c.Requests, fmtInt(c.Ir), fmtInt(int64(math.Round(c.PerReq))))
		}
	}

	var profs []string
	for _, s := range res.Servers {
		if s.Profile != "" {
			profs = append(profs, fmt.Sprintf("| %s | `%s` |", s.Name, s.Profile))
		}
	}
	if len(profs) > 0 {
		b.WriteString("\n## CPU profiles\n\nGo: pprof (`go tool pprof -top` in the `.top.txt` beside it); Python: py-spy, speedscope JSON (open at speedscope.app or `py-spy`'s viewer); Node: `--cpu-prof` (.cpuprofile, Chrome DevTools); C, Ruby and PHP: perf record of every process (`perf report` in the `.perf.txt`, `perf report -i` the `.perf.data` beside it for call graphs).\n\n| server | profile |\n|---|---|\n")
		b.WriteString(strings.Join(profs, "\n") + "\n")
	}

	var noisy []string
	for _, r := range res.Rows {
		if r.OtherCores > NoisyCores {
			noisy = append(noisy, fmt.Sprintf("%s/%s %.1f", r.Server, r.Workload, r.OtherCores))
		}
	}
	if len(noisy) > 0 {
		fmt.Fprintf(&b, "\n**Other processes used CPU during %d of %d rows** (median cores beyond the server and wrk; listed in results.json). Their req/s is unreliable; the per-round ratios and the CPU per request hold up better.\n", len(noisy), len(res.Rows))
	}

	b.WriteString("\n## Every row\n")
	for _, w := range res.Workloads {
		fmt.Fprintf(&b, "\n### %s — `%s`", w.Name, w.Request)
		if w.Bytes > 0 {
			fmt.Fprintf(&b, " (%s body)", fmtBytes(w.Bytes))
		}
		b.WriteString("\n\n| server | req/s (median) | spread (min–max) | p50 | p99 | RSS | server CPU / req | other load |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range res.Servers {
			r := res.Row(s.Name, w.Name)
			if r == nil {
				continue
			}
			if !r.Valid() && len(r.Runs) == 0 {
				fmt.Fprintf(&b, "| %s | %s: %s | | | | | | |\n", s.Name, r.Status, oneLine(r.Problem))
				continue
			}
			name := s.Name
			if !r.Valid() {
				name += " (**invalid**: " + oneLine(r.Problem) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f MiB | %s | %.2f cores |\n", name,
				fmtInt(int64(math.Round(r.ReqPerSec))), spread(r), fmtDur(r.P50), fmtDur(r.P99),
				float64(r.RSSKiB)/1024, fmtDur(r.CPUPerReq), r.OtherCores)
		}
	}
	b.WriteString("\n## Charts\n\n")
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range res.Charts() {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(name, ".svg"), name)
	}
	return b.String()
}

func cell(r *Row) string {
	switch {
	case r == nil:
		return "—"
	case r.Valid():
		return fmtInt(int64(math.Round(r.ReqPerSec)))
	}
	return r.Status
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func spread(r *Row) string {
	if len(r.Runs) < 2 {
		return "—"
	}
	half := 0.0
	if r.ReqPerSec > 0 {
		half = (r.MaxRPS - r.MinRPS) / 2 / r.ReqPerSec * 100
	}
	return fmt.Sprintf("%s–%s (±%.0f%%)", fmtInt(int64(math.Round(r.MinRPS))), fmtInt(int64(math.Round(r.MaxRPS))), half)
}

// fmtInt writes an integer with thousands separators.
func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func fmtBytes(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

// fmtDur writes a latency in the unit that keeps three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// FmtInt, FmtDur and Spread format figures as this report does, for the
// tables of other drivers (bench/cmd/mwbench).
func FmtInt(n int64) string         { return fmtInt(n) }
func FmtDur(d time.Duration) string { return fmtDur(d) }
func (r *Row) Spread() string       { return spread(r) }
