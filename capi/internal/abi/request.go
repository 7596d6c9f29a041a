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
	"strconv"
	"sync"
	"sync/atomic"
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

// outcome tells a waiting handler what woke it.
type outcome uint8

const (
	oAnswered outcome = iota + 1 // the collector found its answer
	oAborted                     // a shutdown cut it off
)

// pending is a request whose handler goroutine waits for the host.
type pending struct {
	key uint64     // its entry in waiting (set by track, before the block exists)
	sh  *waitShard // the shard holding it
	// handing: between track and publish (or untrack when never published),
	// the app's C half may be touched without a block keeping it alive,
	// and a callback may run: spikard_app_free waits for these (inflight).
	handing bool
	id      uint64      // the block's request id, once known (a copy: the block may be the host's, and freed, while p is referenced)
	b       *C.sk_block // nil until the block exists (published)
	app     *App
	c       *app.Ctx // nil for WebSocket events
	// pipe is set by spikard_stream_begin before its answer is seen: during
	// the callback with the slot pinned (serveCallback; atomic, since the
	// C half orders that, not Go), or else under waiting's lock.
	pipe atomic.Pointer[stream.Pipe]
	sc   scratch       // the view's buffers, kept with the pooled pending
	done chan struct{} // one token, sent after outcome is written
	// Written before the token.
	outcome outcome
	// after oAborted: SK_CANCELLED (the handler frees the block) or
	// SK_ABORTED (the block is the host's)
	abortState C.uint32_t
}

// waiting holds the handlers that wait for a linked block: queued requests
// and callbacks that returned unanswered (a callback request in progress is
// not in it: see callback), for the collector, the streams and shutdowns.
// A handler enters it before its block is linked (the block carries its
// key, so that an answer from another thread finds it) and leaves it before
// it frees its block or gives it up to the host, so a block reached through
// it is alive. It is sharded by P: one lock for all of them was the C
// path's main cost under load (two cores contending for it).
var waiting [waitShards]waitShard

const waitShards = 16

// A shard's lock and table share no cache line with its neighbours'.
type waitShard struct {
	_ [64]byte
	sync.Mutex
	m waitTable
	_ [64]byte
}

// shardOf is the shard of a key (bits 24-27 of its low half).
func shardOf(key uint64) *waitShard { return &waiting[(key>>24)&(waitShards-1)] }

// lockAll and unlockAll take every shard, in order: for the app flags that
// handlers read under their shard's lock (freed, aborting).
func lockAll() {
	for i := range waiting {
		waiting[i].Lock()
	}
}

func unlockAll() {
	for i := range waiting {
		waiting[i].Unlock()
	}
}

// waitTable is one shard's waiting handlers by key: a slice index in the
// low 24 bits (entries are reused, so the slice stays as long as the most
// requests ever waiting at once), the shard above it, the entry's
// generation in the high 32 bits, so that a stale key finds nothing. No
// hashing on the updates every request makes.
type waitTable struct {
	s    []waitEntry
	free []uint32
}

type waitEntry struct {
	gen uint32
	p   *pending
}

func (t *waitTable) add(p *pending, shard int) uint64 {
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		i = uint32(len(t.s))
		t.s = append(t.s, waitEntry{})
	}
	e := &t.s[i]
	if e.gen++; e.gen == 0 {
		e.gen = 1
	}
	e.p = p
	return uint64(e.gen)<<32 | uint64(shard)<<24 | uint64(i)
}

func (t *waitTable) get(key uint64) *pending {
	if i := uint32(key) & (1<<24 - 1); int(i) < len(t.s) {
		if e := &t.s[i]; e.p != nil && e.gen == uint32(key>>32) {
			return e.p
		}
	}
	return nil
}

func (t *waitTable) del(key uint64) {
	if i := uint32(key) & (1<<24 - 1); int(i) < len(t.s) {
		if e := &t.s[i]; e.p != nil && e.gen == uint32(key>>32) {
			e.p = nil
			t.free = append(t.free, i)
		}
	}
}

