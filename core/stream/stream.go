// Package stream carries response bodies that are produced while they are
// sent (chunked transfer coding on HTTP/1.1, DATA frames on HTTP/2) and
// request bodies that are read while they arrive.
//
// Two producers exist:
//
//   - Body runs a Go function that writes to a *bufio.Writer; every Flush
//     sends what was written as one chunk. The app package makes one with
//     Ctx.Stream. The function runs on the connection's goroutine (fasthttp
//     calls Body.WriteTo after the handler returned), so a stream costs no
//     goroutine of its own.
//
//   - Pipe is fed from outside: a host language pushes chunks (the C ABI's
//     spikard_stream_write) from its own threads. Chunks are copied into a
//     bounded queue; a writer blocks while the queue is full, which is the
//     backpressure a slow client exerts.
//
// Both stop when the client goes away: a failed write to the connection,
// or the connection closing while the producer is idle, cancels the
// stream's context and makes further writes fail; a producer observes it
// either way. A shutdown ends event streams at once (after what is queued)
// and cuts every stream still running at its deadline.
//
// # The C ABI
//
// capi wraps Pipe through the id-based functions, which are safe to call
// from any thread:
//
//	spikard_stream_begin(req, status, headers, &id)
//	    id, p := c.OpenPipe(isEventStream)   // app.Ctx of the waiting request; the
//	                                         // route's keep-alive and event schema
//	    then wake the handler goroutine, which applies the headers (as
//	    spikard_respond does) and answers with c.SendPipe(status, contentType, p).
//	spikard_stream_write(id, ptr, len)
//	    stream.Write(id, unsafe.Slice(ptr, len))        // copies; may block (backpressure)
//	spikard_sse_send(id, event, data, eid)
//	    stream.WriteEvent(id, sse.Event{Event: ..., Data: ..., ID: ...})
//	spikard_stream_end(id)
//	    stream.End(id)                                  // finishes the body, releases the id
//
// Errors map to result codes: ErrUnknown → SPIKARD_EBADHANDLE, ErrGone
// (the client left; the host should stop producing and call end) and
// ErrShutdown → SPIKARD_ECLOSED, ErrEnded → SPIKARD_ESTATE, and an
// *sse.InvalidEventError → SPIKARD_EINVAL.
package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

var (
	// ErrGone: the client went away. (The text names a reset by peer:
	// fasthttp logs the errors that end a connection, except those.)
	ErrGone = errors.New("stream: the client is gone (connection reset by peer)")
	// ErrShutdown: the server is shutting down and ended the stream.
	ErrShutdown = errors.New("stream: the server is shutting down")
	// ErrEnded: the producer already ended the stream.
	ErrEnded = errors.New("stream: the stream was ended")
	// ErrUnknown: no open stream has this id.
	ErrUnknown = errors.New("stream: unknown stream id")
	// ErrTooLarge: a streamed request body went over its limit.
	ErrTooLarge = errors.New("stream: request body too large")
)

// Func produces a body: it writes to w and calls w.Flush to send a chunk
// (what is still buffered when it returns is sent then). It should return
// when ctx is done or a write fails. A non-nil error cuts the response off
// (the client sees an incomplete body, never a complete-looking one).
type Func func(ctx context.Context, w *bufio.Writer) error

// Body is a response body produced by a Func. It implements io.Reader,
// io.WriterTo (fasthttp's BodyWriterTo) and io.Closer.
type Body struct {
	fn     Func
	ctx    context.Context
	cancel context.CancelCauseFunc

	// OnError, when set, is told about a failing Func (not about the
	// client leaving).
	OnError func(error)
	// OnAbort, when set, is called by Abort to close the connection.
	OnAbort func()

	ran     atomic.Bool
	pipeMu  sync.Mutex
	pr      *io.PipeReader
	running atomic.Bool
	done    chan struct{}
}

