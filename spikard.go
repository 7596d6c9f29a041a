// Package spikard is the Go API of the Spikard runtime: typed routes,
// JSON Schema 2020-12 validation of every input, RFC 9457 errors, on
// fasthttp. Every other language reaches the same core through libspikard.
//
//	app := spikard.New(spikard.Config{Port: 8000})
//	app.Get("/users/{id:int}", func(c *spikard.Ctx) error {
//		return c.JSON(200, map[string]any{"id": c.Path("id").Int()})
//	})
//	log.Fatal(app.Run())
package spikard

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/hooks"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/ws"
)

type (
	// Ctx is a validated request and its response. See core/app.Ctx.
	Ctx = app.Ctx
	// Handler answers a validated request.
	Handler = app.Handler
	// Value is one validated parameter value.
	Value = app.Value
	// Config holds server options (host, port, limits).
	Config = config.Server
	// Problem is an RFC 9457 problem; return one from a handler to answer with it.
	Problem = problem.Problem
	// Document is the declarative app description shared with every binding.
	Document = config.App
	// TLSConfig names a certificate and key for HTTPS (Config.TLS).
	TLSConfig = config.TLS

	// SSEStream is the server side of a Server-Sent Events stream (Ctx.SSE).
	SSEStream = sse.Stream
	// SSEEvent is one Server-Sent Event.
	SSEEvent = sse.Event
	// SSEOptions are a route's event-stream settings (keep-alive, retry, event schema).
	SSEOptions = config.SSE

	// WebSocket is a WebSocket route's handler: on connect, on message, on close.
	WebSocket = ws.Handler
	// WSConn is one WebSocket connection.
	WSConn = ws.Conn
	// WSMessage is one WebSocket data message.
	WSMessage = ws.Message
	// WSOptions are a WebSocket route's settings (message schema, subprotocols, limits, pings).
	WSOptions = config.WebSocket
	// WSCloseError, returned by a WebSocket callback, closes with its code.
	WSCloseError = ws.CloseError
)

// WebSocket message types.
const (
	WSText   = ws.Text
	WSBinary = ws.Binary
)

// App is a Spikard application.
type App struct {
	core *app.App
}

// New makes an empty app.
func New(cfg ...Config) *App {
	doc := config.App{Version: config.Version}
	if len(cfg) > 0 {
		doc.Server = cfg[0]
	}
	return &App{core: app.New(doc)}
}

// FromConfig makes an app from a configuration document; bind the handler
// names it uses with Handle.
func FromConfig(doc *config.App) (*App, error) {
	return &App{core: app.New(*doc)}, nil
}

// ParseConfig reads a JSON configuration document.
func ParseConfig(doc []byte) (*App, error) {
	c, err := config.Parse(doc)
	if err != nil {
		return nil, err
	}
	return FromConfig(c)
}

// Handle binds a handler name used by the configuration document.
func (a *App) Handle(name string, h Handler) *App { a.core.Handle(name, h); return a }

// Core exposes the pipeline (for the C ABI and tests).
func (a *App) Core() *app.App { return a.core }

// Option declares something about a route.
type Option func(*config.Route)

// Schema is a JSON Schema document, as text.
type Schema string

func (s Schema) raw() json.RawMessage { return json.RawMessage(s) }

func param(dst func(*config.Route) *[]config.Param, name string, s Schema, required bool) Option {
	return func(r *config.Route) {
		p := config.Param{Name: name, Schema: s.raw(), Required: required}
		var m map[string]json.RawMessage
		if json.Unmarshal(p.Schema, &m) == nil {
			if d, ok := m["default"]; ok {
				p.HasDefault, p.Required = true, false
				_ = json.Unmarshal(d, &p.Default)
			}
		}
		*dst(r) = append(*dst(r), p)
	}
}

// PathParam declares the schema of a path parameter ({id} in the path).
func PathParam(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Path }, name, s, true)
}

// Query declares a required query parameter.
func Query(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Query }, name, s, true)
}

// OptionalQuery declares an optional query parameter ("default" in the schema applies).
func OptionalQuery(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Query }, name, s, false)
}

// Header declares a required header (case-insensitive; "_" matches "-").
func Header(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Headers }, name, s, true)
}

