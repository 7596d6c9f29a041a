package app

import (
	"strings"

	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/ws"
)

// HandleWebSocket binds a handler name used by a websocket route of the
// document ("websocket": {...} on a GET route) to a WebSocket handler.
func (a *App) HandleWebSocket(name string, h ws.Handler) { a.Handle(name, a.WebSocketHandler(h)) }

// WebSocketHandler turns a WebSocket handler into the route handler that
// upgrades the request (after the route's parameters, middleware and hooks
// ran on it) and then serves the connection with h. The route's
// "websocket" declaration gives the options (defaults otherwise). A
// request that is not a WebSocket handshake gets 426 Upgrade Required.
func (a *App) WebSocketHandler(h ws.Handler) Handler {
	return func(c *Ctx) error { return c.upgrade(h) }
}

func (c *Ctx) upgrade(h ws.Handler) error {
	fctx := c.fctx
	if !websocket.FastHTTPIsWebSocketUpgrade(fctx) {
		return problem.New(426, "upgrade-required", "Upgrade Required",
			"This route speaks WebSocket: open it with a WebSocket handshake").
			WithHeader("Upgrade", "websocket").WithHeader("Connection", "Upgrade")
	}
	app := c.app
	select {
	case <-app.shuttingDown():
		return problem.New(503, "service-unavailable", "Service Unavailable", "The server is shutting down").
			WithHeader("Connection", "close")
	default:
	}
	p := c.route.protoOrDefault()
	req := ws.Request{
		Method:    c.Method(),
		Path:      c.URLPath(),
		RawQuery:  string(fctx.URI().QueryString()),
		RequestID: c.RequestID(),
		Values:    c.Values(),
	}
	for k, v := range fctx.Request.Header.All() {
		req.Headers = append(req.Headers, [2]string{string(k), string(v)})
	}
	groups := map[string][]params.Value{
		"path":    append([]params.Value(nil), c.path...),
		"query":   append([]params.Value(nil), c.query...),
		"headers": append([]params.Value(nil), c.headers...),
		"cookies": append([]params.Value(nil), c.cookies...),
	}
	req.Params = func(source, name string) (any, bool) {
		source = strings.ToLower(source)
		switch source {
		case "header":
			source = "headers"
		case "cookie":
			source = "cookies"
		}
		v := lookup(groups[source], name)
		return v.v, v.ok
	}
	opts, log, hub := p.ws, app.log, &app.liveState().hub
	// A refused handshake is answered by the upgrader (a problem document).
	_ = p.wsUp.Upgrade(fctx, func(conn *websocket.Conn) {
		ws.Serve(conn, opts, h, req, hub, log)
	})
	return nil
}
