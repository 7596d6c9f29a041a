package bench

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/workload"
)

// TestServers is the correctness gate of the benchmark: every server
// answers every workload it implements with a 2xx and the expected JSON
// document (so the same answer as spikard-go's), and refuses every bad
// request of the validated variants with a 4xx, so no row of the report can
// be timing a 404, a 422, a different answer or a server that skips its
// checks. The Go servers always run; the others run when the benchmark
// has installed them (bench/.peers), and are skipped with the reason
// otherwise.
func TestServers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the benchmark servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	env := &Env{Root: root, Peers: filepath.Join(root, "bench", ".peers"), Tmp: tmp, Log: t.Logf,
		NoInstall: os.Getenv("BENCH_TEST_INSTALL") == ""}
	spec, doc, err := WriteSpec(tmp)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	for _, s := range Servers {
		t.Run(s.Name, func(t *testing.T) {
			l, err := s.Prepare(ctx, env)
			if err != nil {
				if s.Lang == "go" {
					t.Fatal(err)
				}
				t.Skipf("%s unavailable: %v", s.Name, err)
			}
			p, err := Start(s.Name, l, spec, doc, filepath.Join(tmp, s.Name+".log"), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := p.Stop(); err != nil {
					t.Error(err)
				}
			}()
			for _, w := range workload.All {
				if why := s.NotImplemented(w.Name); why != "" {
					t.Logf("%s: not implemented: %s", w.Name, why)
					continue
				}
				_, err := Check(ctx, client, p, w)
				if err == nil {
					err = CheckRejects(ctx, client, p, w)
				}
				switch {
				case err != nil && s.Known(w.Name) != "":
					t.Logf("%s: known defect (%s): %v", w.Name, s.Known(w.Name), err)
				case err != nil:
					t.Errorf("%s: %v", w.Name, err)
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
		{`{"a":"\u0026"}`, `{"a":"&"}`, true},
	} {
		eq, err := JSONEqual([]byte(c.a), []byte(c.b))
		if err != nil || eq != c.eq {
			t.Errorf("JSONEqual(%s, %s) = %v, %v; want %v", c.a, c.b, eq, err, c.eq)
		}
	}
}

// TestWorkloadTable checks the table itself: unique names, every base
// workload has its validated twin, and the spec and core document encode.
func TestWorkloadTable(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range workload.All {
		if seen[w.Name] {
			t.Errorf("duplicate workload %s", w.Name)
		}
		seen[w.Name] = true
		if _, ok := workload.ByName(w.Base + "-validated"); !ok {
			t.Errorf("%s has no validated variant", w.Base)
		}
	}
	for _, q := range workload.Quick {
		if !seen[q] {
			t.Errorf("quick workload %s does not exist", q)
		}
	}
	if _, _, err := WriteSpec(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// TestRegistry checks the servers table: unique names, and every binding's
// peer and other references registered (in its language, or the baseline).
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Servers {
		if seen[s.Name] {
			t.Errorf("duplicate server %s", s.Name)
		}
		seen[s.Name] = true
		if !s.Ours && (s.Peer != "" || len(s.Also) > 0) {
			t.Errorf("%s is not a binding but names references", s.Name)
		}
		for _, ref := range append([]string{s.Peer}, s.Also...) {
			r := ServerByName(ref)
			switch {
			case ref == "" && s.Ours:
				t.Errorf("binding %s has no peer", s.Name)
			case ref == "":
			case r == nil:
				t.Errorf("%s is compared with %s, which is not registered", s.Name, ref)
			case r.Lang != s.Lang && ref != RawFasthttp:
				t.Errorf("%s (%s) is compared with %s (%s)", s.Name, s.Lang, ref, r.Lang)
			}
		}
	}
}
