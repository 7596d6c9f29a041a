/*
 * spikard.h - the C ABI of libspikard.
 *
 * libspikard is the Spikard HTTP runtime (routing, JSON Schema 2020-12
 * validation of every input, RFC 9457 problem answers, on fasthttp) built as
 * a C library from Go. Every language binding reaches the same core through
 * this header. This file is hand-written and is the contract: the header cgo
 * generates next to the library is not API, and neither is any symbol not
 * declared here.
 *
 * ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------
 *
 * An app is described by ONE versioned JSON configuration document (routes,
 * parameter/body/response schemas, server options); it crosses the ABI once,
 * in spikard_app_new. Each route names a handler; the host binds every name
 * to one of two dispatch modes before the app listens:
 *
 *   callback  spikard_app_handle_callback: the library calls your function
 *             on one of its own threads for each request. Answer with
 *             spikard_respond before the function returns, or later from any
 *             thread (asynchronous completion).
 *   queued    spikard_app_handle_queued: requests wait in the app's queue;
 *             your threads take them in batches with spikard_next (blocking,
 *             with a timeout) or spikard_try_next (non-blocking), and answer
 *             with spikard_respond. spikard_app_ready_fd gives a file
 *             descriptor that is readable while the queue is not empty, for
 *             event loops (asyncio add_reader, libuv uv_poll, epoll).
 *
 * Requests reach the host only after routing and validation succeeded: a
 * malformed or invalid request is answered by the core (400/404/405/413/422
 * problem documents) without any host code running. What the host receives
 * is a spikard_request: the method, path, headers, body and the validated,
 * coerced values as one JSON document. A request the host does not answer
 * within the app's handler timeout is answered 504 by the core.
 *
 * Lifecycle hooks and dependency factories named by the document are
 * handlers too, bound the same way: each invocation is a request whose
 * values document says why it runs ("call"). A hook answers to
 * short-circuit the request or calls spikard_continue to let it go on; a
 * factory answers its value.
 *
 * A handler may answer with a stream instead (spikard_stream_begin, then
 * spikard_stream_write or spikard_sse_send, then spikard_stream_end): the
 * body goes out chunked while the host produces it. The handler of a
 * WebSocket route (one with a "websocket" member) receives the
 * connection's events instead of requests - SPIKARD_KIND_WS_OPEN,
 * SPIKARD_KIND_WS_MESSAGE, SPIKARD_KIND_WS_CLOSE - through the same
 * callback or queue, and talks back with spikard_ws_send and
 * spikard_ws_close.
 *
 * Serving runs entirely on the library's threads: spikard_app_listen
 * returns at once, and the host thread is free.
 *
 * ------------------------------------------------------------------------
 * Conventions
 * ------------------------------------------------------------------------
 *
 * - Every function returns an int: SPIKARD_OK (0) or a negative
 *   spikard_error. Exceptions return a value by nature and say so:
 *   spikard_abi_version, spikard_version, spikard_last_error,
 *   spikard_strerror.
 * - After a failure, spikard_last_error() describes it, in the thread that
 *   made the call.
 * - Handles: an app is an int64_t; a request, a stream and a WebSocket
 *   connection are uint64_t. All are plain numbers, never pointers; 0 is
 *   never a valid handle. Using an unknown handle returns
 *   SPIKARD_EBADHANDLE; a request, stream or connection that existed and
 *   is finished gives SPIKARD_ESTATE or SPIKARD_ECLOSED as each function
 *   says. It never crashes.
 * - Byte strings are (pointer, length) pairs and need not be NUL-terminated.
 *   Plain `const char *` arguments without a length are NUL-terminated.
 * - Arguments are borrowed for the duration of the call: the library copies
 *   what it keeps. Output pointers are written only on success unless a
 *   function says otherwise.
 * - Out-parameters come last; callback data (`void *data`) comes last in a
 *   callback's arguments, and every stored `data` comes with a finalizer so
 *   that garbage-collected hosts can release their closures.
 *
 * ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------
 *
 * Every function may be called from any thread, concurrently, unless its
 * documentation says otherwise. The calls a host makes per request -
 * spikard_next, spikard_try_next, spikard_respond, spikard_respond_error,
 * spikard_continue, spikard_background, spikard_app_ready_fd - are plain
 * C: they never enter the Go runtime, so a host thread never waits for the
 * Go scheduler (the app lifecycle, stream and WebSocket calls do enter it).
 *
 * Callback handlers run on library threads, possibly many at once. A host
 * with a global interpreter lock should prefer the queued mode with one
 * thread taking batches: calling into CPython from foreign threads was
 * measured several times slower than draining the queue from one Python
 * thread. Scale such hosts with processes rather than threads.
 *
 * ------------------------------------------------------------------------
 * Signals and the Go runtime
 * ------------------------------------------------------------------------
 *
 * libspikard contains the Go runtime. One copy of it runs per process, it
 * starts when the library is loaded, and the library is never unloaded
 * (dlclose does not unload it). Load one libspikard per process.
 *
 * - The runtime installs handlers for the synchronous signals (SIGSEGV,
 *   SIGBUS, SIGFPE) and for SIGPIPE, keeping any handler installed before
 *   the library was loaded; it adds SA_ONSTACK to existing handlers. It
 *   installs nothing for SIGINT, SIGTERM, SIGHUP, SIGQUIT: those keep the
 *   host's disposition (Ctrl-C ends a C program as usual, Python still
 *   raises KeyboardInterrupt). libspikard never calls signal.Notify.
 * - SIGPIPE: a client closing its connection while the library writes does
 *   not signal the host (the write fails inside the library). A SIGPIPE
 *   raised on a host thread (the host writing to a closed pipe or socket) is
 *   forwarded to the host's handler, or, with none, kills the process as it
 *   would without the library: hosts that write to sockets should ignore
 *   SIGPIPE or use MSG_NOSIGNAL, as usual.
 * - Handlers a host installs after loading the library MUST use SA_ONSTACK
 *   (sigaction): library threads run on small stacks, and a handler without
 *   it can crash the process when the signal lands on one of them.
 * - Hosts must not change the signal mask of library threads (threads that
 *   run callback handlers).
 * - The runtime uses SIGURG internally to preempt its own threads; it is
 *   never sent to host-created threads. Set GODEBUG=asyncpreemptoff=1 if a
 *   host's code running in callback handlers cannot tolerate EINTR.
 *
 * ------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------
 *
 * SPIKARD_ABI_VERSION changes whenever a declaration of this header changes
 * incompatibly (a function's signature, the layout of spikard_request, the
 * meaning of a code). Bindings compare it with spikard_abi_version() at load
 * time and refuse a mismatch. SPIKARD_CONFIG_VERSION is the configuration
 * document version this library reads.
 */
