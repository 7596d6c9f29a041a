package main

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Lifecycle hooks, dependencies and background state (PROTOCOL.md, "Hooks,
// dependencies and background work"). A scenario names host handlers for
// its hooks and factories (log_request, create_db_pool, ...); the runner
// gives each one a behaviour spec computed from the scenario's data, by
// general rules, so that every fixture app implements the same small
// catalogue of behaviours and no scenario-specific code:
//
//   - hooks continue; when the scenario expects an application answer that
//     the handler cannot give (a 4xx that is not the framework's problem
//     document, with request-phase hooks configured), the last request-phase
//     hook answers it; when it expects a non-problem 500 answer and on_error
//     hooks are configured, the handler fails and the last on_error hook
//     answers it; expected application headers are set by the last
//     on_response hook when there is one.
//   - a header or body value that a value dependency holds is taken from the
//     dependency at run time (headers_from, fill) by whoever declares it;
//     body members the scenario leaves open (<<uuid>>, <<present>>) come
//     from the handler's factory dependencies (generate), other members
//     from the first factory left (its value is an object of them).
//   - every hook and factory requires its declared dependencies to be there.
//   - cleanup factories record the scenario's expected state events when
//     they create and when they clean up; otherwise the handler appends the
//     request body's value_field to the state in a background task.
//   - a dependency_resolution_order is checked through the order in which
//     factories record their own invocation.

// hookRef is one hook of the scenario's lifecycle_hooks.
type hookRef struct {
	phase   string
	name    string
	handler string
	deps    []string
	raw     object
	spec    HandlerSpec
}

// depRef is one dependency declaration of the scenario.
type depRef struct {
	key       string
	typ       string
	value     json.RawMessage
	factory   string
	dependsOn []string
	cleanup   bool
	raw       object
	spec      HandlerSpec
	// where: "app", "route" or "override".
	where string
}

func (d *depRef) isFactory() bool { return d.typ == "factory" || d.typ == "async_factory" }

var hookPhases = []string{"on_request", "pre_validation", "pre_handler", "on_response", "on_error"}

// StateCheck is a GET the runner sends after the scenario's request: the
// answer must become Want (polled, background work is asynchronous), or,
// for a resolution order, list the factories in Levels.
type StateCheck struct {
	Path   string
	Want   json.RawMessage
	Key    string
	Levels [][]string
	// Factories are the keys Levels is checked on (value dependencies are
	// not invoked, so they record nothing).
	Factories map[string]bool
}

// resolutionState is the state list factories record themselves in when a
// scenario gives a dependency_resolution_order; resolutionPath serves it.
const (
	resolutionState = "__resolution"
	resolutionPath  = "/__conformance/resolution"
)

// extPlan is what the scenario's hooks, dependencies and background block
// add to a plan.
type extPlan struct {
	hooks    []*hookRef
	deps     []*depRef // app, then route, then overrides (declaration order)
	eff      map[string]*depRef
	handler  []string // handler_dependencies (as written)
	handlers map[string]HandlerSpec
	routes   []RouteDoc
	checks   []StateCheck
}

// planExtensions completes the plan of a scenario that has hooks,
// dependencies, a background block or a resolution order. h0 is the
// handler's spec as handlerBehaviour made it.
func planExtensions(s *Scenario, route *RouteDoc, app *AppDoc, h0 *HandlerSpec, exp *Expectation) (*extPlan, error) {
	x := &extPlan{eff: map[string]*depRef{}, handlers: map[string]HandlerSpec{}}
	var err error
	if x.hooks, err = parseHooks(route.Middleware); err != nil {
		return nil, err
	}
	if err := x.parseDeps(s.Handler, route, app); err != nil {
		return nil, err
	}
	bgRaw, hasBG := s.Doc.Get("background")
	if len(x.hooks) == 0 && len(x.deps) == 0 && len(x.handler) == 0 && !hasBG && exp.ResolutionOrder == nil {
		return nil, nil
	}
	for _, h := range x.hooks {
		h.spec = HandlerSpec{Continue: true, Require: depPointers(h.deps)}
	}
	for _, d := range x.deps {
		if d.isFactory() {
			d.spec = HandlerSpec{Generate: "uuid", Require: depPointers(d.dependsOn)}
		}
	}
	if len(x.handler) > 0 && !h0.Raise {
		h0.Require = depPointers(x.handler)
	}

	answer := x.assignAnswers(h0, exp)
	x.assignHeaders(answer, h0, exp)
	if answer == h0 && len(h0.Body) > 0 && !h0.Echo && string(h0.Body) != neutralBody {
		if err := x.assignBody(h0); err != nil {
			return nil, err
		}
	}
	for _, h := range x.hooks {
		materializeSpec(&h.spec)
	}
	materializeSpec(h0)

	if hasBG {
		if err := x.planBackground(s, bgRaw, route, h0); err != nil {
			return nil, err
		}
	}
	if exp.ResolutionOrder != nil {
		if err := x.planResolution(route, exp.ResolutionOrder); err != nil {
			return nil, err
		}
	}
	if err := x.nameHandlers(route, app); err != nil {
		return nil, err
	}
	return x, nil
}

// parseHooks reads lifecycle_hooks of a route's middleware, phases in
// lifecycle order, hooks in the order written.
func parseHooks(mw json.RawMessage) ([]*hookRef, error) {
	if len(mw) == 0 {
		return nil, nil
	}
	var m object
	if err := json.Unmarshal(mw, &m); err != nil {
		return nil, nil // not an object: the core reports it
	}
	raw, ok := m.Get("lifecycle_hooks")
	if !ok || isNull(raw) {
		return nil, nil
	}
	var phases object
	if err := json.Unmarshal(raw, &phases); err != nil {
		return nil, shapef("handler.middleware.lifecycle_hooks: %v", err)
	}
	var out []*hookRef
	for _, ph := range hookPhases {
		list, ok := phases.Get(ph)
		if !ok || isNull(list) {
			continue
		}
		var items []object
		if err := json.Unmarshal(list, &items); err != nil {
			return nil, shapef("handler.middleware.lifecycle_hooks.%s: %v", ph, err)
		}
		for i, it := range items {
			h := &hookRef{phase: ph, raw: it}
			if v, ok := it.Get("handler"); ok {
				h.handler, _ = asString(v)
			}
			if v, ok := it.Get("name"); ok {
				h.name, _ = asString(v)
			}
			if v, ok := it.Get("dependencies"); ok {
				_ = json.Unmarshal(v, &h.deps)
			}
			if h.handler == "" {
				return nil, shapef("handler.middleware.lifecycle_hooks.%s[%d]: handler missing", ph, i)
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// parseDeps reads handler.dependencies (placed by their scope: app-wide
// unless "scope": "route"), route_overrides and handler_dependencies.
func (x *extPlan) parseDeps(h object, route *RouteDoc, app *AppDoc) error {
	read := func(member, where string) error {
		raw, ok := h.Get(member)
		if !ok || isNull(raw) {
			return nil
		}
		var o object
		if err := json.Unmarshal(raw, &o); err != nil || o == nil {
			return shapef("handler.%s: want an object of dependencies", member)
		}
		for _, m := range o {
			var dm object
			if err := json.Unmarshal(m.Val, &dm); err != nil || dm == nil {
				return shapef("handler.%s.%s: want an object", member, m.Key)
			}
			d := &depRef{key: m.Key, raw: dm, where: where}
			if v, ok := dm.Get("type"); ok {
				d.typ, _ = asString(v)
			}
			if v, ok := dm.Get("value"); ok {
				d.value = compact(v)
			}
			if v, ok := dm.Get("factory"); ok {
				d.factory, _ = asString(v)
			}
			if v, ok := dm.Get("depends_on"); ok {
				_ = json.Unmarshal(v, &d.dependsOn)
			}
			if v, ok := dm.Get("cleanup"); ok {
				d.cleanup = string(compact(v)) == "true"
			}
			if where == "app" {
				if v, ok := dm.Get("scope"); ok {
					if sc, _ := asString(v); sc == "route" {
						d.where = "route"
					}
				}
			}
			if d.isFactory() && d.factory == "" {
				return shapef("handler.%s.%s: a factory without \"factory\"", member, m.Key)
			}
			x.deps = append(x.deps, d)
		}
		return nil
	}
	if err := read("dependencies", "app"); err != nil {
		return err
	}
	if err := read("route_overrides", "override"); err != nil {
		return err
	}
	if raw, ok := h.Get("handler_dependencies"); ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &x.handler); err != nil {
			return shapef("handler.handler_dependencies: want an array of keys")
		}
		route.HandlerDependencies = x.handler
	}
	if raw, ok := h.Get("injection_strategy"); ok {
		route.InjectionStrategy, _ = asString(raw)
	}
	// The effective definitions: app, then route, then overrides.
	for _, where := range []string{"app", "route", "override"} {
		for _, d := range x.deps {
			if d.where == where {
				x.eff[d.key] = d
			}
		}
	}
	return nil
}

// depDocs writes the dependencies of one place as a document member.
func (x *extPlan) depDocs(where string) json.RawMessage {
	var o object
	for _, d := range x.deps {
		if d.where != where {
			continue
		}
		v, _ := json.Marshal(d.raw)
		o = append(o, member{Key: d.key, Val: v})
	}
	if len(o) == 0 {
		return nil
	}
	b, _ := json.Marshal(o)
	return b
}

// MarshalJSON writes an object keeping member order.
func (o object) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(m.Key)
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, compact(m.Val)...)
	}
	return append(b, '}'), nil
}

