package app

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/spikard/spikard-go/core/h2"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// HTTP/2, TLS and streamed request bodies at the connection level. With
// neither HTTP/2 nor TLS configured the app serves with fasthttp alone and
// none of this runs; see core/h2 for the design.

// outer wraps the built handler for the fasthttp server: the h2c upgrade
// and the reading of request bodies on servers that stream them.
func (a *App) outer(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	l := a.liveState()
	a.buildStreamRoutes()
	var engine *h2.Engine
	if a.cfg.Server.HTTP2Enabled() {
		engine = a.h2Engine(h)
	}
	if engine == nil && l.streamRoutes == nil {
		return h
	}
	limit := a.maxBody()
	return func(ctx *fasthttp.RequestCtx) {
		if engine != nil && engine.Upgrade(ctx) {
			return
		}
		if ctx.Request.IsBodyStream() {
			if rt := l.streamRoute(ctx); rt != nil {
				if cl := ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > rt.maxBody {
					writeProblem(ctx, problem.PayloadTooLarge(rt.maxBody))
					ctx.SetConnectionClose()
					return
				}
			} else if !readBody(ctx, limit) {
				writeProblem(ctx, problem.New(413, "payload-too-large", "Payload Too Large", "Request body is too large"))
				ctx.SetConnectionClose()
				return
			}
		}
		h(ctx)
	}
}

// streamsBodies reports whether some route streams its request body (the
// server then streams every body and outer reads the others first).
func (a *App) streamsBodies() bool {
	for _, r := range a.routes {
		if r.streamsBody() {
			return true
		}
	}
	return false
}

// readBody reads a streamed request body into the request, up to limit.
func readBody(ctx *fasthttp.RequestCtx, limit int64) bool {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(ctx.RequestBodyStream(), limit+1))
	if err != nil || n > limit {
		return false
	}
	ctx.Request.SetBody(buf.Bytes())
	return true
}

// h2Engine returns the app's HTTP/2 engine, made on first use.
func (a *App) h2Engine(h fasthttp.RequestHandler) *h2.Engine {
	l := a.liveState()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine == nil {
		l.engine = h2.NewEngine(h2.Options{
			Handler:      h,
			MaxBodyBytes: a.maxBody(),
			StreamsBody: func(method, path []byte) bool {
				if l.streamRoutes == nil {
					return false
				}
				var probe fasthttp.RequestCtx
				probe.Request.Header.SetMethodBytes(method)
				probe.Request.SetRequestURIBytes(path)
				return l.streamRoute(&probe) != nil
			},
			TooLarge: func(ctx *fasthttp.RequestCtx) {
				writeProblem(ctx, problem.New(413, "payload-too-large", "Payload Too Large", "Request body is too large"))
			},
			Logger:     a.log,
			ServerName: "spikard",
		})
	}
	return l.engine
}

// tlsConfig loads the configured certificate once.
func (a *App) tlsConfig() (*tls.Config, error) {
	t := a.cfg.Server.TLS
	if t == nil {
		return nil, nil
	}
	l := a.liveState()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tls != nil {
		return l.tls, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch t.MinVersion {
	case "", "1.2":
	case "1.3":
		c.MinVersion = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("server.tls.min_version: %q (want \"1.2\" or \"1.3\")", t.MinVersion)
	}
	l.tls = c
	return c, nil
}

// SetTLSConfig serves TLS with this configuration (certificates, client
// authentication...) instead of server.tls's files. Call before Serve.
func (a *App) SetTLSConfig(c *tls.Config) {
	l := a.liveState()
	l.mu.Lock()
	l.tls = c
	l.mu.Unlock()
}

// serve runs s on ln: directly, or behind the connection sorter when HTTP/2
// or TLS is on.
func (a *App) serve(s *fasthttp.Server, ln net.Listener) error {
	tc, err := a.tlsConfig()
	if err != nil {
		return err
	}
	l := a.liveState()
	l.mu.Lock()
	engine, custom := l.engine, l.tls
	l.mu.Unlock()
	if tc == nil {
		tc = custom
	}
	if engine == nil && tc == nil {
		return s.Serve(ln)
	}
	sl := h2.Listen(ln, engine, tc)
	l.mu.Lock()
	l.listeners = append(l.listeners, sl)
	l.mu.Unlock()
	return s.Serve(sl)
}