#ifndef SPIKARD_H
#define SPIKARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPIKARD_VERSION "0.1.0"
#define SPIKARD_VERSION_MAJOR 0
#define SPIKARD_VERSION_MINOR 1
#define SPIKARD_VERSION_PATCH 0
#define SPIKARD_ABI_VERSION 2
#define SPIKARD_CONFIG_VERSION 1

/*
 * Result codes. 0 is success; failures are negative and stable, so bindings
 * can map each to an exception type.
 */
typedef enum spikard_error {
    SPIKARD_OK = 0,          /**< Success. */
    SPIKARD_EINVAL = -1,     /**< An argument is invalid: NULL where a pointer is required, a bad status code, a malformed header block, an empty name. Nothing changed. */
    SPIKARD_EBADHANDLE = -2, /**< The app handle or request id is not one the library issued (or the app was freed). */
    SPIKARD_EVERSION = -3,   /**< The configuration document's "version" is not one this library reads (see SPIKARD_CONFIG_VERSION). */
    SPIKARD_ECONFIG = -4,    /**< The configuration document is malformed or does not compile (bad JSON, bad schema, clashing routes, unbound handler name). */
    SPIKARD_ETIMEOUT = -5,   /**< A wait ran out: spikard_next got no request in time, an answer came after the handler timeout (the client already got 504), or shutdown cut off in-flight requests. */
    SPIKARD_ESTATE = -6,     /**< The call is not valid in the current state: a request answered twice, a handler registered after listen, listen after shutdown. */
    SPIKARD_ERANGE = -7,     /**< The caller's buffer is too small; the needed size was written to the length out-parameter. */
    SPIKARD_ECLOSED = -8,    /**< The app was shut down: no more requests will come, or the request was cut off by the shutdown and its client got 503. */
    SPIKARD_EIO = -9,        /**< An operating-system error: the address is in use, the host cannot be resolved, a descriptor could not be created. */
    SPIKARD_ENOTIMPL = -10,  /**< The function is reserved in this ABI but not implemented by this library version. */
    SPIKARD_EINTERNAL = -11  /**< A bug in the library was caught at the boundary; the message says what. Please report it. */
} spikard_error;