func depPointers(keys []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, "/dependencies/"+ptrEscape(k))
		}
	}
	return out
}

func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (x *extPlan) hooksOf(phase string) []*hookRef {
	var out []*hookRef
	for _, h := range x.hooks {
		if h.phase == phase {
			out = append(out, h)
		}
	}
	return out
}

// assignAnswers decides who answers the expected response and returns that
// spec (h0, or a hook's).
func (x *extPlan) assignAnswers(h0 *HandlerSpec, exp *Expectation) *HandlerSpec {
	var request []*hookRef
	for _, ph := range hookPhases[:3] {
		request = append(request, x.hooksOf(ph)...)
	}
	appAnswer := !exp.HasBody || !isProblemDocument(exp.Body)
	switch {
	case len(request) > 0 && frameworkStatuses[exp.Status] && appAnswer && !h0.Echo:
		// An application answer before the handler: the last request-phase
		// hook gives it (the earlier ones must let the request through).
		last := request[len(request)-1]
		return x.answerWith(last, exp)
	case exp.Status >= 500 && exp.HasBody && appAnswer && len(x.hooksOf("on_error")) > 0:
		// The handler fails and an error hook replaces the core's problem.
		*h0 = HandlerSpec{Raise: true}
		errHooks := x.hooksOf("on_error")
		return x.answerWith(errHooks[len(errHooks)-1], exp)
	}
	return h0
}

