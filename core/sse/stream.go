package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/validate"
)

// ErrClosed is returned by sends on a stream that has ended: the client went
// away, the server is shutting down, or the stream's function returned.
var ErrClosed = errors.New("sse: the event stream is closed")

// InvalidEventError is returned by a send whose data does not match the
// route's event schema; the event was not sent.
type InvalidEventError struct {
	Errors []problem.ErrorItem
}

func (e *InvalidEventError) Error() string {
	if len(e.Errors) == 0 {
		return "sse: the event data does not match the event schema"
	}
	return "sse: the event data does not match the event schema: " + e.Errors[0].Msg
}

// Options configure a Stream.
type Options struct {
	// LastEventID is the client's Last-Event-ID header.
	LastEventID string
	// Schema, when set, checks the data of every event (parsed as JSON).
	Schema *validate.Schema
	// KeepAlive is the idle time after which a comment is written; 0 means never.
	KeepAlive time.Duration
	// Retry, when positive, is sent before the first event.
	Retry time.Duration
	// OnWriteError is called once when a write fails (the client is gone).
	OnWriteError func(error)
}

// Stream is the server side of one event stream. Its methods are safe for
// concurrent use; each send writes one whole event as one chunk.
type Stream struct {
	ctx  context.Context
	w    io.Writer
	opts Options

	mu        sync.Mutex
	buf       []byte
	closed    bool
	err       error
	lastWrite time.Time
	timer     *time.Timer
}

// NewStream starts a stream writing to w, whose every Write must send (and
// flush) one chunk. ctx ends the stream: when it is done, sends fail with
// ErrClosed. Call Close when the stream is over.
func NewStream(ctx context.Context, w io.Writer, o Options) *Stream {
	s := &Stream{ctx: ctx, w: w, opts: o, lastWrite: time.Now()}
	if o.Retry > 0 {
		_ = s.Send(Event{Retry: o.Retry})
	}
	if o.KeepAlive > 0 {
		s.timer = time.AfterFunc(o.KeepAlive, s.tick)
	}
	return s
}

// Context is cancelled when the client goes away or the server shuts down:
// a producer loop should stop then.
func (s *Stream) Context() context.Context { return s.ctx }

// Done is Context().Done().
func (s *Stream) Done() <-chan struct{} { return s.ctx.Done() }

// LastEventID is the client's Last-Event-ID header ("" on a first connection):
// resume after that event.
func (s *Stream) LastEventID() string { return s.opts.LastEventID }

// Send writes one event. The event is checked against the event schema
// first (when the route has one and e.Data is not empty).
func (s *Stream) Send(e Event) error {
	if s.opts.Schema != nil && e.Data != "" {
		if err := s.check([]byte(e.Data)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = AppendEvent(s.buf[:0], e)
	return s.writeLocked(s.buf)
}

// SendData writes an unnamed event with this data.
func (s *Stream) SendData(data string) error { return s.Send(Event{Data: data}) }

// SendJSON writes an event whose data is v encoded as JSON; event may be "".
func (s *Stream) SendJSON(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Send(Event{Event: event, Data: string(b)})
}

// Comment writes a comment (clients ignore it; proxies see traffic).
func (s *Stream) Comment(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = AppendEvent(s.buf[:0], Event{Comment: text})
	return s.writeLocked(s.buf)
}

func (s *Stream) check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &InvalidEventError{Errors: []problem.ErrorItem{{Type: "json_invalid", Loc: []any{"event", "data"},
			Msg: "Event data is not valid JSON", Input: string(data), HasInput: true}}}
	}
	if errs := s.opts.Schema.ValidateJSON(v, data, []any{"event", "data"}); len(errs) > 0 {
		return &InvalidEventError{Errors: errs}
	}
	return nil
}

func (s *Stream) writeLocked(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.closed || s.ctx.Err() != nil {
		return ErrClosed
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		if s.opts.OnWriteError != nil {
			s.opts.OnWriteError(err)
		}
		return err
	}
	s.lastWrite = time.Now()
	return nil
}

// tick writes a keep-alive comment when the stream has been idle.
func (s *Stream) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	idle := time.Since(s.lastWrite)
	if idle >= s.opts.KeepAlive {
		if s.ctx.Err() != nil || s.writeLocked(KeepAliveComment) != nil {
			return
		}
		idle = 0
	}
	s.timer.Reset(s.opts.KeepAlive - idle)
}

// Close ends the stream: later sends fail and no keep-alive is written. It
// is called by the runtime when the stream's function returns; it does not
// close the connection.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
}

// Err is the write error that ended the stream, if any.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