// scratch holds what a view is rendered into before the C side copies it
// into its block. It lives in the request's pending (one pooled object per
// request, not two).
type scratch struct{ view []byte }

// viewWriter lays the eight strings of a view out back to back in a
// scratch buffer, each followed by a NUL, as spikard__meta describes them.
type viewWriter struct {
	v []byte
	m C.spikard__meta
}

func (w *viewWriter) put(i int, s []byte) { w.mark(i, len(w.v), append(w.v, s...)) }

// mark records string i as v[start:], just written in place.
func (w *viewWriter) mark(i, start int, v []byte) {
	w.m.lens[i] = C.size_t(len(v) - start)
	w.v = append(v, 0)
}

// httpView renders the request's view into p's scratch for
// spikard__submit or spikard__invoke, the headers and values documents
// straight in place.
func httpView(c *app.Ctx, b *binding, p *pending) ([]byte, C.spikard__meta) {
	fctx := c.Fast()
	w := viewWriter{v: p.sc.view[:0], m: C.spikard__meta{kind: C.SPIKARD_KIND_HTTP, tag: C.uint64_t(b.tag), gokey: C.uint64_t(p.key),
		gotoken: C.uintptr_t(uintptr(unsafe.Pointer(p)))}}
	w.put(0, unsafe.Slice(unsafe.StringData(b.name), len(b.name)))
	w.put(1, fctx.Method())
	w.put(2, fctx.Path())
	w.put(3, fctx.URI().QueryString())
	n := len(w.v)
	w.mark(4, n, requestHeaders(fctx, w.v))
	n = len(w.v)
	w.mark(5, n, c.AppendRequestID(w.v))
	n = len(w.v)
	w.mark(6, n, c.AppendValues(w.v))
	w.put(7, fctx.Request.Body())
	p.sc.view = w.v
	return w.v, w.m
}

// view renders a view from its strings (WebSocket events).
func view(sc *scratch, b *binding, kind C.uint32_t, conn, key uint64, token uintptr, method, path, query, headers, rid, values, body []byte) ([]byte, C.spikard__meta) {
	w := viewWriter{v: sc.view[:0], m: C.spikard__meta{kind: kind, conn: C.uint64_t(conn), tag: C.uint64_t(b.tag), gokey: C.uint64_t(key),
		gotoken: C.uintptr_t(token)}}
	for i, s := range [8][]byte{unsafe.Slice(unsafe.StringData(b.name), len(b.name)), method, path, query, headers, rid, values, body} {
		w.put(i, s)
	}
	sc.view = w.v
	return w.v, w.m
}

// invoke is spikard__invoke on a rendered view. The view's buffer (copied
// into the block before the callback runs) is lent back for the answer:
// an answer given inside the callback that fits is written there, so that
// this goroutine need not stay on the thread to read it.
func (a *App) invoke(b *binding, v []byte, m C.spikard__meta) C.spikard__answer {
	d := (*C.char)(unsafe.Pointer(unsafe.SliceData(v)))
	return C.spikard__invoke(a.cs, d, C.size_t(len(v)), m, C.uintptr_t(b.fn), C.uintptr_t(b.data), d, C.size_t(cap(v)))
}

// releaseAnswer frees what an answer spikard__invoke returned holds in C
// memory, once its bytes were used.
func releaseAnswer(ans *C.spikard__answer) {
	if ans.owned != nil {
		C.free(unsafe.Pointer(ans.owned))
	}
	if ans.tasks != nil {
		C.spikard__tasks_free(ans.tasks)
	}
}

// submit copies a rendered view into a new C block and queues it for the
// host, in one crossing; nil when the app is shut down.
func (a *App) submit(v []byte, m C.spikard__meta) *C.sk_block {
	return C.spikard__submit(a.cs, (*C.char)(unsafe.Pointer(unsafe.SliceData(v))), C.size_t(len(v)), m)
}

