package abi

/*
#include <stdlib.h>
#include "cside.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/stream"
	"github.com/valyala/fasthttp"
)

// The request plane is in C (cside.c): the blocks, their ids and states,
// the queues and the answers' outbox. This side creates a block per request,
// hands it to the host, waits on a channel for the collector (or the
// in-callback answer, or the timeout, or a shutdown) and writes the answer.

const blockHead = uintptr(C.SK_HEAD)

// outcome tells a waiting handler what woke it.
type outcome uint8

const (
	oAnswered outcome = iota + 1 // the collector found its answer
	oAborted                     // a shutdown cut it off
)

// pending is a request whose handler goroutine waits for the host.
type pending struct {
	id   uint64 // a copy: the block may be the host's (and freed) while p is still referenced
	b    *C.sk_block
	app  *App
	c    *app.Ctx      // nil for WebSocket events
	pipe *stream.Pipe  // set by spikard_stream_begin (under waiting's lock) before its answer
	sc   scratch       // newBlock's buffers, kept with the pooled pending
	done chan struct{} // one token, sent after outcome is written
	// Written before the token.
	outcome outcome
	// after oAborted: SK_CANCELLED (the handler frees the block) or
	// SK_ABORTED (the block is the host's)
	abortState C.uint32_t
}

// waiting maps request ids to waiting handlers, for the collector and for
// shutdowns. A handler removes its entry before it frees its block or gives
// it up to the host, so a block reached through this map is alive.
var waiting struct {
	sync.Mutex
	m waitTable
}

// waitTable is the waiting handlers by request id. An id's low 32 bits are
// its slot in the C request table (cside.c), dense and reused, so a slice
// indexed by them replaces a map: no hashing on the two updates every
// request makes. The high bits (the slot's generation) tell a stale id.
type waitTable struct{ s []*pending }

func (t *waitTable) get(id uint64) *pending {
	if i := uint32(id); int(i) < len(t.s) {
		if p := t.s[i]; p != nil && p.id == id {
			return p
		}
	}
	return nil
}

func (t *waitTable) put(p *pending) {
	i := int(uint32(p.id))
	for i >= len(t.s) {
		t.s = append(t.s, nil)
	}
	t.s[i] = p
}

func (t *waitTable) del(id uint64) {
	if i := uint32(id); int(i) < len(t.s) && t.s[i] != nil && t.s[i].id == id {
		t.s[i] = nil
	}
}

// scratch holds the two documents a view is rendered into before they are
// copied into its C block. It lives in the request's pending (one pooled
// object per request, not two).
type scratch struct{ values, headers []byte }

// newBlock copies the request into a new C block, or returns nil when the
// app is shut down.
func (a *App) newBlock(c *app.Ctx, b *binding, sc *scratch) *C.sk_block {
	fctx := c.Fast()
	sc.values = c.AppendValues(sc.values[:0])
	sc.headers = requestHeaders(fctx, sc.headers[:0])
	rid := c.RequestID()
	return a.fillBlock(b, C.SPIKARD_KIND_HTTP, 0, fctx.Method(), fctx.Path(), fctx.URI().QueryString(), sc.headers,
		unsafe.Slice(unsafe.StringData(rid), len(rid)), sc.values, fctx.Request.Body())
}

// fillBlock makes a C block holding a copy of every string of the view.
func (a *App) fillBlock(b *binding, kind C.uint32_t, conn uint64, method, path, query, headers, rid, values, body []byte) *C.sk_block {
	n := blockHead + uintptr(len(b.name)+len(method)+len(path)+len(query)+len(headers)+len(rid)+len(values)+len(body)) + 8
	blk := C.spikard__block_new(a.cs, C.size_t(n))
	if blk == nil {
		return nil
	}
	mem := unsafe.Pointer(blk)
	buf := unsafe.Slice((*byte)(mem), n)
	off := blockHead
	put := func(s []byte) (*C.char, C.size_t) {
		p := unsafe.Pointer(&buf[off])
		copy(buf[off:], s)
		buf[off+uintptr(len(s))] = 0
		off += uintptr(len(s)) + 1
		return (*C.char)(p), C.size_t(len(s))
	}
	r := &blk.req
	r.kind = kind
	r.conn = C.uint64_t(conn)
	r.tag = C.uint64_t(b.tag)
	r.handler, r.handler_len = put(unsafe.Slice(unsafe.StringData(b.name), len(b.name)))
	r.method, r.method_len = put(method)
	r.path, r.path_len = put(path)
	r.query, r.query_len = put(query)
	r.headers, r.headers_len = put(headers)
	r.request_id, r.request_id_len = put(rid)
	r.values, r.values_len = put(values)
	r.body, r.body_len = put(body)
	return blk
}

// requestHeaders renders the request's headers as the core holds them (so
// that what a hook changed is what later invocations see): "Name: value"
// lines separated by CRLF, in order, names in canonical case.
func requestHeaders(fctx *fasthttp.RequestCtx, b []byte) []byte {
	for k, v := range fctx.Request.Header.All() {
		if len(b) > 0 {
			b = append(b, "\r\n"...)
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
	}
	return b
}

// serve is the core handler of every bound name: hand the request to the
// host, wait for its answer (or the timeout), write it. a.cb is read-held
// while the request is handed over, so that spikard_app_free (which
// write-locks it) never races with a new request touching the C app.
func (a *App) serve(c *app.Ctx, b *binding) error {
	a.cb.RLock()
	if a.freed {
		a.cb.RUnlock()
		return unavailable(c)
	}
	if b.fn != 0 {
		return a.serveCallback(c, b)
	}
	p := pendingPool.Get().(*pending)
	blk := a.newBlock(c, b, &p.sc)
	if blk == nil {
		a.cb.RUnlock()
		pendingPool.Put(p)
		return unavailable(c)
	}
	a.track(p, blk, c)
	queued := C.spikard__enqueue(blk) == 0
	a.cb.RUnlock()
	if !queued {
		// Not recycled: a shutdown may have cancelled it (and sent its
		// token) between track and enqueue; a pooled waiter must never
		// carry a stale token.
		a.untrack(p)
		C.spikard__block_free(blk)
		return unavailable(c)
	}
	return a.wait(c, p)
}

// serveCallback runs with a.cb read-held and releases it once the callback
// returned.
func (a *App) serveCallback(c *app.Ctx, b *binding) error {
	p := pendingPool.Get().(*pending)
	blk := a.newBlock(c, b, &p.sc)
	if blk == nil {
		a.cb.RUnlock()
		pendingPool.Put(p)
		return unavailable(c)
	}
	a.track(p, blk, c)
	// An answer given inside the callback stays in this thread's buffer
	// (cside.c) until the thread runs another callback: keep the goroutine
	// on the thread until the answer is written.
	runtime.LockOSThread()
	ans := C.spikard__call_free(C.uintptr_t(b.fn), blk, C.uintptr_t(b.data))
	a.cb.RUnlock()
	if ans.state == 0 {
		runtime.UnlockOSThread()
		return a.wait(c, p)
	}
	// Answered inside the callback: the block is gone (spikard__call_free),
	// p.b must not be read; the answer's bytes are this thread's until its
	// next callback.
	err := finishAnswer(c, p, ans.tasks, int(ans.state), int(ans.status), cbytes(ans.headers, ans.headers_len), cbytes(ans.body, ans.body_len))
	runtime.UnlockOSThread()
	a.untrack(p)
	recycle(p)
	if ans.tasks != nil {
		C.spikard__tasks_free(ans.tasks)
	}
	return err
}

func cbytes(p *C.char, n C.size_t) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

var pendingPool = sync.Pool{New: func() any {
	return &pending{done: make(chan struct{}, 1), sc: scratch{values: make([]byte, 0, 512), headers: make([]byte, 0, 512)}}
}}

// track makes p (fresh from pendingPool) the waiter of blk.
func (a *App) track(p *pending, blk *C.sk_block, c *app.Ctx) {
	p.id, p.b, p.app, p.c, p.pipe, p.outcome, p.abortState = uint64(blk.req.id), blk, a, c, nil, 0, 0
	waiting.Lock()
	waiting.m.put(p)
	waiting.Unlock()
}

func (a *App) untrack(p *pending) {
	waiting.Lock()
	waiting.m.del(p.id)
	waiting.Unlock()
}

// recycle returns p to the pool once nothing can reach it: it left the
// waiting map, and the one token anybody sends (collector, shutdown) was
// received, or none can have been sent.
func recycle(p *pending) {
	p.b, p.app, p.c, p.pipe = nil, nil, nil, nil
	pendingPool.Put(p)
}

var timerPool sync.Pool

func getTimer(d time.Duration) *time.Timer {
	if t, ok := timerPool.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func putTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// What await learned.
const (
	resAnswered = iota + 1 // the answer is in p.b, which is the caller's to free
	resAborted             // a shutdown cut the invocation off
	resExpired             // the handler timeout passed (the block is no longer the caller's)
)

// await blocks until the host finishes p, the handler timeout passes or a
// shutdown cuts it off.
func (a *App) await(p *pending) int {
	select {
	case <-p.done:
	default:
		if a.timeout <= 0 {
			<-p.done
			break
		}
		t := getTimer(a.timeout)
		select {
		case <-p.done:
			putTimer(t)
		case <-t.C:
			putTimer(t)
			if a.expire(p) {
				return resExpired
			}
			<-p.done // an answer or a shutdown came first: it wins
		}
	}
	if p.outcome == oAborted {
		if p.abortState == C.SK_CANCELLED {
			C.spikard__block_free(p.b)
		}
		return resAborted
	}
	a.untrack(p)
	return resAnswered
}

// wait blocks until the host answers, the handler timeout passes or a
// shutdown cuts the request off, and writes the response.
func (a *App) wait(c *app.Ctx, p *pending) error {
	defer recycle(p)
	switch a.await(p) {
	case resExpired:
		logger.Warn("libspikard: the host did not answer in time", "request_id", c.RequestID(),
			"method", c.Method(), "path", c.URLPath(), "handler_timeout", a.timeout)
		return problem.New(504, "handler-timeout", "Gateway Timeout",
			"The handler did not answer within "+a.timeout.String())
	case resAborted:
		return unavailable(c)
	}
	blk := p.b
	err := finishAnswer(c, p, blk.tasks, int(blk.ans_kind), int(blk.ans_status), cbytes(blk.ans, blk.ans_hlen),
		cbytes((*C.char)(unsafe.Add(unsafe.Pointer(blk.ans), blk.ans_hlen)), blk.ans_blen))
	C.spikard__block_free(blk)
	return err
}

// finishAnswer turns the host's answer into the handler's outcome: kind 1
// spikard_respond (headers, body), 2 spikard_respond_error (body = the
// message), 3 spikard_continue (body = the changes), 4
// spikard_stream_begin (headers; the body is p.pipe). The bytes are copied.
//
// Background work the host asked for (spikard_background) is queued first,
// unless the invocation failed.
func finishAnswer(c *app.Ctx, p *pending, tasks *C.sk_task, kind, status int, headers, body []byte) error {
	if kind == 2 {
		if p.pipe != nil {
			stream.Release(p.pipe.ID())
		}
		return &hostError{string(body)}
	}
	for t := tasks; t != nil; t = t.next {
		payload := append(json.RawMessage(nil), cbytes(t.payload, t.payload_len)...)
		if err := c.BackgroundCall(C.GoString(t.handler), payload); err != nil {
			return err
		}
	}
	switch kind {
	case 3:
		// No answer: a lifecycle hook lets the request go on, a factory's
		// value is null, a handler leaves what hooks set.
		return c.Continue(body)
	case 4:
		pipe := p.pipe
		if pipe == nil {
			return errors.New("libspikard: a stream answer without its stream")
		}
		return applyHeaders(c, headers, func(ct string) error { return c.SendPipe(status, ct, pipe) })
	}
	return applyHeaders(c, headers, func(ct string) error { return c.Send(status, ct, body) })
}

// expire handles the handler timeout: true when it took the invocation
// (the host's late answer is dropped), false when an answer or a shutdown
// is on its way (the caller waits for it).
func (a *App) expire(p *pending) bool {
	waiting.Lock()
	defer waiting.Unlock()
	if waiting.m.get(p.id) != p { // a shutdown took it
		return false
	}
	switch C.spikard__expire(p.b) {
	case C.SK_CANCELLED:
		waiting.m.del(p.id)
		C.spikard__block_free(p.b)
	case C.SK_TIMEDOUT:
		// The host holds the view; its late answer (or spikard_app_free)
		// frees the block. Do not touch it any more.
		waiting.m.del(p.id)
	default:
		return false
	}
	return true
}

// abortAll answers 503 to every request of the app still waiting for the
// host, and returns how many there were.
func (a *App) abortAll() int {
	waiting.Lock()
	defer waiting.Unlock()
	n := 0
	for _, p := range waiting.m.s {
		if p == nil || p.app != a {
			continue
		}
		// By id: a callback that answered frees its block before its
		// handler leaves this map (spikard__call_free).
		st := C.spikard__abort_id(C.uint64_t(p.id))
		if st == 0 {
			continue // answered meanwhile
		}
		waiting.m.del(p.id)
		p.abortState = st
		p.outcome = oAborted
		p.done <- struct{}{}
		n++
	}
	return n
}

var collectorOnce sync.Once

// startCollector starts the goroutine that takes the answers hosts give
// outside callbacks (the outbox, cside.c) and wakes their handlers.
func startCollector() {
	collectorOnce.Do(func() {
		fd := C.spikard__outbox_fd()
		if fd < 0 {
			panic("libspikard: cannot create the outbox descriptor")
		}
		// A non-blocking descriptor: reads park in Go's poller, not in a thread.
		f := os.NewFile(uintptr(fd), "spikard-outbox")
		go collect(f)
	})
}

func collect(f *os.File) {
	var buf [64]byte
	for {
		// The read only waits; spikard__collect resets the descriptor.
		if _, err := f.Read(buf[:]); err != nil && !os.IsTimeout(err) {
			// EAGAIN never reaches here with a pollable file; anything
			// else is fatal to the ABI.
			logger.Error("libspikard: the outbox descriptor failed", "error", err)
			time.Sleep(time.Millisecond)
		}
		for blk := C.spikard__collect(); blk != nil; {
			next := blk.onext
			id := uint64(blk.req.id)
			waiting.Lock()
			p := waiting.m.get(id)
			waiting.Unlock()
			if p != nil {
				p.outcome = oAnswered
				p.done <- struct{}{}
			} else {
				logger.Error("libspikard: an answer for a request nobody waits for", "id", id)
			}
			blk = next
		}
	}
}

// unavailable answers 503 and closes the connection: the app is going away.
func unavailable(c *app.Ctx) error {
	fctx := c.Fast()
	p := problem.New(503, "service-unavailable", "Service Unavailable", "The server is shutting down")
	fctx.Response.Reset()
	fctx.SetStatusCode(503)
	fctx.SetContentType(problem.ContentType)
	fctx.SetBody(p.Bytes())
	fctx.SetConnectionClose()
	return nil
}

// hostError is a host handler's failure (spikard_respond_error): the core
// logs it with the request id and answers 500.
type hostError struct{ msg string }

func (e *hostError) Error() string {
	if e.msg == "" {
		return "the host handler failed (spikard_respond_error)"
	}
	return "the host handler failed: " + e.msg
}

// applyHeaders sets the host's answer headers (the header block was
// checked by spikard_respond) and sends the answer with send, which gets
// the Content-Type. The bytes are copied.
func applyHeaders(c *app.Ctx, headers []byte, send func(contentType string) error) error {
	ct := ""
	h := &c.Fast().Response.Header
	for {
		name, value, rest, ok := nextHeader(headers)
		if !ok {
			break
		}
		headers = rest
		// Lengths first: most answers carry only a Content-Type.
		switch len(name) {
		case len("Content-Type"):
			if equalFold(name, "Content-Type") {
				ct = contentType(value)
				continue
			}
		case len("Content-Length"):
			if equalFold(name, "Content-Length") {
				// The host may state it for a HEAD answer (the length a GET
				// would send); any other answer carries its body's length.
				if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && c.Fast().IsHead() {
					h.SetContentLength(n)
				}
				continue
			}
		case len("Connection"), len("Transfer-Encoding"), len("Date"):
			if equalFold(name, "Connection") || equalFold(name, "Transfer-Encoding") || equalFold(name, "Date") {
				continue
			}
		}
		h.AddBytesKV(name, value)
	}
	return send(ct)
}

// contentType returns the media type as a string, without allocating for
// the common ones.
func contentType(v []byte) string {
	switch string(v) { // no allocation: the compiler compares in place
	case "application/json":
		return "application/json"
	case "text/plain; charset=utf-8":
		return "text/plain; charset=utf-8"
	case "text/plain":
		return "text/plain"
	case "text/html; charset=utf-8":
		return "text/html; charset=utf-8"
	case "application/octet-stream":
		return "application/octet-stream"
	}
	return string(v)
}