/*
 * Request kinds (spikard_request.kind): what an invocation of a handler is.
 *
 * The three WebSocket kinds go to the handler of a WebSocket route, one
 * connection's events one at a time and in order: the next event of a
 * connection is delivered only after the host finished the previous one
 * (which is how a slow host slows the client down). `conn` names the
 * connection for spikard_ws_send / spikard_ws_close; path, query,
 * request_id and values are those of the upgrade request (values: its
 * validated parameters). Finish every event with
 *   spikard_continue        done (changes are ignored);
 *   spikard_respond         done, and send the body (if not empty) as one
 *                           message: binary when the answer's Content-Type
 *                           is application/octet-stream, else text (which
 *                           must be UTF-8); the status is ignored;
 *   spikard_respond_error   the handler failed: the connection is closed
 *                           with 1011 and the message logged.
 * An event not finished within the handler timeout closes the connection
 * with 1011.
 */
typedef enum spikard_request_kind {
    SPIKARD_KIND_HTTP = 0,       /**< An HTTP request (or a hook, factory or task invocation): answer with spikard_respond, spikard_stream_begin, spikard_continue or spikard_respond_error. */
    SPIKARD_KIND_WS_MESSAGE = 1, /**< A WebSocket data message, already checked (UTF-8 for text, the route's message_schema): method is "TEXT" or "BINARY", body the payload. */
    SPIKARD_KIND_WS_CLOSE = 2,   /**< The connection is over (the last event of a conn, also after a shutdown cut it: spikard_app_shutdown waits up to 2 s past its deadline for these): method "CLOSE", body the close code (2 bytes, big-endian; 1006 when the connection dropped) then the reason. Sends fail with SPIKARD_ECLOSED from now on. */
    SPIKARD_KIND_SHUTDOWN = 3,   /**< Reserved: never delivered by this version. */
    SPIKARD_KIND_WS_OPEN = 4     /**< A WebSocket connection was accepted (the handshake is done): method "GET", headers the upgrade request's. Greet with spikard_ws_send. */
} spikard_request_kind;

/*
 * spikard_request is a read-only view of one request handed to the host.
 *
 * Layout: fixed for a given SPIKARD_ABI_VERSION (fields are only ever added
 * with a new ABI version). `size` is sizeof(spikard_request) as the library
 * was compiled; hosts that declare the struct themselves (ctypes, cffi, PHP
 * FFI) can check it against their own.
 *
 * Lifetime: every pointer in it (and, in callback mode, the struct itself)
 * stays valid until the request is answered by spikard_respond or
 * spikard_respond_error - including answers that come after the handler
 * timeout or a shutdown, which return SPIKARD_ETIMEOUT/SPIKARD_ECLOSED and
 * release the memory - or until spikard_app_free of its app. Do not read
 * it after that. The memory belongs to the library: never free it.
 *
 * Every string is also NUL-terminated (at ptr[len]) for convenience; the
 * body may contain NUL bytes, so use the length.
 */
typedef struct spikard_request {
    uint32_t size;            /**< sizeof(spikard_request) of the library. */
    uint32_t kind;            /**< A spikard_request_kind. */
    uint64_t id;              /**< The request id: pass it to spikard_respond. Opaque and never 0; an id is not issued again before its slot was reused 2^32 times. */
    uint64_t tag;             /**< The tag given to spikard_app_handle_queued; 0 for callback handlers. */
    int64_t app;              /**< The app handle the request belongs to. */
    const char *handler;      /**< The handler name of the route (from the configuration document). */
    size_t handler_len;
    const char *method;       /**< "GET", "POST", ... */
    size_t method_len;
    const char *path;         /**< The request path, percent-decoded and normalised. */
    size_t path_len;
    const char *query;        /**< The raw query string without '?', possibly empty. */
    size_t query_len;
    const char *headers;      /**< The request's headers as the core holds them (what hooks changed included): "Name: value" lines separated by CRLF, canonical name case, no trailing CRLF. */
    size_t headers_len;
    const char *request_id;   /**< The request's id for logs: the client's X-Request-ID or a generated one. */
    size_t request_id_len;
    const char *values;       /**< The validated, coerced values as JSON: {"path":{..},"query":{..},"headers":{..},"cookies":{..},"body":..}; a group is present only when the route declares it. */
    size_t values_len;
    const char *body;         /**< The raw request body (may contain NUL bytes); a WebSocket message's payload. */
    size_t body_len;
    uint64_t conn;            /**< The WebSocket connection of a SPIKARD_KIND_WS_* event; 0 for every other kind. */
} spikard_request;