// requestHeaders renders the request's headers as the core holds them (so
// that what a hook changed is what later invocations see): "Name: value"
// lines separated by CRLF, in order, names in canonical case.
func requestHeaders(fctx *fasthttp.RequestCtx, b []byte) []byte {
	start := len(b)
	for k, v := range fctx.Request.Header.All() {
		if len(b) > start {
			b = append(b, "\r\n"...)
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
	}
	return b
}

// serve is the core handler of every bound name: hand the request to the
// host, wait for its answer (or the timeout), write it. The request is
// tracked before anything touches the C app, so that spikard_app_free
// (which waits for requests being handed over) never races with it.
func (a *App) serve(c *app.Ctx, b *binding) error {
	p := pendingPool.Get().(*pending)
	if b.fn != 0 {
		return a.serveCallback(c, b, p)
	}
	if !a.track(p, c, pHint()) {
		pendingPool.Put(p)
		return unavailable(c)
	}
	blk := a.submit(httpView(c, b, p))
	if blk == nil { // no block, so no token can have been sent for p
		a.untrack(p)
		recycle(p)
		return unavailable(c)
	}
	// The host may have answered already: the collector found p by the
	// block's key and the token waits for wait.
	a.publish(p, blk)
	return a.wait(c, p)
}

// serveCallback: one crossing (spikard__invoke) makes the block, runs the
// callback and, when it was answered, frees the block (see callback).
func (a *App) serveCallback(c *app.Ctx, b *binding, p *pending) error {
	p.key, p.app, p.c = 0, a, c
	v, m := httpView(c, b, p)
	ans, gone := a.callback(p, c, b, v, m)
	switch {
	case gone:
		recycle(p)
		return unavailable(c)
	case ans.state == 0: // not answered inside: the host answers later, from anywhere
		return a.wait(c, p)
	}
	// Answered: the block is gone (spikard__invoke), the answer is in p's
	// view buffer (or ans.owned).
	err := finishAnswer(c, p, ans.tasks, int(ans.state), int(ans.status), cbytes(ans.headers, ans.headers_len), cbytes(ans.body, ans.body_len))
	recycle(p)
	releaseAnswer(&ans)
	return err
}

// callback hands a callback request's view (gokey 0, gotoken p) to the
// host. The waiter enters waiting only if the callback returns without an
// answer (adopt; then ans.state is 0 and p waits for ans.block): while the
// callback runs, spikard_stream_begin finds it through the token its block
// carries (the pinned slot keeps spikard__invoke from returning
// meanwhile), answers from other threads stay in the block, and
// spikard_app_free waits for the calls counter. gone: the app is shut down
// or freed, nothing was handed over.
func (a *App) callback(p *pending, c *app.Ctx, b *binding, v []byte, m C.spikard__meta) (ans C.spikard__answer, gone bool) {
	hint := pHint()
	calls := &a.calls[hint%waitShards].n
	calls.Add(1)
	if a.gone.Load() {
		calls.Add(-1)
		return ans, true
	}
	ans = a.invoke(b, v, m)
	switch ans.state {
	case -1: // no block: the app is shut down
		gone = true
	case 0:
		gone = !a.adopt(p, c, ans.block, hint)
	}
	calls.Add(-1) // nothing after this touches the C app
	return ans, gone
}

// adopt makes p the waiter of a block spikard__invoke returned unanswered:
// p enters waiting, the C half links the block under p's key (an answer
// that came meanwhile goes to the collector now), p records it. false: the
// app was freed meanwhile; the block is dropped.
func (a *App) adopt(p *pending, c *app.Ctx, blk *C.sk_block, hint uint64) bool {
	if !a.track(p, c, hint) {
		C.spikard__drop(blk)
		return false
	}
	C.spikard__adopt(blk, C.uint64_t(p.key))
	a.publish(p, blk)
	return true
}

func cbytes(p *C.char, n C.size_t) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

var pendingPool = sync.Pool{New: func() any {
	return &pending{done: make(chan struct{}, 1), sc: scratch{view: make([]byte, 0, 1024)}}
}}

// track enters p (fresh from pendingPool, or a callback's waiter being
// adopted) in a waiting shard chosen by hint (the P), before its block
// exists or is linked: the block carries p.key. false: the app was freed,
// nothing may start.
func (a *App) track(p *pending, c *app.Ctx, hint uint64) bool {
	p.id, p.b, p.app, p.c, p.outcome, p.abortState = 0, nil, a, c, 0, 0
	i := int(hint % waitShards)
	sh := &waiting[i]
	sh.Lock()
	if a.freed {
		sh.Unlock()
		return false
	}
	p.key, p.sh, p.handing = sh.m.add(p, i), sh, true
	a.inflight[i].n++
	sh.Unlock()
	return true
}

// publish records p's block, which keeps the C app alive from now on. A
// shutdown that ran while the block was being made (or its callback ran)
// skipped p: p aborts itself now.
func (a *App) publish(p *pending, blk *C.sk_block) {
	p.sh.Lock()
	p.id, p.b = uint64(blk.req.id), blk
	a.endHanding(p)
	if a.aborting {
		a.abortLocked(p)
	}
	p.sh.Unlock()
}

// endHanding: p's shard is locked.
func (a *App) endHanding(p *pending) {
	if p.handing {
		p.handing = false
		a.inflight[(p.key>>24)&(waitShards-1)].n--
	}
}

func (a *App) untrack(p *pending) {
	p.sh.Lock()
	p.sh.m.del(p.key)
	a.endHanding(p)
	p.sh.Unlock()
}

// waitHanding waits until no request of a is being handed over (app
// freed first, so that none starts).
func (a *App) waitHanding() {
	for {
		n := a.inCallbacks()
		for i := range waiting {
			waiting[i].Lock()
			n += int(a.inflight[i].n)
			waiting[i].Unlock()
		}
		if n == 0 {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// inCallbacks counts the callback requests under way (serveCallback).
func (a *App) inCallbacks() int {
	n := 0
	for i := range a.calls {
		n += int(a.calls[i].n.Load())
	}
	return n
}

// recycle returns p to the pool once nothing can reach it: it left the
// waiting map, and the one token anybody sends (collector, shutdown) was
// received, or none can have been sent.
func recycle(p *pending) {
	p.b, p.app, p.c = nil, nil, nil
	if p.pipe.Load() != nil {
		p.pipe.Store(nil)
	}
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
		if pipe := p.pipe.Load(); pipe != nil {
			stream.Release(pipe.ID())
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
		pipe := p.pipe.Load()
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
	p.sh.Lock()
	defer p.sh.Unlock()
	if p.sh.m.get(p.key) != p { // a shutdown took it
		return false
	}
	switch C.spikard__expire(p.b) {
	case C.SK_CANCELLED:
		p.sh.m.del(p.key)
		C.spikard__block_free(p.b)
	case C.SK_TIMEDOUT:
		// The host holds the view; its late answer (or spikard_app_free)
		// frees the block. Do not touch it any more.
		p.sh.m.del(p.key)
	default:
		return false
	}
	return true
}

// abortAll answers 503 to every request of the app still waiting for the
// host, and returns how many there were. Requests whose block is still
// being made (or whose callback runs) abort themselves when they publish it.
func (a *App) abortAll() int {
	lockAll()
	defer unlockAll()
	a.aborting = true
	n := a.inCallbacks() // they abort themselves if they return unanswered (publish)
	for i := range waiting {
		for _, e := range waiting[i].m.s {
			if p := e.p; p != nil && p.app == a && (p.b == nil || a.abortLocked(p)) {
				n++
			}
		}
	}
	return n
}

// abortLocked cuts p off (its shard is locked): true when it was, false
// when it was answered meanwhile.
func (a *App) abortLocked(p *pending) bool {
	// By id: a callback that answered frees its block before its handler
	// leaves waiting (spikard__invoke).
	st := C.spikard__abort_id(C.uint64_t(p.id))
	if st == 0 {
		return false
	}
	p.sh.m.del(p.key)
	p.abortState = st
	p.outcome = oAborted
	p.done <- struct{}{}
	return true
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
			key := uint64(blk.gokey)
			sh := shardOf(key)
			sh.Lock()
			p := sh.m.get(key)
			sh.Unlock()
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