func (x *extPlan) answerWith(h *hookRef, exp *Expectation) *HandlerSpec {
	spec, _ := answerExpected(exp)
	if exp.Status >= 500 {
		// answerExpected makes 500 problem answers fail; here the hook
		// answers the application's 500 itself.
		spec.Raise = false
		spec.Status = exp.Status
		if exp.HasBody && !isNull(exp.Body) {
			spec.Body = compact(exp.Body)
		}
		for _, hd := range exp.Headers {
			if strings.EqualFold(hd.Name, "content-type") && !isPattern(hd.Value) {
				spec.ContentType = hd.Value
			}
		}
	}
	spec.Require = h.spec.Require
	h.spec = spec
	return &h.spec
}

// assignHeaders decides who sets each expected application header: a hook
// or the handler that has the value in a value dependency, else the last
// on_response hook, else the answering spec (as answerExpected made it).
func (x *extPlan) assignHeaders(answer, h0 *HandlerSpec, exp *Expectation) {
	onResp := x.hooksOf("on_response")
	for _, hd := range exp.Headers {
		n := strings.ToLower(hd.Name)
		if n == "content-type" || isFrameworkHeader(hd.Name) || strings.EqualFold(hd.Value, "<<absent>>") {
			continue
		}
		if !isPattern(hd.Value) {
			if spec, ptr := x.headerSource(hd.Value, answer, h0); spec != nil {
				delete(answer.Headers, hd.Name)
				if spec.HeadersFrom == nil {
					spec.HeadersFrom = map[string]string{}
				}
				spec.HeadersFrom[hd.Name] = ptr
				continue
			}
		}
		if len(onResp) == 0 {
			continue
		}
		v, ok := exampleFor(hd.Value)
		if !ok {
			continue
		}
		delete(answer.Headers, hd.Name)
		last := &onResp[len(onResp)-1].spec
		if last.Headers == nil {
			last.Headers = map[string]string{}
		}
		last.Headers[hd.Name] = v
	}
}

