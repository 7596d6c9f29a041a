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
	"encoding/json"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
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

// Build checks the app (schemas compile, patterns do not clash) without serving.
func (a *App) Build() error { _, err := a.core.Build(); return err }

// Serve answers requests on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error { return a.core.Serve(ln) }

// Shutdown stops accepting, then waits for in-flight requests or ctx.
func (a *App) Shutdown(ctx context.Context) error { return a.core.Shutdown(ctx) }

// Run serves on the configured address until SIGINT or SIGTERM, then shuts
// down gracefully (10 s for in-flight requests).
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.Shutdown(ctx)
	}
}

// NewProblem makes a problem answer: return it from a handler.
func NewProblem(status int, slug, title, detail string) *Problem {
	return problem.New(status, slug, title, detail)
}
