package report

import (
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/wrk"
)

func run(rps float64, non2xx int64) Run {
	return Run{Result: wrk.Result{Requests: int64(rps) * 10, ReqPerSec: rps, P50: time.Millisecond, P99: 5 * time.Millisecond, Non2xx: non2xx}, CPU: time.Second}
}

func TestSummarizeAndRatios(t *testing.T) {
	res := &Results{
		Meta:      Meta{Date: "2026-01-02", Threads: 2, Connections: 64, Duration: 10 * time.Second, Repeat: 3},
		Workloads: []Workload{{Name: "w", Request: "GET /w", Goal: 0.9}, {Name: "v", Request: "POST /v", Goal: 0.8}},
		Servers:   []string{"raw", "sub", "std"},
		Subject:   "sub", Baselines: []string{"raw", "std"},
		Rows: []Row{
			{Server: "raw", Workload: "w", Valid: true, Runs: []Run{run(100, 0), run(120, 0), run(110, 0)}},
			{Server: "sub", Workload: "w", Valid: true, Runs: []Run{run(95, 0), run(99, 0), run(90, 0)}},
			{Server: "std", Workload: "w", Valid: true, Runs: []Run{{Result: wrk.Result{Requests: 500, ReqPerSec: 50, P50: 1, P99: 1}, CPU: time.Second, Wall: 10 * time.Second, Other: 5 * time.Second}}},
			{Server: "raw", Workload: "v", Valid: true, Runs: []Run{run(100, 0)}},
			{Server: "sub", Workload: "v", Valid: true, Runs: []Run{run(100, 3)}},
			{Server: "std", Workload: "v", Valid: false, Problem: "correctness check: 404"},
		},
	}
	for i := range res.Rows {
		res.Rows[i].Summarize()
	}
	res.ComputeRatios()
	raw := res.Row("raw", "w")
	if raw.ReqPerSec != 110 || raw.MinRPS != 100 || raw.MaxRPS != 120 {
		t.Fatalf("raw row: %+v", raw)
	}
	if got := res.Row("sub", "v"); got.Valid {
		t.Fatal("a row with non-2xx answers must be invalid")
	}
	if len(res.Ratios) != 2 {
		t.Fatalf("ratios: %+v", res.Ratios)
	}
	r := res.Ratios[0]
	if r.Versus != "raw" || r.Ratio != 95.0/110 || r.Met {
		t.Fatalf("ratio vs raw: %+v", r)
	}
	md := res.Markdown()
	for _, want := range []string{"| w | 95 | 0.86× | ≥ 0.90 | **no** | 0.86× | 1.90× |", "**Other processes used CPU during some runs** (cores, median): std/w 0.5", "**invalid**: correctness check: 404", "sub (**invalid**: 3 non-2xx answers)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