// headerSource finds a value dependency of a hook (or of the handler) that
// holds the header value; it returns the consumer's spec and the pointer.
func (x *extPlan) headerSource(value string, answer, h0 *HandlerSpec) (*HandlerSpec, string) {
	for _, h := range x.hooks {
		if &h.spec == answer {
			continue // the answering hook: its headers are its answer's
		}
		if ptr, ok := x.findInDeps(h.deps, value, true); ok {
			return &h.spec, ptr
		}
	}
	if answer == h0 && !h0.Raise {
		if ptr, ok := x.findInDeps(x.handler, value, true); ok {
			return h0, ptr
		}
	}
	return nil, ""
}

// findInDeps searches the value dependencies among keys for want (a string
// header value when asString; else a decoded JSON value).
func (x *extPlan) findInDeps(keys []string, want any, asText bool) (string, bool) {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		d := x.eff[k]
		if d == nil || d.typ != "value" {
			continue
		}
		v, err := decodeAny(d.value)
		if err != nil {
			continue
		}
		if ptr, ok := findValue(v, want, "/dependencies/"+ptrEscape(k), asText); ok {
			return ptr, true
		}
	}
	return "", false
}

// findValue looks for want in v (depth first, members sorted) and returns
// its JSON pointer. Booleans and null are never searched for: too common
// to say where a value came from.
func findValue(v, want any, ptr string, asText bool) (string, bool) {
	if matchesValue(v, want, asText) {
		return ptr, true
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if p, ok := findValue(t[k], want, ptr+"/"+ptrEscape(k), asText); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range t {
			if p, ok := findValue(e, want, fmt.Sprintf("%s/%d", ptr, i), asText); ok {
				return p, true
			}
		}
	}
	return "", false
}

func matchesValue(v, want any, asText bool) bool {
	switch w := want.(type) {
	case nil, bool:
		return false
	case string:
		if s, ok := v.(string); ok {
			return s == w
		}
		if n, ok := v.(json.Number); ok && asText {
			return string(n) == w
		}
		return false
	default:
		return jsonEqual(want, v)
	}
}

// jsonEqual compares decoded JSON values exactly (numbers by value; no
// tokens or patterns).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	}
	return a == b
}

