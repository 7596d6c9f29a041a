package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
)

// ContextKey is the RequestCtx user value holding an HTTP/2 request's
// context (the key the request_timeout middleware uses too, which replaces
// it inside timed handlers by a context of its own).
const ContextKey = "spikard.context"

// ClientContextKey holds the same context under a key nothing replaces:
// response streams stop when it is done (the client reset the stream or
// the connection dropped).
const ClientContextKey = "spikard.client_context"

// Options configure an Engine.
type Options struct {
	// Handler is the app's fasthttp handler.
	Handler fasthttp.RequestHandler
	// MaxBodyBytes caps request bodies read for the handler.
	MaxBodyBytes int64
	// StreamsBody reports whether the route of a request reads its body as
	// a stream (then the body is not read first). May be nil.
	StreamsBody func(method, path []byte) bool
	// TooLarge writes the answer to a request whose body is over the limit.
	TooLarge func(ctx *fasthttp.RequestCtx)
	// Logger receives connection-level errors (default slog.Default()).
	Logger *slog.Logger
	// MaxConcurrentStreams per connection (default 250).
	MaxConcurrentStreams uint32
	// ServerName, when set, is the Server header of answers without one
	// (as the HTTP/1.1 server sends it).
	ServerName string
}

// Engine serves HTTP/2 connections with the app's fasthttp handler.
type Engine struct {
	opts Options
	h2   *http2.Server
	hs   *http.Server
	base context.Context
	stop context.CancelFunc
	pool sync.Pool

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	idle    chan struct{}
}

// NewEngine makes an engine.
func NewEngine(o Options) *Engine {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = 250
	}
	e := &Engine{opts: o, conns: map[net.Conn]struct{}{}}
	e.h2 = &http2.Server{MaxConcurrentStreams: o.MaxConcurrentStreams, IdleTimeout: 5 * time.Minute,
		MaxReadFrameSize: maxFrameSize}
	e.hs = &http.Server{Handler: e, ErrorLog: log.New(io.Discard, "", 0)}
	// ConfigureServer wires the x/net server to hs: hs.Shutdown then sends
	// GOAWAY on every connection served with BaseConfig hs.
	if err := http2.ConfigureServer(e.hs, e.h2); err != nil {
		panic(err) // only fails for cipher-suite configurations we never set
	}
	e.base, e.stop = context.WithCancel(context.Background())
	e.pool.New = func() any { return new(fasthttp.RequestCtx) }
	return e
}

// ServeConn serves one HTTP/2 connection until it ends. up, when not nil,
// is an upgraded HTTP/1.1 request (stream 1).
func (e *Engine) ServeConn(c net.Conn, up *http.Request, settings []byte) {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		_ = c.Close()
		return
	}
	e.conns[c] = struct{}{}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.conns, c)
		if e.closing && len(e.conns) == 0 && e.idle != nil {
			close(e.idle)
			e.idle = nil
		}
		e.mu.Unlock()
		_ = c.Close()
	}()
	e.h2.ServeConn(filter(c, up != nil), &http2.ServeConnOpts{Context: e.base, BaseConfig: e.hs, Handler: e,
		UpgradeRequest: up, Settings: settings})
}

// Conns is the number of open HTTP/2 connections.
func (e *Engine) Conns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

// Shutdown sends GOAWAY to every connection, waits until their streams are
// done and they closed, or ctx ends (then it closes them).
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	var wait chan struct{}
	if len(e.conns) > 0 {
		wait = make(chan struct{})
		e.idle = wait
	}
	e.mu.Unlock()
	// Runs the GOAWAY hooks; hs itself serves no connection, so it returns
	// at once.
	_ = e.hs.Shutdown(ctx)
	if wait == nil {
		e.stop()
		return nil
	}
	select {
	case <-wait:
		e.stop()
		return nil
	case <-ctx.Done():
		e.stop()
		e.mu.Lock()
		n := len(e.conns)
		for c := range e.conns {
			_ = c.Close()
		}
		e.mu.Unlock()
		return fmt.Errorf("http2: %d connections did not finish in time", n)
	}
}

