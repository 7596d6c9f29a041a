package bench

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/workload"
)

// startAll builds and starts every server for a test. Building takes a few
// seconds, so it is skipped under -short.
func startAll(t *testing.T) []*Proc {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the three benchmark servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bins, err := Build(ctx, root, dir, Servers)
	if err != nil {
		t.Fatal(err)
	}
	var procs []*Proc
	for _, s := range Servers {
		p, err := Start(s.Name, bins[s.Name], filepath.Join(dir, s.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Stop(); err != nil {
				t.Error(err)
			}
		})
		procs = append(procs, p)
	}
	return procs
}

// TestServersAgree is the correctness gate of the benchmark: every server
// answers every workload with a 2xx and the same JSON document, so no row
// of the report can be measuring a 404, a 422 or a different answer.
func TestServersAgree(t *testing.T) {
	procs := startAll(t)
	client := &http.Client{Timeout: 10 * time.Second}
	ctx := context.Background()
	for _, w := range workload.All {
		t.Run(w.Name, func(t *testing.T) {
			var first []byte
			for _, p := range procs {
				body, err := Check(ctx, client, p, w)
				if err != nil {
					t.Fatal(err)
				}
				// JSON-equal is the requirement; identical bytes are what the
				// servers are written to produce, so check that too.
				if first == nil {
					first = body
				} else if string(body) != string(first) {
					t.Errorf("%s answered %s, %s answered %s", procs[0].Name, first, p.Name, body)
				}
			}
		})
	}
}

// TestServersReject proves every server really checks its input (a server
// skipping the checks would be measured doing less work): each bad request
// must get a 4xx from all three.
func TestServersReject(t *testing.T) {
	procs := startAll(t)
	client := &http.Client{Timeout: 10 * time.Second}
	ctx := context.Background()
	bad := []struct {
		name, method, target, body string
	}{
		{"non-integer id", "GET", "/users/abc/posts/x", ""},
		{"missing q", "GET", "/search?limit=10&page=2", ""},
		{"empty q", "GET", "/search?q=&limit=10&page=2", ""},
		{"limit not an integer", "GET", "/search?q=go&limit=ten&page=2", ""},
		{"limit above maximum", "GET", "/search?q=go&limit=101&page=2", ""},
		{"page below minimum", "GET", "/search?q=go&limit=10&page=0", ""},
		{"price not positive", "POST", "/items", `{"name":"x","price":0}`},
		{"missing name", "POST", "/items", `{"price":1}`},
		{"empty name", "POST", "/items", `{"name":"","price":1}`},
		{"price is a string", "POST", "/items", `{"name":"x","price":"1"}`},
		{"tags not strings", "POST", "/items", `{"name":"x","price":1,"tags":[1]}`},
		{"in_stock not boolean", "POST", "/items", `{"name":"x","price":1,"in_stock":"yes"}`},
		{"invalid JSON (validated)", "POST", "/items", `{"name":`},
		{"invalid JSON (unvalidated)", "POST", "/items-raw", `{"name":`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			ct := ""
			if c.body != "" {
				body, ct = []byte(c.body), "application/json"
			}
			for _, p := range procs {
				status, answer, err := Request(ctx, client, c.method, p.URL(c.target), ct, body)
				if err != nil {
					t.Fatal(err)
				}
				if status < 400 || status > 499 {
					t.Errorf("%s: %s %s %s: status %d (%s), want 4xx", p.Name, c.method, c.target, c.body, status, answer)
				}
			}
		})
	}
}

func TestJSONEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{`{"a":1,"b":[true,"x"]}`, `{"b":[true,"x"],"a":1}`, true},
		{`{"a":1}`, `{"a":1.0}`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
	} {
		eq, err := JSONEqual([]byte(c.a), []byte(c.b))
		if err != nil || eq != c.eq {
			t.Errorf("JSONEqual(%s, %s) = %v, %v; want %v", c.a, c.b, eq, err, c.eq)
		}
	}
}
