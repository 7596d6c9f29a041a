package report

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/wrk"
)

func run(round int, rps float64, non2xx int64) Run {
	return Run{Round: round, Result: wrk.Result{Requests: int64(rps) * 10, ReqPerSec: rps, P50: time.Millisecond, P99: 5 * time.Millisecond, Non2xx: non2xx}, CPU: time.Second}
}

func TestSummarizeRatiosAndRender(t *testing.T) {
	res := &Results{
		Meta:      Meta{Date: "2026-01-02", Threads: 2, Connections: 64, Duration: 10 * time.Second, Repeat: 3, Command: "bench"},
		Workloads: []Workload{{Name: "w", Group: "json", Request: "GET /w"}, {Name: "v", Group: "json", Request: "POST /v"}},
		Servers: []Server{{Name: "raw", Lang: "go"}, {Name: "sub", Lang: "go", Ours: true, Peer: "raw"},
			{Name: "py", Lang: "python", Ours: true, Peer: "peer", Also: []string{"fw", "not-run"}}, {Name: "peer", Lang: "python"},
			{Name: "fw", Lang: "python"}, {Name: "gone", Lang: "php", Unavailable: "did not install"}},
		Baseline: "raw",
		Rows: []Row{
			{Server: "raw", Workload: "w", Status: OK, Runs: []Run{run(1, 100, 0), run(2, 120, 0), run(3, 110, 0)}},
			{Server: "sub", Workload: "w", Status: OK, Runs: []Run{run(1, 95, 0), run(2, 99, 0), run(3, 90, 0)}},
			{Server: "py", Workload: "w", Status: OK, Runs: []Run{run(1, 20, 0), run(2, 22, 0), run(3, 21, 0)}},
			{Server: "peer", Workload: "w", Status: OK, Runs: []Run{run(1, 10, 0), run(2, 11, 0), run(3, 10, 0)}},
			{Server: "fw", Workload: "w", Status: OK, Runs: []Run{run(1, 5, 0), run(2, 4, 0), run(3, 5, 0)}},
			{Server: "raw", Workload: "v", Status: OK, Runs: []Run{run(1, 100, 0)}},
			{Server: "sub", Workload: "v", Status: OK, Runs: []Run{run(1, 100, 3)}},
			{Server: "py", Workload: "v", Status: NotImplemented, Problem: "no multipart"},
			{Server: "peer", Workload: "v", Status: Invalid, Problem: "correctness check: 404"},
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
	if got := res.Row("sub", "v"); got.Valid() {
		t.Fatal("a row with non-2xx answers must be invalid")
	}
	q, ok := res.ratio("py", "w", "peer")
	if !ok || q.Ratio != 2.1 || q.RoundMin != 2 || q.RoundMax != 2.1 {
		t.Fatalf("py ÷ peer: %+v %v", q, ok)
	}
	if q, ok := res.ratio("py", "w", "raw"); !ok || q.Ratio != 21.0/110 {
		t.Fatalf("py ÷ raw: %+v", q)
	}
	if q, ok := res.ratio("py", "w", "fw"); !ok || q.Ratio != 21.0/5 || q.RoundMin != 4 || q.RoundMax != 5.5 {
		t.Fatalf("py ÷ fw: %+v %v", q, ok)
	}
	if got := res.versus(res.Servers[2]); !slices.Equal(got, []string{"peer", "fw", "raw"}) {
		t.Fatalf("py is compared with %v; want its peer, the others of this run, the baseline", got)
	}
	md := res.Markdown()
	for _, want := range []string{"| w | 21 | 2.10× (2.00–2.10) | 2.03× | 4.20× (4.00–5.50) | 4.50× | 0.19× (0.18–0.20) |",
		"| py | fw | **4.20×** | 4.20–4.20× | 1 |", "| py | peer | **2.10×** |", "not implemented: no multipart",
		"invalid: correctness check: 404", "sub (**invalid**: 3 non-2xx answers)", "**unavailable**: did not install", "![rps-json](rps-json.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for name, svg := range res.Charts() {
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Errorf("%s is not well-formed XML: %v", name, err)
		}
	}
}
