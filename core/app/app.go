// Package app is the request pipeline every binding goes through: route →
// parameters → body → validation → handler → response checks → write. The
// Go API and the C ABI both build an App from a config.App document.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	frouter "github.com/fasthttp/router"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/middleware"
	_ "github.com/spikard/spikard-go/core/middleware/all"
	"github.com/spikard/spikard-go/core/openapi"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/stream"
	"github.com/valyala/fasthttp"
)

// DefaultMaxBodyBytes caps request bodies when the configuration does not.
const DefaultMaxBodyBytes = 10 << 20

// App is a configured application. Routes may be added until the first
// Serve; after that it is read-only and safe for concurrent requests.
type App struct {
	cfg               config.App
	routes            []*route
	handlers          map[string]Handler
	pending           []pendingRoute
	validateResponses bool
	log               *slog.Logger
	// x holds lifecycle hooks, dependencies and the background queue (ext.go).
	x *appExt
	// live holds response streams, WebSockets and HTTP/2 (proto.go).
	live *liveState

	mu      sync.Mutex
	built   fasthttp.RequestHandler
	servers []*fasthttp.Server
	pool    sync.Pool
}

type pendingRoute struct {
	cfg config.Route
	h   Handler
}

// New makes an app from a configuration document. Routes whose handlers are
// named in the document are bound by Handle before Serve.
func New(cfg config.App) *App {
	if cfg.Version == 0 {
		cfg.Version = config.Version
	}
	a := &App{
		cfg:               cfg,
		handlers:          map[string]Handler{},
		validateResponses: cfg.Server.ValidateResponses == nil || *cfg.Server.ValidateResponses,
		log:               slog.New(slog.NewTextHandler(os.Stderr, nil)),
		live:              newLiveState(),
	}
	a.pool.New = func() any {
		c := new(Ctx)
		c.rid.c, c.rid.pool = c, &a.pool
		return c
	}
	return a
}

// Config returns the app's configuration document, routes included.
func (a *App) Config() config.App {
	c := a.cfg
	c.Routes = append([]config.Route(nil), a.cfg.Routes...)
	for _, p := range a.pending {
		c.Routes = append(c.Routes, p.cfg)
	}
	return c
}

// SetLogger replaces the logger used for handler panics and errors.
func (a *App) SetLogger(l *slog.Logger) { a.log = l }

// Handle binds a handler name used by routes of the document.
func (a *App) Handle(name string, h Handler) { a.handlers[name] = h }

// Route adds a route with its handler.
func (a *App) Route(rc config.Route, h Handler) {
	rc.Method = strings.ToUpper(rc.Method)
	a.pending = append(a.pending, pendingRoute{rc, h})
}

