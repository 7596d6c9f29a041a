// Package di is the core's dependency injection: named dependencies
// declared in the configuration document, resolved for the handler (and for
// lifecycle hooks) of every request, in an order computed once when the app
// is built.
//
// # Declaration
//
//	"dependencies": {
//	  "config":  {"type": "value", "value": {"db_url": "postgresql://localhost/app"}},
//	  "db_pool": {"type": "factory", "factory": "create_pool", "depends_on": ["config"],
//	              "singleton": true},
//	  "session": {"type": "async_factory", "factory": "open_session", "depends_on": ["db_pool"],
//	              "cacheable": true, "cleanup": true}
//	}
//
// at the top of the document (app-wide) and in routes (route-level: they join
// the app's for that route), plus "route_overrides" in a route (replacing a
// dependency of the same key for that route only) and
// "handler_dependencies": the keys the route's handler receives. Hooks list
// theirs in their own "dependencies".
//
// A value dependency is its constant. A factory dependency is a host handler,
// registered by name like route handlers, invoked with the request's Ctx: the
// values of its depends_on are in Ctx.Values() under "dependencies"
// (Ctx.Dep in Go), and it answers its value as JSON (Ctx.JSON(200, v);
// spikard_respond with a JSON body through the C ABI). An answer with a
// status of 300 or more is not a value: it becomes the request's response
// (a dependency may refuse the request, e.g. 401). A failing factory makes
// the request a 500 dependency-error problem.
//
// # Scopes
//
//   - singleton: created once per app, lazily, by the first request that
//     needs it (concurrent first requests wait for the one creation); a
//     failed creation is retried by the next request.
//   - cacheable: created at most once per request and shared by everything
//     in the request that needs it (hooks, other factories, the handler).
//   - neither: created for every use, i.e. for each hook, factory or handler
//     that needs it (within the resolution for one of them, once).
//
// A factory flagged cleanup is called a second time after the response is
// sent, with Ctx.Call().Kind "cleanup" and the value it produced
// (Ctx.Call().Value), on the background queue; the cleanups of one request
// run one after the other, in reverse order of creation. Singletons are
// cleaned up when the app shuts down.
//
// # Order
//
// The order is computed when the app is built: the dependencies a consumer
// needs (its keys and, transitively, what they depend on) are sorted into
// levels; level 0 holds the dependencies without depends_on, level n those
// whose deepest dependency is on level n-1 (Plan.Levels). Within a level the
// declaration order of the document applies. Levels are resolved one after
// the other, and within a level one after the other in that order, so that
// creation (and cleanup) order is deterministic.
//
// A dependency cycle is found at build time too (CycleError, with the cycle
// as a path that starts and ends with the same key). The app still starts:
// the cycle is reported (app.Warnings, the log) and every route that needs a
// dependency of the cycle answers a 500 dependency-error problem without
// running any host code.
package di

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spikard/spikard-go/core/config"
)

// Kind is how a dependency gets its value.
type Kind uint8

const (
	// Value: a constant of the document.
	Value Kind = iota
	// Factory: a host handler produces it.
	Factory
)

// Node is one dependency definition as compiled.
type Node struct {
	Key       string
	Kind      Kind
	Value     json.RawMessage // Value nodes
	Factory   string          // Factory nodes: the host handler
	DependsOn []string
	Singleton bool
	Cacheable bool
	Cleanup   bool
	// Async is informational (async_factory).
	Async bool

	// pos orders nodes of the same level (declaration order).
	pos int
	// one is the singleton cell (shared by every route the node serves).
	one *cell
}

// Shared reports whether the value can be reused within a request: values,
// singletons and cacheable factories.
func (n *Node) Shared() bool { return n.Kind == Value || n.Singleton || n.Cacheable }

// Graph is the dependencies one route sees: the app's overlaid by the
// route's declarations and overrides. Graphs are immutable.
type Graph struct {
	nodes map[string]*Node
	keys  []string // declaration order
}

// Compile builds a graph from layers of declarations, each one replacing
// keys of the previous ones (app, then route, then route_overrides). Nodes
// of base are kept (with their singleton cells) unless a layer replaces
// them; base may be nil.
func Compile(base *Graph, layers ...config.Dependencies) (*Graph, error) {
	g := &Graph{nodes: map[string]*Node{}}
	if base != nil {
		for _, k := range base.keys {
			g.nodes[k] = base.nodes[k]
		}
		g.keys = append(g.keys, base.keys...)
	}
	for _, layer := range layers {
		for _, d := range layer {
			n, err := compileNode(d)
			if err != nil {
				return nil, err
			}
			if old, ok := g.nodes[d.Key]; ok {
				n.pos = old.pos // an override keeps the position of what it replaces
			} else {
				n.pos = len(g.keys)
				g.keys = append(g.keys, d.Key)
			}
			g.nodes[d.Key] = n
		}
	}
	return g, nil
}

