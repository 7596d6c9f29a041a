package stream

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/validate"
)

// PipeOptions configure a Pipe.
type PipeOptions struct {
	// Queue is how many chunks may wait for the client (default 16);
	// Write blocks beyond it.
	Queue int
	// SSE marks an event stream: the server ends it when it starts
	// shutting down, and keep-alive comments are written when it is idle.
	SSE bool
	// KeepAlive is the idle time before a keep-alive comment (SSE only;
	// default 15 s, negative: never).
	KeepAlive time.Duration
	// Schema, when set, checks the data of events sent with WriteEvent.
	Schema *validate.Schema
	// Context, when set, is the parent of the pipe's context.
	Context context.Context
}

// Pipe is a response body fed by Write calls from any goroutine (a host
// language's threads through the C ABI). The server side reads it with
// WriteTo (or Read) and closes it with Close when it stops.
type Pipe struct {
	id     uint64
	opts   PipeOptions
	ctx    context.Context
	cancel context.CancelCauseFunc

	chunks chan []byte
	// endMu is held by a writer while it queues a chunk, so that End (and
	// a drain) never overtake a chunk whose Write returned nil.
	endMu sync.Mutex
	// Until the server starts sending (attached), chunks wait in backlog
	// without a bound: a producer may write its whole body before the
	// response exists (a C ABI callback handler streams before it returns,
	// and the response is only sent after it returned), so blocking it on
	// a full queue then would deadlock. Backpressure starts with sending.
	attached  bool
	backlog   [][]byte
	pre       [][]byte // the consumer's copy of backlog, sent first
	ended     bool
	end       chan struct{} // closed by End / Fail, under endMu
	endErr    error         // nil: a clean end
	drain     chan struct{} // closed by Drain (without endMu: it must not wait)
	drainOnce sync.Once
	draining  atomic.Bool
	abort     chan struct{}
	abortOne  sync.Once

	// producer side
	wmu      sync.Mutex
	evbuf    []byte
	boundary atomic.Bool // the last chunk ended an event (keep-alives may go between)

	// consumer side
	left []byte
}

// NewPipe makes an unregistered pipe (Open registers one under an id).
func NewPipe(o PipeOptions) *Pipe {
	if o.Queue <= 0 {
		o.Queue = 16
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 15 * time.Second
	}
	parent := o.Context
	if parent == nil {
		parent = context.Background()
	}
	p := &Pipe{opts: o, chunks: make(chan []byte, o.Queue), end: make(chan struct{}), drain: make(chan struct{}),
		abort: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancelCause(parent)
	p.boundary.Store(true)
	return p
}

// ID is the id Open registered the pipe under (0 when not registered).
func (p *Pipe) ID() uint64 { return p.id }

// Context is cancelled when the client goes away or the stream is cut.
func (p *Pipe) Context() context.Context { return p.ctx }

// IsSSE reports whether the pipe carries an event stream.
func (p *Pipe) IsSSE() bool { return p.opts.SSE }

// Write queues a copy of b. It blocks while the queue is full and fails
// with ErrGone once the client left, ErrShutdown after a shutdown ended
// the stream, ErrEnded after End.
func (p *Pipe) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, p.writable()
	}
	c := append([]byte(nil), b...)
	if err := p.push(c); err != nil {
		return 0, err
	}
	p.boundary.Store(bytes.HasSuffix(b, []byte("\n\n")) || bytes.HasSuffix(b, []byte("\r\n\r\n")))
	return len(b), nil
}

// WriteEvent queues one Server-Sent Event (checked against the schema
// first when the pipe has one).
func (p *Pipe) WriteEvent(e sse.Event) error {
	if p.opts.Schema != nil && e.Data != "" {
		if err := checkEvent(p.opts.Schema, e.Data); err != nil {
			return err
		}
	}
	p.wmu.Lock()
	p.evbuf = sse.AppendEvent(p.evbuf[:0], e)
	c := append([]byte(nil), p.evbuf...)
	p.wmu.Unlock()
	if err := p.push(c); err != nil {
		return err
	}
	p.boundary.Store(true)
	return nil
}

