// Package background runs work after the response: a bounded queue drained
// by a fixed number of workers, whose failures are logged and whose pending
// tasks are drained on shutdown.
//
// The queue bounds the tasks that are waiting (reserved or queued, not yet
// running). A handler reserves a slot while it runs (Reserve), so that a full
// queue is reported to the handler (ErrFull) instead of dropping work later;
// the task is submitted with the slot once the response is final, and starts
// when a worker is free. Workers start with the first task.
package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Defaults of Options.
const (
	DefaultSize    = 1024
	DefaultWorkers = 4
)

// Errors of Reserve.
var (
	ErrFull   = errors.New("background: queue full")
	ErrClosed = errors.New("background: queue shut down")
)

// Options configure a Queue. Zero values mean defaults.
type Options struct {
	// Size bounds the tasks waiting to run.
	Size int
	// Workers is how many tasks run at once.
	Workers int
	// Logger receives task failures (default slog.Default()).
	Logger *slog.Logger
}

// Task is one unit of work; Name appears in logs.
type Task struct {
	Name string
	Run  func() error
}

// Queue is a bounded background queue. It is safe for concurrent use.
type Queue struct {
	size, workers int
	log           *slog.Logger

	mu      sync.RWMutex // guards closed and the channel's closing
	closed  bool
	ch      chan Task
	start   sync.Once
	wg      sync.WaitGroup
	waiting atomic.Int64 // reserved + queued
	started atomic.Bool
	done    chan struct{} // closed when the workers have ended

	ran, failed atomic.Int64
}

// New makes a queue.
func New(o Options) *Queue {
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Queue{size: o.Size, workers: o.Workers, log: o.Logger, ch: make(chan Task, o.Size), done: make(chan struct{})}
}

// SetLogger replaces the logger (before tasks run).
func (q *Queue) SetLogger(l *slog.Logger) {
	if l != nil {
		q.log = l
	}
}

// Slot is a reserved place in the queue. Submit or Cancel it exactly once.
type Slot struct {
	q    *Queue
	used atomic.Bool
}

// Reserve claims a place for a task submitted later.
func (q *Queue) Reserve() (*Slot, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return nil, ErrClosed
	}
	for {
		n := q.waiting.Load()
		if n >= int64(q.size) {
			return nil, ErrFull
		}
		if q.waiting.CompareAndSwap(n, n+1) {
			return &Slot{q: q}, nil
		}
	}
}

// Submit queues the task in the reserved place. It never blocks. When the
// queue was shut down in the meantime, the task runs in the caller.
func (s *Slot) Submit(t Task) {
	if s == nil || !s.used.CompareAndSwap(false, true) {
		return
	}
	q := s.q
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		q.waiting.Add(-1)
		q.run(t)
		return
	}
	q.start.Do(q.startWorkers)
	q.ch <- t // room is guaranteed: waiting counts this task
	q.mu.RUnlock()
}

// Cancel gives the place back.
func (s *Slot) Cancel() {
	if s == nil || !s.used.CompareAndSwap(false, true) {
		return
	}
	s.q.waiting.Add(-1)
}

// Submit reserves and submits at once. When the queue is full or shut down
// it returns the error and the task does not run.
func (q *Queue) Submit(t Task) error {
	s, err := q.Reserve()
	if err != nil {
		return err
	}
	s.Submit(t)
	return nil
}

func (q *Queue) startWorkers() {
	q.started.Store(true)
	q.wg.Add(q.workers)
	for range q.workers {
		go func() {
			defer q.wg.Done()
			for t := range q.ch {
				q.waiting.Add(-1)
				q.run(t)
			}
		}()
	}
	go func() {
		q.wg.Wait()
		close(q.done)
	}()
}

// run runs one task; a failure or a panic is logged, never propagated.
func (q *Queue) run(t Task) {
	defer func() {
		if v := recover(); v != nil {
			q.failed.Add(1)
			q.log.Error("background task panicked", "task", t.Name, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	if err := t.Run(); err != nil {
		q.failed.Add(1)
		q.log.Error("background task failed", "task", t.Name, "error", err)
		return
	}
	q.ran.Add(1)
}

// Stats reports how many tasks finished well and how many failed.
func (q *Queue) Stats() (ran, failed int64) { return q.ran.Load(), q.failed.Load() }

// Pending is the number of tasks reserved or queued, not yet running.
func (q *Queue) Pending() int { return int(q.waiting.Load()) }

// Shutdown stops accepting tasks and waits until every queued task has run
// or ctx ends (then it returns an error naming what was still pending;
// running tasks are not interrupted). Later calls wait the same way.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	started := q.started.Load()
	q.mu.Unlock()
	if !started {
		return nil // nothing was ever queued
	}
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("background: %d tasks still pending at shutdown: %w", q.waiting.Load(), ctx.Err())
	}
}
