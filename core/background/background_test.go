package background

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func TestRunsAndDrainsOnShutdown(t *testing.T) {
	q := New(Options{Size: 100, Workers: 3, Logger: quiet()})
	var n atomic.Int32
	for range 50 {
		if err := q.Submit(Task{Name: "t", Run: func() error {
			time.Sleep(time.Millisecond)
			n.Add(1)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 50 {
		t.Fatalf("%d of 50 tasks ran before Shutdown returned", n.Load())
	}
	if err := q.Submit(Task{Run: func() error { return nil }}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after shutdown: %v", err)
	}
	if ran, failed := q.Stats(); ran != 50 || failed != 0 {
		t.Fatalf("stats %d %d", ran, failed)
	}
}

func TestBoundedQueue(t *testing.T) {
	q := New(Options{Size: 2, Workers: 1, Logger: quiet()})
	block := make(chan struct{})
	started := make(chan struct{})
	// The worker takes the first task; two more wait; the fourth does not fit.
	if err := q.Submit(Task{Run: func() error { close(started); <-block; return nil }}); err != nil {
		t.Fatal(err)
	}
	<-started
	for range 2 {
		if err := q.Submit(Task{Run: func() error { return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Submit(Task{Run: func() error { return nil }}); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth task: %v, want ErrFull", err)
	}
	if _, err := q.Reserve(); !errors.Is(err, ErrFull) {
		t.Fatal("a reservation counts against the bound")
	}
	close(block)
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestReserveThenSubmit(t *testing.T) {
	q := New(Options{Size: 1, Workers: 1, Logger: quiet()})
	s, err := q.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Reserve(); !errors.Is(err, ErrFull) {
		t.Fatal("the slot is taken")
	}
	s.Cancel()
	s.Cancel() // harmless
	s, _ = q.Reserve()
	done := make(chan struct{})
	s.Submit(Task{Run: func() error { close(done); return nil }})
	s.Submit(Task{Run: func() error { t.Error("a slot submits once"); return nil }})
	<-done
	_ = q.Shutdown(context.Background())
	// A slot reserved before the shutdown still runs its task (in the caller).
	q2 := New(Options{Size: 1, Logger: quiet()})
	s2, _ := q2.Reserve()
	_ = q2.Shutdown(context.Background())
	ran := false
	s2.Submit(Task{Run: func() error { ran = true; return nil }})
	if !ran {
		t.Fatal("a task reserved before shutdown is not dropped")
	}
}

func TestFailuresAreLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	q := New(Options{Logger: slog.New(slog.NewTextHandler(&lockedWriter{&buf, &mu}, nil))})
	_ = q.Submit(Task{Name: "sends-mail", Run: func() error { return errors.New("smtp down") }})
	_ = q.Submit(Task{Name: "explodes", Run: func() error { panic("kaboom") }})
	_ = q.Submit(Task{Name: "fine", Run: func() error { return nil }})
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"task=sends-mail", "smtp down", "task=explodes", "kaboom"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if ran, failed := q.Stats(); ran != 1 || failed != 2 {
		t.Fatalf("stats %d %d", ran, failed)
	}
}

func TestShutdownTimeout(t *testing.T) {
	q := New(Options{Workers: 1, Logger: quiet()})
	release := make(chan struct{})
	_ = q.Submit(Task{Run: func() error { <-release; return nil }})
	_ = q.Submit(Task{Run: func() error { return nil }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := q.Shutdown(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	close(release)
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatalf("a second Shutdown waits for the rest: %v", err)
	}
	// A queue that never ran anything shuts down at once.
	if err := New(Options{}).Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