var valueTypes = map[string]string{
	"string": "string", "number": "number", "integer": "number", "boolean": "boolean",
	"object": "object", "array": "array", "null": "null",
}

func compileNode(d config.Dependency) (*Node, error) {
	if d.Key == "" {
		return nil, errors.New("dependencies: a dependency needs a key")
	}
	where := fmt.Sprintf("dependency %q", d.Key)
	n := &Node{Key: d.Key, DependsOn: d.DependsOn, Singleton: d.Singleton, Cacheable: d.Cacheable, Cleanup: d.Cleanup}
	switch d.Type {
	case "value":
		n.Kind = Value
		v := bytes.TrimSpace(d.Value)
		if len(v) == 0 {
			// "value": null is decoded as an empty RawMessage by omitempty
			// round trips; an absent value is null too.
			v = json.RawMessage("null")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, fmt.Errorf("%s: value: %w", where, err)
		}
		n.Value = buf.Bytes()
		if d.ValueType != "" {
			want, ok := valueTypes[d.ValueType]
			if !ok {
				return nil, fmt.Errorf("%s: unknown value_type %q", where, d.ValueType)
			}
			got := jsonKind(n.Value)
			if got != want || (d.ValueType == "integer" && bytes.ContainsAny(n.Value, ".eE")) {
				return nil, fmt.Errorf("%s: value is %s, value_type says %s", where, got, d.ValueType)
			}
		}
		if len(d.DependsOn) > 0 {
			return nil, fmt.Errorf("%s: a value dependency has no depends_on", where)
		}
		if d.Cleanup {
			return nil, fmt.Errorf("%s: a value dependency has nothing to clean up", where)
		}
	case "factory", "async_factory":
		n.Kind = Factory
		n.Async = d.Type == "async_factory"
		if d.Factory == "" {
			return nil, fmt.Errorf("%s: a %s needs \"factory\" (the host handler's name)", where, d.Type)
		}
		if len(bytes.TrimSpace(d.Value)) > 0 {
			return nil, fmt.Errorf("%s: a %s has no value", where, d.Type)
		}
		n.Factory = d.Factory
		if n.Singleton {
			n.one = &cell{}
		}
	default:
		return nil, fmt.Errorf("%s: type must be value, factory or async_factory (got %q)", where, d.Type)
	}
	seen := map[string]bool{}
	for _, dep := range d.DependsOn {
		if dep == d.Key {
			return nil, fmt.Errorf("%s depends on itself", where)
		}
		if seen[dep] {
			return nil, fmt.Errorf("%s lists %q twice in depends_on", where, dep)
		}
		seen[dep] = true
	}
	return n, nil
}

func jsonKind(v []byte) string {
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// Node returns the definition of key (nil when the graph has none).
func (g *Graph) Node(key string) *Node {
	if g == nil {
		return nil
	}
	return g.nodes[key]
}

// Keys lists the keys in declaration order.
func (g *Graph) Keys() []string {
	if g == nil {
		return nil
	}
	return append([]string(nil), g.keys...)
}

// Len is the number of dependencies.
func (g *Graph) Len() int {
	if g == nil {
		return 0
	}
	return len(g.keys)
}

// CycleError is a dependency cycle.
type CycleError struct {
	// Cycle is the path, starting and ending with the same key:
	// ["service_a", "service_b", "service_a"].
	Cycle []string
}

func (e *CycleError) Error() string {
	return "circular dependency: " + strings.Join(e.Cycle, " -> ")
}

// MissingError is a key that is needed but not declared.
type MissingError struct {
	Key string
	// By is the dependency that depends on it ("" when a consumer names it).
	By string
}

func (e *MissingError) Error() string {
	if e.By != "" {
		return fmt.Sprintf("dependency %q depends on %q, which is not declared", e.By, e.Key)
	}
	return fmt.Sprintf("dependency %q is not declared", e.Key)
}

// Cycles lists every cycle of the graph (each once, from its first key in
// declaration order). Missing keys are ignored here.
func (g *Graph) Cycles() []*CycleError {
	if g == nil {
		return nil
	}
	state := map[string]uint8{} // 0 new, 1 on the path, 2 done
	var out []*CycleError
	reported := map[string]bool{}
	var path []string
	var visit func(k string)
	visit = func(k string) {
		n := g.nodes[k]
		if n == nil {
			return
		}
		state[k] = 1
		path = append(path, k)
		for _, d := range n.DependsOn {
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				cyc := cycleFrom(path, d)
				sig := cycleSignature(cyc)
				if !reported[sig] {
					reported[sig] = true
					out = append(out, &CycleError{Cycle: cyc})
				}
			}
		}
		path = path[:len(path)-1]
		state[k] = 2
	}
	for _, k := range g.keys {
		if state[k] == 0 {
			visit(k)
		}
	}
	return out
}