/*
 * A callback handler. Called on a library thread, possibly concurrently with
 * itself on other threads, once per request routed to the handler.
 *
 * `req` is valid until the request is answered (see spikard_request). Answer
 * with spikard_respond or spikard_respond_error, before returning or later
 * from any thread. A handler that returns without answering leaves the
 * request open: the client waits until an answer or the handler timeout.
 * The response starts once the callback has returned, whichever thread
 * answered: answering (or beginning a stream) on another thread while the
 * callback keeps running delays the response until it returns.
 * `data` is the pointer given at registration.
 *
 * The callback must not call spikard_app_shutdown or spikard_app_free of
 * its own app (they wait for running callbacks), and must not unwind (C++
 * exceptions, longjmp) across the library.
 */
typedef void (*spikard_handler_fn)(const spikard_request *req, void *data);

/* Releases a `data` pointer the library held. Called once, on the thread that
 * made the call that released it (see each function). */
typedef void (*spikard_free_fn)(void *data);

/* Reserved: notification callback (spikard_app_on_shutdown). */
typedef void (*spikard_event_fn)(int64_t app, int event, void *data);

/* ==================================================================== */
/* Versions and errors                                                  */
/* ==================================================================== */

/*
 * The ABI version of the loaded library, to compare with
 * SPIKARD_ABI_VERSION. Never fails; callable from any thread, before any
 * other call.
 */
uint32_t spikard_abi_version(void);

/*
 * The library version as "MAJOR.MINOR.PATCH". Static storage: never free
 * it. Never fails.
 */
const char *spikard_version(void);

/*
 * The message of the last failure on the calling thread: what failed and
 * why, in one line. Never NULL (an empty string when nothing failed yet).
 * Owned by the library, per thread: valid until the next failing call on
 * the same thread; copy it to keep it. Successful calls do not change it.
 */
const char *spikard_last_error(void);

/*
 * The name and a short description of a result code, such as
 * "SPIKARD_EINVAL: invalid argument". Static storage; never NULL (unknown
 * codes give "SPIKARD_E?: unknown error code").
 */
const char *spikard_strerror(int code);

/* ==================================================================== */
/* Apps                                                                 */
/* ==================================================================== */

/*
 * Creates an app from a configuration document (JSON, version
 * SPIKARD_CONFIG_VERSION). The document is read and every route compiled
 * now, so schema errors and route clashes are reported here. Server options
 * the C ABI adds to the document:
 *
 *   "server": {"handler_timeout_ms": N}   how long a request may wait for
 *       its host answer before the core answers 504 (default 30000;
 *       0 = wait forever). It counts from the hand-over: from queueing,
 *       or, for a callback handler, from the callback's return (a callback
 *       is never interrupted).
 *
 * config_json: borrowed, config_len bytes (need not be NUL-terminated).
 * out_app:     receives the app handle, which the caller owns: release it
 *              with spikard_app_free.
 *
 * Thread-safe. Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL    config_json or out_app is NULL, or config_len is 0
 *   SPIKARD_EVERSION  the document's "version" is not SPIKARD_CONFIG_VERSION
 *   SPIKARD_ECONFIG   the document is not valid JSON, misses "version", or
 *                     a route does not compile
 */
int spikard_app_new(const char *config_json, size_t config_len, int64_t *out_app);