// Upgrade switches an HTTP/1.1 request carrying "Upgrade: h2c" to HTTP/2
// (RFC 7540 section 3.2) and reports whether it did; it is called at the
// top of the fasthttp handler. TLS connections never upgrade (ALPN does).
func (e *Engine) Upgrade(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	if ctx.IsTLS() || !hasToken(h.Peek("Upgrade"), "h2c") || !hasToken(h.Peek("Connection"), "upgrade") ||
		!hasToken(h.Peek("Connection"), "http2-settings") {
		return false
	}
	raw := h.Peek("HTTP2-Settings")
	settings, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(raw), "="))
	if err != nil || len(settings)%6 != 0 {
		return false
	}
	u := &url.URL{Scheme: "http", Host: string(ctx.Host())}
	ru, err := url.ParseRequestURI(string(h.RequestURI()))
	if err != nil {
		return false
	}
	u.Path, u.RawPath, u.RawQuery = ru.Path, ru.RawPath, ru.RawQuery
	body := append([]byte(nil), ctx.Request.Body()...)
	req := &http.Request{Method: string(h.Method()), URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: string(ctx.Host()), RequestURI: string(h.RequestURI()),
		RemoteAddr: ctx.RemoteAddr().String(), ContentLength: int64(len(body)),
		Body: io.NopCloser(bytes.NewReader(body))}
	for k, v := range h.All() {
		switch strings.ToLower(string(k)) {
		case "connection", "upgrade", "http2-settings", "host", "content-length", "transfer-encoding", "keep-alive":
			continue
		}
		req.Header.Add(string(k), string(v))
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"); err != nil {
			return
		}
		// fasthttp recycles the hijacked conn when this function returns,
		// but x/net/http2 may still be writing a last frame (GOAWAY) from
		// its own goroutine: fence those writes off first.
		fc := &fencedConn{Conn: c}
		e.ServeConn(fc, req, settings)
		fc.fence()
	})
	return true
}

