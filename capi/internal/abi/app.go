// Package abi implements libspikard's C ABI (include/spikard.h) on the core
// pipeline. capi (package main) exports its entry points under the C names;
// capi/capitest drives the same entry points from Go tests.
//
// Handles are plain numbers kept in maps behind a mutex: no Go pointer ever
// reaches C. Request data is copied into one C allocation per request, which
// the library frees when the request is answered (or when its app is freed).
package abi

/*
#include "cside.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/valyala/fasthttp"
)

// closeEventGrace bounds how long a shutdown waits, after its deadline, for
// the close events of the WebSocket connections it cut.
const closeEventGrace = 2 * time.Second

// DefaultHandlerTimeout applies when the document sets no
// server.handler_timeout_ms.
const DefaultHandlerTimeout = 30 * time.Second

// maxHandlerTimeoutMS caps server.handler_timeout_ms (one day).
const maxHandlerTimeoutMS = 24 * 60 * 60 * 1000

var logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

// SetLogger replaces the library's logger for apps created afterwards (a
// hook for tests; hosts see the log on stderr).
func SetLogger(l *slog.Logger) { logger = l }

// registry holds every live app handle.
var registry = struct {
	mu      sync.Mutex
	apps    map[int64]*App
	nextApp int64
}{apps: map[int64]*App{}}

type lifeState uint8

const (
	stNew       lifeState = iota // handlers may be bound
	stListening                  // serving; bindings are frozen
	stClosing                    // shutdown in progress
	stClosed                     // shut down: no more listening
)

// App is one app handle.
type App struct {
	handle  int64
	core    *app.App
	timeout time.Duration // 0: wait for the host without limit

	// life serialises the lifecycle calls (bind, listen, shutdown, free).
	life     sync.Mutex
	state    lifeState
	bindings map[string]*binding
	lns      []net.Listener

	// Written with every waiting shard locked, read under one. freed: no
	// request starts any more (spikard_app_free); aborting: abortAll ran,
	// handlers publishing a block afterwards abort it themselves.
	freed, aborting bool
	// inflight counts, per waiting shard (under its lock), the requests
	// being handed over (pending.handing): spikard_app_free waits for none
	// before it calls free_data and frees the C half. A counter per cache
	// line, so that two cores do not share one.
	inflight [waitShards]struct {
		n int32
		_ [60]byte
	}
	// calls counts, per P (a hint), the callback requests under way
	// (serveCallback), which are not in waiting; gone: spikard_app_free
	// started, no callback request starts any more. Atomic: a callback
	// request takes no lock.
	calls [waitShards]struct {
		n atomic.Int32
		_ [60]byte
	}
	gone atomic.Bool

	// cs is the app's half in C (cside.c): its queue, its ready descriptor,
	// its requests.
	cs *C.sk_app
}

// binding is one handler name bound to a callback or to the queue.
type binding struct {
	name string
	fn   uintptr // spikard_handler_fn, 0 for queued
	data uintptr
	free uintptr
	tag  uint64
}

func lookupApp(h int64) *App {
	registry.mu.Lock()
	a := registry.apps[h]
	registry.mu.Unlock()
	return a
}

func badApp(fn string, h int64) *Error {
	return errf(EBADHANDLE, "%s: %d is not a live app handle", fn, h)
}

// goBytes views C memory as a byte slice without copying.
func goBytes(p unsafe.Pointer, n uintptr) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// cString reads a NUL-terminated C string (without copying it twice).
func cString(p unsafe.Pointer) string {
	if p == nil {
		return ""
	}
	return C.GoString((*C.char)(p))
}

// AppNew implements spikard_app_new.
func AppNew(doc unsafe.Pointer, n uintptr, out *int64) (code int32) {
	defer guard(&code, "spikard_app_new")
	if doc == nil || out == nil || n == 0 {
		return result(errf(EINVAL, "spikard_app_new: config_json and out_app are required and config_len must not be 0"))
	}
	a, err := newApp(goBytes(doc, n))
	if err != nil {
		return result(err)
	}
	startCollector()
	registry.mu.Lock()
	registry.nextApp++
	a.handle = registry.nextApp
	a.cs = C.spikard__app_new(C.int64_t(a.handle), C.int64_t(a.timeout/time.Millisecond))
	if a.cs == nil {
		registry.mu.Unlock()
		return result(errf(EINTERNAL, "spikard_app_new: out of memory"))
	}
	registry.apps[a.handle] = a
	registry.mu.Unlock()
	*out = a.handle
	return OK
}

// newApp reads and compiles a configuration document.
func newApp(doc []byte) (*App, *Error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errf(ECONFIG, "spikard_app_new: the configuration document is not valid JSON: %v (at byte %d)", err, se.Offset)
		}
		return nil, errf(ECONFIG, "spikard_app_new: the configuration document must be a JSON object: %v", err)
	}
	rawVer, ok := top["version"]
	if !ok {
		return nil, errf(ECONFIG, `spikard_app_new: the configuration document has no "version" member (this library reads version %d)`, config.Version)
	}
	var ver json.Number
	if c := rawVer[0]; (c < '0' || c > '9') && c != '-' {
		return nil, errf(ECONFIG, `spikard_app_new: "version" must be a number, got %s`, clip(rawVer))
	}
	if err := json.Unmarshal(rawVer, &ver); err != nil {
		return nil, errf(ECONFIG, `spikard_app_new: "version" must be a number, got %s`, clip(rawVer))
	}
	if v, err := ver.Int64(); err != nil || v != config.Version {
		return nil, errf(EVERSION, "spikard_app_new: configuration document version %s is not supported: this library (%s) reads version %d",
			ver, Version(), config.Version)
	}
	cfg, err := config.Parse(doc)
	if err != nil {
		return nil, errf(ECONFIG, "spikard_app_new: %v", err)
	}
	timeout := DefaultHandlerTimeout
	if ms := cfg.Server.HandlerTimeoutMS; ms != nil {
		if *ms < 0 || *ms > maxHandlerTimeoutMS {
			return nil, errf(ECONFIG, "spikard_app_new: server.handler_timeout_ms must be an integer from 0 to %d, got %d", maxHandlerTimeoutMS, *ms)
		}
		timeout = time.Duration(*ms) * time.Millisecond
	}
	for i, r := range cfg.Routes {
		if r.Handler == "" {
			return nil, errf(ECONFIG, "spikard_app_new: routes[%d] (%s %s) names no handler", i, r.Method, r.Path)
		}
	}
	// Compile every route now, with stand-in handlers for every name the
	// document uses (routes, lifecycle hooks, dependency factories), so that
	// the document's errors are reported by the call that carried it.
	check := app.New(*cfg)
	list, err := check.HandlerNames()
	if err != nil {
		return nil, errf(ECONFIG, "spikard_app_new: %v", err)
	}
	for _, name := range list {
		check.Handle(name, func(*app.Ctx) error { return nil })
	}
	if _, err := check.Build(); err != nil {
		return nil, errf(ECONFIG, "spikard_app_new: %v", err)
	}
	core := app.New(*cfg)
	core.SetLogger(logger)
	return &App{
		core:     core,
		timeout:  timeout,
		bindings: map[string]*binding{},
	}, nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// AppFree implements spikard_app_free.
func AppFree(h int64) (code int32) {
	defer guard(&code, "spikard_app_free")
	registry.mu.Lock()
	a := registry.apps[h]
	delete(registry.apps, h)
	registry.mu.Unlock()
	if a == nil {
		return result(badApp("spikard_app_free", h))
	}
	a.life.Lock()
	defer a.life.Unlock()
	a.shutdownLocked(0)

	// No callback runs after this point.
	a.gone.Store(true)
	lockAll()
	a.freed = true
	unlockAll()
	a.waitHanding()
	a.abortAll() // requests a callback created while the shutdown ran

	// The C half frees what is still held for the host (requests that timed
	// out or were cut off) and closes the ready descriptor.
	C.spikard__app_free(a.cs)
	for _, b := range a.bindings {
		if b.free != 0 {
			C.spikard__free_data(C.uintptr_t(b.free), C.uintptr_t(b.data))
		}
	}
	return OK
}

// HandleCallback implements spikard_app_handle_callback.
func HandleCallback(h int64, name unsafe.Pointer, fn, data, free uintptr) (code int32) {
	defer guard(&code, "spikard_app_handle_callback")
	if fn == 0 {
		return result(errf(EINVAL, "spikard_app_handle_callback: fn is required"))
	}
	return result(bind("spikard_app_handle_callback", h, name, &binding{fn: fn, data: data, free: free}))
}

// HandleQueued implements spikard_app_handle_queued.
func HandleQueued(h int64, name unsafe.Pointer, tag uint64) (code int32) {
	defer guard(&code, "spikard_app_handle_queued")
	return result(bind("spikard_app_handle_queued", h, name, &binding{tag: tag}))
}

func bind(fn string, h int64, name unsafe.Pointer, b *binding) *Error {
	if name == nil {
		return errf(EINVAL, "%s: name is required", fn)
	}
	b.name = cString(name)
	if b.name == "" {
		return errf(EINVAL, "%s: name must not be empty", fn)
	}
	a := lookupApp(h)
	if a == nil {
		return badApp(fn, h)
	}
	a.life.Lock()
	defer a.life.Unlock()
	switch {
	case a.state != stNew:
		return errf(ESTATE, "%s: app %d is already listening or shut down: bind every handler before spikard_app_listen", fn, h)
	case a.bindings[b.name] != nil:
		return errf(ESTATE, "%s: handler %q is already bound", fn, b.name)
	}
	a.bindings[b.name] = b
	if a.isWebSocketName(b.name) {
		a.core.HandleWebSocket(b.name, a.wsHandler(b))
	} else {
		a.core.Handle(b.name, func(c *app.Ctx) error { return a.serve(c, b) })
	}
	return nil
}

// AppConfig implements spikard_app_config.
func AppConfig(h int64, buf unsafe.Pointer, capacity uintptr, outLen *uintptr) (code int32) {
	defer guard(&code, "spikard_app_config")
	if outLen == nil || (buf == nil && capacity > 0) {
		return result(errf(EINVAL, "spikard_app_config: out_len is required, and buf when cap > 0"))
	}
	a := lookupApp(h)
	if a == nil {
		return result(badApp("spikard_app_config", h))
	}
	doc, err := json.Marshal(a.core.Config())
	if err != nil {
		return result(errf(EINTERNAL, "spikard_app_config: %v", err))
	}
	*outLen = uintptr(len(doc))
	if uintptr(len(doc)) > capacity {
		return result(errf(ERANGE, "spikard_app_config: the document is %d bytes, the buffer %d", len(doc), capacity))
	}
	copy(goBytes(buf, capacity), doc)
	return OK
}

// AppOpenAPI implements spikard_app_openapi.
func AppOpenAPI(h int64, buf unsafe.Pointer, capacity uintptr, outLen *uintptr) (code int32) {
	defer guard(&code, "spikard_app_openapi")
	if outLen == nil || (buf == nil && capacity > 0) {
		return result(errf(EINVAL, "spikard_app_openapi: out_len is required, and buf when cap > 0"))
	}
	a := lookupApp(h)
	if a == nil {
		return result(badApp("spikard_app_openapi", h))
	}
	doc, err := a.core.OpenAPI()
	if err != nil {
		return result(errf(ECONFIG, "spikard_app_openapi: %v", err))
	}
	*outLen = uintptr(len(doc))
	if uintptr(len(doc)) > capacity {
		return result(errf(ERANGE, "spikard_app_openapi: the document is %d bytes, the buffer %d", len(doc), capacity))
	}
	copy(goBytes(buf, capacity), doc)
	return OK
}

// Listen implements spikard_app_listen.
func Listen(h int64, host unsafe.Pointer, port uint16, outPort *uint16) (code int32) {
	defer guard(&code, "spikard_app_listen")
	a := lookupApp(h)
	if a == nil {
		return result(badApp("spikard_app_listen", h))
	}
	hostname := cString(host)
	if hostname == "" {
		hostname = a.core.Config().Server.Host
	}
	if hostname == "" {
		hostname = "127.0.0.1"
	}
	a.life.Lock()
	defer a.life.Unlock()
	if a.state >= stClosing {
		return result(errf(ESTATE, "spikard_app_listen: app %d was shut down", h))
	}
	srv, err := a.core.Server()
	if err != nil {
		return result(errf(ECONFIG, "spikard_app_listen: %v (bind it with spikard_app_handle_callback or spikard_app_handle_queued)", err))
	}
	ln, err := a.core.Listen(net.JoinHostPort(hostname, strconv.Itoa(int(port))))
	if err != nil {
		return result(errf(EIO, "spikard_app_listen: %v", err))
	}
	a.state = stListening
	a.lns = append(a.lns, ln)
	go func() { _ = srv.Serve(ln) }()
	if outPort != nil {
		*outPort = uint16(ln.Addr().(*net.TCPAddr).Port)
	}
	return OK
}

// Handler builds the app, freezes its bindings as listen does, and returns
// the request handler without opening a socket: a hook for Go tests and
// fuzzing (capi/capitest), not part of the C ABI.
func Handler(h int64) (fasthttp.RequestHandler, error) {
	a := lookupApp(h)
	if a == nil {
		return nil, badApp("Handler", h)
	}
	a.life.Lock()
	defer a.life.Unlock()
	if a.state >= stClosing {
		return nil, errf(ESTATE, "app %d was shut down", h)
	}
	hd, err := a.core.Build()
	if err != nil {
		return nil, err
	}
	a.state = stListening
	return hd, nil
}

// Server is Handler's server: the app's fasthttp server as
// spikard_app_listen makes it, for in-process benchmarks (not in the C ABI).
func Server(h int64) (*fasthttp.Server, error) {
	if _, err := Handler(h); err != nil {
		return nil, err
	}
	return lookupApp(h).core.Server()
}

// Shutdown implements spikard_app_shutdown.
func Shutdown(h int64, timeoutMS int32) (code int32) {
	defer guard(&code, "spikard_app_shutdown")
	a := lookupApp(h)
	if a == nil {
		return result(badApp("spikard_app_shutdown", h))
	}
	a.life.Lock()
	defer a.life.Unlock()
	return result(a.shutdownLocked(timeoutMS))
}

// shutdownLocked stops serving: graceful for timeoutMS, then every request
// still waiting for the host is answered 503. Called with a.life held.
func (a *App) shutdownLocked(timeoutMS int32) *Error {
	if a.state >= stClosing {
		return nil
	}
	a.state = stClosing
	for _, ln := range a.lns {
		_ = ln.Close() // also covers a Serve that has not registered ln yet
	}
	ctx := context.Background()
	if timeoutMS >= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutMS)*time.Millisecond)
		defer cancel()
	}
	_ = a.core.Shutdown(ctx)
	// Connections cut at the deadline end a moment later: let their close
	// events reach the host (its queue still delivers) before it closes.
	wctx, wcancel := context.WithTimeout(context.Background(), closeEventGrace)
	_ = a.core.WaitWebSockets(wctx)
	wcancel()
	cut := a.abortAll()
	C.spikard__app_close(a.cs)
	a.state = stClosed
	if cut > 0 {
		return errf(ETIMEOUT, "spikard_app_shutdown: the grace period ended with %d request(s) unanswered by the host; their clients got 503", cut)
	}
	return nil
}

// NotImplemented implements the reserved functions.
func NotImplemented(fn string) int32 {
	return result(errf(ENOTIMPL, "%s is reserved in ABI version %d and not implemented by libspikard %s", fn, ABIVersion(), Version()))
}

// Live reports how many app handles, C app halves and requests are alive:
// tests assert that nothing is left behind.
func Live() (handles, apps, requests int) {
	registry.mu.Lock()
	handles = len(registry.apps)
	registry.mu.Unlock()
	l := C.spikard__live()
	return handles, int(l.apps), int(l.blocks)
}
