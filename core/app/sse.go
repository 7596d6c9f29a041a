package app

import (
	"bufio"
	"context"
	"errors"

	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
)

// SSE answers with a Server-Sent Events stream: 200, text/event-stream,
// Cache-Control: no-cache. fn runs after the handler returned and sends
// events with s.Send / s.SendJSON; the stream ends when fn returns (a clean
// end of the response). s.Context() is done when the client goes away or
// the server starts shutting down: a loop waiting for events should select
// on s.Done(). A comment keeps an idle connection alive (the route's
// sse.keep_alive_ms, default 15 s); the client's Last-Event-ID header is
// s.LastEventID() (and Ctx.LastEventID in the handler). On a route with
// sse.event_schema, an event whose data does not match is not sent and the
// send fails with *sse.InvalidEventError.
func (c *Ctx) SSE(fn func(s *sse.Stream) error) error {
	p := c.route.protoOrDefault()
	opts := sse.Options{LastEventID: c.LastEventID(), KeepAlive: p.sseKeepAlive, Retry: p.sseRetry}
	if c.app.validateResponses {
		opts.Schema = p.sseSchema
	}
	setEventStreamHeaders(c)
	c.startBody(200, sse.ContentType, func(ctx context.Context, w *bufio.Writer) error {
		o := opts
		o.OnWriteError = func(error) {}
		s := sse.NewStream(ctx, flushWriter{w}, o)
		defer s.Close()
		err := fn(s)
		if err == nil || errors.Is(err, sse.ErrClosed) || errors.Is(err, stream.ErrGone) ||
			errors.Is(err, stream.ErrShutdown) || errors.Is(err, context.Canceled) {
			// The client left or the server is shutting down: the stream
			// ends normally for whatever is still connected.
			if werr := s.Err(); werr != nil {
				return werr
			}
			return nil
		}
		return err
	}, true)
	return nil
}

// LastEventID is the request's Last-Event-ID header: the id of the last
// event an SSE client received before it reconnected ("" on a first
// connection).
func (c *Ctx) LastEventID() string { return c.RawHeader("Last-Event-ID") }

// flushWriter sends every write as one chunk.
type flushWriter struct{ w *bufio.Writer }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.w.Flush()
}
