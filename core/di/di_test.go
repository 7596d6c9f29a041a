package di

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spikard/spikard-go/core/config"
)

func deps(t *testing.T, doc string) config.Dependencies {
	t.Helper()
	var d config.Dependencies
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func compile(t *testing.T, layers ...string) *Graph {
	t.Helper()
	var ls []config.Dependencies
	for _, l := range layers {
		ls = append(ls, deps(t, l))
	}
	g, err := Compile(nil, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// counter is an Invoke that answers "<key>#<n>" and counts calls per key.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	order []string
	seen  map[string][]Resolved
}

func newCounter() *counter { return &counter{calls: map[string]int{}, seen: map[string][]Resolved{}} }

func (c *counter) invoke(n *Node, ds []Resolved) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[n.Key]++
	c.order = append(c.order, n.Key)
	c.seen[n.Key] = ds
	return json.Marshal(fmt.Sprintf("%s#%d", n.Key, c.calls[n.Key]))
}

const nested = `{
	"config":       {"type": "value", "value": {"db_url": "postgresql://localhost/mydb"}, "value_type": "object"},
	"db_pool":      {"type": "async_factory", "factory": "mk_db", "depends_on": ["config"], "cacheable": true},
	"cache":        {"type": "async_factory", "factory": "mk_cache", "depends_on": ["config"], "cacheable": true},
	"auth_service": {"type": "factory", "factory": "mk_auth", "depends_on": ["db_pool", "cache"], "cacheable": true}
}`

func TestLevels(t *testing.T) {
	g := compile(t, nested)
	p, err := g.Plan([]string{"auth_service"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"config"}, {"db_pool", "cache"}, {"auth_service"}}
	if got := p.Levels(); !reflect.DeepEqual(got, want) {
		t.Fatalf("levels = %v, want %v", got, want)
	}
	c := newCounter()
	vals, err := p.Resolve(&Request{}, c.invoke, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.order, []string{"db_pool", "cache", "auth_service"}) {
		t.Fatalf("factories ran %v: level by level, declaration order within a level", c.order)
	}
	if len(vals) != 1 || vals[0].Key != "auth_service" || string(vals[0].Value) != `"auth_service#1"` {
		t.Fatalf("values = %v", vals)
	}
	got := c.seen["auth_service"]
	if len(got) != 2 || got[0].Key != "db_pool" || string(got[0].Value) != `"db_pool#1"` || got[1].Key != "cache" {
		t.Fatalf("auth_service got %v: its depends_on, in order", got)
	}
	if string(c.seen["db_pool"][0].Value) != `{"db_url":"postgresql://localhost/mydb"}` {
		t.Fatalf("db_pool got %s", c.seen["db_pool"][0].Value)
	}
}

func TestCycleDetection(t *testing.T) {
	g := compile(t, `{
		"service_a": {"type": "factory", "factory": "a", "depends_on": ["service_b"]},
		"service_b": {"type": "factory", "factory": "b", "depends_on": ["service_a"]},
		"x":         {"type": "factory", "factory": "x", "depends_on": ["y"]},
		"y":         {"type": "factory", "factory": "y", "depends_on": ["z"]},
		"z":         {"type": "factory", "factory": "z", "depends_on": ["x"]},
		"fine":      {"type": "value", "value": 1}
	}`)
	_, err := g.Plan([]string{"service_a"})
	var ce *CycleError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Cycle, []string{"service_a", "service_b", "service_a"}) {
		t.Fatalf("err = %v, want the cycle service_a -> service_b -> service_a", err)
	}
	if _, err := g.Plan([]string{"fine", "y"}); !errors.As(err, &ce) || !reflect.DeepEqual(ce.Cycle, []string{"y", "z", "x", "y"}) {
		t.Fatalf("err = %v, want y -> z -> x -> y", err)
	}
	if p, err := g.Plan([]string{"fine"}); err != nil || p == nil {
		t.Fatalf("a plan outside the cycles: %v", err)
	}
	cycles := g.Cycles()
	if len(cycles) != 2 || cycles[0].Error() != "circular dependency: service_a -> service_b -> service_a" ||
		cycles[1].Error() != "circular dependency: x -> y -> z -> x" {
		t.Fatalf("Cycles = %v", cycles)
	}
}

