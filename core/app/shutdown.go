package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Graceful shutdown of what outlives a request: response streams,
// WebSockets and HTTP/2 connections. App.Shutdown calls beginShutdown
// before it stops the fasthttp servers (which stop accepting and wait for
// the requests in flight, streams included) and the returned function
// after them.
//
// On HTTP/1.1 nothing is lost: fasthttp answers every request it read
// (with Connection: close once the shutdown started, so clients do not
// send more on that connection) and closes idle connections. Event streams
// end at once (they never end by themselves; clients reconnect elsewhere
// with Last-Event-ID); other streams run to their end. WebSockets get a
// 1001 close frame once the callback they are running returns. HTTP/2
// connections get GOAWAY, and their open streams finish. At the deadline
// whatever is left is closed.

// beginShutdown starts the shutdown of streams, WebSockets and HTTP/2.
func (a *App) beginShutdown(ctx context.Context) func() error {
	l := a.liveState()
	l.mu.Lock()
	first := !l.stopping
	l.stopping = true
	listeners := append(l.listeners[:0:0], l.listeners...)
	engine := l.engine
	var sse []liveStream
	for s, isSSE := range l.streams {
		if isSSE {
			sse = append(sse, s)
		}
	}
	l.mu.Unlock()
	if first {
		close(l.shutdown)
	}
	for _, sl := range listeners {
		_ = sl.Close()
	}
	for _, s := range sse {
		s.Drain()
	}
	errc := make(chan error, 2)
	go func() { errc <- l.hub.GoAway(ctx) }()
	go func() {
		if engine == nil {
			errc <- nil
			return
		}
		errc <- engine.Shutdown(ctx)
	}()
	return func() error {
		errs := []error{<-errc, <-errc}
		// fasthttp returned: its connections are done, or the deadline
		// passed. Cut the streams still running.
		if ctx.Err() != nil {
			if n := l.abortAll(); n > 0 {
				errs = append(errs, fmt.Errorf("shutdown: %d response streams cut at the deadline", n))
			}
		} else if n := l.waitStreams(ctx, 50*time.Millisecond); n > 0 {
			errs = append(errs, fmt.Errorf("shutdown: %d response streams cut", n))
		}
		return errors.Join(errs...)
	}
}

// WaitWebSockets waits, after Shutdown, until every WebSocket connection
// has ended and its OnClose callback returned (connections cut at the
// deadline end a moment later), or ctx ends. Bindings whose callbacks go
// through a queue keep serving it meanwhile, so that close events arrive.
func (a *App) WaitWebSockets(ctx context.Context) error { return a.liveState().hub.WaitEmpty(ctx) }

// abortAll cuts every stream still running and returns how many there were.
func (l *liveState) abortAll() int {
	l.mu.Lock()
	left := make([]liveStream, 0, len(l.streams))
	for s := range l.streams {
		left = append(left, s)
	}
	l.mu.Unlock()
	for _, s := range left {
		s.Abort()
	}
	return len(left)
}

// waitStreams gives streams that outlived their connection's server (an
// HTTP/2 stream, a body never read) a moment, then cuts them.
func (l *liveState) waitStreams(ctx context.Context, grace time.Duration) int {
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		l.mu.Lock()
		n := len(l.streams)
		l.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-t.C:
			return l.abortAll()
		case <-ctx.Done():
			return l.abortAll()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