/*
 * Stops the app if it is still serving (no grace period: requests still
 * waiting for the host are answered 503), waits for running callback
 * handlers to return, calls every registered free_data, releases every
 * request still held for the host (their views become invalid; answering
 * them later returns SPIKARD_ESTATE), closes the ready descriptor, and
 * forgets the handle. Threads blocked in spikard_next on the app return
 * SPIKARD_ECLOSED.
 *
 * Freeing 0 or an already-freed handle is harmless and returns
 * SPIKARD_EBADHANDLE. Must not be called from a callback handler of the
 * same app.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EBADHANDLE  app is 0, unknown or already freed
 */
int spikard_app_free(int64_t app);

/*
 * Binds handler `name` to a callback: a name the document uses (a route's
 * handler, a lifecycle hook's handler, a dependency factory) or a
 * background task's.
 * See spikard_handler_fn for when and where `fn` runs.
 *
 * name:      NUL-terminated, borrowed.
 * fn:        required.
 * data:      passed to fn as is; may be NULL.
 * free_data: may be NULL. Called with `data` exactly once by
 *            spikard_app_free, after the last call of fn. On failure the
 *            library takes nothing: free_data is not called and `data` is
 *            still the caller's.
 *
 * Every name the document uses (routes, lifecycle hooks, dependency
 * factories) must be bound before spikard_app_listen; other names may be
 * bound too, for background tasks (spikard_background).
 *
 * Only before spikard_app_listen. Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      name or fn is NULL, or name is empty
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ESTATE      the name is already bound, or the app is listening
 *                       or shut down
 */
int spikard_app_handle_callback(int64_t app, const char *name, spikard_handler_fn fn, void *data,
                                spikard_free_fn free_data);

/*
 * Binds handler `name` to the app's queue: its requests are taken with
 * spikard_next / spikard_try_next and carry `tag` in spikard_request.tag
 * (so a host can dispatch without comparing names). All queued handlers of
 * an app share one queue, in arrival order.
 *
 * name: NUL-terminated, borrowed. tag: any value, the library ignores it.
 *
 * Only before spikard_app_listen. Returns as spikard_app_handle_callback
 * (without the fn check).
 */
int spikard_app_handle_queued(int64_t app, const char *name, uint64_t tag);

/*
 * Writes the app's configuration document as the core reads it (JSON,
 * normalised: methods upper-cased, declaration keywords resolved), for
 * checking what the library understood.
 *
 * buf:     caller's buffer of cap bytes; may be NULL when cap is 0. The
 *          document is not NUL-terminated.
 * out_len: required; receives the document's length, also when the buffer
 *          is too small.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      out_len is NULL, or buf is NULL with cap > 0
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ERANGE      cap < *out_len; nothing was written to buf
 */
int spikard_app_config(int64_t app, char *buf, size_t cap, size_t *out_len);

/*
 * Writes the app's OpenAPI 3.1 document (JSON), generated from its routes
 * and schemas and the document's "openapi" options. Buffer rules as
 * spikard_app_config.
 *
 * Returns as spikard_app_config, and:
 *   SPIKARD_ECONFIG     the document's "openapi" options are invalid
 */
int spikard_app_openapi(int64_t app, char *buf, size_t cap, size_t *out_len);

/*
 * Starts serving on host:port and returns at once; requests are served on
 * library threads until spikard_app_shutdown or spikard_app_free. Every
 * handler name the document uses must be bound first. May be called more
 * than once to listen on several addresses.
 *
 * host:     NUL-terminated, borrowed; NULL or "" means the document's
 *           server.host, else "127.0.0.1".
 * port:     0 picks a free port.
 * out_port: may be NULL; receives the bound port.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ECONFIG     a handler name the document uses is not bound
 *   SPIKARD_ESTATE      the app was shut down
 *   SPIKARD_EIO         the address cannot be listened on (in use, bad host)
 */
int spikard_app_listen(int64_t app, const char *host, uint16_t port, uint16_t *out_port);

/*
 * Graceful shutdown: stops accepting connections, closes idle ones, and
 * waits up to timeout_ms (0: do not wait; negative: wait without limit) for
 * in-flight requests to be answered. Requests still waiting for the host
 * when the time is up are answered 503 (their late answers return
 * SPIKARD_ECLOSED). The queue keeps delivering during the grace period;
 * afterwards spikard_next returns SPIKARD_ECLOSED.
 *
 * Blocks the calling thread. In queued mode, do not call it from the only
 * thread that answers the queue with a positive timeout: that thread cannot
 * answer while it waits here (call it from another thread, or with 0).
 * Must not be called from a callback handler of the same app. Calling it
 * again, or on an app that never listened, returns SPIKARD_OK. The app
 * cannot listen again; free it with spikard_app_free.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ETIMEOUT    the grace period ran out and requests were cut off
 */
