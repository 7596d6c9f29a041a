// Package capitest drives libspikard's C ABI from Go tests: every function
// of include/spikard.h is called through its C symbol, exactly as a host
// calls it (import "C" is not allowed in _test.go files, so the calls live
// here). The library's code is linked in from capi/internal/abi.
//
// Last-error messages are per thread: each wrapper locks its goroutine to
// the thread for the call and the read of spikard_last_error.
package capitest

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -Wall
#include <stdlib.h>
#include "spikard.h"
#include "helpers.h"
*/
import "C"

import (
	"io"
	"log/slog"
	"runtime"
	"sync"
	"unsafe"

	"github.com/spikard/spikard-go/capi/internal/abi"
	"github.com/valyala/fasthttp"
)

// Result codes (spikard_error).
const (
	OK         = int(C.SPIKARD_OK)
	EINVAL     = int(C.SPIKARD_EINVAL)
	EBADHANDLE = int(C.SPIKARD_EBADHANDLE)
	EVERSION   = int(C.SPIKARD_EVERSION)
	ECONFIG    = int(C.SPIKARD_ECONFIG)
	ETIMEOUT   = int(C.SPIKARD_ETIMEOUT)
	ESTATE     = int(C.SPIKARD_ESTATE)
	ERANGE     = int(C.SPIKARD_ERANGE)
	ECLOSED    = int(C.SPIKARD_ECLOSED)
	EIO        = int(C.SPIKARD_EIO)
	ENOTIMPL   = int(C.SPIKARD_ENOTIMPL)
	EINTERNAL  = int(C.SPIKARD_EINTERNAL)
)

// Header macros.
const (
	ABIVersion    = int(C.SPIKARD_ABI_VERSION)
	Version       = C.SPIKARD_VERSION
	ConfigVersion = int(C.SPIKARD_CONFIG_VERSION)
	RequestSize   = int(C.sizeof_spikard_request)
)

// Err is a failed call: its code and spikard_last_error.
type Err struct {
	Code int
	Msg  string
}

func (e *Err) Error() string { return StrError(e.Code) + ": " + e.Msg }

// call runs f on a locked thread and reads the thread's last error when it
// failed.
func call(f func() C.int) (int, string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := int(f())
	if rc == OK {
		return OK, ""
	}
	return rc, C.GoString(C.spikard_last_error())
}

