package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"

	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
)

// Streaming responses and request bodies.
//
// A streamed answer is sent with chunked transfer coding (HTTP/1.1) or as
// DATA frames (HTTP/2) while the function producing it runs, after the
// handler returned: the Ctx is gone by then, so the function gets only its
// writer and a context. The function stops when a write fails or the
// context is done: the client went away (a failed write, or the
// connection closing while the function waits for data) or the server cut
// the stream at the end of a shutdown. On HTTP/1.1 a streamed answer
// closes its connection when it ends (the connection is watched for the
// client leaving meanwhile, so it cannot carry a next request).

// Stream answers with a body fn writes while it is sent: call w.Flush to
// send what was written so far as one chunk; what is buffered when fn
// returns is sent then. A non-nil error from fn cuts the body off (the
// client sees an incomplete response). Response headers may be set before
// calling Stream; the response schema is not checked.
func (c *Ctx) Stream(status int, contentType string, fn func(w *bufio.Writer) error) error {
	return c.StreamContext(status, contentType, func(_ context.Context, w *bufio.Writer) error { return fn(w) })
}

// StreamContext is Stream with the stream's context: it is cancelled when
// the client goes away or a shutdown's deadline passes.
func (c *Ctx) StreamContext(status int, contentType string, fn func(ctx context.Context, w *bufio.Writer) error) error {
	c.startBody(status, contentType, stream.Func(fn), false)
	return nil
}

// SendStream answers with the bytes of r, sent as they are read (one chunk
// per read). r is closed at the end when it is an io.Closer.
func (c *Ctx) SendStream(status int, contentType string, r io.Reader) error {
	c.startBody(status, contentType, func(ctx context.Context, w *bufio.Writer) error {
		if cl, ok := r.(io.Closer); ok {
			defer cl.Close()
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return werr
				}
				if werr := w.Flush(); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
		}
	}, false)
	return nil
}

// OpenPipe opens a body fed by Write calls from any goroutine and registers
// it under an id (stream.Open), set up for this request: it stops when the
// client goes away, and an event stream (eventStream) gets the route's
// keep-alive interval and event schema. Answer with it with SendPipe. It
// only reads the route's settings and the request's client context, so
// the C ABI may call it from the host's thread while the handler goroutine
// waits for the host (spikard_stream_begin).
func (c *Ctx) OpenPipe(eventStream bool) (uint64, *stream.Pipe) {
	o := stream.PipeOptions{SSE: eventStream, Context: clientContext(c.fctx)}
	if eventStream {
		p := c.route.protoOrDefault()
		o.KeepAlive = p.sseKeepAlive
		if o.KeepAlive == 0 {
			o.KeepAlive = -1 // keep_alive_ms < 0: never
		}
		if c.app.validateResponses {
			o.Schema = p.sseSchema
		}
		id, pipe := stream.Open(o)
		if p.sseRetry > 0 {
			_ = pipe.WriteEvent(sse.Event{Retry: p.sseRetry}) // as Ctx.SSE does
		}
		return id, pipe
	}
	return stream.Open(o)
}

// EventStreamRoute reports whether the route declares an event stream
// ("sse": {...}).
func (c *Ctx) EventStreamRoute() bool { return c.route != nil && c.route.cfg.SSE != nil }

// SendPipe answers with the chunks written to p from anywhere (the C ABI's
// streams, see core/stream). An event-stream pipe (PipeOptions.SSE) gets
// the event-stream headers and ends when a shutdown starts.
func (c *Ctx) SendPipe(status int, contentType string, p *stream.Pipe) error {
	fctx := c.fctx
	fctx.SetStatusCode(status)
	if contentType == "" && p.IsSSE() {
		contentType = sse.ContentType
	}
	if contentType != "" {
		fctx.SetContentType(contentType)
	}
	if p.IsSSE() {
		setEventStreamHeaders(c)
	}
	l := c.app.liveState()
	t := &trackedPipe{Pipe: p, live: l}
	if !l.track(t, p.IsSSE()) && p.IsSSE() {
		p.Drain()
	}
	if conn := fctx.Conn(); watchable(conn) && !fctx.Request.IsBodyStream() {
		fctx.SetConnectionClose()
		t.conn = conn
	}
	fctx.Response.SetBodyStream(t, -1)
	return nil
}