// Build compiles every route and returns the fasthttp handler. It is called
// by Serve; call it directly to check a configuration or to serve through
// another fasthttp server.
func (a *App) Build() (fasthttp.RequestHandler, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.built != nil {
		return a.built, nil
	}
	all := make([]pendingRoute, 0, len(a.cfg.Routes)+len(a.pending))
	for _, rc := range a.cfg.Routes {
		h := a.handlers[rc.Handler]
		if h == nil {
			return nil, fmt.Errorf("route %s %s: no handler registered under %q", rc.Method, rc.Path, rc.Handler)
		}
		all = append(all, pendingRoute{rc, h})
	}
	all = append(all, a.pending...)
	if err := a.prepareExt(); err != nil {
		return nil, err
	}

	r := frouter.New()
	r.RedirectTrailingSlash = a.cfg.Server.TrailingSlash == "redirect"
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) }
	r.NotFound = func(ctx *fasthttp.RequestCtx) { writeProblem(ctx, problem.NotFound()) }
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeProblem(ctx, problem.MethodNotAllowed(string(ctx.Response.Header.Peek("Allow"))))
	}
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		a.log.Error("panic outside a handler", "panic", v, "request_id", requestID(ctx))
		writeProblem(ctx, problem.Internal())
	}

	hasHead := map[string]bool{}
	for _, p := range all {
		if p.cfg.Method == "HEAD" {
			hasHead[p.cfg.Path] = true
		}
	}
	a.routes = a.routes[:0]
	for _, p := range all {
		rt, err := compileRoute(p.cfg, p.h, a.cfg.Server)
		if err != nil {
			return nil, err
		}
		if err := a.extendRoute(rt); err != nil {
			return nil, err
		}
		a.routes = append(a.routes, rt)
		h := a.serveRoute(rt)
		mw, err := middleware.Chain(rt.cfg.Middleware, hostKeys...)
		if err != nil {
			return nil, fmt.Errorf("route %s %s: %w", p.cfg.Method, p.cfg.Path, err)
		}
		if mw != nil {
			h = mw(h)
		}
		if err := register(r, rt.cfg.Method, rt.pattern, h); err != nil {
			return nil, fmt.Errorf("route %s %s: %w", p.cfg.Method, p.cfg.Path, err)
		}
		if rt.cfg.Method == "GET" && !hasHead[p.cfg.Path] {
			if err := register(r, "HEAD", rt.pattern, h); err != nil {
				return nil, fmt.Errorf("route HEAD %s: %w", p.cfg.Path, err)
			}
		}
	}
	if docOpts, on, err := openapi.ParseOptions(a.cfg.OpenAPI); err != nil {
		return nil, err
	} else if on {
		doc := a.cfg
		doc.Routes = make([]config.Route, len(all))
		for i, p := range all {
			doc.Routes[i] = p.cfg
		}
		if err := openapi.Mount(r, doc, docOpts); err != nil {
			return nil, err
		}
	}
	a.built = r.Handler
	appMW, err := withDefaults(a.cfg.Middleware)
	if err != nil {
		return nil, err
	}
	mw, err := middleware.Chain(appMW, hostKeys...)
	if err != nil {
		return nil, err
	}
	if mw != nil {
		a.built = mw(a.built)
	}
	return a.built, nil
}

// withDefaults adds the middleware that is on unless configured off: every
// answer carries an X-Request-ID, and logs name the same ID.
func withDefaults(raw json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("middleware: %w", err)
		}
	}
	if _, ok := m["request_id"]; !ok {
		m["request_id"] = json.RawMessage(`{}`)
	}
	return json.Marshal(m)
}

// hostKeys are middleware configuration keys handled by the pipeline itself
// (hooks and dependencies call host handlers) rather than by a middleware package.
var hostKeys = []string{"lifecycle_hooks"}

// register turns fasthttp/router's panics on conflicting patterns into errors.
func register(r *frouter.Router, method, pattern string, h fasthttp.RequestHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	r.Handle(method, pattern, h)
	return nil
}

// maxBody is the largest body any route accepts: fasthttp enforces it while
// reading, routes enforce their own limit after routing.
func (a *App) maxBody() int64 {
	m := a.cfg.Server.MaxBodyBytes
	if m <= 0 {
		m = DefaultMaxBodyBytes
	}
	for _, r := range a.routes {
		if r.maxBody > m {
			m = r.maxBody
		}
	}
	return m
}

// Server returns a fasthttp server for the app (built on first call).
func (a *App) Server() (*fasthttp.Server, error) {
	h, err := a.Build()
	if err != nil {
		return nil, err
	}
	s := &fasthttp.Server{
		Handler:                       a.outer(h), // h2c upgrade, streamed bodies (h2.go)
		Name:                          "spikard",
		MaxRequestBodySize:            int(a.maxBody()),
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		ErrorHandler:                  errorHandler,
		ReadBufferSize:                16 << 10,
		// The body decoder parses multipart itself, in wire order; fasthttp's
		// pre-parsing would hand it a rebuilt body.
		DisablePreParseMultipartForm: true,
		// Routes with stream_request_body read bodies as they arrive (h2.go).
		StreamRequestBody: a.streamsBodies(),
		CloseOnShutdown:   true,
		Logger:            connLogger{a},
	}
	a.mu.Lock()
	a.servers = append(a.servers, s)
	a.mu.Unlock()
	return s, nil
}

