package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	frouter "github.com/fasthttp/router"
	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/h2"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/validate"
	"github.com/spikard/spikard-go/core/ws"
	"github.com/valyala/fasthttp"
)

// This file holds what streaming responses (stream.go, sse.go), WebSockets
// (ws.go), HTTP/2 and TLS (h2.go) and the graceful shutdown (shutdown.go)
// keep per route and per app.

// routeProto is a route's compiled streaming, SSE and WebSocket settings.
type routeProto struct {
	ws   *ws.Options
	wsUp *websocket.FastHTTPUpgrader
	// SSE: the event schema (nil: none), keep-alive and retry.
	sseSchema    *validate.Schema
	sseKeepAlive time.Duration
	sseRetry     time.Duration
	// streamBody: the handler reads the request body as a stream.
	streamBody bool
}

// defaultProto serves routes that declare nothing (a WebSocket handler
// bound to a plain GET route, Ctx.SSE on any route).
var defaultProto = func() *routeProto {
	o, _ := ws.Compile(nil)
	return &routeProto{ws: o, wsUp: o.Upgrader(wsHandshakeError), sseKeepAlive: 15 * time.Second}
}()

// compileProto reads the route's websocket, sse and stream_request_body
// declarations.
func (r *route) compileProto() error {
	rc := r.cfg
	if rc.WebSocket == nil && rc.SSE == nil && !rc.StreamRequestBody {
		return nil
	}
	p := &routeProto{ws: defaultProto.ws, wsUp: defaultProto.wsUp, sseKeepAlive: defaultProto.sseKeepAlive,
		streamBody: rc.StreamRequestBody}
	if rc.WebSocket != nil {
		o, err := ws.Compile(rc.WebSocket)
		if err != nil {
			return fmt.Errorf("route %s %s: %w", rc.Method, rc.Path, err)
		}
		p.ws, p.wsUp = o, o.Upgrader(wsHandshakeError)
	}
	if s := rc.SSE; s != nil {
		if len(s.EventSchema) > 0 && string(s.EventSchema) != "null" {
			sch, err := validate.Compile(s.EventSchema)
			if err != nil {
				return fmt.Errorf("route %s %s: sse.event_schema: %w", rc.Method, rc.Path, err)
			}
			p.sseSchema = sch
		}
		switch {
		case s.KeepAliveMS < 0:
			p.sseKeepAlive = 0
		case s.KeepAliveMS > 0:
			p.sseKeepAlive = time.Duration(s.KeepAliveMS) * time.Millisecond
		}
		if s.RetryMS > 0 {
			p.sseRetry = time.Duration(s.RetryMS) * time.Millisecond
		}
	}
	r.proto = p
	return nil
}

func (r *route) protoOrDefault() *routeProto {
	if r.proto != nil {
		return r.proto
	}
	return defaultProto
}

// streamsBody reports whether the route reads its request body as a stream.
func (r *route) streamsBody() bool { return r.proto != nil && r.proto.streamBody }

func wsHandshakeError(ctx *fasthttp.RequestCtx, status int, reason error) {
	slug, title := "bad-request", "Bad Request"
	switch status {
	case fasthttp.StatusForbidden:
		slug, title = "forbidden", "Forbidden"
	case fasthttp.StatusMethodNotAllowed:
		slug, title = "method-not-allowed", "Method Not Allowed"
	case fasthttp.StatusInternalServerError:
		slug, title = "internal-server-error", "Internal Server Error"
	}
	p := problem.New(status, slug, title, reason.Error())
	if status == fasthttp.StatusBadRequest {
		p.WithHeader("Sec-WebSocket-Version", "13")
	}
	writeProblem(ctx, p)
}

// liveState is the app's streaming, WebSocket and HTTP/2 state.
type liveState struct {
	mu        sync.Mutex
	streams   map[liveStream]bool // value: an event stream (ended at shutdown start)
	shutdown  chan struct{}       // closed when a shutdown starts
	stopping  bool
	engine    *h2.Engine
	listeners []*h2.Listener
	tls       *tls.Config
	// streamRoutes finds the streaming-body route of a request (nil: none).
	streamRoutes *frouter.Router
	hub          ws.Hub
}

// liveStream is a response stream in progress.
type liveStream interface {
	Drain()
	Abort()
}

func newLiveState() *liveState {
	return &liveState{streams: map[liveStream]bool{}, shutdown: make(chan struct{})}
}

func (a *App) liveState() *liveState { return a.live }

// track records a live stream; it returns false when the app is shutting
// down (an event stream then ends at once).
func (l *liveState) track(s liveStream, isSSE bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streams[s] = isSSE
	return !l.stopping
}

func (l *liveState) untrack(s liveStream) {
	l.mu.Lock()
	delete(l.streams, s)
	l.mu.Unlock()
}

// shuttingDown is closed when the app starts shutting down.
func (a *App) shuttingDown() <-chan struct{} { return a.liveState().shutdown }

// streamRouteLookup builds the finder of streaming-body routes.
func (a *App) buildStreamRoutes() {
	var r *frouter.Router
	for _, rt := range a.routes {
		if !rt.streamsBody() {
			continue
		}
		if r == nil {
			r = frouter.New()
			r.RedirectTrailingSlash, r.RedirectFixedPath = false, false
		}
		route := rt
		_ = register(r, rt.cfg.Method, rt.pattern, func(ctx *fasthttp.RequestCtx) {
			ctx.SetUserValue(streamRouteKey, route)
		})
	}
	a.liveState().streamRoutes = r
}

const streamRouteKey = "spikard.stream_route"

// streamRoute returns the streaming-body route a request goes to, or nil.
func (l *liveState) streamRoute(ctx *fasthttp.RequestCtx) *route {
	if l.streamRoutes == nil {
		return nil
	}
	h, _ := l.streamRoutes.Lookup(string(ctx.Method()), string(ctx.Path()), ctx)
	if h == nil {
		return nil
	}
	h(ctx)
	rt, _ := ctx.UserValue(streamRouteKey).(*route)
	ctx.RemoveUserValue(streamRouteKey)
	return rt
}

// watchable reports whether a connection can be watched for the client
// leaving while a response streams (fasthttp's own connections).
func watchable(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *tls.Conn, *h2.Conn, *net.UnixConn:
		return true
	}
	return false
}

// clientContext is the parent context of a response stream: an HTTP/2
// request's context, else none.
func clientContext(fctx *fasthttp.RequestCtx) context.Context {
	if c, ok := fctx.UserValue(h2.ClientContextKey).(context.Context); ok {
		return c
	}
	return context.Background()
}