int spikard_app_shutdown(int64_t app, int timeout_ms);

/*
 * A file descriptor that is readable while the app's queue holds requests,
 * for event loops: wait for readability, then drain with spikard_try_next
 * until it returns fewer than it could. Do not read from it or close it:
 * the library owns it, drains it when the queue empties, and closes it in
 * spikard_app_free. The same descriptor is returned on every call (an
 * eventfd on Linux, the read end of a pipe elsewhere). When the app has
 * been shut down it becomes readable and spikard_try_next returns
 * SPIKARD_ECLOSED: stop watching it then.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      out_fd is NULL
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_EIO         the descriptor could not be created
 */
int spikard_app_ready_fd(int64_t app, int *out_fd);

/* ==================================================================== */
/* Queued requests                                                      */
/* ==================================================================== */

/*
 * Takes up to `cap` requests from the app's queue, waiting up to timeout_ms
 * (negative: without limit; 0: not at all) for the first one. Requests that
 * are already queued are all returned in one call, up to cap: pass an array
 * (64 is a good size) to amortise the ABI crossing.
 *
 * out:   caller's array of cap spikard_request; out[0..*out_n) are filled.
 *        The views stay valid until each request is answered.
 * out_n: required; receives the number of requests (0 on failure).
 *
 * Blocks the calling thread only (other threads and the serving continue).
 * Several threads may wait on the same app; each request goes to exactly
 * one of them.
 *
 * Returns:
 *   SPIKARD_OK          at least one request
 *   SPIKARD_EINVAL      out or out_n is NULL, or cap is 0
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ETIMEOUT    no request arrived in time (*out_n is 0)
 *   SPIKARD_ECLOSED     the app was shut down (or freed while the call
 *                       waited) and the queue is empty
 */
int spikard_next(int64_t app, int timeout_ms, spikard_request *out, size_t cap, size_t *out_n);

/*
 * spikard_next without waiting: returns the queued requests, up to cap, or
 * none.
 *
 * Returns:
 *   SPIKARD_OK          *out_n requests, possibly 0
 *   SPIKARD_EINVAL      out or out_n is NULL, or cap is 0
 *   SPIKARD_EBADHANDLE  unknown app
 *   SPIKARD_ECLOSED     the app was shut down and the queue is empty
 */
int spikard_try_next(int64_t app, spikard_request *out, size_t cap, size_t *out_n);

/* ==================================================================== */
/* Answers                                                              */
/* ==================================================================== */

/*
 * Answers a request (from any thread, callback or queued). Copies
 * everything: the arguments can be freed when it returns. On success the
 * request's view is released (do not read it any more).
 *
 * status:  100-599.
 * headers: a header block of "Name: value" lines separated by "\n" (a "\r"
 *          before it is ignored; empty lines are skipped), headers_len
 *          bytes, may be NULL when headers_len is 0. Repeat a name to send
 *          it twice (Set-Cookie). Content-Type, when given, is the body's
 *          media type; without it no Content-Type is sent. Connection,
 *          Transfer-Encoding and Date are the server's and are ignored;
 *          Content-Length is honoured only in the answer to a HEAD request
 *          (the length a GET would send), every other answer carries its
 *          body's length.
 * body:    body_len bytes, may be NULL when body_len is 0.
 *
 * On a route with a response_schema, a 2xx JSON answer that breaks the
 * schema becomes a 500 problem (the host's answer is still consumed).
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      bad status, malformed header block, NULL with a
 *                       non-zero length; the request is still open
 *   SPIKARD_EBADHANDLE  the id was never issued
 *   SPIKARD_ESTATE      the request was already answered (or released by
 *                       spikard_app_free)
 *   SPIKARD_ETIMEOUT    the handler timeout had passed: the client got 504;
 *                       the request is now released
 *   SPIKARD_ECLOSED     a shutdown cut the request off: the client got 503;
 *                       the request is now released
 */
int spikard_respond(uint64_t request_id, int status, const char *headers, size_t headers_len,
                    const char *body, size_t body_len);