// OptionalHeader declares an optional header.
func OptionalHeader(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Headers }, name, s, false)
}

// Cookie declares a required cookie.
func Cookie(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Cookies }, name, s, true)
}

// OptionalCookie declares an optional cookie.
func OptionalCookie(name string, s Schema) Option {
	return param(func(r *config.Route) *[]config.Param { return &r.Parameters.Cookies }, name, s, false)
}

// Body declares the request body schema.
func Body(s Schema) Option { return func(r *config.Route) { r.BodySchema = s.raw() } }

// Response declares the response body schema; answers that break it are 500s.
func Response(s Schema) Option { return func(r *config.Route) { r.ResponseSchema = s.raw() } }

// MaxBodySize caps this route's request body.
func MaxBodySize(n int64) Option { return func(r *config.Route) { r.MaxBodyBytes = n } }

// WithSSE declares the route's event-stream settings: keep-alive interval,
// retry delay and the JSON Schema of every event's data.
func WithSSE(o SSEOptions) Option { return func(r *config.Route) { r.SSE = &o } }

// StreamRequestBody makes the route read its request body as it arrives
// (Ctx.BodyStream) instead of before the handler runs.
func StreamRequestBody() Option { return func(r *config.Route) { r.StreamRequestBody = true } }

// Describe sets the OpenAPI operation id, summary and tags.
func Describe(operationID, summary string, tags ...string) Option {
	return func(r *config.Route) { r.OperationID, r.Summary, r.Tags = operationID, summary, tags }
}

// Route adds a route.
func (a *App) Route(method, path string, h Handler, opts ...Option) *App {
	rc := config.Route{Method: method, Path: path}
	for _, o := range opts {
		o(&rc)
	}
	a.core.Route(rc, h)
	return a
}

func (a *App) Get(path string, h Handler, opts ...Option) *App {
	return a.Route("GET", path, h, opts...)
}
func (a *App) Post(path string, h Handler, opts ...Option) *App {
	return a.Route("POST", path, h, opts...)
}
func (a *App) Put(path string, h Handler, opts ...Option) *App {
	return a.Route("PUT", path, h, opts...)
}
func (a *App) Patch(path string, h Handler, opts ...Option) *App {
	return a.Route("PATCH", path, h, opts...)
}
func (a *App) Delete(path string, h Handler, opts ...Option) *App {
	return a.Route("DELETE", path, h, opts...)
}
func (a *App) Head(path string, h Handler, opts ...Option) *App {
	return a.Route("HEAD", path, h, opts...)
}
func (a *App) Options(path string, h Handler, opts ...Option) *App {
	return a.Route("OPTIONS", path, h, opts...)
}

// WebSocket adds a WebSocket route at path: a GET that upgrades, then h's
// callbacks. o (optional) sets the message schema, subprotocols, size limit
// and ping interval. Parameter options (PathParam, Query, Header...) apply
// to the upgrade request.
func (a *App) WebSocket(path string, h WebSocket, o *WSOptions, opts ...Option) *App {
	rc := config.Route{Method: "GET", Path: path}
	if o == nil {
		o = &WSOptions{}
	}
	rc.WebSocket = o
	for _, opt := range opts {
		opt(&rc)
	}
	a.core.Route(rc, a.core.WebSocketHandler(h))
	return a
}

// HandleWebSocket binds a handler name used by a websocket route of the
// configuration document.
func (a *App) HandleWebSocket(name string, h WebSocket) *App {
	a.core.HandleWebSocket(name, h)
	return a
}

// Build checks the app (schemas compile, patterns do not clash) without serving.
func (a *App) Build() error { _, err := a.core.Build(); return err }

// Serve answers requests on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error { return a.core.Serve(ln) }

// SetTLSConfig serves HTTPS with this TLS configuration instead of
// Config.TLS's certificate files (client certificates, several
// certificates, ...). HTTP/2 is offered by ALPN unless Config.HTTP2 is false.
func (a *App) SetTLSConfig(c *tls.Config) *App { a.core.SetTLSConfig(c); return a }

// Shutdown stops accepting, then waits for in-flight requests or ctx.
func (a *App) Shutdown(ctx context.Context) error { return a.core.Shutdown(ctx) }

