// Package hooks is the configuration and the contract of lifecycle hooks:
// host code the core runs at fixed points of every request of a route.
//
// # Phases
//
// In the order a request meets them:
//
//	on_request      first, before anything is read: the request as received
//	                (Ctx.RawHeader, Ctx.RawBody); no validated values yet.
//	pre_validation  after the framework's own checks (path encoding, body
//	                size), before parameters and body are read and validated:
//	                a hook may still change request headers (Ctx.SetRequestHeader)
//	                and what it changes is what gets validated.
//	pre_handler     after validation, before the handler's dependencies are
//	                resolved and the handler runs: the validated values are
//	                in Ctx.Values.
//	on_response     after the answer is final (the handler's, a hook's
//	                short-circuit, a validation problem, an error answer):
//	                may change the status (Ctx.Status) and headers
//	                (Ctx.SetHeader), or replace the answer (Ctx.Send).
//	on_error        when host code of the route failed (the handler, a hook or
//	                a dependency factory returned an error or panicked), after
//	                the core wrote its 500 problem document and before
//	                on_response: may replace that answer.
//
// Hooks are configured in a "middleware" object, app-wide or per route, under
// "lifecycle_hooks". App-wide hooks run first, then the route's, each phase
// in the order written. They run for requests that reached a route; the
// router's own answers (404, 405, automatic OPTIONS) and middleware that
// answers before the route (CORS preflight, rate limit, auth) run none:
//
//	"lifecycle_hooks": {
//	  "on_request":   [{"name": "request_logger", "handler": "log_request"}],
//	  "pre_handler":  [{"name": "auth", "handler": "check_token",
//	                    "config": {"realm": "api"}, "dependencies": ["users"]}],
//	  "on_response":  [{"name": "security_headers", "handler": "add_headers"}]
//	}
//
// name identifies the hook (logs, Ctx.Call().Name); handler names a host
// handler; config (any JSON) is handed to the hook as it is; dependencies are
// dependency keys (core/di) resolved right before the hook runs.
//
// # The contract
//
// A hook is a host handler of the same kind as a route handler: registered
// by name (app.Handle in Go, spikard_app_handle_callback/queued through the
// C ABI), invoked with the request's Ctx. Ctx.Call() tells it why it runs:
// kind "hook", the phase, its name and config, and in on_response/on_error
// the response so far (on_error: the problem). The same information is in
// Ctx.Values() under "call", so a binding that only sees the values
// document (the C ABI's spikard_request.values) sees it too, with the hook's
// resolved dependencies under "dependencies" and request state under "state".
//
// The outcome of a hook is read from what it did:
//
//   - it answered (Ctx.Send, JSON, Text, NoContent; spikard_respond through
//     the C ABI): in on_request, pre_validation and pre_handler the answer is
//     the response and the request stops there (short-circuit: later hooks
//     of the request phases, validation and the handler do not run);
//     in on_response and on_error the answer replaces the response and the
//     remaining hooks of that phase are skipped. on_response hooks still
//     run after a short-circuit.
//   - it returned without answering: the request continues. What it set stays:
//     response headers and status (Ctx.SetHeader, Ctx.Status), request
//     headers (Ctx.SetRequestHeader) and request state (Ctx.Set), which
//     later hooks and the handler read (Ctx.Get, "state" in Ctx.Values).
//   - it failed (returned an error, panicked; spikard_respond_error): the
//     core answers its 500 problem document and on_error hooks run, except
//     for a failing on_error hook, which is only logged.
//
// This package holds the configuration types and the order of execution; the
// pipeline (core/app) runs them.
package hooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ConfigKey is the member of a "middleware" object that configures hooks.
const ConfigKey = "lifecycle_hooks"

// Phase is a point of the request lifecycle.
type Phase uint8

// The phases, in the order a request meets them.
const (
	OnRequest Phase = iota
	PreValidation
	PreHandler
	OnResponse
	OnError
	// NumPhases is the number of phases.
	NumPhases
)

var phaseNames = [NumPhases]string{"on_request", "pre_validation", "pre_handler", "on_response", "on_error"}

// String is the phase's configuration name ("on_request", ...).
func (p Phase) String() string {
	if p < NumPhases {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// ParsePhase reads a phase's configuration name.
func ParsePhase(s string) (Phase, bool) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), true
		}
	}
	return 0, false
}

// Request reports whether the phase runs before the handler, where an
// answer short-circuits the request.
func (p Phase) Request() bool { return p <= PreHandler }