func cstr(s string) *C.char {
	if s == "\x00nil" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// Nil, passed where a string is expected, passes NULL.
const Nil = "\x00nil"

func ABI() uint32              { return uint32(C.spikard_abi_version()) }
func LibVersion() string       { return C.GoString(C.spikard_version()) }
func StrError(code int) string { return C.GoString(C.spikard_strerror(C.int(code))) }

// LastErrorNow reads spikard_last_error on the current (unlocked) thread.
func LastErrorNow() string { return C.GoString(C.spikard_last_error()) }

// AppNew calls spikard_app_new with a C copy of doc.
func AppNew(doc string) (int64, int, string) {
	var app C.int64_t = -7
	p := C.CBytes([]byte(doc))
	defer C.free(p)
	rc, msg := call(func() C.int { return C.spikard_app_new((*C.char)(p), C.size_t(len(doc)), &app) })
	return int64(app), rc, msg
}

// AppNewRaw passes the pointers as given (NULL checks).
func AppNewRaw(doc *byte, n uintptr, out *int64) (int, string) {
	return call(func() C.int {
		return C.spikard_app_new((*C.char)(unsafe.Pointer(doc)), C.size_t(n), (*C.int64_t)(unsafe.Pointer(out)))
	})
}

func AppFree(app int64) (int, string) {
	return call(func() C.int { return C.spikard_app_free(C.int64_t(app)) })
}

// Callback handlers written in C (helpers.c).
const (
	CEcho     = 0 // answers the values JSON inside the callback
	CTwice    = 1 // answers twice inside the callback (TwiceRC keeps the second result)
	CRaise    = 2 // spikard_respond_error inside the callback
	CLater    = 3 // does not answer; LastID returns the id
	CGo       = 4 // calls the Go function registered with GoHandler
	CEchoBody = 5 // answers the raw body inside the callback
	CForeign  = 6 // another thread answers during the callback (ForeignRC: the callback's own try)
	CRace     = 7 // answers inside while another thread races it with the same id (Racers: still running)
)

// HandleC binds name to one of the C handlers; withFree passes a free_data
// that counts its calls (Freed).
func HandleC(app int64, name string, which int, withFree bool) (int, string) {
	n := cstr(name)
	defer free(n)
	var fr C.spikard_free_fn
	if withFree {
		fr = C.spikard_free_fn(C.capitest_count_free)
	}
	return call(func() C.int {
		return C.spikard_app_handle_callback(C.int64_t(app), n, C.capitest_fn(C.int(which)), nil, fr)
	})
}

// HandleNilFn passes a NULL handler function.
func HandleNilFn(app int64, name string) (int, string) {
	n := cstr(name)
	defer free(n)
	return call(func() C.int { return C.spikard_app_handle_callback(C.int64_t(app), n, nil, nil, nil) })
}

var goHandlers = struct {
	sync.Mutex
	m    map[uintptr]func(Request)
	next uintptr
}{m: map[uintptr]func(Request){}}

// HandleGo binds name to fn, called on a library thread per request (as a
// C callback handler that calls into Go).
func HandleGo(app int64, name string, fn func(Request)) (int, string) {
	goHandlers.Lock()
	goHandlers.next++
	key := goHandlers.next
	goHandlers.m[key] = fn
	goHandlers.Unlock()
	n := cstr(name)
	defer free(n)
	return call(func() C.int {
		return C.capitest_handle_go(C.int64_t(app), n, C.uintptr_t(key))
	})
}

func HandleQueued(app int64, name string, tag uint64) (int, string) {
	n := cstr(name)
	defer free(n)
	return call(func() C.int { return C.spikard_app_handle_queued(C.int64_t(app), n, C.uint64_t(tag)) })
}

// Freed is how many times the counting free_data ran.
func Freed() int { return int(C.capitest_get_freed()) }

// TwiceRC is the result of the second answer of the CTwice handler.
func TwiceRC() int { return int(C.capitest_get_second_rc()) }

// HoldReturned makes the library hold a callback request that returned
// unanswered for us microseconds before its Go handler takes it over.
func HoldReturned(us int) { C.spikard__test_hold_returned(C.uint(us)) }

// ForeignRC is what the CForeign handler's own answer returned last.
func ForeignRC() int { return int(C.capitest_get_foreign_rc()) }

// Racers counts the CRace handlers' threads still running.
func Racers() int { return int(C.capitest_get_racers()) }

// LastID is the id the CLater handler saw last.
func LastID() uint64 { return uint64(C.capitest_get_last_id()) }

// AppConfig calls spikard_app_config with a buffer of bufCap bytes.
func AppConfig(app int64, bufCap int) (doc string, need int, rc int, msg string) {
	var buf unsafe.Pointer
	if bufCap > 0 {
		buf = C.malloc(C.size_t(bufCap))
		defer C.free(buf)
	}
	var n C.size_t = 12345
	rc, msg = call(func() C.int { return C.spikard_app_config(C.int64_t(app), (*C.char)(buf), C.size_t(bufCap), &n) })
	if rc == OK {
		doc = C.GoStringN((*C.char)(buf), C.int(n))
	}
	return doc, int(n), rc, msg
}

// AppConfigNilLen passes out_len == NULL.
func AppConfigNilLen(app int64) (int, string) {
	return call(func() C.int { return C.spikard_app_config(C.int64_t(app), nil, 0, nil) })
}

// Listen calls spikard_app_listen (host Nil passes NULL).
func Listen(app int64, host string, port uint16) (uint16, int, string) {
	h := cstr(host)
	defer free(h)
	var out C.uint16_t
	rc, msg := call(func() C.int { return C.spikard_app_listen(C.int64_t(app), h, C.uint16_t(port), &out) })
	return uint16(out), rc, msg
}

func Shutdown(app int64, timeoutMS int) (int, string) {
	return call(func() C.int { return C.spikard_app_shutdown(C.int64_t(app), C.int(timeoutMS)) })
}

func ReadyFD(app int64) (int, int, string) {
	var fd C.int = -1
	rc, msg := call(func() C.int { return C.spikard_app_ready_fd(C.int64_t(app), &fd) })
	return int(fd), rc, msg
}

func ReadyFDNil(app int64) (int, string) {
	return call(func() C.int { return C.spikard_app_ready_fd(C.int64_t(app), nil) })
}

// Readable polls fd for up to timeoutMS.
func Readable(fd, timeoutMS int) bool { return C.capitest_poll(C.int(fd), C.int(timeoutMS)) != 0 }

// Request is a copy of a spikard_request.
type Request struct {
	Size, Kind                       uint32
	ID, Tag                          uint64
	App                              int64
	Handler, Method, Path, Query     string
	Headers, RequestID, Values, Body string
	Conn                             uint64
}

func gostr(p *C.char, n C.size_t) string { return C.GoStringN(p, C.int(n)) }

func view(r *C.spikard_request) Request {
	return Request{
		Size: uint32(r.size), Kind: uint32(r.kind), ID: uint64(r.id), Tag: uint64(r.tag), App: int64(r.app),
		Handler: gostr(r.handler, r.handler_len), Method: gostr(r.method, r.method_len),
		Path: gostr(r.path, r.path_len), Query: gostr(r.query, r.query_len),
		Headers: gostr(r.headers, r.headers_len), RequestID: gostr(r.request_id, r.request_id_len),
		Values: gostr(r.values, r.values_len), Body: gostr(r.body, r.body_len), Conn: uint64(r.conn),
	}
}

// Next calls spikard_next with room for capN requests (capN 0 passes a
// NULL array).
func Next(app int64, timeoutMS, capN int) ([]Request, int, string) {
	return next(app, capN, func(out *C.spikard_request, n *C.size_t) C.int {
		return C.spikard_next(C.int64_t(app), C.int(timeoutMS), out, C.size_t(capN), n)
	})
}

func TryNext(app int64, capN int) ([]Request, int, string) {
	return next(app, capN, func(out *C.spikard_request, n *C.size_t) C.int {
		return C.spikard_try_next(C.int64_t(app), out, C.size_t(capN), n)
	})
}

func next(app int64, capN int, f func(*C.spikard_request, *C.size_t) C.int) ([]Request, int, string) {
	var out *C.spikard_request
	if capN > 0 {
		out = (*C.spikard_request)(C.calloc(C.size_t(capN), C.sizeof_spikard_request))
		defer C.free(unsafe.Pointer(out))
	}
	var n C.size_t = 999
	rc, msg := call(func() C.int { return f(out, &n) })
	var reqs []Request
	if rc == OK {
		for _, r := range unsafe.Slice(out, int(n)) {
			reqs = append(reqs, view(&r))
		}
	} else if n != 0 {
		msg = "BUG: out_n not zeroed on failure: " + msg
	}
	return reqs, rc, msg
}

// NextNilN passes out_n == NULL.
func NextNilN(app int64) (int, string) {
	var r C.spikard_request
	return call(func() C.int { return C.spikard_next(C.int64_t(app), 0, &r, 1, nil) })
}

// Respond calls spikard_respond (Nil headers or body pass NULL with the
// given lengths).
func Respond(id uint64, status int, headers string, hlen int, body string, blen int) (int, string) {
	h, b := cstr(headers), cstr(body)
	defer free(h)
	defer free(b)
	return call(func() C.int {
		return C.spikard_respond(C.uint64_t(id), C.int(status), h, C.size_t(hlen), b, C.size_t(blen))
	})
}

// Answer is Respond with the lengths of the strings.
func Answer(id uint64, status int, headers, body string) (int, string) {
	return Respond(id, status, headers, len(headers), body, len(body))
}

// Continue calls spikard_continue (Nil changes passes NULL with the given
// length).
func Continue(id uint64, changes string, n int) (int, string) {
	c := cstr(changes)
	defer free(c)
	return call(func() C.int { return C.spikard_continue(C.uint64_t(id), c, C.size_t(n)) })
}

// Background calls spikard_background (payload Nil passes NULL, 0).
func Background(id uint64, handler, payload string) (int, string) {
	h, p := cstr(handler), cstr(payload)
	defer free(h)
	defer free(p)
	n := len(payload)
	if payload == Nil {
		n = 0
	}
	return call(func() C.int { return C.spikard_background(C.uint64_t(id), h, p, C.size_t(n)) })
}

// OpenAPI calls spikard_app_openapi with a buffer of bufCap bytes.
func OpenAPI(app int64, bufCap int) (doc string, need int, rc int, msg string) {
	var buf unsafe.Pointer
	if bufCap > 0 {
		buf = C.malloc(C.size_t(bufCap))
		defer C.free(buf)
	}
	var n C.size_t
	rc, msg = call(func() C.int { return C.spikard_app_openapi(C.int64_t(app), (*C.char)(buf), C.size_t(bufCap), &n) })
	if rc == OK {
		doc = C.GoStringN((*C.char)(buf), C.int(n))
	}
	return doc, int(n), rc, msg
}

func RespondError(id uint64, message string) (int, string) {
	m := cstr(message)
	defer free(m)
	return call(func() C.int { return C.spikard_respond_error(C.uint64_t(id), m) })
}

// Reserved calls every reserved function and returns their results.
func Reserved(app int64) map[string]int {
	return map[string]int{
		"spikard_app_on_shutdown": int(C.spikard_app_on_shutdown(C.int64_t(app), nil, nil, nil)),
	}
}

// Request kinds.
const (
	KindHTTP      = uint32(C.SPIKARD_KIND_HTTP)
	KindWSOpen    = uint32(C.SPIKARD_KIND_WS_OPEN)
	KindWSMessage = uint32(C.SPIKARD_KIND_WS_MESSAGE)
	KindWSClose   = uint32(C.SPIKARD_KIND_WS_CLOSE)
)

// cbuf lends a Go string to C for one call ("\x00nil" passes NULL).
func cbuf(s string) (*C.char, C.size_t, func()) {
	if s == "\x00nil" {
		return nil, 0, func() {}
	}
	if s == "" {
		return nil, 0, func() {}
	}
	p := C.CString(s)
	return p, C.size_t(len(s)), func() { C.free(unsafe.Pointer(p)) }
}

// StreamBegin calls spikard_stream_begin.
func StreamBegin(id uint64, status int, headers string) (uint64, int, string) {
	h, hn, done := cbuf(headers)
	defer done()
	var s C.uint64_t
	rc, msg := call(func() C.int { return C.spikard_stream_begin(C.uint64_t(id), C.int(status), h, hn, &s) })
	return uint64(s), rc, msg
}

// StreamBeginNilOut calls spikard_stream_begin without out_stream.
func StreamBeginNilOut(id uint64) (int, string) {
	return call(func() C.int { return C.spikard_stream_begin(C.uint64_t(id), 200, nil, 0, nil) })
}

func StreamWrite(s uint64, data string) (int, string) {
	d, n, done := cbuf(data)
	defer done()
	return call(func() C.int { return C.spikard_stream_write(C.uint64_t(s), d, n) })
}

// StreamWriteNil passes a NULL buffer with a length.
func StreamWriteNil(s uint64, n int) (int, string) {
	return call(func() C.int { return C.spikard_stream_write(C.uint64_t(s), nil, C.size_t(n)) })
}

func StreamEnd(s uint64) (int, string) {
	return call(func() C.int { return C.spikard_stream_end(C.uint64_t(s)) })
}

func StreamFail(s uint64, message string) (int, string) {
	m := cstr(message)
	defer free(m)
	return call(func() C.int { return C.spikard_stream_fail(C.uint64_t(s), m) })
}

// SSESend calls spikard_sse_send ("" leaves a field out).
func SSESend(s uint64, event, data, id, comment string, retryMS int64) (int, string) {
	e, en, d1 := cbuf(event)
	defer d1()
	d, dn, d2 := cbuf(data)
	defer d2()
	i, in, d3 := cbuf(id)
	defer d3()
	c, cn, d4 := cbuf(comment)
	defer d4()
	return call(func() C.int {
		return C.spikard_sse_send(C.uint64_t(s), e, en, d, dn, i, in, c, cn, C.int64_t(retryMS))
	})
}

func WSSend(conn uint64, opcode int, data string) (int, string) {
	d, n, done := cbuf(data)
	defer done()
	return call(func() C.int { return C.spikard_ws_send(C.uint64_t(conn), C.int(opcode), d, n) })
}

func WSClose(conn uint64, code int, reason string) (int, string) {
	r, n, done := cbuf(reason)
	defer done()
	return call(func() C.int { return C.spikard_ws_close(C.uint64_t(conn), C.int(code), r, n) })
}

// Live reports the app handles, C app halves and requests still alive.
func Live() (handles, apps, requests int) { return abi.Live() }

// Serve returns the app's request handler, for in-process requests without
// a socket (abi.Handler: binds like spikard_app_listen, opens nothing).
func Serve(app int64) (fasthttp.RequestHandler, error) { return abi.Handler(app) }

// Server is the app's fasthttp server as spikard_app_listen configures it,
// without a socket (for in-process benchmarks).
func Server(app int64) (*fasthttp.Server, error) { return abi.Server(app) }

// QuietLogs sends the library's log to w (nil: discard) for apps created
// afterwards.
func QuietLogs(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	abi.SetLogger(slog.New(slog.NewTextHandler(w, nil)))
}