func cycleFrom(path []string, start string) []string {
	for i, k := range path {
		if k == start {
			c := append([]string(nil), path[i:]...)
			return append(c, start)
		}
	}
	return []string{start, start}
}

// cycleSignature identifies a cycle whatever key it is entered by.
func cycleSignature(c []string) string {
	ks := append([]string(nil), c[:len(c)-1]...)
	sort.Strings(ks)
	return strings.Join(ks, "\x00")
}

// Plan is the resolution of a set of keys, computed once: the closure of
// the keys in level order.
type Plan struct {
	// order is the closure, level by level, declaration order within a level.
	order []*Node
	// level of each node of order.
	level []int
	// deps[i] are the positions in order of order[i].DependsOn.
	deps [][]int
	// direct are the positions of the requested keys, in request order
	// (each key once).
	direct []int
}

// Plan computes the resolution of keys (a consumer's dependencies). It
// fails with a *CycleError when the closure has a cycle and a *MissingError
// when a key is not declared.
func (g *Graph) Plan(keys []string) (*Plan, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	level := map[string]int{}
	state := map[string]uint8{}
	var path []string
	var visit func(k, by string) error
	visit = func(k, by string) error {
		n := g.Node(k)
		if n == nil {
			return &MissingError{Key: k, By: by}
		}
		switch state[k] {
		case 1:
			return &CycleError{Cycle: cycleFrom(path, k)}
		case 2:
			return nil
		}
		state[k] = 1
		path = append(path, k)
		lv := 0
		for _, d := range n.DependsOn {
			if err := visit(d, k); err != nil {
				return err
			}
			if level[d]+1 > lv {
				lv = level[d] + 1
			}
		}
		path = path[:len(path)-1]
		state[k] = 2
		level[k] = lv
		return nil
	}
	var direct []string
	seen := map[string]bool{}
	for _, k := range keys {
		if err := visit(k, ""); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			direct = append(direct, k)
		}
	}
	p := &Plan{}
	for k := range level {
		p.order = append(p.order, g.nodes[k])
	}
	sort.Slice(p.order, func(i, j int) bool {
		a, b := p.order[i], p.order[j]
		if level[a.Key] != level[b.Key] {
			return level[a.Key] < level[b.Key]
		}
		return a.pos < b.pos
	})
	pos := make(map[string]int, len(p.order))
	for i, n := range p.order {
		pos[n.Key] = i
		p.level = append(p.level, level[n.Key])
	}
	p.deps = make([][]int, len(p.order))
	for i, n := range p.order {
		for _, d := range n.DependsOn {
			p.deps[i] = append(p.deps[i], pos[d])
		}
	}
	for _, k := range direct {
		p.direct = append(p.direct, pos[k])
	}
	return p, nil
}

// Levels is the resolution order as batches: keys of one batch depend only
// on keys of earlier batches.
func (p *Plan) Levels() [][]string {
	if p == nil {
		return nil
	}
	var out [][]string
	for i, n := range p.order {
		if p.level[i] == len(out) {
			out = append(out, nil)
		}
		out[p.level[i]] = append(out[p.level[i]], n.Key)
	}
	return out
}

// Nodes lists the closure in resolution order.
func (p *Plan) Nodes() []*Node {
	if p == nil {
		return nil
	}
	return append([]*Node(nil), p.order...)
}

// Keys lists the requested keys (each once, in request order).
func (p *Plan) Keys() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.direct))
	for i, d := range p.direct {
		out[i] = p.order[d].Key
	}
	return out
}

// Resolved is one dependency value.
type Resolved struct {
	Key   string
	Value json.RawMessage
}

// Invoke calls a factory: n's host handler, with the values of its
// depends_on in order. It returns the value (JSON) or an error.
type Invoke func(n *Node, deps []Resolved) (json.RawMessage, error)

// Override returns a value that replaces key's definition (tests), or false.
type Override func(key string) (json.RawMessage, bool)

// Request is the dependency state of one request: its cache of shared
// values and the cleanups it owes. The zero value is ready; it is not safe
// for concurrent use (one request, one goroutine).
type Request struct {
	cache    map[*Node]json.RawMessage
	cleanups []Cleanup
}

// Cleanup is a created value whose factory must be called again.
type Cleanup struct {
	Node  *Node
	Value json.RawMessage
}

// Cleanups returns what the request owes, in reverse order of creation
// (the order to run them).
func (r *Request) Cleanups() []Cleanup {
	out := make([]Cleanup, len(r.cleanups))
	for i, c := range r.cleanups {
		out[len(out)-1-i] = c
	}
	return out
}