// Hook is one configured hook.
type Hook struct {
	// Name identifies the hook in logs and in Ctx.Call().Name; defaults to
	// Handler.
	Name string `json:"name"`
	// Handler is the host handler the hook invokes.
	Handler string `json:"handler"`
	// Config is handed to the hook as it is.
	Config json.RawMessage `json:"config,omitempty"`
	// Dependencies are resolved right before the hook runs.
	Dependencies []string `json:"dependencies,omitempty"`
}

// Set is the hooks of one scope (the app or a route), by phase, in order.
type Set [NumPhases][]Hook

// Empty reports whether no hook is configured.
func (s *Set) Empty() bool {
	if s == nil {
		return true
	}
	for _, hs := range s {
		if len(hs) > 0 {
			return false
		}
	}
	return true
}

// Handlers lists the host handler names the set uses, sorted, each once.
func (s *Set) Handlers() []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, hs := range s {
		for _, h := range hs {
			if !seen[h.Handler] {
				seen[h.Handler] = true
				out = append(out, h.Handler)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Parse reads the "lifecycle_hooks" configuration value. Unknown phases and
// unknown members of a hook are errors, so that a typo never silently
// disables a hook. null and {} give an empty set.
func Parse(raw json.RawMessage) (*Set, error) {
	s := &Set{}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return s, nil
	}
	var phases map[string]json.RawMessage
	if err := json.Unmarshal(raw, &phases); err != nil {
		return nil, fmt.Errorf("%s: want an object of phases: %w", ConfigKey, err)
	}
	names := make([]string, 0, len(phases))
	for k := range phases {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p, ok := ParsePhase(k)
		if !ok {
			return nil, fmt.Errorf("%s: unknown phase %q (want %s)", ConfigKey, k, strings.Join(phaseNames[:], ", "))
		}
		v := bytes.TrimSpace(phases[k])
		if string(v) == "null" {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("%s.%s: want an array of hooks: %w", ConfigKey, k, err)
		}
		for i, item := range items {
			var h Hook
			dec := json.NewDecoder(bytes.NewReader(item))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&h); err != nil {
				return nil, fmt.Errorf("%s.%s[%d]: %w", ConfigKey, k, i, err)
			}
			if h.Handler == "" {
				return nil, fmt.Errorf("%s.%s[%d]: handler (the host handler's name) is required", ConfigKey, k, i)
			}
			if h.Name == "" {
				h.Name = h.Handler
			}
			if len(h.Config) > 0 {
				var buf bytes.Buffer
				if err := json.Compact(&buf, h.Config); err == nil {
					h.Config = buf.Bytes()
				}
			}
			s[p] = append(s[p], h)
		}
	}
	return s, nil
}

// FromMiddleware reads the hooks of a "middleware" configuration object
// (nil when it configures none).
func FromMiddleware(mw json.RawMessage) (*Set, error) {
	mw = bytes.TrimSpace(mw)
	if len(mw) == 0 || string(mw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(mw, &m); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	raw, ok := m[ConfigKey]
	if !ok {
		return nil, nil
	}
	s, err := Parse(raw)
	if err != nil || s.Empty() {
		return nil, err
	}
	return s, nil
}

// Merge returns the hooks of a route: the app's first, then the route's,
// phase by phase. Either may be nil; the result is nil when both are empty.
func Merge(app, route *Set) *Set {
	if app.Empty() && route.Empty() {
		return nil
	}
	out := &Set{}
	for p := range NumPhases {
		if app != nil {
			out[p] = append(out[p], app[p]...)
		}
		if route != nil {
			out[p] = append(out[p], route[p]...)
		}
	}
	return out
}

// Outcome is what one hook did.
type Outcome uint8

const (
	// Continue: the hook returned without answering.
	Continue Outcome = iota
	// Answered: the hook answered (short-circuit, or a replaced response).
	Answered
)

// Run invokes the hooks of one phase in order until one answers or fails:
// it reports the index of the hook that answered (-1 when every hook
// continued) and the first error. call is the pipeline's way of invoking a
// hook's handler.
func Run(hs []Hook, call func(i int, h *Hook) (Outcome, error)) (answered int, err error) {
	for i := range hs {
		out, err := call(i, &hs[i])
		if err != nil {
			return i, err
		}
		if out == Answered {
			return i, nil
		}
	}
	return -1, nil
}