// NewBody makes a body; fn runs when the server starts sending it (not at
// all when the response is discarded, e.g. for HEAD).
func NewBody(parent context.Context, fn Func) *Body {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	return &Body{fn: fn, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Context is the producer's context: cancelled (with cause ErrGone or
// ErrShutdown) when the stream must stop.
func (b *Body) Context() context.Context { return b.ctx }

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read.
func (b *Body) SupportsBodyWriteTo() bool { return true }

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

// WriteTo runs the Func on the caller's goroutine; each Write to w must
// send (and flush) one chunk.
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	if !b.ran.CompareAndSwap(false, true) {
		return 0, ErrEnded
	}
	defer close(b.done)
	b.running.Store(true)
	defer b.running.Store(false)
	cw := &chunkWriter{w: w, body: b}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(cw)
	err := b.call(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	bufPool.Put(bw)
	if err == nil && cw.err != nil {
		err = cw.err
	}
	if err != nil {
		b.report(err)
		b.cancel(ErrGone)
		return cw.n, err
	}
	b.cancel(ErrEnded)
	return cw.n, nil
}

func (b *Body) report(err error) {
	if b.OnError == nil || errors.Is(err, ErrGone) || errors.Is(err, ErrShutdown) ||
		errors.Is(err, context.Canceled) || errors.Is(err, io.ErrClosedPipe) {
		return
	}
	if c := context.Cause(b.ctx); c != nil && errors.Is(err, c) {
		return
	}
	b.OnError(err)
}

func (b *Body) call(bw *bufio.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("stream: the stream function panicked: %v", v)
		}
	}()
	return b.fn(b.ctx, bw)
}

// Read is the fallback for consumers that do not use WriteTo: the Func
// runs on its own goroutine, behind a synchronous pipe.
func (b *Body) Read(p []byte) (int, error) {
	b.pipeMu.Lock()
	if b.pr == nil {
		if !b.ran.CompareAndSwap(false, true) {
			b.pipeMu.Unlock()
			return 0, io.EOF
		}
		pr, pw := io.Pipe()
		b.pr = pr
		go func() {
			defer close(b.done)
			b.running.Store(true)
			defer b.running.Store(false)
			bw := bufPool.Get().(*bufio.Writer)
			bw.Reset(pw)
			err := b.call(bw)
			if err == nil {
				err = bw.Flush()
			}
			bw.Reset(nil)
			bufPool.Put(bw)
			if err != nil {
				b.report(err)
				b.cancel(ErrGone)
				pw.CloseWithError(err)
				return
			}
			b.cancel(ErrEnded)
			pw.Close()
		}()
	}
	pr := b.pr
	b.pipeMu.Unlock()
	return pr.Read(p)
}

// Close is called by the server when it stops sending the body (done, or
// the client is gone): the producer's context is cancelled.
func (b *Body) Close() error { return b.CloseWithError(nil) }

// CloseWithError is Close with the reason the server stopped.
func (b *Body) CloseWithError(err error) error {
	b.cancel(ErrGone)
	b.pipeMu.Lock()
	pr := b.pr
	b.pipeMu.Unlock()
	if pr != nil {
		if err == nil {
			err = ErrGone
		}
		pr.CloseWithError(err)
	}
	return nil
}

// ClientGone cancels the producer's context because the connection closed.
func (b *Body) ClientGone() { b.cancel(ErrGone) }

// Drain asks the producer to finish: its context is cancelled with cause
// ErrShutdown (event streams end this way when the server shuts down).
func (b *Body) Drain() { b.cancel(ErrShutdown) }

// Abort cuts the stream: the context is cancelled and the connection closed.
func (b *Body) Abort() {
	b.cancel(ErrShutdown)
	if b.OnAbort != nil {
		b.OnAbort()
	}
	b.pipeMu.Lock()
	if b.pr != nil {
		b.pr.CloseWithError(ErrShutdown)
	}
	b.pipeMu.Unlock()
}

// Started reports whether the Func has started.
func (b *Body) Started() bool { return b.ran.Load() }

// Finished is closed when a started Func has returned.
func (b *Body) Finished() <-chan struct{} { return b.done }

// chunkWriter passes writes to the connection's chunk writer and records
// the first error (the client went away).
type chunkWriter struct {
	w    io.Writer
	body *Body
	n    int64
	err  error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := context.Cause(c.body.ctx); err != nil && !errors.Is(err, ErrShutdown) {
		c.err = ErrGone
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = fmt.Errorf("%w: %v", ErrGone, err)
		c.body.cancel(ErrGone)
		return n, c.err
	}
	return n, nil
}

// LimitReader reads a streamed request body and fails with ErrTooLarge
// once more than max bytes arrived.
func LimitReader(r io.Reader, max int64) io.Reader { return &limitReader{r: r, left: max} }

type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), ErrTooLarge
	}
	return n, err
}