/*
 * Answers a request with a 500 problem document, for a host handler that
 * failed (an exception). `message` (NUL-terminated, may be NULL) goes to the
 * library's log with the request id; it is never sent to the client.
 *
 * Returns as spikard_respond (without SPIKARD_EINVAL).
 */
int spikard_respond_error(uint64_t request_id, const char *message);

/*
 * Finishes an invocation without answering it. What a handler invocation
 * is for is in its values document under "call" ({"kind": "handler" |
 * "hook" | "factory", "phase", "name", ...}):
 *
 * - a lifecycle hook lets the request go on (an answer given with
 *   spikard_respond would short-circuit it instead); `changes`, a JSON
 *   object, is applied first: {"status": 201, "headers": {"X-A": "1",
 *   "Set-Cookie": ["a=1", "b=2"]} (a list sends the header once per item),
 *   "request_headers": {"X-User": "u1"}, "state": {"user": {"id": 1}}}
 *   (every member optional; state is what later hooks and the handler see
 *   under "state");
 * - a dependency factory produces null (answer the value with
 *   spikard_respond instead);
 * - a route handler leaves the response as hooks set it (200, no body).
 *
 * changes: changes_len bytes of JSON, or NULL / 0 for none; copied.
 * Malformed changes are the host's failure: the core answers 500.
 *
 * Returns as spikard_respond.
 */
int spikard_continue(uint64_t request_id, const char *changes, size_t changes_len);

/*
 * Asks for background work: after the request's response has been sent,
 * the core invokes the handler bound under `handler` with a copy of the
 * request whose values document has "call": {"kind": "task", "payload":
 * <payload>, ...}. Finish that invocation with spikard_continue (an answer
 * to a task is ignored; a failure is logged).
 *
 * Call it before answering the request; the work is queued when the
 * request is answered (spikard_respond or spikard_continue), in the order
 * asked for, and dropped if it fails (spikard_respond_error, timeout,
 * shutdown). A handler name that is not bound, or a payload that is not
 * JSON, makes the answer fail (500).
 *
 * handler: NUL-terminated, borrowed. payload: payload_len bytes of JSON,
 * copied; NULL / 0 means null.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      handler is NULL or empty, or NULL payload with a
 *                       non-zero length
 *   SPIKARD_EBADHANDLE  the id was never issued
 *   SPIKARD_ESTATE      the request was already answered or finished
 */
int spikard_background(uint64_t request_id, const char *handler, const char *payload, size_t payload_len);

/* ==================================================================== */
/* Streams                                                              */
/* ==================================================================== */
/*
 * A stream answers a request with a body produced while it is sent:
 * chunked on HTTP/1.1, DATA frames on HTTP/2, each write sent as it comes.
 * The stream is its own handle, released by spikard_stream_end (or
 * spikard_stream_fail); the request itself is finished by
 * spikard_stream_begin.
 *
 * Backpressure: once the response is being sent, at most 16 chunks wait
 * for a slow client, and spikard_stream_write / spikard_sse_send block
 * the calling thread while the queue is full. Writes made before that -
 * in particular while a callback handler runs, since the response starts
 * only after it returned (spikard_handler_fn) - are kept without a limit.
 *
 * A client that goes away, or a shutdown, makes the next write fail with
 * SPIKARD_ECLOSED: stop producing and call spikard_stream_end. Every
 * stream must be ended (also after a failed write): an id is held until
 * then. There is no handler timeout once a stream began.
 */

/*
 * Answers a request with a stream instead of spikard_respond. status and
 * headers are as for spikard_respond (Content-Type is the body's type; a
 * Content-Length is ignored). On a route with an "sse" member, or with
 * Content-Type text/event-stream, the stream is an event stream: the
 * event-stream headers are set, the route's keep-alive comments are
 * written while it is idle, spikard_sse_send checks events against the
 * route's event_schema, and a shutdown ends it after what is queued.
 *
 * out_stream: required; receives the stream handle.
 *
 * Returns as spikard_respond (on failure nothing was begun and the request
 * is as before, except for SPIKARD_ETIMEOUT / SPIKARD_ECLOSED, which
 * release it), and:
 *   SPIKARD_EINVAL      out_stream is NULL, or the request is a WebSocket
 *                       event (those cannot stream)
 */
