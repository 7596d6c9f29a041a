package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spikard/spikard-go/core/di"
	"github.com/spikard/spikard-go/core/hooks"
	"github.com/spikard/spikard-go/core/problem"
)

// Lifecycle hooks in the pipeline; the contract is documented in
// core/hooks. serveRoute calls begin (on_request), preValidation and, through
// call, beforeHandler (pre_handler and the handler's dependencies); fail runs
// on_error; finish runs on_response once the answer is final.

// begin starts a request of a route with hooks or dependencies. It reports
// whether the request is answered already.
func (a *App) begin(c *Ctx) bool {
	x := c.ext()
	if p := c.route.x.broken; p != nil {
		x.noHooks = true
		writeProblem(c.fctx, p)
		return true
	}
	return a.runHooks(c, hooks.OnRequest)
}

// preValidation runs the pre_validation hooks; true when answered.
func (a *App) preValidation(c *Ctx) bool {
	return a.runHooks(c, hooks.PreValidation)
}

// beforeHandler runs the pre_handler hooks and resolves the handler's
// dependencies; true when the request is answered (short-circuit, a
// refusing or failing dependency).
func (a *App) beforeHandler(c *Ctx) bool {
	if a.runHooks(c, hooks.PreHandler) {
		return true
	}
	x := c.x
	if p := c.route.x.handlerPlan; p != nil {
		deps, err := a.resolve(c, p)
		if err != nil {
			if !errors.Is(err, errRefused) {
				a.fail(c, a.problemFor(c, err, "dependency"))
			}
			return true
		}
		x.deps, x.handlerDeps = deps, deps
	}
	x.call = nil
	return false
}

// onError runs the on_error hooks after fail wrote the problem p.
func (a *App) onError(c *Ctx, p *problem.Problem) {
	x := c.x
	x.problem = p
	a.runHooks(c, hooks.OnError)
	x.problem = nil
}

// finish runs the on_response hooks: the answer is final.
func (a *App) finish(c *Ctx) {
	if x := c.x; x == nil || x.noHooks {
		return
	}
	a.runHooks(c, hooks.OnResponse)
}

// runHooks runs the hooks of one phase in order (hooks.Run). It reports
// true when the phase ended the request (request phases: a hook answered or
// failed) or ended early (on_response, on_error: a hook replaced the answer).
func (a *App) runHooks(c *Ctx, p hooks.Phase) bool {
	refs := c.route.x.hooks[p]
	if len(refs) == 0 {
		return false
	}
	stopped, _ := hooks.Run(c.route.x.set[p], func(i int, _ *hooks.Hook) (hooks.Outcome, error) {
		answered, err := a.invokeHook(c, &refs[i])
		if err != nil && p == hooks.OnError {
			// A failing error hook cannot fail the request further.
			a.log.Error("on_error hook failed", "hook", refs[i].call.Name, "request_id", c.RequestID(), "error", err)
			return hooks.Continue, nil
		}
		if err != nil && !errors.Is(err, errRefused) {
			a.fail(c, a.problemFor(c, err, "lifecycle hook "+refs[i].call.Name))
			return hooks.Answered, nil
		}
		if answered || err != nil { // err: a dependency of the hook answered
			return hooks.Answered, nil
		}
		return hooks.Continue, nil
	})
	return stopped >= 0
}

// invokeHook calls one hook with the request's Ctx and reports whether it
// answered.
func (a *App) invokeHook(c *Ctx, ref *hookRef) (bool, error) {
	x := c.x
	saveCall, saveDeps := x.call, x.deps
	defer func() { x.call, x.deps = saveCall, saveDeps }()
	var deps []di.Resolved
	if ref.deps != nil {
		var err error
		if deps, err = a.resolve(c, ref.deps); err != nil {
			return false, err
		}
	}
	x.call, x.deps, x.answered = &ref.call, deps, false
	if err := a.safeInvoke(ref.h, c, "lifecycle hook "+ref.call.Name); err != nil {
		return false, err
	}
	return x.answered, nil
}

// Request state and changes: what hooks leave for later hooks and the handler.

