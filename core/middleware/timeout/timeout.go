// Package timeout bounds how long a handler may take. When the deadline
// passes the client gets a 408 problem document at once; the handler keeps
// running in its goroutine, but its context is cancelled and whatever it
// writes afterwards is discarded.
//
// Configuration key "request_timeout" (order 60), app-wide or per route:
//
//	"middleware": {"request_timeout": {"seconds": 2}}
//
// Members: seconds (number > 0, fractions allowed), sleep_ms (accepted and
// ignored here: it is a directive for test handlers of the conformance
// corpus).
//
// Handlers observe the deadline through the context stored under the user
// value "spikard.context" (Context returns it): it is cancelled when the
// deadline passes (context.DeadlineExceeded) or when the request completes.
// A context already stored there by an outer middleware is its parent.
//
// Design: a fasthttp RequestCtx must not be touched once the handler that
// received it has returned, and the middleware chain outside this one
// (request_id, cors, the server) keeps using the request's ctx after the
// deadline. So the inner handler never gets the server's ctx: it runs on a
// private RequestCtx (pooled) that holds a copy of the request, the
// response headers set so far and the user values. When the handler finishes
// in time its response and user values are moved to the server's ctx; when
// it does not, the private ctx is abandoned to the handler's goroutine, which
// recycles it when the handler returns. No memory is shared between the late
// handler and the server (fasthttp's TimeoutError, by contrast, leaves the
// ctx shared with outer middleware). Caveats: user values are shallow
// copies (objects behind them are shared), ctx.Hijack and ctx.Conn I/O are
// not available inside a timed handler, and a handler that ignores its
// context keeps its goroutine until it returns.
package timeout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// ContextKey is the user value holding the request's context.Context.
const ContextKey = "spikard.context"

func init() { middleware.Register("request_timeout", 60, New) }

// Config is the "request_timeout" configuration value.
type Config struct {
	Seconds *float64 `json:"seconds"`
	// SleepMS is a test directive for the handler; the middleware ignores it.
	SleepMS *int64 `json:"sleep_ms"`
}

// New builds the middleware from its raw configuration value.
func New(raw json.RawMessage) (middleware.Middleware, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("request_timeout: %w", err)
	}
	if c.Seconds == nil {
		return nil, fmt.Errorf("request_timeout: seconds is required")
	}
	s := *c.Seconds
	if !(s > 0) || s > math.MaxInt64/float64(time.Second) {
		return nil, fmt.Errorf("request_timeout: seconds must be a positive number")
	}
	if c.SleepMS != nil && *c.SleepMS < 0 {
		return nil, fmt.Errorf("request_timeout: sleep_ms must not be negative")
	}
	return Timeout(time.Duration(s * float64(time.Second))), nil
}

// Context returns the request's context (see ContextKey), or
// context.Background() when no middleware stored one.
func Context(ctx *fasthttp.RequestCtx) context.Context {
	if c, ok := ctx.UserValue(ContextKey).(context.Context); ok {
		return c
	}
	return context.Background()
}

// Timeout returns a middleware answering 408 when the handler takes longer
// than d.
func Timeout(d time.Duration) middleware.Middleware {
	timedOut := problem.New(fasthttp.StatusRequestTimeout, "request-timeout", "Request Timeout",
		"The request did not complete within "+d.String()).Bytes()
	cancelled := problem.New(fasthttp.StatusServiceUnavailable, "service-unavailable", "Service Unavailable",
		"The request was cancelled").Bytes()
	answer := func(ctx *fasthttp.RequestCtx, err error) {
		status, body := fasthttp.StatusRequestTimeout, timedOut
		if err != context.DeadlineExceeded { // the parent context was cancelled
			status, body = fasthttp.StatusServiceUnavailable, cancelled
		}
		// Headers set before the handler ran (outer middleware) are kept.
		ctx.Response.ResetBody()
		ctx.SetStatusCode(status)
		ctx.SetContentType(problem.ContentType)
		ctx.SetBody(body)
	}
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			parent := context.Background()
			if p, ok := ctx.UserValue(ContextKey).(context.Context); ok {
				parent = p
			}
			cctx, cancel := context.WithTimeout(parent, d)
			c := acquire()
			c.prepare(ctx, cctx, cancel)
			go c.run(next)
			select {
			case <-c.done:
			case <-cctx.Done():
				if c.state.CompareAndSwap(running, abandoned) {
					// The goroutine owns c from here on.
					answer(ctx, cctx.Err())
					return
				}
				<-c.done
			}
			if c.late {
				// The handler returned after its context ended: its answer is
				// late even if this goroutine only notices now.
				answer(ctx, cctx.Err())
				cancel()
				c.release(false)
				return
			}
			c.transfer(ctx)
			cancel()
			c.release(true)
		}
	}
}