// assignBody makes the handler take what it can of its expected body from
// its dependencies.
func (x *extPlan) assignBody(h0 *HandlerSpec) error {
	want, err := decodeAny(h0.Body)
	if err != nil {
		return nil
	}
	if len(x.handler) == 0 {
		return nil
	}
	fill := map[string]string{}
	// The whole body is a value dependency.
	if _, isBool := want.(bool); want != nil && !isBool {
		if ptr, ok := x.findInDeps(x.handler, want, false); ok {
			fill[""] = ptr
			h0.Fill = fill
			return nil
		}
	}
	var body object
	if json.Unmarshal(h0.Body, &body) != nil || body == nil {
		return nil
	}
	var factories []*depRef
	seen := map[string]bool{}
	for _, k := range x.handler {
		if d := x.eff[k]; d != nil && d.isFactory() && !seen[k] {
			seen[k] = true
			factories = append(factories, d)
		}
	}
	var pending []member
	var sameAs []member
	nextFactory := 0
	for _, m := range body {
		v, err := decodeAny(m.Val)
		if err != nil {
			continue
		}
		if s, ok := v.(string); ok {
			if strings.HasPrefix(s, "<<same_as:") && strings.HasSuffix(s, ">>") {
				sameAs = append(sameAs, m)
				continue
			}
			if s == "<<uuid>>" || s == "<<present>>" {
				if nextFactory < len(factories) {
					d := factories[nextFactory]
					nextFactory++
					d.spec.Generate = "uuid"
					d.spec.Body = nil
					fill["/"+ptrEscape(m.Key)] = "/dependencies/" + ptrEscape(d.key)
					continue
				}
			}
		}
		if ptr, ok := x.findInDeps(x.handler, v, false); ok {
			fill["/"+ptrEscape(m.Key)] = ptr
			continue
		}
		pending = append(pending, m)
	}
	if len(pending) > 0 && nextFactory < len(factories) {
		d := factories[nextFactory]
		var val object
		for _, m := range pending {
			val = append(val, m)
			fill["/"+ptrEscape(m.Key)] = "/dependencies/" + ptrEscape(d.key) + "/" + ptrEscape(m.Key)
		}
		b, _ := json.Marshal(val)
		d.spec.Generate = ""
		d.spec.Body = b
		materializeSpec(&d.spec)
	}
	for _, m := range sameAs {
		v, _ := decodeAny(m.Val)
		ref := strings.TrimSuffix(strings.TrimPrefix(v.(string), "<<same_as:"), ">>")
		if src, ok := fill["/"+ptrEscape(ref)]; ok {
			fill["/"+ptrEscape(m.Key)] = src
		}
	}
	if len(fill) > 0 {
		h0.Fill = fill
	}
	return nil
}