// Set stores a request state value under key, for the hooks and the handler
// that run later in the request (Get). The value must encode as JSON: the
// state is in Ctx.Values() under "state", which is how bindings behind the
// C ABI read it.
func (c *Ctx) Set(key string, v any) {
	x := c.ext()
	for i := range x.state {
		if x.state[i].key == key {
			x.state[i].v = v
			return
		}
	}
	x.state = append(x.state, stateEntry{key, v})
}

// Get returns a request state value stored by Set (absent when none).
func (c *Ctx) Get(key string) Value {
	if c.x == nil {
		return Value{}
	}
	for _, s := range c.x.state {
		if s.key == key {
			if raw, ok := s.v.(json.RawMessage); ok {
				return decodeValue(raw)
			}
			return Value{s.v, true}
		}
	}
	return Value{}
}

// SetRequestHeader changes a request header for what runs later: a
// pre_validation hook's change is what the header parameters see.
func (c *Ctx) SetRequestHeader(k, v string) { c.fctx.Request.Header.Set(k, v) }

// ResponseStatus is the status of the response built so far (on_response
// and on_error hooks read the answer with it and ResponseHeader).
func (c *Ctx) ResponseStatus() int { return c.fctx.Response.StatusCode() }

// ResponseHeader returns a header of the response built so far.
func (c *Ctx) ResponseHeader(name string) string {
	return string(c.fctx.Response.Header.Peek(name))
}

// Answered reports whether the current invocation answered (Send, JSON,
// Text, NoContent): for a hook, whether it short-circuits.
func (c *Ctx) Answered() bool { return c.x != nil && c.x.answered }

// Changes is what a hook that continues asks for, as JSON; Continue applies
// it. It is the form a binding behind the C ABI hands back instead of an
// answer.
//
//	{"status": 201, "headers": {"X-Frame-Options": "DENY"},
//	 "request_headers": {"X-User": "u1"}, "state": {"user": {"id": 1}}}
//
// Every member is optional: status and headers change the response,
// request_headers the request, state is stored as by Set.
type Changes struct {
	Status int `json:"status,omitempty"`
	// Headers set response headers; a list value sends the header once per
	// item (Set-Cookie).
	Headers        map[string]HeaderValues    `json:"headers,omitempty"`
	RequestHeaders map[string]string          `json:"request_headers,omitempty"`
	State          map[string]json.RawMessage `json:"state,omitempty"`
}

// HeaderValues is a header's value in Changes: a JSON string or a list of
// strings.
type HeaderValues []string

// UnmarshalJSON reads a string or an array of strings.
func (h *HeaderValues) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*h = HeaderValues{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("a header value must be a string or a list of strings, got %s", b)
	}
	*h = many
	return nil
}

// Continue applies a hook's changes (the JSON form of Changes) without
// answering: the request goes on. Unknown members are errors.
func (c *Ctx) Continue(changes []byte) error {
	changes = bytes.TrimSpace(changes)
	if len(changes) == 0 || string(changes) == "null" {
		return nil
	}
	var ch Changes
	dec := json.NewDecoder(bytes.NewReader(changes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ch); err != nil {
		return fmt.Errorf("hook changes: %w", err)
	}
	if ch.Status != 0 {
		if ch.Status < 100 || ch.Status > 599 {
			return fmt.Errorf("hook changes: status %d is not an HTTP status", ch.Status)
		}
		c.fctx.SetStatusCode(ch.Status)
	}
	for _, k := range sortedMapKeys(ch.Headers) {
		for i, v := range ch.Headers[k] {
			if i == 0 {
				c.SetHeader(k, v)
			} else {
				c.fctx.Response.Header.Add(k, v)
			}
		}
	}
	for _, k := range sortedMapKeys(ch.RequestHeaders) {
		c.SetRequestHeader(k, ch.RequestHeaders[k])
	}
	for _, k := range sortedMapKeys(ch.State) {
		c.Set(k, ch.State[k])
	}
	return nil
}

func sortedMapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// AddHook adds an app-wide hook (after the document's hooks of the same
// phase). handler names a handler bound with Handle. Call it before Build.
func (a *App) AddHook(p hooks.Phase, h hooks.Hook) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h.Name == "" {
		h.Name = h.Handler
	}
	x := a.extLocked()
	x.added[p] = append(x.added[p], h)
}

// decodeValue decodes a JSON value into a Value (numbers as json.Number).
func decodeValue(raw json.RawMessage) Value {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Value{}
	}
	return Value{v, true}
}
