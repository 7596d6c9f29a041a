package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/workload"
)

// TestMain lets the test binary be a variant's server, as the mwbench
// binary is: startServers re-executes it with serveEnv set.
func TestMain(m *testing.M) {
	if name := os.Getenv(serveEnv); name != "" {
		serve(name)
	}
	os.Exit(m.Run())
}

func testWorkloads(t *testing.T) []workload.Workload {
	var ws []workload.Workload
	for _, n := range []string{"json-small", "json-medium"} {
		w, ok := workload.ByName(n)
		if !ok {
			t.Fatalf("no workload %s", n)
		}
		ws = append(ws, w)
	}
	return ws
}

func startAll(t *testing.T) map[string]*server {
	t.Helper()
	ss, err := startServers(os.Args[0], t.TempDir(), variants, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServers(ss) })
	m := map[string]*server{}
	for _, s := range ss {
		m[s.v.name] = s
	}
	return m
}

// TestVariantsApplyTheirMiddleware is what mwbench checks before timing:
// every variant answers both workloads right, shows its middleware at work
// (and refuses what it must) and no trace of the others.
func TestVariantsApplyTheirMiddleware(t *testing.T) {
	ss := startAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws := testWorkloads(t)
	for _, v := range variants {
		for _, w := range ws {
			if err := v.check(ctx, newSender("http://"+ss[v.name].p.Addr), w); err != nil {
				t.Errorf("variant %s, %s: %v", v.name, w.Name, err)
			}
		}
	}
	if len(variants) != 7 || variantByName("full") == nil || len(variantByName("full").features) != 5 {
		t.Errorf("want none, five single middleware and the full stack; have %v", variantNames())
	}
}

// TestChecksCatchAMissingMiddleware proves the checks are not vacuous: a
// variant's checks run against the bare server fail, and the bare
// server's checks run against each single-middleware server fail.
func TestChecksCatchAMissingMiddleware(t *testing.T) {
	ss := startAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	none := variantByName("none")
	for _, w := range testWorkloads(t) {
		for _, v := range variants {
			if v == none {
				continue
			}
			if err := v.check(ctx, newSender("http://"+ss["none"].p.Addr), w); err == nil {
				t.Errorf("%s: the checks of %s pass on the server without middleware", w.Name, v.name)
			} else {
				t.Logf("%s: %s's checks on the bare server: %v", w.Name, v.name, err)
			}
			if err := none.check(ctx, newSender("http://"+ss[v.name].p.Addr), w); err == nil {
				t.Errorf("%s: the no-middleware checks pass on %s", w.Name, v.name)
			}
		}
	}
}

func TestFlagsAndVariants(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range variants {
		if seen[v.name] {
			t.Errorf("variant %s twice", v.name)
		}
		seen[v.name] = true
		if v.label() == "" {
			t.Errorf("variant %s has no label", v.name)
		}
	}
	for _, f := range features {
		if f.absent == nil {
			t.Errorf("%s: no absence check", f.key)
		}
		if f.present == nil && f.probe == nil {
			t.Errorf("%s: no check that it works", f.key)
		}
	}
	small, _ := workload.ByName("json-small")
	medium, _ := workload.ByName("json-medium")
	if len(small.Expect) >= gzipMinSize || len(medium.Expect) < gzipMinSize || len(compressed(medium.Expect)) >= len(medium.Expect) {
		t.Errorf("json-small (%d B) must stay below and json-medium (%d B) above min_size %d, compressible",
			len(small.Expect), len(medium.Expect), gzipMinSize)
	}
}