func setEventStreamHeaders(c *Ctx) {
	c.fctx.Response.Header.Set("Cache-Control", "no-cache")
	c.fctx.Response.Header.Set("X-Accel-Buffering", "no")
}

// startBody makes the response a stream produced by fn.
func (c *Ctx) startBody(status int, contentType string, fn stream.Func, isSSE bool) *trackedBody {
	fctx := c.fctx
	l := c.app.liveState()
	b := stream.NewBody(clientContext(fctx), fn)
	t := &trackedBody{Body: b, live: l}
	log, rid, path := c.app.log, c.RequestID(), c.URLPath()
	b.OnError = func(err error) {
		log.Error("response stream failed", "request_id", rid, "path", path, "error", err)
	}
	if conn := fctx.Conn(); watchable(conn) && !fctx.Request.IsBodyStream() {
		// The connection is read to notice the client leaving while the
		// stream waits for data; nothing else may read it afterwards.
		fctx.SetConnectionClose()
		t.conn = conn
		b.OnAbort = func() { _ = conn.Close() }
	}
	if !l.track(t, isSSE) && isSSE {
		b.Drain()
	}
	fctx.SetStatusCode(status)
	if contentType != "" {
		fctx.SetContentType(contentType)
	}
	fctx.Response.SetBodyStream(t, -1)
	return t
}

// trackedBody is a stream.Body the app knows about (for shutdowns), whose
// connection is watched while it runs.
type trackedBody struct {
	*stream.Body
	live *liveState
	conn net.Conn
}

func (t *trackedBody) WriteTo(w io.Writer) (int64, error) {
	if t.conn != nil {
		go watch(t.conn, t.Body.ClientGone, t.Body.Finished())
	}
	return t.Body.WriteTo(w)
}

func (t *trackedBody) Read(p []byte) (int, error) { return t.Body.Read(p) }

func (t *trackedBody) Close() error {
	t.live.untrack(t)
	return t.Body.Close()
}

func (t *trackedBody) CloseWithError(err error) error {
	t.live.untrack(t)
	return t.Body.CloseWithError(err)
}

// trackedPipe is the same for a stream.Pipe.
type trackedPipe struct {
	*stream.Pipe
	live *liveState
	conn net.Conn
}

func (t *trackedPipe) WriteTo(w io.Writer) (int64, error) {
	if t.conn != nil {
		done := make(chan struct{})
		defer close(done)
		go watch(t.conn, t.Pipe.ClientGone, done)
	}
	return t.Pipe.WriteTo(w)
}

func (t *trackedPipe) Close() error {
	t.live.untrack(t)
	return t.Pipe.Close()
}

func (t *trackedPipe) CloseWithError(err error) error {
	t.live.untrack(t)
	return t.Pipe.CloseWithError(err)
}

// watch reads the connection of a streamed answer: the client sends
// nothing more on it (the answer closes it), so a read that ends means the
// client left. Bytes that do arrive (a pipelined request, which the closing
// connection will not answer) are dropped.
func watch(conn net.Conn, gone func(), done <-chan struct{}) {
	var b [64]byte
	for {
		_, err := conn.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return // a deadline someone else set: stop watching
		}
		select {
		case <-done:
		default:
			gone()
		}
		return
	}
}

// BodyStream returns the request body as a stream, on a route with
// stream_request_body: the body is read while it arrives, and reading past
// the route's body limit fails with a 413 problem (return the error from
// the handler to answer it). On other routes it reads the body already
// received.
func (c *Ctx) BodyStream() io.Reader {
	if c.fctx.Request.IsBodyStream() {
		return &problemLimit{r: stream.LimitReader(c.fctx.RequestBodyStream(), c.route.maxBody), max: c.route.maxBody}
	}
	return bytes.NewReader(c.fctx.Request.Body())
}

type problemLimit struct {
	r   io.Reader
	max int64
}

func (p *problemLimit) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if errors.Is(err, stream.ErrTooLarge) {
		c := p.max
		return n, problem.PayloadTooLarge(c)
	}
	return n, err
}