func hasToken(v []byte, token string) bool {
	for _, part := range strings.Split(string(v), ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// hopHeaders are connection-specific: HTTP/2 forbids them (RFC 9113 8.2.2).
var hopHeaders = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "content-length": true}

// ServeHTTP runs the app's fasthttp handler for an HTTP/2 request.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fctx := e.pool.Get().(*fasthttp.RequestCtx)
	reuse := true
	defer func() {
		if reuse {
			fctx.Request.Reset()
			fctx.Response.Reset()
			fctx.ResetUserValues()
			e.pool.Put(fctx)
		}
	}()
	var conn net.Conn = &plainConn{local: localAddr(r), remote: remoteAddr(r.RemoteAddr)}
	if r.TLS != nil {
		conn = &tlsConn{plainConn{local: localAddr(r), remote: remoteAddr(r.RemoteAddr)}, *r.TLS}
	}
	fctx.Init2(conn, fastLogger{e.opts.Logger}, false)
	req := &fctx.Request
	req.Header.SetMethod(r.Method)
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	req.SetRequestURI(uri)
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		if k == "Cookie" && len(vs) > 1 {
			// HTTP/2 may split cookies over several fields (RFC 9113 8.2.3).
			req.Header.Set(k, strings.Join(vs, "; "))
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	fctx.SetUserValue(ContextKey, r.Context())
	fctx.SetUserValue(ClientContextKey, r.Context())
	if r.Body != nil && r.Body != http.NoBody {
		if e.opts.StreamsBody != nil && e.opts.StreamsBody(req.Header.Method(), req.URI().Path()) {
			req.SetBodyStream(r.Body, int(r.ContentLength))
		} else {
			limit := e.opts.MaxBodyBytes
			if limit <= 0 {
				limit = 10 << 20
			}
			if r.ContentLength > limit {
				e.tooLarge(w, fctx)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				// The client reset the stream while sending: nobody waits
				// for an answer.
				return
			}
			if int64(len(body)) > limit {
				e.tooLarge(w, fctx)
				return
			}
			req.SetBodyRaw(body)
			req.Header.SetContentLength(len(body))
		}
	} else if r.ContentLength == 0 && (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") {
		req.Header.SetContentLength(0)
	}

	e.opts.Handler(fctx)

	if fctx.Hijacked() {
		// Hijack has no meaning on an HTTP/2 stream (a WebSocket upgrade
		// cannot get here: the upgrade headers are connection-specific).
		reuse = false
		http.Error(w, "not supported over HTTP/2", http.StatusHTTPVersionNotSupported)
		return
	}
	e.writeResponse(w, r, fctx)
}

func (e *Engine) tooLarge(w http.ResponseWriter, fctx *fasthttp.RequestCtx) {
	if e.opts.TooLarge != nil {
		e.opts.TooLarge(fctx)
	} else {
		fctx.Error("Request Entity Too Large", fasthttp.StatusRequestEntityTooLarge)
	}
	e.writeResponse(w, &http.Request{Method: "POST"}, fctx)
}

// writeResponse copies the fasthttp response to the HTTP/2 stream.
func (e *Engine) writeResponse(w http.ResponseWriter, r *http.Request, fctx *fasthttp.RequestCtx) {
	resp := &fctx.Response
	hdr := w.Header()
	for k, v := range resp.Header.All() {
		name := string(k)
		if hopHeaders[strings.ToLower(name)] {
			continue
		}
		hdr.Add(name, string(v))
	}
	if e.opts.ServerName != "" && hdr.Get("Server") == "" {
		hdr.Set("Server", e.opts.ServerName)
	}
	status := resp.StatusCode()
	if status == 0 {
		status = http.StatusOK
	}
	if resp.IsBodyStream() {
		body := resp.BodyStream()
		if cl := resp.Header.ContentLength(); cl >= 0 {
			hdr.Set("Content-Length", strconv.Itoa(cl)) // a file: its size is known
		}
		w.WriteHeader(status)
		if r.Method == http.MethodHead {
			_ = resp.CloseBodyStream()
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		fw := &flushWriter{w: w, rc: rc}
		var err error
		if bwt, ok := body.(fasthttp.BodyWriterTo); ok && bwt.SupportsBodyWriteTo() {
			_, err = bwt.WriteTo(fw)
		} else {
			err = copyFlushing(fw, body)
		}
		if cwe, ok := body.(interface{ CloseWithError(error) error }); ok && err != nil {
			_ = cwe.CloseWithError(err)
		} else {
			_ = resp.CloseBodyStream()
		}
		if err != nil && fw.err == nil {
			// The producer failed: reset the stream so the client sees an
			// incomplete body, not a complete-looking one.
			panic(http.ErrAbortHandler)
		}
		return
	}
	body := resp.Body()
	noBody := status < 200 || status == http.StatusNoContent || status == http.StatusNotModified
	if !noBody {
		n := len(body)
		if r.Method == http.MethodHead && n == 0 && resp.Header.ContentLength() > 0 {
			n = resp.Header.ContentLength()
		}
		hdr.Set("Content-Length", strconv.Itoa(n))
	}
	w.WriteHeader(status)
	if !noBody && r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// flushWriter sends every write as it comes (one DATA frame or more).
type flushWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	err error
}

func (f *flushWriter) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	if err != nil {
		f.err = err
	}
	return n, err
}

func copyFlushing(w io.Writer, r io.Reader) error {
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// plainConn stands for the connection in the RequestCtx (addresses only:
// the pipeline never reads or writes it).
type plainConn struct {
	local, remote net.Addr
}

var errNoIO = errors.New("h2: the connection of an HTTP/2 request cannot be read or written directly")

func (c *plainConn) Read([]byte) (int, error)         { return 0, errNoIO }
func (c *plainConn) Write([]byte) (int, error)        { return 0, errNoIO }
func (c *plainConn) Close() error                     { return nil }
func (c *plainConn) LocalAddr() net.Addr              { return c.local }
func (c *plainConn) RemoteAddr() net.Addr             { return c.remote }
func (c *plainConn) SetDeadline(time.Time) error      { return nil }
func (c *plainConn) SetReadDeadline(time.Time) error  { return nil }
func (c *plainConn) SetWriteDeadline(time.Time) error { return nil }

// tlsConn also satisfies fasthttp's TLS check (RequestCtx.IsTLS).
type tlsConn struct {
	plainConn
	state tls.ConnectionState
}

func (c *tlsConn) Handshake() error                     { return nil }
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.state }

func remoteAddr(s string) net.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return &net.TCPAddr{}
}

func localAddr(r *http.Request) net.Addr {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a
	}
	return &net.TCPAddr{}
}

type fastLogger struct{ l *slog.Logger }

func (f fastLogger) Printf(format string, args ...any) { f.l.Debug(fmt.Sprintf(format, args...)) }

// fencedConn lets writes through until fence; fence waits for a write in
// progress and refuses the rest.
type fencedConn struct {
	net.Conn
	mu     sync.RWMutex
	fenced bool
}

func (c *fencedConn) Write(b []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fenced {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *fencedConn) Read(b []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fenced {
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *fencedConn) Close() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fenced {
		return net.ErrClosed
	}
	return c.Conn.Close()
}

func (c *fencedConn) fence() {
	// A blocked Read would hold the lock: unblock it first.
	_ = c.Conn.SetDeadline(time.Now())
	c.mu.Lock()
	c.fenced = true
	c.mu.Unlock()
}
