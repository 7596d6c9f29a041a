package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/spikard/spikard-go/core/background"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/di"
	"github.com/spikard/spikard-go/core/hooks"
	"github.com/spikard/spikard-go/core/problem"
)

// This file holds what lifecycle hooks (hooks.go), dependency injection
// (di.go) and background work (background.go) share: the app-, route- and
// request-level state they keep, and the few places where the pipeline
// (pipeline.go, ctx.go) calls into them. A route without hooks or
// dependencies has no routeExt and takes none of these paths.

// appExt is the app-wide state.
type appExt struct {
	hooks    *hooks.Set          // the document's app-wide hooks, then added
	added    hooks.Set           // AddHook
	provided config.Dependencies // Provide
	graph    *graphInfo          // app-level dependencies
	graphs   []*di.Graph         // every graph built (singletons to forget)
	queue    *background.Queue
	warnings []error

	overrides        atomic.Pointer[map[string]json.RawMessage]
	overrideHandlers atomic.Pointer[map[string]Handler]

	singletonMu       sync.Mutex
	singletonCleanups []singletonCleanup
}

type singletonCleanup struct {
	c     di.Cleanup
	route *route
}

// graphInfo is a dependency graph with the single-key plans Ctx.Dep
// computes on first use.
type graphInfo struct {
	g     *di.Graph
	plans sync.Map // key → *di.Plan or error
}

func (gi *graphInfo) plan(key string) (*di.Plan, error) {
	if v, ok := gi.plans.Load(key); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*di.Plan), nil
	}
	p, err := gi.g.Plan([]string{key})
	if err != nil {
		gi.plans.Store(key, err)
		return nil, err
	}
	gi.plans.Store(key, p)
	return p, nil
}

// routeExt is a route's compiled hooks and dependencies.
type routeExt struct {
	set   hooks.Set                  // the route's hooks (app-wide first)
	hooks [hooks.NumPhases][]hookRef // compiled, parallel to set
	graph *graphInfo
	// handlerPlan resolves handler_dependencies (nil: none).
	handlerPlan *di.Plan
	// broken is the answer of a route whose dependencies cannot be
	// resolved (a cycle): every request gets it and no host code runs.
	broken *problem.Problem
}

// hookRef is one compiled hook.
type hookRef struct {
	h    Handler
	call Call
	deps *di.Plan
}

// ctxExt is the per-request state of a Ctx that uses hooks, dependencies,
// request state or background work. Pooled.
type ctxExt struct {
	// answered is set by Send and NoContent: a hook that answered.
	answered bool
	// capture, while a factory runs, receives its answer instead of the
	// response.
	capture *captured
	// call is the current invocation (nil: the route's handler).
	call *Call
	// deps are the dependencies of the current invocation.
	deps []di.Resolved
	// handlerDeps are the handler's, kept for Ctx.Dep after it ran.
	handlerDeps []di.Resolved
	state       []stateEntry
	req         di.Request
	// problem is the failure on_error hooks see.
	problem *problem.Problem
	// tasks run after the response.
	tasks []pendingTask
	// detached is a copy of a finished request (background work).
	detached bool
	// noHooks: the route answered without running anything (broken).
	noHooks bool
}

type captured struct {
	ok     bool
	status int
	ctype  string
	body   []byte
}

type stateEntry struct {
	key string
	v   any
}

var extPool = sync.Pool{New: func() any { return new(ctxExt) }}

// ext returns the request's extension state, creating it on first use.
func (c *Ctx) ext() *ctxExt {
	if c.x == nil {
		c.x = extPool.Get().(*ctxExt)
	}
	return c.x
}

// intercept is called by Send and NoContent before they write. While a
// factory runs, its answer is captured (and not written): it reports true.
// Otherwise it notes that an answer was given and reports false.
func (x *ctxExt) intercept(status int, contentType string, b []byte) bool {
	if cp := x.capture; cp != nil {
		cp.ok, cp.status, cp.ctype = true, status, contentType
		cp.body = append(cp.body[:0], b...)
		return true
	}
	x.answered = true
	return false
}