// Run serves on the configured address until SIGINT or SIGTERM, then shuts
// down gracefully: it stops accepting, lets in-flight requests and streams
// finish, ends event streams, closes WebSockets with 1001 and HTTP/2
// connections with GOAWAY, within server.shutdown_timeout_ms (10 s by
// default).
func (a *App) Run() error {
	errc := make(chan error, 1)
	go func() { errc <- a.core.ListenAndServe() }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case err := <-errc:
		return err
	case <-sig:
		d := 10 * time.Second
		if ms := a.core.Config().Server.ShutdownTimeoutMS; ms > 0 {
			d = time.Duration(ms) * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return a.Shutdown(ctx)
	}
}

// NewProblem makes a problem answer: return it from a handler.
func NewProblem(status int, slug, title, detail string) *Problem {
	return problem.New(status, slug, title, detail)
}

// Docs serves the OpenAPI document (/openapi.json, /openapi.yaml) and the
// Swagger UI (/docs) and ReDoc (/redoc) pages, embedded, no internet needed.
func (a *App) Docs(title, version string) *App {
	raw, _ := json.Marshal(map[string]any{"title": title, "version": version})
	a.core.SetOpenAPI(raw)
	return a
}

// OpenAPI returns the app's OpenAPI 3.1 document (deterministic JSON).
func (a *App) OpenAPI() ([]byte, error) { return a.core.OpenAPI() }

// Lifecycle hooks, dependency injection and background work
// (core/hooks, core/di, core/background). Hooks and dependency factories are
// handlers like route handlers: registered by name, invoked with the
// request's Ctx; the document can name them too ("lifecycle_hooks" in a
// "middleware" object, "dependencies", "handler_dependencies").

type (
	// Call says why a handler runs: a route, a hook, a dependency factory,
	// a cleanup or a background task (Ctx.Call).
	Call = app.Call
	// Dependency declares a named dependency (Provide).
	Dependency = config.Dependency
	// HookPhase is a point of the request lifecycle.
	HookPhase = hooks.Phase
	// DepOption sets a flag of a factory dependency (ProvideFactory).
	DepOption func(*config.Dependency)
)

// The lifecycle phases, in the order a request meets them.
const (
	OnRequest     = hooks.OnRequest
	PreValidation = hooks.PreValidation
	PreHandler    = hooks.PreHandler
	OnResponse    = hooks.OnResponse
	OnError       = hooks.OnError
)

// Hook registers h under name and runs it in phase p for every route (after
// the document's app-wide hooks of that phase). A hook that answers
// (c.JSON, c.Send...) short-circuits; one that returns nil lets the request
// go on with what it set (headers, c.Set state). See core/hooks.
func (a *App) Hook(p HookPhase, name string, h Handler) *App {
	a.core.Handle(name, h)
	a.core.AddHook(p, hooks.Hook{Name: name, Handler: name})
	return a
}

// OnRequest adds an app-wide on_request hook (see Hook).
func (a *App) OnRequest(name string, h Handler) *App { return a.Hook(OnRequest, name, h) }

// PreValidation adds an app-wide pre_validation hook (see Hook).
func (a *App) PreValidation(name string, h Handler) *App { return a.Hook(PreValidation, name, h) }

// PreHandler adds an app-wide pre_handler hook (see Hook).
func (a *App) PreHandler(name string, h Handler) *App { return a.Hook(PreHandler, name, h) }

// OnResponse adds an app-wide on_response hook (see Hook).
func (a *App) OnResponse(name string, h Handler) *App { return a.Hook(OnResponse, name, h) }

// OnError adds an app-wide on_error hook (see Hook).
func (a *App) OnError(name string, h Handler) *App { return a.Hook(OnError, name, h) }

// RouteHook runs the handler registered under name in phase p for this
// route only (after the app-wide hooks of the phase).
func RouteHook(p HookPhase, name string) Option {
	return func(r *config.Route) {
		mw := map[string]json.RawMessage{}
		if len(r.Middleware) > 0 {
			_ = json.Unmarshal(r.Middleware, &mw)
		}
		phases := map[string][]hooks.Hook{}
		if raw, ok := mw[hooks.ConfigKey]; ok {
			_ = json.Unmarshal(raw, &phases)
		}
		phases[p.String()] = append(phases[p.String()], hooks.Hook{Name: name, Handler: name})
		mw[hooks.ConfigKey], _ = json.Marshal(phases)
		r.Middleware, _ = json.Marshal(mw)
	}
}

