// Package report turns wrk runs into the benchmark's rows and renders them
// as results.json (everything, for tooling) and results.md (the tables).
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

	"github.com/spikard/spikard-go/bench/wrk"
)

// Run is one measured wrk run and the server CPU time it cost.
type Run struct {
	wrk.Result
	CPU  time.Duration `json:"server_cpu_ns"`
	Wall time.Duration `json:"wall_ns"`
	// Other is the CPU time processes other than the server and wrk used
	// during the run: on a shared machine, the noise in its numbers.
	Other time.Duration `json:"other_cpu_ns"`
}

// Row is one (server, workload) cell of the report.
type Row struct {
	Server   string `json:"server"`
	Workload string `json:"workload"`
	// Valid is false when the correctness check failed or wrk saw non-2xx
	// answers or socket errors; the numbers of an invalid row mean nothing.
	Valid   bool   `json:"valid"`
	Problem string `json:"problem,omitempty"`
	Runs    []Run  `json:"runs,omitempty"`

	// Medians across runs (min and max give the spread).
	ReqPerSec float64       `json:"req_per_sec_median"`
	MinRPS    float64       `json:"req_per_sec_min"`
	MaxRPS    float64       `json:"req_per_sec_max"`
	P50       time.Duration `json:"p50_ns_median"`
	P99       time.Duration `json:"p99_ns_median"`
	// RSS after the last run, and its peak over the process's life.
	RSSKiB     int64 `json:"rss_kib"`
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// Server CPU time over the measured runs, total and per request.
	CPU       time.Duration `json:"server_cpu_ns_total"`
	CPUPerReq time.Duration `json:"server_cpu_ns_per_request"`
	Non2xx    int64         `json:"non_2xx_total"`
	SocketErr int64         `json:"socket_errors_total"`
	// OtherCores is the median CPU (in cores) other processes used during
	// the runs; above ~0.2 the row's req/s is unreliable on a 2-core box.
	OtherCores float64 `json:"other_cores_median"`
}

// NoisyCores is the background load above which the report warns.
const NoisyCores = 0.2

// Invalidate marks the row invalid, keeping the first reason.
func (r *Row) Invalidate(reason string) {
	if r.Valid || r.Problem == "" {
		r.Problem = reason
	}
	r.Valid = false
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
	Quick       bool          `json:"quick"`
	Duration    time.Duration `json:"duration_ns"`
	Warmup      time.Duration `json:"warmup_ns"`
	Repeat      int           `json:"repeat"`
	Threads     int           `json:"threads"`
	Connections int           `json:"connections"`
	// Profile is set when spikard-go ran under the CPU profiler, which
	// slows it down a little: such a run is for the profile, not the ratio.
	Profile bool `json:"profile"`
}

// Workload is how a workload is described in the report.
type Workload struct {
	Name      string  `json:"name"`
	Request   string  `json:"request"`
	Validated bool    `json:"validated"`
	Goal      float64 `json:"goal_ratio"`
}

// Ratio compares spikard-go with a baseline on one workload.
type Ratio struct {
	Workload string  `json:"workload"`
	Versus   string  `json:"versus"`
	Ratio    float64 `json:"ratio"`
	Goal     float64 `json:"goal,omitempty"`
	Met      bool    `json:"met"`
	// CPURatio is the baseline's server CPU per request over the subject's:
	// the throughput ratio to expect when the server alone is CPU-bound.
	// It is steadier than Ratio when other processes share the machine.
	CPURatio float64 `json:"cpu_ratio,omitempty"`
}

// Results is the whole report.
type Results struct {
	Meta      Meta       `json:"meta"`
	Workloads []Workload `json:"workloads"`
	Servers   []string   `json:"servers"`
	Rows      []Row      `json:"rows"`
	Ratios    []Ratio    `json:"ratios"`
	// Subject and Baselines name the servers the ratios compare.
	Subject   string   `json:"subject"`
	Baselines []string `json:"baselines"`
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

// ComputeRatios fills Ratios: the subject's median req/s over each
// baseline's, for every workload where both rows are valid. The goal
// applies to the first baseline only (the goal is against raw
// fasthttp).
func (res *Results) ComputeRatios() {
	res.Ratios = nil
	for _, w := range res.Workloads {
		s := res.Row(res.Subject, w.Name)
		for i, b := range res.Baselines {
			br := res.Row(b, w.Name)
			if s == nil || br == nil || !s.Valid || !br.Valid || br.ReqPerSec == 0 {
				continue
			}
			r := Ratio{Workload: w.Name, Versus: b, Ratio: s.ReqPerSec / br.ReqPerSec}
			if s.CPUPerReq > 0 {
				r.CPURatio = float64(br.CPUPerReq) / float64(s.CPUPerReq)
			}
			if i == 0 {
				r.Goal = w.Goal
				r.Met = r.Ratio >= w.Goal
			}
			res.Ratios = append(res.Ratios, r)
		}
	}
}

func (res *Results) ratio(workload, versus string) (Ratio, bool) {
	for _, r := range res.Ratios {
		if r.Workload == workload && r.Versus == versus {
			return r, true
		}
	}
	return Ratio{}, false
}

// Write stores results.json and results.md in dir.
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
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.Markdown()), 0o644)
}

