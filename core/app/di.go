package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/di"
)

// Dependency injection in the pipeline; the rules are documented in
// core/di. A consumer (a hook, the handler, Ctx.Dep) resolves its plan
// against the request's di.Request; factories are host handlers invoked
// with the request's Ctx, their answer captured as their value.

// resolve resolves a plan for the current request.
func (a *App) resolve(c *Ctx, p *di.Plan) ([]di.Resolved, error) {
	x := c.ext()
	return p.Resolve(&x.req,
		func(n *di.Node, deps []di.Resolved) (json.RawMessage, error) { return a.invokeFactory(c, n, deps) },
		a.overrideFunc(),
		func(cl di.Cleanup) { a.addSingletonCleanup(cl, c.route) })
}

// invokeFactory calls the factory of n with the request's Ctx: the values
// document carries deps under "dependencies" and {"kind":"factory"} under
// "call". Its answer is its value; an answer of status 300 or more is
// written as the response instead (errRefused).
func (a *App) invokeFactory(c *Ctx, n *di.Node, deps []di.Resolved) (json.RawMessage, error) {
	h := a.handlers[n.Factory]
	if oh := a.overrideHandler(n.Key); oh != nil {
		h = oh
	}
	if h == nil {
		return nil, fmt.Errorf("no handler registered under %q", n.Factory)
	}
	x := c.ext()
	saveCall, saveDeps, saveCap := x.call, x.deps, x.capture
	cp := &captured{}
	x.call = &Call{Kind: "factory", Name: n.Key, Handler: n.Factory}
	x.deps, x.capture = deps, cp
	err := a.safeInvoke(h, c, "dependency factory "+n.Key)
	x.call, x.deps, x.capture = saveCall, saveDeps, saveCap
	if err != nil {
		return nil, err
	}
	if !cp.ok {
		return json.RawMessage("null"), nil
	}
	if cp.status >= 300 {
		c.fctx.SetStatusCode(cp.status)
		if cp.ctype != "" {
			c.fctx.SetContentType(cp.ctype)
		}
		c.fctx.SetBody(cp.body)
		x.answered = true
		return nil, errRefused
	}
	body := bytes.TrimSpace(cp.body)
	if len(body) == 0 {
		return json.RawMessage("null"), nil
	}
	if json.Valid(body) {
		var buf bytes.Buffer
		if json.Compact(&buf, body) == nil {
			return buf.Bytes(), nil
		}
	}
	// Not JSON: the text is the value.
	s, _ := json.Marshal(string(cp.body))
	return s, nil
}

func (a *App) addSingletonCleanup(cl di.Cleanup, r *route) {
	x := a.x
	x.singletonMu.Lock()
	x.singletonCleanups = append(x.singletonCleanups, singletonCleanup{cl, r})
	x.singletonMu.Unlock()
}

// DepJSON returns a dependency's value as JSON: one of the current
// invocation's dependencies, or else any dependency the route can resolve,
// resolved now (per-request caching applies).
func (c *Ctx) DepJSON(name string) (json.RawMessage, error) {
	x := c.x
	if x != nil {
		for _, d := range x.deps {
			if d.Key == name {
				return d.Value, nil
			}
		}
		for _, d := range x.handlerDeps {
			if d.Key == name {
				return d.Value, nil
			}
		}
	}
	gi := c.app.graphFor(c.route)
	if gi == nil || gi.g.Node(name) == nil {
		return nil, fmt.Errorf("dependency %q is not declared", name)
	}
	p, err := gi.plan(name)
	if err != nil {
		return nil, err
	}
	vals, err := c.app.resolve(c, p)
	if err != nil {
		return nil, err
	}
	return vals[0].Value, nil
}

// Dep returns a dependency's value (absent when it is not declared or
// could not be resolved; DepJSON says why).
func (c *Ctx) Dep(name string) Value {
	raw, err := c.DepJSON(name)
	if err != nil {
		return Value{}
	}
	return decodeValue(raw)
}

// BindDep decodes a dependency's value into v.
func (c *Ctx) BindDep(name string, v any) error {
	raw, err := c.DepJSON(name)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func (a *App) graphFor(r *route) *graphInfo {
	if r != nil && r.x != nil && r.x.graph != nil {
		return r.x.graph
	}
	if a.x != nil {
		return a.x.graph
	}
	return nil
}

// Provide adds an app-wide dependency (after the document's; a key already
// declared is replaced). Call it before Build.
func (a *App) Provide(d config.Dependency) {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.extLocked()
	x.provided = append(x.provided, d)
}

// Override replaces dependency name by a constant value in every route, for
// tests; it wins over singletons and caches and may be called at any time
// (also while serving). The value must encode as JSON.
func (a *App) Override(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("override %q: %w", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.extLocked()
	m := map[string]json.RawMessage{}
	if old := x.overrides.Load(); old != nil {
		maps.Copy(m, *old)
	}
	m[name] = raw
	x.overrides.Store(&m)
	return nil
}

// OverrideHandler replaces the factory handler of dependency name, for
// tests: h is invoked as the factory (its depends_on resolved as declared).
func (a *App) OverrideHandler(name string, h Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.extLocked()
	m := map[string]Handler{}
	if old := x.overrideHandlers.Load(); old != nil {
		maps.Copy(m, *old)
	}
	m[name] = h
	x.overrideHandlers.Store(&m)
}

// ClearOverrides removes every Override and OverrideHandler.
func (a *App) ClearOverrides() {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.extLocked()
	x.overrides.Store(nil)
	x.overrideHandlers.Store(nil)
}

func (a *App) overrideFunc() di.Override {
	if a.x == nil {
		return nil
	}
	m := a.x.overrides.Load()
	if m == nil {
		return nil
	}
	return func(key string) (json.RawMessage, bool) {
		v, ok := (*m)[key]
		return v, ok
	}
}

func (a *App) overrideHandler(key string) Handler {
	if a.x == nil {
		return nil
	}
	if m := a.x.overrideHandlers.Load(); m != nil {
		return (*m)[key]
	}
	return nil
}

// hasOverride (a.mu held) reports an override of either kind.
func (a *App) hasOverride(key string) bool {
	if a.x == nil {
		return false
	}
	if m := a.x.overrides.Load(); m != nil {
		if _, ok := (*m)[key]; ok {
			return true
		}
	}
	if m := a.x.overrideHandlers.Load(); m != nil {
		if _, ok := (*m)[key]; ok {
			return true
		}
	}
	return false
}

// DependencyOrder is the resolution order of a route's handler
// dependencies, as levels (core/di Plan.Levels): keys of one level depend
// only on keys of earlier levels. The app must be built.
func (a *App) DependencyOrder(method, path string) ([][]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.routes {
		if r.cfg.Method == method && r.cfg.Path == path {
			if r.x == nil || r.x.handlerPlan == nil {
				return nil, nil
			}
			return r.x.handlerPlan.Levels(), nil
		}
	}
	return nil, fmt.Errorf("no route %s %s (is the app built?)", method, path)
}