// Inject lists the dependencies the route's handler receives (c.Dep).
func Inject(keys ...string) Option {
	return func(r *config.Route) { r.HandlerDependencies = append(r.HandlerDependencies, keys...) }
}

// RouteDependency declares a dependency for this route only (replacing an
// app-wide one of the same key).
func RouteDependency(d Dependency) Option {
	return func(r *config.Route) { r.Dependencies = append(r.Dependencies, d) }
}

// Provide declares an app-wide dependency.
func (a *App) Provide(d Dependency) *App { a.core.Provide(d); return a }

// ProvideValue declares an app-wide constant dependency (v must encode as JSON).
func (a *App) ProvideValue(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	a.core.Provide(config.Dependency{Key: key, Type: "value", Value: raw})
	return nil
}

// ProvideFactory declares an app-wide factory dependency: h, registered
// under "factory:"+key, answers the value (c.JSON(200, v)) from the values
// of its dependencies (c.Dep). Without options it runs for every use; see
// Singleton, PerRequest, DependsOn and WithCleanup.
func (a *App) ProvideFactory(key string, h Handler, opts ...DepOption) *App {
	d := config.Dependency{Key: key, Type: "factory", Factory: "factory:" + key}
	for _, o := range opts {
		o(&d)
	}
	a.core.Handle(d.Factory, h)
	a.core.Provide(d)
	return a
}

// DependsOn lists the dependencies resolved before the factory runs.
func DependsOn(keys ...string) DepOption {
	return func(d *config.Dependency) { d.DependsOn = append(d.DependsOn, keys...) }
}

// Singleton creates the value once per app.
func Singleton() DepOption { return func(d *config.Dependency) { d.Singleton = true } }

// PerRequest creates the value once per request (cacheable).
func PerRequest() DepOption { return func(d *config.Dependency) { d.Cacheable = true } }

// WithCleanup calls the factory again after the response is sent
// (c.Call().Kind == "cleanup", c.Call().Value the value it produced).
func WithCleanup() DepOption { return func(d *config.Dependency) { d.Cleanup = true } }

// Override replaces dependency name by a constant value in every route
// (tests); it may be called at any time.
func (a *App) Override(name string, v any) error { return a.core.Override(name, v) }

// OverrideHandler replaces the factory of dependency name by h (tests).
func (a *App) OverrideHandler(name string, h Handler) *App {
	a.core.OverrideHandler(name, h)
	return a
}

// ClearOverrides removes every override.
func (a *App) ClearOverrides() *App { a.core.ClearOverrides(); return a }

// Warnings lists configuration problems that do not stop the app (a
// dependency cycle: the routes that need it answer 500).
func (a *App) Warnings() []error { return a.core.Warnings() }

// HandlerNames lists every handler name the app uses (routes, hooks,
// factories).
func (a *App) HandlerNames() ([]string, error) { return a.core.HandlerNames() }

// Use turns on an app-wide middleware with its configuration, as the
// document's "middleware" object names them: "cors", "compression",
// "rate_limit", "jwt_auth", "api_key_auth", "request_timeout", "body_limit",
// "request_id", "static_files". cfg is marshalled to JSON; an unknown key or
// a bad configuration is reported by Build (or Run).
//
//	app.Use("cors", map[string]any{"allowed_origins": []string{"https://app.example.com"}})
func (a *App) Use(key string, cfg any) *App {
	raw, err := json.Marshal(cfg)
	if err != nil {
		raw = json.RawMessage(`{"invalid configuration":true}`)
	}
	_ = a.core.SetMiddleware(key, raw)
	return a
}

// With turns on a middleware for one route (see Use).
func With(key string, cfg any) Option {
	return func(r *config.Route) {
		m := map[string]json.RawMessage{}
		if len(r.Middleware) > 0 {
			_ = json.Unmarshal(r.Middleware, &m)
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			raw = json.RawMessage(`{"invalid configuration":true}`)
		}
		m[key] = raw
		r.Middleware, _ = json.Marshal(m)
	}
}
