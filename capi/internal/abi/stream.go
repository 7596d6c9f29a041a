package abi

/*
#include "cside.h"
*/
import "C"

import (
	"errors"
	"time"
	"unsafe"

	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
)

// Streams (spikard_stream_*, spikard_sse_send) wrap core/stream's Pipe: the
// host's threads push chunks into it, the request's handler goroutine
// sends it as the response body. The request is answered (kind 4) through
// the same C state machine as spikard_respond, so every "already
// answered / timed out / cut off" case behaves the same.

// StreamBegin implements spikard_stream_begin.
func StreamBegin(id uint64, status int, headers unsafe.Pointer, hlen uintptr, out *uint64) (code int32) {
	defer guard(&code, "spikard_stream_begin")
	if out == nil {
		return result(errf(EINVAL, "spikard_stream_begin: out_stream is required"))
	}
	hdr := goBytes(headers, hlen)
	for {
		var token C.uintptr_t
		var key C.uint64_t
		switch C.spikard__stream_lookup(C.uint64_t(id), &token, &key) {
		case 1:
			// In its callback: the slot stays pinned, so spikard__invoke
			// (and the handler waiting in it) cannot return until unpin.
			defer C.spikard__unpin(C.uint64_t(id))
			return streamBeginFor(id, status, headers, hlen, hdr, waiterOf(uintptr(token)), out)
		case 2:
			return streamBeginKeyed(id, status, headers, hlen, hdr, uint64(key), out)
		case 3:
			// Its callback just returned unanswered: the handler is
			// entering waiting (adopt), a moment away.
			time.Sleep(20 * time.Microsecond)
			continue
		}
		// Without a waiter the C half still says precisely why (never
		// issued, already answered, timed out, cut off).
		return streamBeginFor(id, status, headers, hlen, hdr, nil, out)
	}
}

// streamBeginKeyed is streamBeginFor the waiter in waiting under key.
// waiting's lock keeps the handler goroutine (and its Ctx, which OpenPipe
// reads) from finishing meanwhile: every path that releases a waiting
// handler takes it.
func streamBeginKeyed(id uint64, status int, headers unsafe.Pointer, hlen uintptr, hdr []byte, key uint64, out *uint64) int32 {
	sh := shardOf(key)
	sh.Lock()
	defer sh.Unlock()
	return streamBeginFor(id, status, headers, hlen, hdr, sh.m.get(key), out)
}

// waiterOf is the waiter a callback's block carries (its token): the
// handler goroutine keeps it alive while the callback runs.
func waiterOf(token uintptr) *pending {
	if token == 0 {
		return nil
	}
	return *(**pending)(unsafe.Pointer(&token))
}

// streamBeginFor opens the stream for waiter p (nil: none, or a WebSocket
// event's) and answers request id with it.
func streamBeginFor(id uint64, status int, headers unsafe.Pointer, hlen uintptr, hdr []byte, p *pending, out *uint64) int32 {
	if p != nil && p.c == nil {
		return result(errf(EINVAL, "spikard_stream_begin: %d is a WebSocket event, not an HTTP request: it cannot stream", id))
	}
	var sid uint64
	var pipe *stream.Pipe
	if p != nil {
		sid, pipe = p.c.OpenPipe(p.c.EventStreamRoute() || isEventStream(hdr))
	}
	rc := int32(C.spikard__answer_stream(C.uint64_t(id), C.int(status), (*C.char)(headers), C.size_t(hlen)))
	if rc == OK && p != nil {
		// The handler reads it once the answer reaches it: after the
		// callback returned (the slot is pinned until then) or, waiting,
		// when woken (which needs waiting's lock, held by the caller).
		p.pipe.Store(pipe)
	}
	if rc != OK {
		if sid != 0 {
			stream.Release(sid)
		}
		return rc
	}
	if sid == 0 {
		return result(errf(EINTERNAL, "spikard_stream_begin: request %d was answered but nobody waits for it", id))
	}
	*out = sid
	return OK
}