func TestMissingAndInvalid(t *testing.T) {
	g := compile(t, `{"a": {"type": "factory", "factory": "a", "depends_on": ["nope"]}}`)
	var me *MissingError
	if _, err := g.Plan([]string{"a"}); !errors.As(err, &me) || me.Key != "nope" || me.By != "a" {
		t.Fatalf("err = %v", err)
	}
	if _, err := g.Plan([]string{"zzz"}); !errors.As(err, &me) || me.By != "" {
		t.Fatalf("err = %v", err)
	}
	for doc, want := range map[string]string{
		`{"a": {"type": "thing"}}`:                                             "type must be",
		`{"a": {"type": "factory"}}`:                                           `needs "factory"`,
		`{"a": {"type": "value", "value": "x", "value_type": "object"}}`:       "value_type says object",
		`{"a": {"type": "value", "value": 1.5, "value_type": "integer"}}`:      "value_type says integer",
		`{"a": {"type": "value", "value": 1, "depends_on": ["b"]}}`:            "no depends_on",
		`{"a": {"type": "factory", "factory": "f", "depends_on": ["a"]}}`:      "depends on itself",
		`{"a": {"type": "factory", "factory": "f", "depends_on": ["b", "b"]}}`: "twice",
	} {
		_, err := Compile(nil, deps(t, doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
	var d config.Dependencies
	if err := json.Unmarshal([]byte(`{"a": {"type": "value", "valu": 1}}`), &d); err == nil {
		t.Error("an unknown member of a dependency is an error")
	}
}

func TestScopes(t *testing.T) {
	g := compile(t, `{
		"per_call":   {"type": "factory", "factory": "f"},
		"per_req":    {"type": "factory", "factory": "f", "cacheable": true},
		"single":     {"type": "factory", "factory": "f", "singleton": true},
		"uses_call":  {"type": "factory", "factory": "f", "depends_on": ["per_call", "per_req", "single"]}
	}`)
	p1, _ := g.Plan([]string{"per_call", "per_req", "single"})
	p2, _ := g.Plan([]string{"uses_call"})
	c := newCounter()
	r1 := &Request{}
	a, _ := p1.Resolve(r1, c.invoke, nil, nil)
	b, _ := p2.Resolve(r1, c.invoke, nil, nil) // a second consumer of the same request
	if c.calls["per_call"] != 2 || c.calls["per_req"] != 1 || c.calls["single"] != 1 {
		t.Fatalf("one request, two consumers: calls %v (per call: 2, per request: 1, singleton: 1)", c.calls)
	}
	if string(c.seen["uses_call"][0].Value) != `"per_call#2"` || string(c.seen["uses_call"][1].Value) != string(a[1].Value) {
		t.Fatalf("uses_call got %v, first consumer %v", c.seen["uses_call"], a)
	}
	_ = b
	r2 := &Request{}
	_, _ = p1.Resolve(r2, c.invoke, nil, nil)
	if c.calls["per_call"] != 3 || c.calls["per_req"] != 2 || c.calls["single"] != 1 {
		t.Fatalf("second request: calls %v", c.calls)
	}
}

func TestSingletonOnceUnderConcurrency(t *testing.T) {
	g := compile(t, `{
		"cfg":  {"type": "value", "value": {"n": 1}},
		"pool": {"type": "factory", "factory": "mk", "depends_on": ["cfg", "slow"], "singleton": true},
		"slow": {"type": "factory", "factory": "slow"}
	}`)
	p, _ := g.Plan([]string{"pool"})
	var calls, slow atomic.Int32
	invoke := func(n *Node, _ []Resolved) (json.RawMessage, error) {
		if n.Key == "slow" {
			slow.Add(1)
			return json.RawMessage(`1`), nil
		}
		calls.Add(1)
		return json.Marshal(fmt.Sprintf("pool-%d", calls.Load()))
	}
	const n = 64
	var wg sync.WaitGroup
	got := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			vals, err := p.Resolve(&Request{}, invoke, nil, nil)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = string(vals[0].Value)
		}()
	}
	close(start)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("the singleton factory ran %d times", calls.Load())
	}
	for _, v := range got {
		if v != `"pool-1"` {
			t.Fatalf("a request got %s", v)
		}
	}
	// Once it exists, its dependencies are no longer resolved.
	before := slow.Load()
	if _, err := p.Resolve(&Request{}, invoke, nil, nil); err != nil || slow.Load() != before {
		t.Fatalf("a created singleton's dependencies ran again (%d -> %d)", before, slow.Load())
	}
}

