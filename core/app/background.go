package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spikard/spikard-go/core/background"
	"github.com/spikard/spikard-go/core/params"
	"github.com/valyala/fasthttp"
)

// Background work: what a handler queues (Background, BackgroundCall) and
// the cleanups of its dependencies run after the response has been written,
// on the app's bounded queue (core/background). The request reserves the
// queue slots while it runs; when its response is final, release hands the
// work to the server's request as a user value whose Close - which fasthttp
// calls when it resets the request, after writing the response - submits
// it. Shutdown drains the queue.

// afterKey is the user value carrying a request's after-response work.
const afterKey = "spikard.after_response"

// pendingTask is work a request owes after its response.
type pendingTask struct {
	slot *background.Slot
	name string
	// fn is a Go closure (Background); handler a named handler
	// (BackgroundCall) invoked on a copy of the request.
	fn      func()
	handler Handler
	hname   string
	payload json.RawMessage
}

// Background runs fn on the app's background queue after the response has
// been sent. It fails (and fn never runs) when the queue is full or the app
// is shutting down; a panic in fn is logged. fn must not use the Ctx.
func (c *Ctx) Background(fn func()) error {
	return c.enqueue(pendingTask{name: "background " + c.route.cfg.Method + " " + c.route.cfg.Path, fn: fn})
}

// BackgroundCall queues a call of the handler registered under name (a
// host handler, as for routes and hooks), after the response has been sent,
// with payload (any JSON; json.RawMessage is taken as it is). The handler
// gets a copy of this request: Ctx.Call() has Kind "task" and the payload,
// and so has "call" in Ctx.Values(). Its answer is ignored; its failure is
// logged. This is the form bindings behind the C ABI use.
func (c *Ctx) BackgroundCall(name string, payload any) error {
	h := c.app.handlers[name]
	if h == nil {
		return fmt.Errorf("background: no handler registered under %q", name)
	}
	var raw json.RawMessage
	switch p := payload.(type) {
	case json.RawMessage:
		if !json.Valid(p) {
			return fmt.Errorf("background: payload for %q is not JSON", name)
		}
		raw = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			return fmt.Errorf("background: payload for %q: %w", name, err)
		}
		raw = b
	}
	return c.enqueue(pendingTask{name: "background " + name, handler: h, hname: name, payload: raw})
}

func (c *Ctx) enqueue(t pendingTask) error {
	q := c.app.queue()
	if q == nil {
		return errors.New("background: the app is not built")
	}
	x := c.ext()
	if x.detached {
		// Background work of background work: no response to wait for.
		return q.Submit(background.Task{Name: t.name, Run: c.app.taskRun(c, t)})
	}
	s, err := q.Reserve()
	if err != nil {
		return err
	}
	t.slot = s
	x.tasks = append(x.tasks, t)
	return nil
}

func (a *App) queue() *background.Queue {
	if a.x == nil {
		return nil
	}
	return a.x.queue
}

// taskRun makes the function a worker runs for t; a named handler gets a
// copy of the request (c is about to be reused).
func (a *App) taskRun(c *Ctx, t pendingTask) func() error {
	if t.fn != nil {
		fn := t.fn
		return func() error { fn(); return nil }
	}
	d := a.detach(c)
	d.x.call = &Call{Kind: "task", Name: t.hname, Handler: t.hname, Payload: t.payload}
	h := t.handler
	return func() error { return a.safeInvoke(h, d, "background task "+t.hname) }
}

// afterResponse is the work of one request, started by Close.
type afterResponse struct {
	a       *App
	tasks   []background.Task
	slots   []*background.Slot
	cleanup func() error
}

// Close submits the work: fasthttp calls it after writing the response.
func (w *afterResponse) Close() error {
	for i, t := range w.tasks {
		w.slots[i].Submit(t)
	}
	if w.cleanup != nil {
		t := background.Task{Name: "dependency cleanup", Run: w.cleanup}
		if q := w.a.queue(); q != nil {
			if s, err := q.Reserve(); err == nil {
				s.Submit(t)
				return nil
			}
		}
		// The queue is full or closed: cleanups are never dropped.
		if err := t.Run(); err != nil {
			w.a.log.Error("dependency cleanup failed", "error", err)
		}
	}
	return nil
}

// scheduleAfter hands the request's owed work to the server's request.
func (a *App) scheduleAfter(c *Ctx, x *ctxExt) {
	cleanups := x.req.Cleanups()
	if len(x.tasks) == 0 && len(cleanups) == 0 {
		return
	}
	w := &afterResponse{a: a}
	for _, t := range x.tasks {
		w.tasks = append(w.tasks, background.Task{Name: t.name, Run: a.taskRun(c, t)})
		w.slots = append(w.slots, t.slot)
	}
	if len(cleanups) > 0 {
		d := a.detach(c)
		w.cleanup = func() error {
			var errs []error
			for _, cl := range cleanups {
				if err := a.runCleanup(d, cl.Node.Key, cl.Node.Factory, cl.Value); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		}
	}
	c.fctx.SetUserValue(afterKey, w)
}

// runCleanup calls a factory for the cleanup of value.
func (a *App) runCleanup(d *Ctx, key, factory string, value json.RawMessage) error {
	h := a.handlers[factory]
	if oh := a.overrideHandler(key); oh != nil {
		h = oh
	}
	if h == nil {
		return fmt.Errorf("cleanup of %q: no handler registered under %q", key, factory)
	}
	d.x.call = &Call{Kind: "cleanup", Name: key, Handler: factory, Value: value}
	d.x.deps = nil
	defer func() { d.x.call = nil }()
	if err := a.safeInvoke(h, d, "cleanup of "+key); err != nil {
		return fmt.Errorf("cleanup of %q: %w", key, err)
	}
	return nil
}

// detach copies what a handler can read of the request into a new Ctx that
// outlives it (background work).
func (a *App) detach(c *Ctx) *Ctx {
	d := &Ctx{app: a, route: c.route, fctx: &fasthttp.RequestCtx{}}
	if c.fctx != nil {
		c.fctx.Request.CopyTo(&d.fctx.Request)
		d.reqID = c.RequestID()
	}
	d.path = append([]params.Value(nil), c.path...)
	d.query = append([]params.Value(nil), c.query...)
	d.headers = append([]params.Value(nil), c.headers...)
	d.cookies = append([]params.Value(nil), c.cookies...)
	d.body, d.hasBody = c.Body(), c.hasBody
	d.x = &ctxExt{detached: true}
	if c.x != nil {
		d.x.state = append([]stateEntry(nil), c.x.state...)
	}
	return d
}

// shutdownExt drains the background queue and cleans up singletons;
// Shutdown calls it after the servers stopped.
func (a *App) shutdownExt(ctx context.Context) error {
	a.mu.Lock()
	x := a.x
	a.mu.Unlock()
	if x == nil || x.queue == nil {
		return nil
	}
	err := x.queue.Shutdown(ctx)
	x.singletonMu.Lock()
	list := x.singletonCleanups
	x.singletonCleanups = nil
	x.singletonMu.Unlock()
	var errs []error
	for i := len(list) - 1; i >= 0; i-- {
		sc := list[i]
		d := &Ctx{app: a, route: sc.route, fctx: &fasthttp.RequestCtx{}, x: &ctxExt{detached: true}}
		if e := a.runCleanup(d, sc.c.Node.Key, sc.c.Node.Factory, sc.c.Value); e != nil {
			a.log.Error("singleton cleanup failed", "error", e)
			errs = append(errs, e)
		}
	}
	for _, g := range x.graphs {
		g.Forget()
	}
	return errors.Join(append([]error{err}, errs...)...)
}