// connLogger takes fasthttp's connection errors into the app's log, at
// debug level (a client that vanished is not the server's problem), and
// drops those already logged where they happened (a producer that failed
// mid-stream).
type connLogger struct{ a *App }

func (l connLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, stream.CutOffText) {
		return
	}
	l.a.log.Debug("fasthttp: " + msg)
}

// Serve answers requests on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error {
	s, err := a.Server()
	if err != nil {
		return err
	}
	return a.serve(s, ln) // behind the HTTP/2 and TLS sorter when configured (h2.go)
}

// ListenAndServe listens on the configured host:port (default 127.0.0.1:8000).
func (a *App) ListenAndServe() error {
	host, port := a.cfg.Server.Host, a.cfg.Server.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = 8000
	}
	ln, err := a.Listen(net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return err
	}
	return a.Serve(ln)
}

// Shutdown stops accepting connections and waits for in-flight requests to
// finish or ctx to end.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	servers := append([]*fasthttp.Server(nil), a.servers...)
	finishLive := a.beginShutdown(ctx) // streams, WebSockets, HTTP/2 (shutdown.go)
	a.mu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, finishLive())
	errs = append(errs, a.shutdownExt(ctx)) // background queue, singleton cleanups
	return errors.Join(errs...)
}

// errorHandler answers requests fasthttp could not parse.
func errorHandler(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeProblem(ctx, problem.New(413, "payload-too-large", "Payload Too Large", "Request body is too large"))
		return
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		writeProblem(ctx, problem.New(431, "request-header-fields-too-large", "Request Header Fields Too Large", "Request headers are too large"))
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// The connection ended before the body the headers announced.
		writeProblem(ctx, problem.New(400, "content-length-mismatch", "Content-Length header mismatch",
			"Content-Length header does not match actual body size"))
		return
	}
	writeProblem(ctx, problem.BadRequest("Malformed HTTP request"))
}

func writeProblem(ctx *fasthttp.RequestCtx, p *problem.Problem) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType(problem.ContentType)
	for _, h := range p.Headers {
		ctx.Response.Header.Set(h[0], h[1])
	}
	ctx.SetBody(p.Bytes())
}

func stack() string { return string(debug.Stack()) }

// SetOpenAPI sets the "openapi" member of the document (see
// openapi.ParseOptions): the generated document and the docs pages are
// served from the next Build.
func (a *App) SetOpenAPI(raw json.RawMessage) { a.cfg.OpenAPI = raw }

// OpenAPI returns the OpenAPI 3.1 document of the app's routes.
func (a *App) OpenAPI() ([]byte, error) {
	opts, _, err := openapi.ParseOptions(a.cfg.OpenAPI)
	if err != nil {
		return nil, err
	}
	return openapi.Generate(a.Config(), opts)
}

// SetMiddleware sets one app-wide middleware configuration (the member key
// of the document's "middleware" object), replacing an earlier one.
func (a *App) SetMiddleware(key string, raw json.RawMessage) error {
	m := map[string]json.RawMessage{}
	if len(a.cfg.Middleware) > 0 && string(a.cfg.Middleware) != "null" {
		if err := json.Unmarshal(a.cfg.Middleware, &m); err != nil {
			return fmt.Errorf("middleware: %w", err)
		}
	}
	m[key] = raw
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	a.cfg.Middleware = b
	return nil
}

// Listen opens a TCP listener with the app's socket options (reuse_port).
func (a *App) Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{}
	if a.cfg.Server.ReusePort {
		lc.Control = reusePort
	}
	return lc.Listen(context.Background(), "tcp", addr)
}