func TestSingletonFailureIsRetried(t *testing.T) {
	g := compile(t, `{"s": {"type": "factory", "factory": "s", "singleton": true}}`)
	p, _ := g.Plan([]string{"s"})
	fail := true
	invoke := func(n *Node, _ []Resolved) (json.RawMessage, error) {
		if fail {
			return nil, errors.New("down")
		}
		return json.RawMessage(`"up"`), nil
	}
	_, err := p.Resolve(&Request{}, invoke, nil, nil)
	var fe *FactoryError
	if !errors.As(err, &fe) || fe.Key != "s" {
		t.Fatalf("err = %v", err)
	}
	fail = false
	if v, err := p.Resolve(&Request{}, invoke, nil, nil); err != nil || string(v[0].Value) != `"up"` {
		t.Fatalf("retry: %v %v", v, err)
	}
	g.Forget()
	fail = true
	if _, err := p.Resolve(&Request{}, invoke, nil, nil); err == nil {
		t.Fatal("after Forget the singleton is created again")
	}
}

func TestCleanupOrder(t *testing.T) {
	g := compile(t, `{
		"db":      {"type": "async_factory", "factory": "f", "cacheable": true, "cleanup": true},
		"cache":   {"type": "async_factory", "factory": "f", "cacheable": true, "cleanup": true},
		"plain":   {"type": "factory", "factory": "f"},
		"session": {"type": "factory", "factory": "f", "depends_on": ["db", "cache", "plain"], "cacheable": true, "cleanup": true},
		"single":  {"type": "factory", "factory": "f", "singleton": true, "cleanup": true}
	}`)
	p, _ := g.Plan([]string{"session", "single"})
	r := &Request{}
	var app []Cleanup
	if _, err := p.Resolve(r, newCounter().invoke, nil, func(c Cleanup) { app = append(app, c) }); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range r.Cleanups() {
		keys = append(keys, c.Node.Key+"="+string(c.Value))
	}
	want := []string{`session="session#1"`, `cache="cache#1"`, `db="db#1"`}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("cleanups %v, want %v (reverse order of creation, with the values)", keys, want)
	}
	if len(app) != 1 || app[0].Node.Key != "single" {
		t.Fatalf("singleton cleanups belong to the app: %v", app)
	}
	r.Reset()
	if len(r.Cleanups()) != 0 {
		t.Fatal("Reset")
	}
}

func TestOverridesAndLayers(t *testing.T) {
	base, err := Compile(nil, deps(t, `{
		"validator": {"type": "value", "value": {"mode": "production"}},
		"svc":       {"type": "factory", "factory": "f", "depends_on": ["validator"]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	route, err := Compile(base, nil, deps(t, `{"validator": {"type": "value", "value": {"mode": "test"}, "scope": "route"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if route.Node("svc") != base.Node("svc") || route.Node("validator") == base.Node("validator") {
		t.Fatal("a route graph shares the nodes it does not replace")
	}
	if got := route.Keys(); !reflect.DeepEqual(got, []string{"validator", "svc"}) {
		t.Fatalf("keys %v: an override keeps its place", got)
	}
	p, _ := route.Plan([]string{"validator", "svc"})
	c := newCounter()
	vals, _ := p.Resolve(&Request{}, c.invoke, nil, nil)
	if string(vals[0].Value) != `{"mode":"test"}` || string(c.seen["svc"][0].Value) != `{"mode":"test"}` {
		t.Fatalf("route override not used: %v %v", vals, c.seen)
	}
	ov := func(k string) (json.RawMessage, bool) {
		if k == "svc" {
			return json.RawMessage(`"fake"`), true
		}
		return nil, false
	}
	c = newCounter()
	vals, _ = p.Resolve(&Request{}, c.invoke, ov, nil)
	if string(vals[1].Value) != `"fake"` || c.calls["svc"] != 0 {
		t.Fatalf("override: %v, calls %v", vals, c.calls)
	}
}