func (p *Pipe) writable() error {
	if p.draining.Load() {
		return ErrShutdown
	}
	p.endMu.Lock()
	ended := p.ended
	p.endMu.Unlock()
	if ended {
		return ErrEnded
	}
	if context.Cause(p.ctx) != nil {
		return p.goneErr()
	}
	return nil
}

func (p *Pipe) goneErr() error {
	if c := context.Cause(p.ctx); c == ErrShutdown {
		return ErrShutdown
	}
	return ErrGone
}

func (p *Pipe) push(c []byte) error {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	switch {
	case p.draining.Load():
		return ErrShutdown
	case p.ended:
		return ErrEnded
	case context.Cause(p.ctx) != nil:
		return p.goneErr()
	case !p.attached:
		p.backlog = append(p.backlog, c)
		return nil
	}
	select {
	case p.chunks <- c:
		return nil
	case <-p.ctx.Done():
		return p.goneErr()
	case <-p.drain:
		return ErrShutdown
	}
}

// End finishes the body: what is queued is still sent, then the response
// ends cleanly. It returns ErrEnded when the stream already ended.
func (p *Pipe) End() error { return p.finish(nil) }

// Fail cuts the response off after what is queued (the client sees an
// incomplete body).
func (p *Pipe) Fail(reason error) {
	if reason == nil {
		reason = io.ErrUnexpectedEOF
	}
	_ = p.finish(&CutOffError{reason})
}

// CutOffError ends a body its producer failed (Pipe.Fail): the server
// cuts the response off. Whoever failed logged why already.
type CutOffError struct{ Reason error }

func (e *CutOffError) Error() string { return CutOffText + ": " + e.Reason.Error() }
func (e *CutOffError) Unwrap() error { return e.Reason }

// CutOffText starts the message of every CutOffError, so that a server's
// connection log can tell them from unexpected errors.
const CutOffText = "stream cut off by its producer"

func (p *Pipe) finish(reason error) error {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	if p.ended {
		return ErrEnded
	}
	p.ended, p.endErr = true, reason
	close(p.end)
	return nil
}

// Drain ends an event stream for a shutdown: the queue is sent, later
// writes fail with ErrShutdown. It never blocks.
func (p *Pipe) Drain() {
	p.draining.Store(true)
	p.drainOnce.Do(func() { close(p.drain) })
}

// Abort cuts the stream now (a shutdown's deadline).
func (p *Pipe) Abort() {
	p.cancel(ErrShutdown)
	p.abortOne.Do(func() { close(p.abort) })
}

// ClientGone records that the connection closed.
func (p *Pipe) ClientGone() { p.cancel(ErrGone) }

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read.
func (p *Pipe) SupportsBodyWriteTo() bool { return true }

// next waits for the next chunk. It returns io.EOF at a clean end.
func (p *Pipe) next() ([]byte, error) {
	if !p.attached {
		// Only the consumer sets attached, under endMu (push reads it there).
		p.endMu.Lock()
		p.attached, p.pre, p.backlog = true, p.backlog, nil
		p.endMu.Unlock()
	}
	if len(p.pre) > 0 {
		c := p.pre[0]
		p.pre[0] = nil
		p.pre = p.pre[1:]
		return c, nil
	}
	var timer *time.Timer
	var tick <-chan time.Time
	if p.opts.SSE && p.opts.KeepAlive > 0 {
		timer = time.NewTimer(p.opts.KeepAlive)
		defer timer.Stop()
		tick = timer.C
	}
	for {
		select {
		case c := <-p.chunks:
			return c, nil
		case <-p.abort:
			return nil, ErrShutdown
		case <-p.ctx.Done():
			return nil, p.goneErr()
		case <-p.end:
			select {
			case c := <-p.chunks:
				return c, nil
			default:
			}
			if p.endErr != nil {
				return nil, p.endErr
			}
			return nil, io.EOF
		case <-p.drain:
			// Wait for a writer in the middle of queueing (it sees the
			// drain and gives up), then send what is queued.
			p.endMu.Lock()
			p.endMu.Unlock() //nolint:staticcheck // a barrier
			select {
			case c := <-p.chunks:
				return c, nil
			default:
			}
			return nil, io.EOF
		case <-tick:
			if p.boundary.Load() {
				return sse.KeepAliveComment, nil
			}
			timer.Reset(p.opts.KeepAlive)
		}
	}
}