func (x *ctxExt) reset() {
	*x = ctxExt{req: x.req, state: x.state[:0], tasks: x.tasks[:0]}
	x.req.Reset()
	clear(x.state[:cap(x.state)])
	clear(x.tasks[:cap(x.tasks)])
}

// appendValues adds the members the extension contributes to the values
// document: "dependencies" (of the current invocation), "state" and "call".
func (x *ctxExt) appendValues(c *Ctx, b []byte) []byte {
	comma := func() {
		if len(b) > 0 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if x.deps != nil {
		comma()
		b = append(b, `"dependencies":{`...)
		for i, d := range x.deps {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, d.Key)
			b = append(b, ':')
			b = append(b, d.Value...)
		}
		b = append(b, '}')
	}
	if len(x.state) > 0 {
		comma()
		b = append(b, `"state":{`...)
		for i, s := range x.state {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, s.key)
			b = append(b, ':')
			b = appendJSON(b, s.v)
		}
		b = append(b, '}')
	}
	if x.call != nil {
		comma()
		b = append(b, `"call":`...)
		b = c.appendCall(b, x.call)
	}
	return b
}

// appendCall writes a Call as the "call" member of the values document.
func (c *Ctx) appendCall(b []byte, k *Call) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSON(b, k.Kind)
	if k.Phase != "" {
		b = append(b, `,"phase":`...)
		b = appendJSON(b, k.Phase)
	}
	b = append(b, `,"name":`...)
	b = appendJSON(b, k.Name)
	b = append(b, `,"handler":`...)
	b = appendJSON(b, k.Handler)
	if len(k.Config) > 0 {
		b = append(b, `,"config":`...)
		b = append(b, k.Config...)
	}
	if len(k.Value) > 0 {
		b = append(b, `,"value":`...)
		b = append(b, k.Value...)
	}
	if len(k.Payload) > 0 {
		b = append(b, `,"payload":`...)
		b = append(b, k.Payload...)
	}
	if k.Phase == "on_response" || k.Phase == "on_error" {
		b = append(b, `,"response":{"status":`...)
		b = strconv.AppendInt(b, int64(c.fctx.Response.StatusCode()), 10)
		b = append(b, `,"headers":{`...)
		first := true
		c.fctx.Response.Header.VisitAll(func(key, value []byte) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSON(b, string(key))
			b = append(b, ':')
			b = appendJSON(b, string(value))
		})
		b = append(b, "}}"...)
		if k.Phase == "on_error" && c.x != nil && c.x.problem != nil {
			b = append(b, `,"error":`...)
			b = append(b, c.x.problem.Bytes()...)
		}
	}
	return append(b, '}')
}

// Call says why a host handler was invoked: for a route's handler, for a
// lifecycle hook, as a dependency factory (or its cleanup), or as a
// background task. The same information is in Ctx.Values() under "call"
// (absent for the route's handler), which is what bindings behind the C ABI
// read.
type Call struct {
	// Kind is "handler", "hook", "factory", "cleanup" or "task".
	Kind string
	// Phase is the hook's phase (on_request, pre_validation, pre_handler,
	// on_response, on_error).
	Phase string
	// Name is the hook's name, the dependency's key or the task's handler.
	Name string
	// Handler is the name the invoked handler is registered under.
	Handler string
	// Config is the hook's configuration, as written in the document.
	Config json.RawMessage
	// Value is, for a cleanup, the value the factory produced.
	Value json.RawMessage
	// Payload is a task's payload (BackgroundCall).
	Payload json.RawMessage
}

// Call reports why the handler runs. For a route's handler Kind is
// "handler".
func (c *Ctx) Call() Call {
	if c.x != nil && c.x.call != nil {
		return *c.x.call
	}
	return Call{Kind: "handler", Name: c.route.cfg.Handler, Handler: c.route.cfg.Handler}
}

// safeInvoke runs a host handler, turning a panic into an error.
func (a *App) safeInvoke(h Handler, c *Ctx, what string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error(what+" panicked", "panic", v, "request_id", c.RequestID(), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s panicked: %v", what, v)
		}
	}()
	return h(c)
}