// isEventStream reports whether a header block names text/event-stream
// as its Content-Type.
func isEventStream(h []byte) bool {
	found := false
	forEachHeader(h, func(name, value []byte) {
		if equalFold(name, "Content-Type") && len(value) >= len(sse.ContentType) &&
			equalFold(value[:len(sse.ContentType)], sse.ContentType) {
			found = true
		}
	})
	return found
}

// streamErr maps core/stream's errors to result codes.
func streamErr(fn string, sid uint64, err error) int32 {
	var inv *sse.InvalidEventError
	switch {
	case err == nil:
		return OK
	case errors.Is(err, stream.ErrUnknown):
		if stream.Issued(sid) {
			return result(errf(ESTATE, "%s: stream %d was already ended", fn, sid))
		}
		return result(errf(EBADHANDLE, "%s: %d is not a stream this library issued", fn, sid))
	case errors.Is(err, stream.ErrEnded):
		return result(errf(ESTATE, "%s: stream %d was already ended", fn, sid))
	case errors.Is(err, stream.ErrGone):
		return result(errf(ECLOSED, "%s: stream %d: the client went away; end the stream", fn, sid))
	case errors.Is(err, stream.ErrShutdown):
		return result(errf(ECLOSED, "%s: stream %d: the app is shutting down; end the stream", fn, sid))
	case errors.As(err, &inv):
		return result(errf(EINVAL, "%s: stream %d: the event does not match the route's event_schema: %v", fn, sid, err))
	}
	return result(errf(EINTERNAL, "%s: stream %d: %v", fn, sid, err))
}

// StreamWrite implements spikard_stream_write.
func StreamWrite(sid uint64, data unsafe.Pointer, n uintptr) (code int32) {
	defer guard(&code, "spikard_stream_write")
	if data == nil && n > 0 {
		return result(errf(EINVAL, "spikard_stream_write: a NULL buffer with a non-zero length"))
	}
	return streamErr("spikard_stream_write", sid, stream.Write(sid, goBytes(data, n)))
}

// StreamEnd implements spikard_stream_end.
func StreamEnd(sid uint64) (code int32) {
	defer guard(&code, "spikard_stream_end")
	return streamErr("spikard_stream_end", sid, stream.End(sid))
}

// StreamFail implements spikard_stream_fail.
func StreamFail(sid uint64, msg unsafe.Pointer) (code int32) {
	defer guard(&code, "spikard_stream_fail")
	reason := cString(msg)
	if err := stream.Fail(sid, errors.New("the host failed while streaming: "+reason)); err != nil {
		return streamErr("spikard_stream_fail", sid, err)
	}
	logger.Error("libspikard: the host failed while streaming; the response was cut off", "stream", sid, "error", reason)
	return OK
}

// SSESend implements spikard_sse_send.
func SSESend(sid uint64, event unsafe.Pointer, eventLen uintptr, data unsafe.Pointer, dataLen uintptr,
	id unsafe.Pointer, idLen uintptr, comment unsafe.Pointer, commentLen uintptr, retryMS int64) (code int32) {
	defer guard(&code, "spikard_sse_send")
	if (event == nil && eventLen > 0) || (data == nil && dataLen > 0) || (id == nil && idLen > 0) ||
		(comment == nil && commentLen > 0) {
		return result(errf(EINVAL, "spikard_sse_send: a NULL buffer with a non-zero length"))
	}
	e := sse.Event{
		Event:   string(goBytes(event, eventLen)),
		Data:    string(goBytes(data, dataLen)),
		ID:      string(goBytes(id, idLen)),
		Comment: string(goBytes(comment, commentLen)),
	}
	if retryMS > 0 {
		e.Retry = time.Duration(retryMS) * time.Millisecond
	}
	return streamErr("spikard_sse_send", sid, stream.WriteEvent(sid, e))
}