// WriteTo sends chunks to w until the producer ends the stream; each Write
// to w must send (and flush) one chunk.
func (p *Pipe) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		c, err := p.next()
		if err == io.EOF {
			p.cancel(ErrEnded)
			return n, nil
		}
		if err != nil {
			p.cancel(err)
			return n, err
		}
		m, werr := w.Write(c)
		n += int64(m)
		if werr != nil {
			p.cancel(ErrGone)
			return n, werr
		}
	}
}

// Read is the fallback for consumers that do not use WriteTo.
func (p *Pipe) Read(b []byte) (int, error) {
	if len(p.left) == 0 {
		c, err := p.next()
		if err != nil {
			if err == io.EOF {
				p.cancel(ErrEnded)
			}
			return 0, err
		}
		p.left = c
	}
	n := copy(b, p.left)
	p.left = p.left[n:]
	return n, nil
}

// Close is called by the server when it stops sending the body.
func (p *Pipe) Close() error { p.cancel(ErrGone); return nil }

// CloseWithError is Close with the server's reason.
func (p *Pipe) CloseWithError(error) error { return p.Close() }

// The registry of open pipes, for the id-based functions.
var (
	regMu  sync.RWMutex
	reg    = map[uint64]*Pipe{}
	lastID atomic.Uint64
)

// Open makes a pipe and registers it under a new id (never 0, never reused).
func Open(o PipeOptions) (uint64, *Pipe) {
	p := NewPipe(o)
	p.id = lastID.Add(1)
	regMu.Lock()
	reg[p.id] = p
	regMu.Unlock()
	return p.id, p
}

// Get returns the open pipe with this id, or nil.
func Get(id uint64) *Pipe {
	regMu.RLock()
	defer regMu.RUnlock()
	return reg[id]
}

// Write queues a chunk on the pipe with this id.
func Write(id uint64, b []byte) error {
	p := Get(id)
	if p == nil {
		return ErrUnknown
	}
	_, err := p.Write(b)
	return err
}

// WriteEvent queues one event on the pipe with this id.
func WriteEvent(id uint64, e sse.Event) error {
	p := Get(id)
	if p == nil {
		return ErrUnknown
	}
	return p.WriteEvent(e)
}

// Issued reports whether id was ever returned by Open (ids are not reused,
// so an issued id that Get does not find belongs to an ended stream).
func Issued(id uint64) bool { return id != 0 && id <= lastID.Load() }

// Fail cuts the pipe's body off after what is queued (the producer failed)
// and releases its id.
func Fail(id uint64, reason error) error {
	regMu.Lock()
	p := reg[id]
	delete(reg, id)
	regMu.Unlock()
	if p == nil {
		return ErrUnknown
	}
	p.Fail(reason)
	return nil
}

// End finishes the pipe's body and releases its id.
func End(id uint64) error {
	regMu.Lock()
	p := reg[id]
	delete(reg, id)
	regMu.Unlock()
	if p == nil {
		return ErrUnknown
	}
	p.End()
	return nil
}

// Release drops the id of a pipe whose response will not be sent (the
// request failed before the body started); the pipe is cut.
func Release(id uint64) {
	regMu.Lock()
	p := reg[id]
	delete(reg, id)
	regMu.Unlock()
	if p != nil {
		p.Abort()
	}
}

// OpenCount reports how many pipes are registered (tests check for leaks).
func OpenCount() int {
	regMu.RLock()
	defer regMu.RUnlock()
	return len(reg)
}