// planBackground adds the state route and its check, and the work that
// fills the state.
func (x *extPlan) planBackground(s *Scenario, raw json.RawMessage, route *RouteDoc, h0 *HandlerSpec) error {
	var bg struct {
		StatePath     string          `json:"state_path"`
		StateKey      string          `json:"state_key"`
		ValueField    string          `json:"value_field"`
		ExpectedState json.RawMessage `json:"expected_state"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bg); err != nil {
		return shapef("background: %v", err)
	}
	if bg.StatePath == "" || bg.StatePath[0] != '/' || bg.StateKey == "" || kind(bg.ExpectedState) != "array" {
		return shapef("background: needs state_path (a path), state_key and expected_state (an array)")
	}
	var events []json.RawMessage
	_ = json.Unmarshal(bg.ExpectedState, &events)
	cleanups := x.cleanupOrder()
	switch {
	case len(cleanups) > 0:
		if len(events) != 2*len(cleanups) {
			return shapef("background: %d cleanup dependencies need 2 state events each (created, cleaned up), the scenario expects %d", len(cleanups), len(events))
		}
		n := len(cleanups)
		for i, d := range cleanups {
			d.spec.Record = append(d.spec.Record, Record{State: bg.StateKey, Value: compact(events[i])})
			d.spec.CleanupRecord = append(d.spec.CleanupRecord, Record{State: bg.StateKey, Value: compact(events[2*n-1-i])})
		}
	default:
		if bg.ValueField == "" {
			return shapef("background: value_field missing")
		}
		if h0.Raise || string(h0.Body) == neutralBody {
			return shapef("background: the handler does not answer, so it cannot queue the work")
		}
		h0.Background = &BackgroundSpec{State: bg.StateKey, From: "/body/" + ptrEscape(bg.ValueField)}
	}
	want, _ := json.Marshal(object{{Key: bg.StateKey, Val: bg.ExpectedState}})
	return x.addStateRoute(route, bg.StatePath, bg.StateKey, StateCheck{Path: bg.StatePath, Want: want})
}

func (x *extPlan) addStateRoute(route *RouteDoc, path, state string, check StateCheck) error {
	if route.Method == "GET" && route.Path == path {
		return shapef("background: state_path %s is the scenario's own GET route", path)
	}
	for _, r := range x.routes {
		if r.Path == path {
			return shapef("background: state_path %s used twice", path)
		}
	}
	name := fmt.Sprintf("state%d", len(x.routes))
	x.routes = append(x.routes, RouteDoc{Method: "GET", Path: path, Handler: name})
	x.handlers[name] = HandlerSpec{State: state}
	check.Key = state
	x.checks = append(x.checks, check)
	return nil
}

// cleanupOrder lists the cleanup factories the route resolves, in the
// order the core creates them: levels, declaration order within a level.
func (x *extPlan) cleanupOrder() []*depRef {
	var out []*depRef
	for _, d := range x.resolutionOrder() {
		if d.isFactory() && d.cleanup {
			out = append(out, d)
		}
	}
	return out
}

// resolutionOrder is the closure of every consumer's dependencies, by level
// then declaration order (nil when it has a cycle or a missing key).
func (x *extPlan) resolutionOrder() []*depRef {
	keys := append([]string(nil), x.handler...)
	for _, h := range x.hooks {
		keys = append(keys, h.deps...)
	}
	level := map[string]int{}
	state := map[string]int{}
	var visit func(k string) bool
	visit = func(k string) bool {
		d := x.eff[k]
		if d == nil || state[k] == 1 {
			return false
		}
		if state[k] == 2 {
			return true
		}
		state[k] = 1
		lv := 0
		for _, dep := range d.dependsOn {
			if !visit(dep) {
				return false
			}
			lv = max(lv, level[dep]+1)
		}
		state[k] = 2
		level[k] = lv
		return true
	}
	for _, k := range keys {
		if !visit(k) {
			return nil
		}
	}
	pos := map[string]int{}
	for i, d := range x.deps {
		if _, ok := pos[d.key]; !ok {
			pos[d.key] = i
		}
	}
	var out []*depRef
	for k := range level {
		out = append(out, x.eff[k])
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if level[a] != level[b] {
			return level[a] < level[b]
		}
		return pos[a] < pos[b]
	})
	return out
}

// planResolution makes every factory record its invocation and checks the
// order against the scenario's levels.
func (x *extPlan) planResolution(route *RouteDoc, raw json.RawMessage) error {
	var levels [][]string
	if err := json.Unmarshal(raw, &levels); err != nil {
		return shapef("expected_response.dependency_resolution_order: want an array of arrays of keys")
	}
	factories := map[string]bool{}
	for _, lv := range levels {
		for _, k := range lv {
			d := x.eff[k]
			if d == nil {
				return shapef("expected_response.dependency_resolution_order: %q is not a dependency of the scenario", k)
			}
			if d.isFactory() {
				factories[k] = true
			}
		}
	}
	for _, d := range x.deps {
		if d.isFactory() && factories[d.key] && x.eff[d.key] == d {
			d.spec.Record = append(d.spec.Record, Record{State: resolutionState})
		}
	}
	return x.addStateRoute(route, resolutionPath, resolutionState, StateCheck{Path: resolutionPath, Levels: levels, Factories: factories})
}

// nameHandlers puts every hook and factory spec in the handlers map under
// its handler name, renaming references whose specs differ (or whose name
// the runner uses itself), and writes the hooks and dependencies back into
// the document.
func (x *extPlan) nameHandlers(route *RouteDoc, app *AppDoc) error {
	taken := map[string]bool{"h0": true}
	for n := range x.handlers {
		taken[n] = true
	}
	assigned := map[string]HandlerSpec{}
	name := func(want string, spec HandlerSpec) string {
		for i := 1; ; i++ {
			n := want
			if i > 1 {
				n = fmt.Sprintf("%s~%d", want, i)
			}
			if taken[n] {
				continue
			}
			prev, ok := assigned[n]
			if !ok {
				assigned[n] = spec
				return n
			}
			if specEqual(prev, spec) {
				return n
			}
		}
	}
	for _, h := range x.hooks {
		n := name(h.handler, h.spec)
		if n != h.handler {
			h.raw = setMember(h.raw, "handler", n)
		}
		x.handlers[n] = h.spec
	}
	for _, d := range x.deps {
		if !d.isFactory() {
			continue
		}
		n := name(d.factory, d.spec)
		if n != d.factory {
			d.raw = setMember(d.raw, "factory", n)
		}
		x.handlers[n] = d.spec
	}
	if len(x.hooks) > 0 {
		var mw object
		_ = json.Unmarshal(route.Middleware, &mw)
		var phases object
		for _, ph := range hookPhases {
			var list []object
			for _, h := range x.hooks {
				if h.phase == ph {
					list = append(list, h.raw)
				}
			}
			if len(list) > 0 {
				b, _ := json.Marshal(list)
				phases = append(phases, member{Key: ph, Val: b})
			}
		}
		pb, _ := json.Marshal(phases)
		mw = setMemberRaw(mw, "lifecycle_hooks", pb)
		route.Middleware, _ = json.Marshal(mw)
	}
	app.Dependencies = x.depDocs("app")
	route.Dependencies = x.depDocs("route")
	route.RouteOverrides = x.depDocs("override")
	return nil
}

func specEqual(a, b HandlerSpec) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func setMember(o object, key, val string) object {
	b, _ := json.Marshal(val)
	return setMemberRaw(o, key, b)
}

func setMemberRaw(o object, key string, val json.RawMessage) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].Key == key {
			out[i].Val = val
			return out
		}
	}
	return append(out, member{Key: key, Val: val})
}

// Values the runner makes up for what a scenario leaves open.

// fixedUUID stands for <<uuid>> where no factory generates one.
func fixedUUID(seed string) string {
	h := sha1.Sum([]byte(seed))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// exampleFor gives a concrete value for an expected value: itself, or a
// value matching a token or a pattern.
func exampleFor(v string) (string, bool) {
	switch {
	case strings.EqualFold(v, "<<uuid>>"):
		return fixedUUID(v), true
	case strings.EqualFold(v, "<<present>>"):
		return "present", true
	case strings.HasPrefix(v, "<<"):
		return "", false
	case isPattern(v):
		return regexExample(v)
	}
	return v, true
}

// materializeSpec replaces tokens and wildcard patterns in a spec's body by
// concrete values (<<same_as:m>> by member m's).
func materializeSpec(s *HandlerSpec) {
	if len(s.Body) == 0 {
		return
	}
	var o object
	if json.Unmarshal(s.Body, &o) == nil && o != nil {
		vals := map[string]json.RawMessage{}
		for i, m := range o {
			o[i].Val = materialize(m.Val)
			vals[m.Key] = o[i].Val
		}
		for i, m := range o {
			if str, err := asString(m.Val); err == nil && strings.HasPrefix(str, "<<same_as:") {
				if v, ok := vals[strings.TrimSuffix(strings.TrimPrefix(str, "<<same_as:"), ">>")]; ok {
					o[i].Val = v
				}
			}
		}
		s.Body, _ = json.Marshal(o)
		return
	}
	s.Body = materialize(s.Body)
}

func materialize(raw json.RawMessage) json.RawMessage {
	switch kind(raw) {
	case "string":
		str, _ := asString(raw)
		if strings.HasPrefix(str, "<<same_as:") {
			return raw
		}
		if isToken(str) || isBodyPattern(str) {
			if ex, ok := exampleFor(str); ok {
				b, _ := json.Marshal(ex)
				return b
			}
		}
	case "object":
		var o object
		if json.Unmarshal(raw, &o) == nil {
			for i := range o {
				o[i].Val = materialize(o[i].Val)
			}
			b, _ := json.Marshal(o)
			return b
		}
	case "array":
		var a []json.RawMessage
		if json.Unmarshal(raw, &a) == nil {
			for i := range a {
				a[i] = materialize(a[i])
			}
			b, _ := json.Marshal(a)
			return b
		}
	}
	return raw
}

func isToken(s string) bool {
	l := strings.ToLower(s)
	return l == "<<uuid>>" || l == "<<present>>"
}

// isBodyPattern reports a body string that is a pattern: in bodies only
// the unambiguous wildcards count (".*", ".+"), since ^, $, [ and \d are
// common in real texts (error messages quote patterns).
func isBodyPattern(s string) bool {
	return strings.Contains(s, ".*") || strings.Contains(s, ".+")
}

// regexExample builds a short string the pattern matches whole.
func regexExample(p string) (string, bool) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	var b strings.Builder
	var walk func(r *syntax.Regexp) bool
	walk = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
			syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return true
		case syntax.OpLiteral:
			for _, c := range r.Rune {
				b.WriteRune(c)
			}
			return true
		case syntax.OpCharClass:
			c, ok := classExample(r.Rune)
			if ok {
				b.WriteRune(c)
			}
			return ok
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('x')
			return true
		case syntax.OpCapture:
			return walk(r.Sub[0])
		case syntax.OpStar, syntax.OpPlus:
			return walk(r.Sub[0])
		case syntax.OpQuest:
			return true
		case syntax.OpRepeat:
			n := r.Min
			if n == 0 && r.Max != 0 {
				n = 1
			}
			for range n {
				if !walk(r.Sub[0]) {
					return false
				}
			}
			return true
		case syntax.OpConcat:
			for _, s := range r.Sub {
				if !walk(s) {
					return false
				}
			}
			return true
		case syntax.OpAlternate:
			return walk(r.Sub[0])
		}
		return false
	}
	if !walk(re) {
		return "", false
	}
	out := b.String()
	full, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil || !full.MatchString(out) {
		return "", false
	}
	return out, true
}

// classExample picks a readable rune of a character class.
func classExample(ranges []rune) (rune, bool) {
	in := func(c rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if c >= ranges[i] && c <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	for _, c := range "x0aA-_." {
		if in(c) {
			return c, true
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for c := ranges[i]; c <= ranges[i+1] && c < ranges[i]+256; c++ {
			if unicode.IsPrint(c) {
				return c, true
			}
		}
	}
	return 0, false
}

// stateRequest is the GET the runner sends to a state route.
func stateRequest(path string) *HTTPRequest {
	return &HTTPRequest{Method: "GET", Target: (&url.URL{Path: path}).EscapedPath(), Headers: [][2]string{{"Connection", "close"}}}
}

// checkState reads a state route until it shows what the check wants (the
// work that fills it runs after the response, asynchronously) or the time
// is up, and returns the difference ("" when it matches).
func checkState(addr string, chk StateCheck, deadline time.Time) string {
	limit := time.Now().Add(3 * time.Second)
	if deadline.Before(limit) {
		limit = deadline.Add(-100 * time.Millisecond)
	}
	var last string
	for {
		left := time.Until(limit)
		if left < 50*time.Millisecond {
			left = 50 * time.Millisecond
		}
		resp, err := send(addr, stateRequest(chk.Path), left)
		switch {
		case err != nil:
			last = err.Error()
		case resp.Status != 200:
			last = fmt.Sprintf("answered %d %s", resp.Status, snippet(resp.Body))
		default:
			last = chk.diff(resp.Body)
		}
		if last == "" {
			return ""
		}
		if time.Now().After(limit) {
			return fmt.Sprintf("state GET %s: %s", chk.Path, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// diff compares one answer of a state route with the check.
func (chk StateCheck) diff(body []byte) string {
	got, err := decodeAny(body)
	if err != nil {
		return fmt.Sprintf("not JSON: %s", snippet(body))
	}
	if chk.Levels == nil {
		want, _ := decodeAny(chk.Want)
		return diffJSON("state", want, got)
	}
	m, _ := got.(map[string]any)
	list, _ := m[chk.Key].([]any)
	var rec []string
	for _, v := range list {
		if s, ok := v.(string); ok && chk.Factories[s] {
			rec = append(rec, s)
		}
	}
	var levels [][]string
	for _, lv := range chk.Levels {
		var fs []string
		for _, k := range lv {
			if chk.Factories[k] {
				fs = append(fs, k)
			}
		}
		if len(fs) > 0 {
			levels = append(levels, fs)
		}
	}
	i := 0
	for n, lv := range levels {
		if i+len(lv) > len(rec) {
			return fmt.Sprintf("factories ran in the order %q, want the levels %q (level %d incomplete)", rec, levels, n)
		}
		got := append([]string(nil), rec[i:i+len(lv)]...)
		want := append([]string(nil), lv...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			return fmt.Sprintf("factories ran in the order %q, want the levels %q", rec, levels)
		}
		i += len(lv)
	}
	if i != len(rec) {
		return fmt.Sprintf("factories ran in the order %q, want the levels %q", rec, levels)
	}
	return ""
}