int spikard_stream_begin(uint64_t request_id, int status, const char *headers, size_t headers_len,
                         uint64_t *out_stream);

/*
 * Sends len bytes (copied) as the next chunk. An empty write sends nothing
 * and reports whether the stream is still writable. May block (see
 * Backpressure).
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      data is NULL with len > 0
 *   SPIKARD_EBADHANDLE  stream was never issued
 *   SPIKARD_ESTATE      the stream was ended
 *   SPIKARD_ECLOSED     the client went away or the app is shutting down
 */
int spikard_stream_write(uint64_t stream, const char *data, size_t len);

/*
 * Ends the body cleanly after what is queued, and releases the handle.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EBADHANDLE  stream was never issued
 *   SPIKARD_ESTATE      the stream was already ended
 */
int spikard_stream_end(uint64_t stream);

/*
 * Ends the body as broken, for a producer that failed midway (an
 * exception): what is queued is sent, then the response is cut off so the
 * client sees an incomplete body, never a complete-looking one. `message`
 * (NUL-terminated, may be NULL) goes to the log. Releases the handle.
 *
 * Returns as spikard_stream_end.
 */
int spikard_stream_fail(uint64_t stream, const char *message);

/*
 * Sends one Server-Sent Event. Each (pointer, length) member is optional
 * (NULL / 0 leaves the field out):
 *   event    the event type ("message" when absent); CR and LF removed.
 *   data     the payload; each of its lines becomes a data field (the
 *            client joins them with LF). An event without data is not
 *            dispatched by clients (it still sets the id or retry).
 *   id       the event id: the client's Last-Event-ID when it
 *            reconnects (the header is in the request's headers).
 *   comment  comment lines, sent first; clients ignore them.
 * retry_ms:  > 0 sets the client's reconnection delay; 0 leaves it out.
 *
 * Returns as spikard_stream_write, and:
 *   SPIKARD_EINVAL      the route's sse.event_schema rejects data (the
 *                       message says why; nothing was sent and the stream
 *                       goes on), or a NULL pointer with a non-zero length
 */
int spikard_sse_send(uint64_t stream, const char *event, size_t event_len, const char *data, size_t data_len,
                     const char *id, size_t id_len, const char *comment, size_t comment_len, int64_t retry_ms);

/* ==================================================================== */
/* WebSockets                                                           */
/* ==================================================================== */
/*
 * A connection is the `conn` of its SPIKARD_KIND_WS_* events. Both calls
 * may be made from any thread, inside or outside an event's handling, and
 * write before they return (a send to a slow client waits up to 10 s).
 */

/*
 * Sends one data message. opcode: 1 text (must be UTF-8), 2 binary.
 * data: len bytes, copied; may be NULL when len is 0.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      opcode is not 1 or 2, text that is not UTF-8, or a
 *                       NULL data with len > 0
 *   SPIKARD_EBADHANDLE  conn was never issued
 *   SPIKARD_ECLOSED     the connection is closing or closed
 */
int spikard_ws_send(uint64_t conn, int opcode, const char *data, size_t len);

/*
 * Starts the closing handshake with `code` (0 means 1000) and a reason of
 * at most 123 bytes (copied; may be NULL when reason_len is 0). The
 * connection's SPIKARD_KIND_WS_CLOSE event follows when the peer answered
 * or after 5 s. Closing a connection that is already closing does nothing.
 *
 * Returns:
 *   SPIKARD_OK
 *   SPIKARD_EINVAL      a code an endpoint may not send (1004-1006, 1015,
 *                       outside 1000-4999) or a reason over 123 bytes
 *   SPIKARD_EBADHANDLE  conn was never issued
 *   SPIKARD_ECLOSED     the connection is already over
 */
int spikard_ws_close(uint64_t conn, int code, const char *reason, size_t reason_len);

/* ==================================================================== */
/* Reserved                                                             */
/* ==================================================================== */
/*
 * Declared so that bindings keep their shape when it arrives. In this
 * version it returns SPIKARD_ENOTIMPL and changes nothing.
 */

/* Calls fn(app, event, data) when the app starts shutting down; free_data as
 * in spikard_app_handle_callback. */
int spikard_app_on_shutdown(int64_t app, spikard_event_fn fn, void *data, spikard_free_fn free_data);

#ifdef __cplusplus
}
#endif

#endif /* SPIKARD_H */