// Reset empties the request state for reuse.
func (r *Request) Reset() {
	clear(r.cache)
	clear(r.cleanups)
	r.cleanups = r.cleanups[:0]
}

// Resolve resolves the plan for one consumer and returns the requested
// values in request order. Shared values come from the request's cache (or
// the singleton cells) when they are there; everything else is created.
// singletonCleanup, when not nil, receives singletons with cleanup that this
// call created (their cleanup belongs to the app, not the request).
func (p *Plan) Resolve(r *Request, invoke Invoke, override Override, singletonCleanup func(Cleanup)) ([]Resolved, error) {
	if p == nil {
		return nil, nil
	}
	vals := make([]json.RawMessage, len(p.order))
	// What must be resolved: the requested keys and, for what has to be
	// created, its dependencies. A value already at hand (constant,
	// override, cached, created singleton) needs nothing below it.
	needed := make([]bool, len(p.order))
	var mark func(i int)
	mark = func(i int) {
		if needed[i] {
			return
		}
		needed[i] = true
		if p.available(r, p.order[i], override) {
			return
		}
		for _, d := range p.deps[i] {
			mark(d)
		}
	}
	for _, d := range p.direct {
		mark(d)
	}
	for i, n := range p.order {
		if !needed[i] {
			continue
		}
		v, err := p.resolveOne(r, i, n, vals, invoke, override, singletonCleanup)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	out := make([]Resolved, len(p.direct))
	for i, d := range p.direct {
		out[i] = Resolved{Key: p.order[d].Key, Value: vals[d]}
	}
	return out, nil
}

// available reports whether n's value is at hand without creating it.
func (p *Plan) available(r *Request, n *Node, override Override) bool {
	if override != nil {
		if _, ok := override(n.Key); ok {
			return true
		}
	}
	if n.Kind == Value {
		return true
	}
	if _, ok := r.cache[n]; ok {
		return true
	}
	return n.Singleton && n.one != nil && n.one.done.Load()
}

// FactoryError is a factory that failed.
type FactoryError struct {
	Key string
	Err error
}

func (e *FactoryError) Error() string {
	return fmt.Sprintf("dependency %q: %v", e.Key, e.Err)
}

func (e *FactoryError) Unwrap() error { return e.Err }

func (p *Plan) resolveOne(r *Request, i int, n *Node, vals []json.RawMessage, invoke Invoke, override Override, singletonCleanup func(Cleanup)) (json.RawMessage, error) {
	if override != nil {
		if v, ok := override(n.Key); ok {
			return v, nil
		}
	}
	if n.Kind == Value {
		return n.Value, nil
	}
	if v, ok := r.cache[n]; ok {
		return v, nil
	}
	create := func() (json.RawMessage, error) {
		deps := make([]Resolved, len(p.deps[i]))
		for j, d := range p.deps[i] {
			deps[j] = Resolved{Key: p.order[d].Key, Value: vals[d]}
		}
		v, err := invoke(n, deps)
		if err != nil {
			var fe *FactoryError
			if !errors.As(err, &fe) {
				err = &FactoryError{Key: n.Key, Err: err}
			}
			return nil, err
		}
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		return v, nil
	}
	var v json.RawMessage
	var err error
	if n.Singleton && n.one != nil {
		var created bool
		v, created, err = n.one.get(create)
		if err == nil && created && n.Cleanup && singletonCleanup != nil {
			singletonCleanup(Cleanup{Node: n, Value: v})
		}
	} else {
		v, err = create()
		if err == nil && n.Cleanup {
			r.cleanups = append(r.cleanups, Cleanup{Node: n, Value: v})
		}
	}
	if err != nil {
		return nil, err
	}
	if n.Shared() {
		if r.cache == nil {
			r.cache = map[*Node]json.RawMessage{}
		}
		r.cache[n] = v
	}
	return v, nil
}

// cell holds a singleton's value: created once, by the first caller, while
// concurrent callers wait; a failure is not kept.
type cell struct {
	mu   sync.Mutex
	done atomic.Bool
	v    json.RawMessage
}

func (c *cell) get(create func() (json.RawMessage, error)) (v json.RawMessage, created bool, err error) {
	if c.done.Load() {
		return c.v, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done.Load() {
		return c.v, false, nil
	}
	v, err = create()
	if err != nil {
		return nil, false, err
	}
	c.v = v
	c.done.Store(true)
	return v, true, nil
}

// Forget drops the singleton values of the graph (after their cleanup at
// shutdown), so a restarted app creates them again.
func (g *Graph) Forget() {
	if g == nil {
		return
	}
	for _, n := range g.nodes {
		if n.one != nil {
			n.one.mu.Lock()
			n.one.v = nil
			n.one.done.Store(false)
			n.one.mu.Unlock()
		}
	}
}
