package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/validate"
)

// chunkSink records every Write as one chunk.
type chunkSink struct {
	mu     sync.Mutex
	chunks []string
	failAt int // fail the nth write (1-based), 0: never
}

func (s *chunkSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAt > 0 && len(s.chunks)+1 == s.failAt {
		return 0, errors.New("write: broken pipe")
	}
	s.chunks = append(s.chunks, string(p))
	return len(p), nil
}

func TestBodyWriteTo(t *testing.T) {
	b := NewBody(context.Background(), func(ctx context.Context, w *bufio.Writer) error {
		w.WriteString("one")
		w.Flush()
		w.WriteString("two")
		return nil // the rest is flushed at the end
	})
	sink := &chunkSink{}
	if _, err := b.WriteTo(sink); err != nil {
		t.Fatal(err)
	}
	if strings.Join(sink.chunks, "|") != "one|two" {
		t.Fatalf("chunks %q", sink.chunks)
	}
	if context.Cause(b.Context()) != ErrEnded {
		t.Fatalf("cause %v", context.Cause(b.Context()))
	}
}

func TestBodyStopsOnWriteError(t *testing.T) {
	var seen error
	b := NewBody(context.Background(), func(ctx context.Context, w *bufio.Writer) error {
		for {
			w.WriteString("x")
			if err := w.Flush(); err != nil {
				seen = err
				return err
			}
		}
	})
	if _, err := b.WriteTo(&chunkSink{failAt: 3}); !errors.Is(err, ErrGone) || !errors.Is(seen, ErrGone) {
		t.Fatalf("WriteTo %v, the producer saw %v", err, seen)
	}
	if !errors.Is(context.Cause(b.Context()), ErrGone) {
		t.Fatal("the context is not cancelled with ErrGone")
	}
}

func TestBodyReadFallbackAndPanic(t *testing.T) {
	b := NewBody(nil, func(ctx context.Context, w *bufio.Writer) error {
		w.WriteString("via read")
		return nil
	})
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "via read" {
		t.Fatalf("%q %v", got, err)
	}
	var reported error
	p := NewBody(nil, func(context.Context, *bufio.Writer) error { panic("boom") })
	p.OnError = func(err error) { reported = err }
	if _, err := p.WriteTo(&chunkSink{}); err == nil || reported == nil {
		t.Fatal("a panicking producer must fail the body and be reported")
	}
}

func TestPipe(t *testing.T) {
	id, p := Open(PipeOptions{Queue: 2})
	if Get(id) != p || id == 0 || !Issued(id) || Issued(id+1000) {
		t.Fatal("registry")
	}
	// Before the server sends, writes never block (a C callback handler
	// writes its body before the response exists): 10 chunks, queue of 2.
	for i := 0; i < 5; i++ {
		if err := Write(id, []byte{byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Once sending, the queue bounds the writer: it goes on as the
	// consumer reads.
	sink := &gatedSink{gate: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := p.WriteTo(sink)
		done <- err
	}()
	sink.gate <- struct{}{} // the consumer attached and took chunk 0
	go func() {
		for i := 5; i < 10; i++ {
			if err := Write(id, []byte{byte('0' + i)}); err != nil {
				done <- err
				return
			}
		}
		if err := End(id); err != nil {
			done <- err
		}
	}()
	close(sink.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(sink.chunks, "") != "0123456789" {
		t.Fatalf("chunks %q", sink.chunks)
	}
	if Get(id) != nil || Write(id, []byte("x")) != ErrUnknown {
		t.Fatal("End must release the id")
	}
	if _, err := p.Write([]byte("late")); err != ErrEnded {
		t.Fatalf("write after End: %v", err)
	}
	fid, fp := Open(PipeOptions{})
	_, _ = fp.Write([]byte("part"))
	if err := Fail(fid, nil); err != nil || Get(fid) != nil {
		t.Fatalf("Fail: %v", err)
	}
	if _, err := fp.WriteTo(&chunkSink{}); err == nil {
		t.Fatal("a failed pipe must end with an error (a cut-off body)")
	}
}

// gatedSink takes one chunk per receive on gate until gate is closed.
type gatedSink struct {
	chunkSink
	gate chan struct{}
}

func (g *gatedSink) Write(b []byte) (int, error) {
	<-g.gate
	return g.chunkSink.Write(b)
}

func TestPipeClientGone(t *testing.T) {
	p := NewPipe(PipeOptions{Queue: 1})
	if _, err := p.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	p.Close() // the server stopped sending
	if _, err := p.Write([]byte("x")); err != ErrGone {
		t.Fatalf("writes after the client left: %v", err)
	}
	// A writer blocked on the full queue is released too.
	q := NewPipe(PipeOptions{Queue: 1})
	sink := &gatedSink{gate: make(chan struct{})}
	go func() { _, _ = q.WriteTo(sink) }()
	_, _ = q.Write([]byte("a"))
	sink.gate <- struct{}{} // attached, holding chunk a
	_, _ = q.Write([]byte("b"))
	res := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, err = q.Write([]byte("c")) // blocks once the queue is full
		}
		res <- err
	}()
	q.ClientGone()
	if err := <-res; err != ErrGone {
		t.Fatalf("blocked writer after the client left: %v", err)
	}
	close(sink.gate)
}

func TestPipeDrainAndAbort(t *testing.T) {
	p := NewPipe(PipeOptions{SSE: true, KeepAlive: -1})
	p.WriteEvent(sse.Event{Data: "queued"})
	p.Drain()
	if err := p.WriteEvent(sse.Event{Data: "late"}); err != ErrShutdown {
		t.Fatalf("write after a drain: %v", err)
	}
	sink := &chunkSink{}
	if _, err := p.WriteTo(sink); err != nil || strings.Join(sink.chunks, "") != "data: queued\n\n" {
		t.Fatalf("a drained pipe sends its queue then ends: %q %v", sink.chunks, err)
	}

	a := NewPipe(PipeOptions{})
	go func() { time.Sleep(10 * time.Millisecond); a.Abort() }()
	if _, err := a.WriteTo(&chunkSink{}); err != ErrShutdown {
		t.Fatalf("an aborted pipe: %v", err)
	}
	f := NewPipe(PipeOptions{})
	f.Write([]byte("partial"))
	f.Fail(errors.New("source failed"))
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err == nil || buf.String() != "partial" {
		t.Fatalf("a failed pipe: %q %v", buf.String(), err)
	}
}

func TestPipeKeepAliveAndSchema(t *testing.T) {
	schema, _ := validate.Compile([]byte(`{"type":"integer"}`))
	p := NewPipe(PipeOptions{SSE: true, KeepAlive: 15 * time.Millisecond, Schema: schema})
	var inv *sse.InvalidEventError
	if err := p.WriteEvent(sse.Event{Data: `"text"`}); !errors.As(err, &inv) {
		t.Fatalf("schema: %v", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.WriteEvent(sse.Event{Data: "1"})
		p.End()
	}()
	sink := &chunkSink{}
	if _, err := p.WriteTo(sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.chunks) < 2 || sink.chunks[0] != string(sse.KeepAliveComment) || sink.chunks[len(sink.chunks)-1] != "data: 1\n\n" {
		t.Fatalf("chunks %q", sink.chunks)
	}
}

func TestLimitReader(t *testing.T) {
	r := LimitReader(strings.NewReader("0123456789"), 4)
	b, err := io.ReadAll(r)
	if err != ErrTooLarge || string(b) != "0123" {
		t.Fatalf("%q %v", b, err)
	}
	b, err = io.ReadAll(LimitReader(strings.NewReader("0123"), 4))
	if err != nil || string(b) != "0123" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
}