// errRefused is a factory that answered the request instead of producing a
// value (a status of 300 or more): its answer is the response.
var errRefused = errors.New("a dependency answered the request")

// problemFor maps a failure of host code (a hook, a factory) to the answer,
// logging it.
func (a *App) problemFor(c *Ctx, err error, what string) *problem.Problem {
	var p *problem.Problem
	var re *responseError
	var fe *di.FactoryError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &re):
		a.log.Error("response validation failed", "request_id", c.RequestID(), "error", err)
		return problem.New(500, "response-validation-error", "Response Validation Failed", "The handler's answer does not match the route's response schema")
	case errors.As(err, &fe):
		a.log.Error("dependency factory failed", "request_id", c.RequestID(), "dependency", fe.Key, "error", fe.Err)
		return dependencyProblem(fe.Key)
	default:
		a.log.Error(what+" failed", "request_id", c.RequestID(), "error", err)
		return problem.Internal()
	}
}

// cycleProblem is the answer of a route whose dependencies form a cycle.
func cycleProblem(ce *di.CycleError) *problem.Problem {
	p := problem.New(500, "dependency-error", "Dependency Resolution Failed", "Circular dependency detected")
	p.Extra = map[string]any{"errors": []any{map[string]any{
		"type": "circular_dependency", "msg": "Circular dependency detected in dependency graph", "cycle": ce.Cycle,
	}}}
	return p
}

// dependencyProblem is the answer when a factory failed.
func dependencyProblem(key string) *problem.Problem {
	p := problem.New(500, "dependency-error", "Dependency Resolution Failed", "Dependency "+strconv.Quote(key)+" could not be resolved")
	p.Extra = map[string]any{"errors": []any{map[string]any{
		"type": "dependency_failed", "msg": "The factory of the dependency failed", "dependency": key,
	}}}
	return p
}

// extLocked returns the app's extension state (a.mu held).
func (a *App) extLocked() *appExt {
	if a.x == nil {
		a.x = &appExt{}
	}
	return a.x
}

// prepareExt reads the app-wide hooks and dependencies; Build calls it
// (a.mu held) before compiling routes.
func (a *App) prepareExt() error {
	x := a.extLocked()
	x.warnings = nil
	appHooks, err := hooks.FromMiddleware(a.cfg.Middleware)
	if err != nil {
		return fmt.Errorf("app middleware: %w", err)
	}
	x.hooks = hooks.Merge(appHooks, &x.added)
	deps := append(append(config.Dependencies(nil), a.cfg.Dependencies...), x.provided...)
	g, err := di.Compile(nil, deps)
	if err != nil {
		return fmt.Errorf("app dependencies: %w", err)
	}
	x.graph = &graphInfo{g: g}
	x.graphs = []*di.Graph{g}
	for _, ce := range g.Cycles() {
		a.warn(x, fmt.Errorf("app dependencies: %w (routes that need them answer 500)", ce))
	}
	if x.queue == nil {
		x.queue = background.New(background.Options{
			Size: a.cfg.Server.BackgroundQueueSize, Workers: a.cfg.Server.BackgroundWorkers, Logger: a.log,
		})
	}
	return nil
}

// warn records a configuration problem that does not stop the app.
func (a *App) warn(x *appExt, err error) {
	for _, w := range x.warnings {
		if w.Error() == err.Error() {
			return
		}
	}
	x.warnings = append(x.warnings, err)
	a.log.Error("configuration problem", "error", err)
}

