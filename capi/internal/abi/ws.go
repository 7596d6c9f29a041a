package abi

/*
#include "cside.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/spikard/spikard-go/core/ws"
)

// WebSocket routes: core/ws does the protocol; each connection event
// becomes an invocation of the route's handler (a block of kind
// SPIKARD_KIND_WS_*, with the connection id in `conn`), delivered through
// the same callback or queue as requests. The connection's goroutine waits
// for the host to finish each event, so one connection's events reach the
// host one at a time, in order, and a slow host slows the client's reads.

// isWebSocketName reports whether a websocket route names this handler.
func (a *App) isWebSocketName(name string) bool {
	for _, r := range a.core.Config().Routes {
		if r.WebSocket != nil && r.Handler == name {
			return true
		}
	}
	return false
}

func (a *App) wsHandler(b *binding) ws.Handler {
	return ws.Handler{
		OnConnect: func(c *ws.Conn) error {
			return a.wsEvent(b, c, C.SPIKARD_KIND_WS_OPEN, "GET", nil)
		},
		OnMessage: func(c *ws.Conn, m ws.Message) error {
			method := "TEXT"
			if m.Type == ws.Binary {
				method = "BINARY"
			}
			return a.wsEvent(b, c, C.SPIKARD_KIND_WS_MESSAGE, method, m.Data)
		},
		OnClose: func(c *ws.Conn, code int, reason string) {
			body := make([]byte, 2+len(reason))
			binary.BigEndian.PutUint16(body, uint16(code))
			copy(body[2:], reason)
			_ = a.wsEvent(b, c, C.SPIKARD_KIND_WS_CLOSE, "CLOSE", body)
		},
	}
}

var errAppGone = errors.New("libspikard: the app is shutting down")

// wsEvent hands one event to the host and waits until it is finished. An
// error closes the connection with 1011 (core/ws logs it).
func (a *App) wsEvent(b *binding, c *ws.Conn, kind C.uint32_t, method string, body []byte) error {
	req := c.Request()
	var headers []byte
	if kind == C.SPIKARD_KIND_WS_OPEN {
		for i, h := range req.Headers {
			if i > 0 {
				headers = append(headers, "\r\n"...)
			}
			headers = append(headers, h[0]...)
			headers = append(headers, ": "...)
			headers = append(headers, h[1]...)
		}
	}
	p := pendingPool.Get().(*pending)
	var blk *C.sk_block
	if b.fn != 0 {
		// As serveCallback: one crossing, no lock unless the callback
		// returns without an answer.
		p.key, p.app, p.c = 0, a, nil
		v, m := view(&p.sc, b, kind, c.ID(), 0, uintptr(unsafe.Pointer(p)), []byte(method), []byte(req.Path), []byte(req.RawQuery),
			headers, []byte(req.RequestID), req.Values, body)
		ans, gone := a.callback(p, nil, b, v, m)
		switch {
		case gone:
			recycle(p)
			return errAppGone
		case ans.state != 0:
			err := finishEvent(c, int(ans.state), cbytes(ans.headers, ans.headers_len), cbytes(ans.body, ans.body_len))
			recycle(p)
			releaseAnswer(&ans)
			return err
		}
		blk = ans.block
	} else {
		if !a.track(p, nil, c.ID()) {
			pendingPool.Put(p)
			return errAppGone
		}
		v, m := view(&p.sc, b, kind, c.ID(), p.key, 0, []byte(method), []byte(req.Path), []byte(req.RawQuery), headers,
			[]byte(req.RequestID), req.Values, body)
		if blk = a.submit(v, m); blk == nil {
			a.untrack(p)
			recycle(p)
			return errAppGone
		}
		a.publish(p, blk)
	}
	defer recycle(p)
	switch a.await(p) {
	case resExpired:
		logger.Warn("libspikard: the host did not finish a WebSocket event in time", "request_id", req.RequestID,
			"path", req.Path, "event", method, "handler_timeout", a.timeout)
		return errors.New("the host did not finish the event within the handler timeout")
	case resAborted:
		return errAppGone
	}
	err := finishEvent(c, int(blk.ans_kind), cbytes(blk.ans, blk.ans_hlen),
		cbytes((*C.char)(unsafe.Add(unsafe.Pointer(blk.ans), blk.ans_hlen)), blk.ans_blen))
	C.spikard__block_free(blk)
	return err
}

// finishEvent applies how the host finished an event (kinds as
// finishAnswer's). The bytes are copied by the send.
func finishEvent(c *ws.Conn, kind int, headers, body []byte) error {
	switch kind {
	case 2:
		return &hostError{string(body)}
	case 3:
		return nil
	case 1:
		if len(body) == 0 {
			return nil
		}
		t := ws.Text
		forEachHeader(headers, func(name, value []byte) {
			if equalFold(name, "Content-Type") && equalFold(value, "application/octet-stream") {
				t = ws.Binary
			}
		})
		if err := c.Send(t, body); err != nil && !errors.Is(err, ws.ErrClosed) {
			return err
		}
		return nil
	}
	return errors.New("libspikard: a WebSocket event cannot be answered with a stream")
}

// wsConn finds a connection for spikard_ws_send / spikard_ws_close.
func wsConn(fn string, id uint64) (*ws.Conn, *Error) {
	if c := ws.Get(id); c != nil && !c.Over() {
		return c, nil
	}
	if ws.Issued(id) {
		return nil, errf(ECLOSED, "%s: WebSocket connection %d is closed", fn, id)
	}
	return nil, errf(EBADHANDLE, "%s: %d is not a WebSocket connection this library issued", fn, id)
}

// WSSend implements spikard_ws_send.
func WSSend(id uint64, opcode int, data unsafe.Pointer, n uintptr) (code int32) {
	defer guard(&code, "spikard_ws_send")
	if data == nil && n > 0 {
		return result(errf(EINVAL, "spikard_ws_send: a NULL buffer with a non-zero length"))
	}
	if opcode != int(ws.Text) && opcode != int(ws.Binary) {
		return result(errf(EINVAL, "spikard_ws_send: opcode %d is not 1 (text) or 2 (binary)", opcode))
	}
	c, e := wsConn("spikard_ws_send", id)
	if e != nil {
		return result(e)
	}
	switch err := c.Send(ws.MessageType(opcode), goBytes(data, n)); {
	case err == nil:
		return OK
	case errors.Is(err, ws.ErrClosed):
		return result(errf(ECLOSED, "spikard_ws_send: WebSocket connection %d is closing", id))
	case opcode == int(ws.Text) && errors.Is(err, ws.ErrInvalidUTF8):
		return result(errf(EINVAL, "spikard_ws_send: %v", err))
	default:
		return result(errf(ECLOSED, "spikard_ws_send: WebSocket connection %d: %v", id, err))
	}
}

// WSClose implements spikard_ws_close.
func WSClose(id uint64, code int, reason unsafe.Pointer, n uintptr) (rc int32) {
	defer guard(&rc, "spikard_ws_close")
	if reason == nil && n > 0 {
		return result(errf(EINVAL, "spikard_ws_close: a NULL buffer with a non-zero length"))
	}
	c, e := wsConn("spikard_ws_close", id)
	if e != nil {
		return result(e)
	}
	if err := c.Close(code, string(goBytes(reason, n))); err != nil {
		return result(errf(EINVAL, "spikard_ws_close: %v", err))
	}
	return OK
}
