// Package middleware is the registry of the core's middleware. Each
// middleware lives in its own package below this one, registers a factory
// under the key it has in the configuration document's "middleware" object
// (app-wide or per route), and wraps the route's fasthttp handler.
//
// Middleware runs outside validation: it sees every request to its route
// (or, app-wide, every routed request) before parameters are read, and the
// response after the handler wrote it.
package middleware

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/valyala/fasthttp"
)

// Middleware wraps a handler.
type Middleware func(next fasthttp.RequestHandler) fasthttp.RequestHandler

// Factory builds a middleware from its configuration value. It runs once,
// when the app is built; a bad configuration is an error then, never a
// per-request failure.
type Factory func(raw json.RawMessage) (Middleware, error)

type entry struct {
	key   string
	order int
	f     Factory
}

var (
	mu       sync.RWMutex
	registry = map[string]entry{}
)

// Register adds a factory under key. Order places it in the chain: lower
// runs first (outermost). Suggested orders: request_id 10, cors 20,
// rate_limit 30, jwt_auth/api_key_auth 40, body_limit 50, request_timeout 60,
// compression 70, static_files 80.
func Register(key string, order int, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[key]; dup {
		panic("middleware: " + key + " registered twice")
	}
	registry[key] = entry{key, order, f}
}

// Chain builds the middleware named in a configuration object, outermost
// first. Keys with no registered middleware are reported, so a typo in a
// configuration never silently disables security.
func Chain(raw json.RawMessage, ignore ...string) (Middleware, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	mu.RLock()
	var es []entry
	for k := range m {
		if skip[k] {
			continue
		}
		e, ok := registry[k]
		if !ok {
			mu.RUnlock()
			return nil, fmt.Errorf("middleware: unknown middleware %q", k)
		}
		es = append(es, e)
	}
	mu.RUnlock()
	sort.Slice(es, func(i, j int) bool {
		if es[i].order != es[j].order {
			return es[i].order < es[j].order
		}
		return es[i].key < es[j].key
	})
	var mws []Middleware
	for _, e := range es {
		mw, err := e.f(m[e.key])
		if err != nil {
			return nil, fmt.Errorf("middleware %s: %w", e.key, err)
		}
		if mw != nil {
			mws = append(mws, mw)
		}
	}
	if len(mws) == 0 {
		return nil, nil
	}
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		for i := len(mws) - 1; i >= 0; i-- {
			next = mws[i](next)
		}
		return next
	}, nil
}