// Markdown renders the summary of ratios and one table per workload.
func (res *Results) Markdown() string {
	var b strings.Builder
	m := res.Meta
	mode := "full"
	if m.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "# Spikard Go benchmark — %s (%s)\n\n", m.Date, mode)
	fmt.Fprintf(&b, "wrk `-t%d -c%d -d%s --latency`, %s warm-up (excluded), %d run(s) per row; %s, %s, %d CPUs",
		m.Threads, m.Connections, m.Duration, m.Warmup, m.Repeat, m.GoVersion, m.WrkVersion, m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(&b, " (%s)", m.CPUModel)
	}
	if m.Commit != "" {
		fmt.Fprintf(&b, ", commit %s", m.Commit)
	}
	b.WriteString(". wrk and the server share the machine's CPUs, so absolute numbers understate a dedicated server; the ratios are the point.\n")
	var noisy []string
	for _, r := range res.Rows {
		if r.OtherCores > NoisyCores {
			noisy = append(noisy, fmt.Sprintf("%s/%s %.1f", r.Server, r.Workload, r.OtherCores))
		}
	}
	if len(noisy) > 0 {
		fmt.Fprintf(&b, "\n**Other processes used CPU during some runs** (cores, median): %s. Their req/s is unreliable; the server CPU per request and its ratio hold up better.\n", strings.Join(noisy, ", "))
	}
	if m.Profile {
		b.WriteString("\n**spikard-go ran under the CPU profiler in this run: its numbers are a little low.**\n")
	}

	b.WriteString("\n## Summary\n\n")
	fmt.Fprintf(&b, "| workload | %s req/s | %s ÷ %s | goal | met | CPU/req ratio ÷ %s |", res.Subject, res.Subject, res.Baselines[0], res.Baselines[0])
	for _, base := range res.Baselines[1:] {
		fmt.Fprintf(&b, " %s ÷ %s |", res.Subject, base)
	}
	b.WriteString("\n|---|---:|---:|---:|:---:|---:|")
	for range res.Baselines[1:] {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, w := range res.Workloads {
		rps := "—"
		if s := res.Row(res.Subject, w.Name); s != nil && s.Valid {
			rps = fmtRPS(s.ReqPerSec)
		}
		r, ok := res.ratio(w.Name, res.Baselines[0])
		ratio, met, cpu := "—", "—", "—"
		if ok {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
			met = map[bool]string{true: "yes", false: "**no**"}[r.Met]
			cpu = fmt.Sprintf("%.2f×", r.CPURatio)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | ≥ %.2f | %s | %s |", w.Name, rps, ratio, w.Goal, met, cpu)
		for _, base := range res.Baselines[1:] {
			if r, ok := res.ratio(w.Name, base); ok {
				fmt.Fprintf(&b, " %.2f× |", r.Ratio)
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}

	for _, w := range res.Workloads {
		fmt.Fprintf(&b, "\n## %s — `%s`\n\n", w.Name, w.Request)
		b.WriteString("| server | req/s (median) | spread (min–max) | p50 | p99 | RSS after | server CPU / req | other load |")
		for _, base := range res.Baselines {
			fmt.Fprintf(&b, " ÷ %s |", base)
		}
		b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|---:|")
		for range res.Baselines {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, server := range res.Servers {
			r := res.Row(server, w.Name)
			if r == nil {
				continue
			}
			if !r.Valid && len(r.Runs) == 0 {
				fmt.Fprintf(&b, "| %s | **invalid**: %s |", server, oneLine(r.Problem))
				b.WriteString(strings.Repeat(" |", 6+len(res.Baselines)))
				b.WriteString("\n")
				continue
			}
			name := server
			if !r.Valid {
				name += " (**invalid**: " + oneLine(r.Problem) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f MiB | %s | %.2f cores |", name,
				fmtRPS(r.ReqPerSec), spread(r), fmtDur(r.P50), fmtDur(r.P99),
				float64(r.RSSKiB)/1024, fmtDur(r.CPUPerReq), r.OtherCores)
			for _, base := range res.Baselines {
				br := res.Row(base, w.Name)
				if br == nil || !br.Valid || !r.Valid || br.ReqPerSec == 0 {
					b.WriteString(" — |")
					continue
				}
				fmt.Fprintf(&b, " %.2f |", r.ReqPerSec/br.ReqPerSec)
			}
			b.WriteString("\n")
		}
		if r, ok := res.ratio(w.Name, res.Baselines[0]); ok {
			verdict := "met"
			if !r.Met {
				verdict = "**not met**"
			}
			fmt.Fprintf(&b, "\n%s = %.2f× %s (goal ≥ %.2f: %s; by server CPU per request %.2f×)", res.Subject, r.Ratio, r.Versus, r.Goal, verdict, r.CPURatio)
			for _, base := range res.Baselines[1:] {
				if r2, ok := res.ratio(w.Name, base); ok {
					fmt.Fprintf(&b, ", %.2f× %s", r2.Ratio, base)
				}
			}
			b.WriteString(".\n")
		}
	}
	return b.String()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 160 {
		s = s[:160] + "…"
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
	return fmt.Sprintf("%s–%s (±%.1f%%)", fmtRPS(r.MinRPS), fmtRPS(r.MaxRPS), half)
}

// fmtRPS writes a rate with thousands separators.
func fmtRPS(v float64) string {
	n := int64(math.Round(v))
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
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