// extendRoute compiles a route's hooks and dependencies; Build calls it for
// every route (a.mu held). Routes without either keep the plain pipeline.
func (a *App) extendRoute(rt *route) error {
	x := a.x
	where := fmt.Sprintf("route %s %s", rt.cfg.Method, rt.cfg.Path)
	routeHooks, err := hooks.FromMiddleware(rt.cfg.Middleware)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	hs := hooks.Merge(x.hooks, routeHooks)
	if hs == nil && len(rt.cfg.HandlerDependencies) == 0 {
		return nil
	}
	rx := &routeExt{graph: x.graph}
	if len(rt.cfg.Dependencies)+len(rt.cfg.RouteOverrides) > 0 {
		g, err := di.Compile(x.graph.g, rt.cfg.Dependencies, rt.cfg.RouteOverrides)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		rx.graph = &graphInfo{g: g}
		x.graphs = append(x.graphs, g)
	}
	plan := func(keys []string, who string) (*di.Plan, error) {
		p, err := rx.graph.g.Plan(keys)
		var ce *di.CycleError
		if errors.As(err, &ce) {
			if rx.broken == nil {
				rx.broken = cycleProblem(ce)
			}
			a.warn(x, fmt.Errorf("%s: %s: %w (the route answers 500)", where, who, ce))
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, who, err)
		}
		for _, n := range p.Nodes() {
			if n.Kind == di.Factory && a.handlers[n.Factory] == nil && !a.hasOverride(n.Key) {
				return nil, fmt.Errorf("%s: dependency %q: no handler registered under %q (its factory)", where, n.Key, n.Factory)
			}
		}
		return p, nil
	}
	if rx.handlerPlan, err = plan(rt.cfg.HandlerDependencies, "handler_dependencies"); err != nil {
		return err
	}
	if hs != nil {
		rx.set = *hs
		for p := range hooks.NumPhases {
			for _, h := range hs[p] {
				fn := a.handlers[h.Handler]
				if fn == nil {
					return fmt.Errorf("%s: lifecycle hook %q (%s): no handler registered under %q", where, h.Name, p, h.Handler)
				}
				ref := hookRef{h: fn, call: Call{Kind: "hook", Phase: p.String(), Name: h.Name, Handler: h.Handler, Config: h.Config}}
				if ref.deps, err = plan(h.Dependencies, "hook "+strconv.Quote(h.Name)); err != nil {
					return err
				}
				rx.hooks[p] = append(rx.hooks[p], ref)
			}
		}
	}
	rt.x = rx
	return nil
}

// releaseExt ends the request's use of its extension state: work owed after
// the response (background tasks, cleanups) is handed to the server's
// request, which starts it once the response is written; the state returns
// to its pool. Called by release, while the request is still valid.
func (a *App) releaseExt(c *Ctx) {
	x := c.x
	c.x = nil
	if !x.detached {
		a.scheduleAfter(c, x)
	}
	x.reset()
	extPool.Put(x)
}

// Warnings lists configuration problems found by Build that do not stop
// the app: dependency cycles (each route that needs one answers a 500
// dependency-error problem). They are logged as well.
func (a *App) Warnings() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.x == nil {
		return nil
	}
	return append([]error(nil), a.x.warnings...)
}

// HandlerNames lists every handler name the app's document uses: route
// handlers, lifecycle hooks (app-wide and per route) and dependency
// factories, sorted, each once. A binding binds all of them.
func (a *App) HandlerNames() ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" {
			seen[n] = true
		}
	}
	addHooks := func(mw json.RawMessage, where string) error {
		s, err := hooks.FromMiddleware(mw)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, n := range s.Handlers() {
			add(n)
		}
		return nil
	}
	addDeps := func(ds config.Dependencies) {
		for _, d := range ds {
			add(d.Factory)
		}
	}
	if err := addHooks(a.cfg.Middleware, "app middleware"); err != nil {
		return nil, err
	}
	addDeps(a.cfg.Dependencies)
	if a.x != nil {
		for _, n := range a.x.added.Handlers() {
			add(n)
		}
		addDeps(a.x.provided)
	}
	routes := append([]config.Route(nil), a.cfg.Routes...)
	for _, p := range a.pending {
		routes = append(routes, p.cfg)
	}
	for _, r := range routes {
		add(r.Handler)
		if err := addHooks(r.Middleware, "route "+r.Method+" "+r.Path); err != nil {
			return nil, err
		}
		addDeps(r.Dependencies)
		addDeps(r.RouteOverrides)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