const (
	running int32 = iota
	finished
	abandoned
)

// call is one timed request: the handler's private RequestCtx and the
// hand-over between the server's goroutine and the handler's.
type call struct {
	sh     fasthttp.RequestCtx
	conn   addrConn
	state  atomic.Int32
	done   chan struct{}
	cancel context.CancelFunc
	ctx    context.Context
	copied []any // user-value keys copied from the server's ctx
	keys   []any
	dst    *fasthttp.RequestCtx
	reuse  bool
	late   bool // the handler returned after its context ended

	copyIn, copyOut, collect func(k, v any)
}

var calls sync.Pool

func acquire() *call {
	if v := calls.Get(); v != nil {
		return v.(*call)
	}
	c := &call{done: make(chan struct{}, 1)}
	c.copyIn = func(k, v any) {
		c.sh.SetUserValue(k, v)
		c.copied = append(c.copied, k)
	}
	c.copyOut = func(k, v any) {
		if k != ContextKey {
			c.dst.SetUserValue(k, v)
		}
	}
	c.collect = func(k, _ any) { c.keys = append(c.keys, k) }
	return c
}

func (c *call) prepare(ctx *fasthttp.RequestCtx, cctx context.Context, cancel context.CancelFunc) {
	c.state.Store(running)
	c.reuse, c.late = true, false
	c.ctx, c.cancel = cctx, cancel
	c.conn.local, c.conn.remote = ctx.LocalAddr(), ctx.RemoteAddr()
	c.sh.Init2(&c.conn, stdLogger{}, false)
	ctx.Request.Body() // a streamed request body is read here: CopyTo skips streams
	ctx.Request.CopyTo(&c.sh.Request)
	ctx.Response.CopyTo(&c.sh.Response)
	c.copied = c.copied[:0]
	ctx.VisitUserValuesAll(c.copyIn)
	c.sh.SetUserValue(ContextKey, cctx)
}

func (c *call) run(next fasthttp.RequestHandler) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("panic in a handler under request_timeout", "panic", v)
			p := problem.Internal()
			c.sh.Response.Reset()
			c.sh.SetStatusCode(p.Status)
			c.sh.SetContentType(problem.ContentType)
			c.sh.SetBody(p.Bytes())
		}
		c.late = c.ctx.Err() != nil
		if c.state.CompareAndSwap(running, finished) {
			c.done <- struct{}{}
			return
		}
		// Abandoned: nobody else refers to c any more.
		c.cancel()
		c.release(false)
	}()
	next(&c.sh)
}

// transfer moves the handler's response and user values to the server's ctx.
func (c *call) transfer(ctx *fasthttp.RequestCtx) {
	sh := &c.sh
	if sh.Response.IsBodyStream() {
		// The stream now belongs to ctx; the private ctx is not reused, so
		// nothing closes the stream early.
		sh.Response.Header.CopyTo(&ctx.Response.Header)
		ctx.Response.SetBodyStream(sh.Response.BodyStream(), sh.Response.Header.ContentLength())
		ctx.Response.SkipBody = sh.Response.SkipBody
		c.reuse = false
	} else {
		sh.Response.CopyTo(&ctx.Response)
	}
	// Values the handler stored (io.Closers included) now live in ctx,
	// which closes them when the request ends.
	c.dst = ctx
	sh.VisitUserValuesAll(c.copyOut)
	c.dst = nil
}

// release empties the private ctx and returns it to the pool. After a
// transfer every user value belongs to the server's ctx: all are removed
// without being closed. Otherwise only the copied ones are removed, and
// Reset closes what the handler stored itself.
func (c *call) release(transferred bool) {
	sh := &c.sh
	c.keys = c.keys[:0]
	if transferred {
		sh.VisitUserValuesAll(c.collect)
	} else {
		c.keys = append(c.keys, c.copied...)
		c.keys = append(c.keys, ContextKey)
	}
	for i, k := range c.keys {
		sh.RemoveUserValue(k)
		c.keys[i] = nil
	}
	clear(c.copied)
	c.copied = c.copied[:0]
	c.ctx, c.cancel = nil, nil
	if !c.reuse {
		return
	}
	sh.Request.Reset()
	sh.Response.Reset()
	c.conn.local, c.conn.remote = nil, nil
	calls.Put(c)
}

// addrConn gives the private ctx the real connection's addresses; it has no
// I/O (calls other than LocalAddr and RemoteAddr panic, and the handler's
// panic becomes a 500).
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (a *addrConn) LocalAddr() net.Addr  { return a.local }
func (a *addrConn) RemoteAddr() net.Addr { return a.remote }

type stdLogger struct{}

func (stdLogger) Printf(format string, args ...any) { log.Printf(format, args...) }
