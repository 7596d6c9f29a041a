/*
 * spikard._native - the CPython side of libspikard's queued dispatch.
 *
 * One Python thread drains the app's queue in batches of 64
 * (spikard_next with the GIL released, or spikard_try_next when an asyncio
 * loop saw the ready descriptor), calls the route's prepared Python function
 * for each request with a Request view, and answers with spikard_respond -
 * one ABI crossing per direction per request, no Go thread ever enters
 * CPython, and the GIL is never held while the library waits.
 *
 * The route function returns what to do:
 *   (status, headers bytes, body bytes)  answer now (spikard_respond)
 *   (changes bytes,)                     finish without answering
 *                                        (spikard_continue: hooks, tasks)
 *   str                                  the handler failed: answer the core's
 *                                        500 problem, the text goes to the log
 *                                        (spikard_respond_error)
 *   None                                 the function took the request over
 *                                        (an async handler): it answers later
 *                                        with Request.respond / respond_error
 *   a callable                           a deferred answer (a stream): called
 *                                        with the Request, its result is
 *                                        handled as above
 *
 * WebSocket events (SPIKARD_KIND_WS_OPEN/MESSAGE/CLOSE) reach the route's
 * function the same way (Request.kind, Request.conn); the same answers
 * finish them (respond sends a message, continue_ finishes, a str closes the
 * connection with 1011). Streams (Request.stream_begin, stream_write,
 * sse_send, stream_end, stream_fail) and WebSocket sends (ws_send, ws_close)
 * are module functions that release the GIL while the library works, so a
 * producer thread blocked by backpressure never holds up the drain loop.
 *
 * Everything else (building the configuration document, decoding values,
 * encoding answers) is Python: see spikard/_app.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "spikard.h"

#define BATCH 64

static PyObject *SpikardError; /* spikard._native.SpikardError(message, code) */

/* Raises SpikardError for a failed call, with the library's message. */
static PyObject *raise_code(int rc, const char *what) {
    const char *msg = spikard_last_error();
    PyObject *exc;
    if (msg == NULL || msg[0] == '\0') msg = spikard_strerror(rc);
    exc = PyObject_CallFunction(SpikardError, "si", msg, rc);
    (void)what;
    if (exc != NULL) {
        PyErr_SetObject(SpikardError, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Request                                                              */
/* ------------------------------------------------------------------ */

enum { REQ_LIVE = 0, REQ_ANSWERED = 1, REQ_RELEASED = 2 };

typedef struct {
    PyObject_HEAD
    spikard_request r;
    int state;
    PyObject *cache; /* free slot for the Python subclass (parsed headers etc.) */
    char *owned;     /* a private copy of the view's strings (kept readable after stream_begin) */
} RequestObject;

static PyTypeObject RequestType;
static PyTypeObject *request_type = &RequestType; /* the type instances are made of */

static int check_live(RequestObject *self) {
    if (self->state == REQ_LIVE || self->owned != NULL) return 0;
    PyErr_SetString(PyExc_RuntimeError,
                    "spikard: this request was already answered (or its app was freed): its data is "
                    "released; copy what you need before answering");
    return -1;
}

static PyObject *new_request(const spikard_request *r) {
    RequestObject *self = (RequestObject *)request_type->tp_alloc(request_type, 0);
    if (self == NULL) return NULL;
    self->r = *r;
    self->state = REQ_LIVE;
    self->cache = NULL;
    self->owned = NULL;
    return (PyObject *)self;
}

/* Copies the view's strings into memory of its own, so that the request stays
 * readable after the library released it (a stream's producer runs after
 * spikard_stream_begin finished the request). Each string keeps its NUL. */
static int own_request(RequestObject *self) {
    spikard_request *r = &self->r;
    const char **fields[] = {&r->handler, &r->method, &r->path, &r->query, &r->headers, &r->request_id, &r->values, &r->body};
    size_t lens[] = {r->handler_len, r->method_len, r->path_len, r->query_len, r->headers_len, r->request_id_len, r->values_len, r->body_len};
    size_t total = 0, off = 0, i, n = sizeof(lens) / sizeof(lens[0]);
    char *buf;
    if (self->owned != NULL) return 0;
    for (i = 0; i < n; i++) total += lens[i] + 1;
    buf = PyMem_RawMalloc(total);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (lens[i] > 0) memcpy(buf + off, *fields[i], lens[i]);
        buf[off + lens[i]] = '\0';
        *fields[i] = buf + off;
        off += lens[i] + 1;
    }
    self->owned = buf;
    return 0;
}

static void request_dealloc(RequestObject *self) {
    Py_CLEAR(self->cache);
    if (self->owned != NULL) PyMem_RawFree(self->owned);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define STR_GETTER(field)                                                                   \
    static PyObject *get_##field(RequestObject *self, void *closure) {                    \
        (void)closure;                                                                      \
        if (check_live(self) < 0) return NULL;                                              \
        return PyUnicode_DecodeUTF8(self->r.field, (Py_ssize_t)self->r.field##_len, "surrogateescape"); \
    }
#define BYTES_GETTER(field)                                                                 \
    static PyObject *get_##field(RequestObject *self, void *closure) {                    \
        (void)closure;                                                                      \
        if (check_live(self) < 0) return NULL;                                              \
        return PyBytes_FromStringAndSize(self->r.field, (Py_ssize_t)self->r.field##_len);   \
    }

STR_GETTER(handler)
STR_GETTER(method)
STR_GETTER(path)
STR_GETTER(query)
STR_GETTER(request_id)
BYTES_GETTER(headers)
BYTES_GETTER(values)
BYTES_GETTER(body)

static PyObject *get_id(RequestObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->r.id);
}

static PyObject *get_app(RequestObject *self, void *closure) {
    (void)closure;
    return PyLong_FromLongLong(self->r.app);
}

static PyObject *get_kind(RequestObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLong(self->r.kind);
}

static PyObject *get_conn(RequestObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->r.conn);
}

static PyObject *get_answered(RequestObject *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->state != REQ_LIVE);
}

static PyGetSetDef request_getset[] = {
    {"id", (getter)get_id, NULL, "The library's request id (opaque).", NULL},
    {"app", (getter)get_app, NULL, "The app handle the request belongs to.", NULL},
    {"handler", (getter)get_handler, NULL, "The route's handler name.", NULL},
    {"method", (getter)get_method, NULL, "The request method.", NULL},
    {"path", (getter)get_path, NULL, "The percent-decoded request path.", NULL},
    {"query_string", (getter)get_query, NULL, "The raw query string, without '?'.", NULL},
    {"request_id", (getter)get_request_id, NULL, "The request id for logs (X-Request-ID).", NULL},
    {"raw_headers", (getter)get_headers, NULL, "The header block as received (CRLF-separated lines).", NULL},
    {"values", (getter)get_values, NULL, "The validated, coerced values as a JSON document.", NULL},
    {"body", (getter)get_body, NULL, "The raw request body.", NULL},
    {"answered", (getter)get_answered, NULL, "True once the request was answered.", NULL},
    {"kind", (getter)get_kind, NULL, "0 HTTP, 4 WebSocket open, 1 message, 2 close (spikard_request_kind).", NULL},
    {"conn", (getter)get_conn, NULL, "The WebSocket connection of a WebSocket event; 0 otherwise.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef request_members[] = {
    {"_cache", T_OBJECT, offsetof(RequestObject, cache), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Answers with (status, headers, body); returns the library's code, or -100
 * with a Python error set when the arguments are wrong. */
static int answer(RequestObject *self, PyObject *status_o, PyObject *headers_o, PyObject *body_o) {
    long status = PyLong_AsLong(status_o);
    char *h, *b;
    Py_ssize_t hl, bl;
    int rc;
    if (status == -1 && PyErr_Occurred()) return -100;
    if (PyBytes_AsStringAndSize(headers_o, &h, &hl) < 0) return -100;
    if (PyBytes_AsStringAndSize(body_o, &b, &bl) < 0) return -100;
    rc = spikard_respond(self->r.id, (int)status, h, (size_t)hl, b, (size_t)bl);
    if (rc != SPIKARD_EINVAL) self->state = REQ_ANSWERED;
    return rc;
}

static PyObject *request_respond(RequestObject *self, PyObject *const *args, Py_ssize_t nargs) {
    int rc;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "respond(status, headers: bytes, body: bytes)");
        return NULL;
    }
    if (self->state != REQ_LIVE) return PyLong_FromLong(SPIKARD_ESTATE);
    rc = answer(self, args[0], args[1], args[2]);
    if (rc == -100) return NULL;
    if (rc == SPIKARD_EINVAL) return raise_code(rc, "spikard_respond");
    return PyLong_FromLong(rc);
}

static PyObject *request_respond_error(RequestObject *self, PyObject *msg) {
    const char *m;
    int rc;
    if (self->state != REQ_LIVE) return PyLong_FromLong(SPIKARD_ESTATE);
    m = PyUnicode_AsUTF8(msg);
    if (m == NULL) return NULL;
    rc = spikard_respond_error(self->r.id, m);
    self->state = REQ_ANSWERED;
    return PyLong_FromLong(rc);
}

static PyObject *request_continue(RequestObject *self, PyObject *const *args, Py_ssize_t nargs) {
    char *c = NULL;
    Py_ssize_t cl = 0;
    int rc;
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "continue_(changes: bytes = b'')");
        return NULL;
    }
    if (self->state != REQ_LIVE) return PyLong_FromLong(SPIKARD_ESTATE);
    if (nargs == 1 && PyBytes_AsStringAndSize(args[0], &c, &cl) < 0) return NULL;
    rc = spikard_continue(self->r.id, cl ? c : NULL, (size_t)cl);
    if (rc == SPIKARD_EINVAL) return raise_code(rc, "spikard_continue");
    self->state = REQ_ANSWERED;
    return PyLong_FromLong(rc);
}

static PyObject *request_background(RequestObject *self, PyObject *const *args, Py_ssize_t nargs) {
    const char *h;
    char *p = NULL;
    Py_ssize_t pl = 0;
    int rc;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "background(handler: str, payload: bytes)");
        return NULL;
    }
    if (check_live(self) < 0) return NULL;
    h = PyUnicode_AsUTF8(args[0]);
    if (h == NULL || PyBytes_AsStringAndSize(args[1], &p, &pl) < 0) return NULL;
    rc = spikard_background(self->r.id, h, pl ? p : NULL, (size_t)pl);
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_background");
    Py_RETURN_NONE;
}

/* stream_begin(status, headers) -> stream handle. The request's strings are
 * copied first so that it stays readable while the stream is produced. */
static PyObject *request_stream_begin(RequestObject *self, PyObject *const *args, Py_ssize_t nargs) {
    long status;
    char *h;
    Py_ssize_t hl;
    uint64_t stream = 0;
    int rc;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "stream_begin(status, headers: bytes)");
        return NULL;
    }
    status = PyLong_AsLong(args[0]);
    if (status == -1 && PyErr_Occurred()) return NULL;
    if (PyBytes_AsStringAndSize(args[1], &h, &hl) < 0) return NULL;
    if (self->state != REQ_LIVE) {
        PyObject *exc = PyObject_CallFunction(SpikardError, "si", "spikard: the request was already answered", SPIKARD_ESTATE);
        if (exc != NULL) {
            PyErr_SetObject(SpikardError, exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    if (own_request(self) < 0) return NULL;
    rc = spikard_stream_begin(self->r.id, (int)status, h, (size_t)hl, &stream);
    if (rc == SPIKARD_OK || rc == SPIKARD_ETIMEOUT || rc == SPIKARD_ECLOSED) self->state = REQ_ANSWERED;
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_stream_begin");
    return PyLong_FromUnsignedLongLong(stream);
}

static PyObject *request_release(RequestObject *self, PyObject *unused) {
    (void)unused;
    if (self->state == REQ_LIVE) self->state = REQ_RELEASED;
    Py_RETURN_NONE;
}

static PyMethodDef request_methods[] = {
    {"respond", (PyCFunction)(void (*)(void))request_respond, METH_FASTCALL,
     "respond(status, headers, body) -> int: answer the request (spikard_respond). Returns 0 or the "
     "library's code (-5 timed out, -6 already answered, -8 cut off by shutdown); raises SpikardError "
     "for a malformed answer, which leaves the request open."},
    {"respond_error", (PyCFunction)request_respond_error, METH_O,
     "respond_error(message) -> int: answer the core's 500 problem; message goes to the log only."},
    {"continue_", (PyCFunction)(void (*)(void))request_continue, METH_FASTCALL,
     "continue_(changes=b'') -> int: finish without answering (spikard_continue): a hook lets the "
     "request go on with the changes applied ({status, headers, request_headers, state})."},
    {"background", (PyCFunction)(void (*)(void))request_background, METH_FASTCALL,
     "background(handler, payload): after the response is sent, the core invokes the named handler "
     "with call.kind 'task' and this JSON payload (spikard_background)."},
    {"stream_begin", (PyCFunction)(void (*)(void))request_stream_begin, METH_FASTCALL,
     "stream_begin(status, headers) -> stream: answer with a stream (spikard_stream_begin); the "
     "request stays readable. Raises SpikardError on failure."},
    {"_release", (PyCFunction)request_release, METH_NOARGS,
     "Marks the view released (its app is being freed)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RequestType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._native.Request",
    .tp_basicsize = sizeof(RequestObject),
    .tp_dealloc = (destructor)request_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "One request handed over by libspikard (a read-only view until it is answered).",
    .tp_getset = request_getset,
    .tp_members = request_members,
    .tp_methods = request_methods,
};

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */
/* ------------------------------------------------------------------ */

static void log_unanswerable(const spikard_request *r, const char *why) {
    PySys_WriteStderr("spikard: request %llu (%.*s): %s\n", (unsigned long long)r->id,
                      (int)(r->request_id_len > 200 ? 200 : r->request_id_len), r->request_id, why);
}

/* Calls the route's function for one request and answers it. Returns -1 when
 * the function raised a BaseException the route wrapper does not catch
 * (SystemExit, KeyboardInterrupt): the request got a 500 problem and the
 * exception is left set for the caller. */
static int dispatch(PyObject *table, const spikard_request *r) {
    PyObject *fn, *req, *res;
    RequestObject *ro;
    int rc = 0;
    if ((r->kind != SPIKARD_KIND_HTTP && r->kind != SPIKARD_KIND_WS_OPEN && r->kind != SPIKARD_KIND_WS_MESSAGE &&
         r->kind != SPIKARD_KIND_WS_CLOSE) ||
        r->tag >= (uint64_t)PyTuple_GET_SIZE(table)) {
        spikard_respond_error(r->id, "spikard (python): a request of an unknown kind or route tag");
        return 0;
    }
    fn = PyTuple_GET_ITEM(table, (Py_ssize_t)r->tag);
    req = new_request(r);
    if (req == NULL) {
        spikard_respond_error(r->id, "spikard (python): out of memory");
        return -1;
    }
    ro = (RequestObject *)req;
    res = PyObject_CallOneArg(fn, req);
    if (res != NULL && res != Py_None && !PyTuple_CheckExact(res) && !PyUnicode_Check(res) && PyCallable_Check(res)) {
        PyObject *deferred = res; /* a deferred answer (a stream): it takes the request */
        res = PyObject_CallOneArg(deferred, req);
        Py_DECREF(deferred);
    }
    if (res == NULL) {
        if (ro->state == REQ_LIVE) {
            spikard_respond_error(r->id, "spikard (python): the handler raised a BaseException");
            ro->state = REQ_ANSWERED;
        }
        Py_DECREF(req);
        return -1;
    }
    if (res == Py_None) {
        /* taken over (async): the request object lives on in the task */
    } else if (ro->state != REQ_LIVE) {
        /* answered by the function itself */
    } else if (PyTuple_CheckExact(res) && PyTuple_GET_SIZE(res) == 3) {
        rc = answer(ro, PyTuple_GET_ITEM(res, 0), PyTuple_GET_ITEM(res, 1), PyTuple_GET_ITEM(res, 2));
        if (rc == -100) {
            PyErr_WriteUnraisable(fn);
            spikard_respond_error(r->id, "spikard (python): the route returned a malformed answer");
            ro->state = REQ_ANSWERED;
        } else if (rc == SPIKARD_EINVAL) {
            log_unanswerable(r, spikard_last_error());
            spikard_respond_error(r->id, spikard_last_error());
            ro->state = REQ_ANSWERED;
        }
    } else if (PyTuple_CheckExact(res) && PyTuple_GET_SIZE(res) == 1) {
        char *c;
        Py_ssize_t cl;
        if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(res, 0), &c, &cl) < 0) {
            PyErr_WriteUnraisable(fn);
            spikard_respond_error(r->id, "spikard (python): the route returned malformed changes");
        } else {
            rc = spikard_continue(r->id, cl ? c : NULL, (size_t)cl);
            if (rc == SPIKARD_EINVAL) spikard_respond_error(r->id, spikard_last_error());
        }
        ro->state = REQ_ANSWERED;
    } else if (PyUnicode_Check(res)) {
        const char *m = PyUnicode_AsUTF8(res);
        if (m == NULL) {
            PyErr_Clear();
            m = "handler failed";
        }
        spikard_respond_error(r->id, m);
        ro->state = REQ_ANSWERED;
    } else {
        spikard_respond_error(r->id, "spikard (python): the route returned an unknown answer");
        ro->state = REQ_ANSWERED;
    }
    Py_DECREF(res);
    Py_DECREF(req);
    return 0;
}

/* Answers what is left of a batch after a dispatch raised. */
static void fail_rest(spikard_request *batch, size_t from, size_t n) {
    for (size_t i = from; i < n; i++)
        spikard_respond_error(batch[i].id, "spikard (python): the serving loop stopped");
}

/* serve(app, table, poll_ms) -> None
 * The blocking drain loop: returns when the app was shut down and its queue
 * is empty. Checks for signals (KeyboardInterrupt, handlers) every poll_ms
 * while idle and after each batch. */
static PyObject *native_serve(PyObject *m, PyObject *args) {
    long long app;
    PyObject *table;
    int poll_ms;
    spikard_request batch[BATCH];
    (void)m;
    if (!PyArg_ParseTuple(args, "LO!i", &app, &PyTuple_Type, &table, &poll_ms)) return NULL;
    for (;;) {
        size_t n = 0;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = spikard_next((int64_t)app, poll_ms, batch, BATCH, &n);
        Py_END_ALLOW_THREADS
        if (rc == SPIKARD_ETIMEOUT) {
            if (PyErr_CheckSignals() < 0) return NULL;
            continue;
        }
        if (rc == SPIKARD_ECLOSED) Py_RETURN_NONE;
        if (rc != SPIKARD_OK) return raise_code(rc, "spikard_next");
        for (size_t i = 0; i < n; i++) {
            if (dispatch(table, &batch[i]) < 0) {
                fail_rest(batch, i + 1, n);
                return NULL;
            }
        }
        if (PyErr_CheckSignals() < 0) return NULL;
    }
}

/* drain(app, table) -> bool
 * For event loops: takes and dispatches what is queued now (spikard_try_next)
 * until the queue is empty. False once the app was shut down and its queue
 * is empty. */
static PyObject *native_drain(PyObject *m, PyObject *args) {
    long long app;
    PyObject *table;
    spikard_request batch[BATCH];
    (void)m;
    if (!PyArg_ParseTuple(args, "LO!", &app, &PyTuple_Type, &table)) return NULL;
    for (;;) {
        size_t n = 0;
        int rc = spikard_try_next((int64_t)app, batch, BATCH, &n);
        if (rc == SPIKARD_ECLOSED) Py_RETURN_FALSE;
        if (rc != SPIKARD_OK) return raise_code(rc, "spikard_try_next");
        for (size_t i = 0; i < n; i++) {
            if (dispatch(table, &batch[i]) < 0) {
                fail_rest(batch, i + 1, n);
                return NULL;
            }
        }
        if (n < BATCH) Py_RETURN_TRUE;
    }
}

/* ------------------------------------------------------------------ */
/* Streams and WebSockets (the GIL is released while the library works)  */
/* ------------------------------------------------------------------ */

/* An optional byte string argument: None, str (UTF-8) or a bytes-like object. */
typedef struct {
    Py_buffer view;
    const char *ptr;
    size_t len;
    int has_view;
    PyObject *utf8; /* a str's encoded form, held while in use */
} optbytes;

static int optbytes_get(PyObject *o, optbytes *b) {
    b->ptr = NULL;
    b->len = 0;
    b->has_view = 0;
    b->utf8 = NULL;
    if (o == Py_None) return 0;
    if (PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(o, &n);
        if (p == NULL) return -1;
        b->ptr = p;
        b->len = (size_t)n;
        return 0;
    }
    if (PyObject_GetBuffer(o, &b->view, PyBUF_SIMPLE) < 0) return -1;
    b->has_view = 1;
    b->ptr = b->view.buf;
    b->len = (size_t)b->view.len;
    return 0;
}

static void optbytes_release(optbytes *b) {
    if (b->has_view) PyBuffer_Release(&b->view);
    b->has_view = 0;
}

static PyObject *done(int rc, const char *what) {
    if (rc != SPIKARD_OK) return raise_code(rc, what);
    Py_RETURN_NONE;
}

/* stream_write(stream, data) */
static PyObject *native_stream_write(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    unsigned long long stream;
    optbytes d;
    int rc;
    (void)m;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "stream_write(stream, data)");
        return NULL;
    }
    stream = PyLong_AsUnsignedLongLong(args[0]);
    if (PyErr_Occurred() || optbytes_get(args[1], &d) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_stream_write((uint64_t)stream, d.ptr, d.len);
    Py_END_ALLOW_THREADS
    optbytes_release(&d);
    return done(rc, "spikard_stream_write");
}

/* stream_end(stream) */
static PyObject *native_stream_end(PyObject *m, PyObject *arg) {
    unsigned long long stream = PyLong_AsUnsignedLongLong(arg);
    int rc;
    (void)m;
    if (PyErr_Occurred()) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_stream_end((uint64_t)stream);
    Py_END_ALLOW_THREADS
    return done(rc, "spikard_stream_end");
}

/* stream_fail(stream, message) */
static PyObject *native_stream_fail(PyObject *m, PyObject *args) {
    unsigned long long stream;
    const char *msg;
    int rc;
    (void)m;
    if (!PyArg_ParseTuple(args, "Ks", &stream, &msg)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_stream_fail((uint64_t)stream, msg);
    Py_END_ALLOW_THREADS
    return done(rc, "spikard_stream_fail");
}

/* sse_send(stream, event, data, id, comment, retry_ms): each of event, data,
 * id and comment None, str or bytes. */
static PyObject *native_sse_send(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    unsigned long long stream;
    long long retry;
    optbytes f[4];
    int rc, i, got = 0;
    (void)m;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "sse_send(stream, event, data, id, comment, retry_ms)");
        return NULL;
    }
    stream = PyLong_AsUnsignedLongLong(args[0]);
    if (PyErr_Occurred()) return NULL;
    retry = PyLong_AsLongLong(args[5]);
    if (retry == -1 && PyErr_Occurred()) return NULL;
    for (i = 0; i < 4; i++, got++) {
        if (optbytes_get(args[1 + i], &f[i]) < 0) break;
    }
    if (got < 4) {
        for (i = 0; i < got; i++) optbytes_release(&f[i]);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_sse_send((uint64_t)stream, f[0].ptr, f[0].len, f[1].ptr, f[1].len, f[2].ptr, f[2].len, f[3].ptr,
                          f[3].len, (int64_t)retry);
    Py_END_ALLOW_THREADS
    for (i = 0; i < 4; i++) optbytes_release(&f[i]);
    return done(rc, "spikard_sse_send");
}

/* ws_send(conn, opcode, data) and ws_close(conn, code, reason): the same
 * shape of call. */
typedef int (*conn_fn)(uint64_t, int, const char *, size_t);

static PyObject *conn_call(PyObject *const *args, Py_ssize_t nargs, conn_fn fn, const char *what) {
    unsigned long long conn;
    long n;
    optbytes d;
    int rc;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "%s takes 3 arguments", what);
        return NULL;
    }
    conn = PyLong_AsUnsignedLongLong(args[0]);
    if (PyErr_Occurred()) return NULL;
    n = PyLong_AsLong(args[1]);
    if ((n == -1 && PyErr_Occurred()) || optbytes_get(args[2], &d) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = fn((uint64_t)conn, (int)n, d.ptr, d.len);
    Py_END_ALLOW_THREADS
    optbytes_release(&d);
    return done(rc, what);
}

static PyObject *native_ws_send(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    return conn_call(args, nargs, spikard_ws_send, "spikard_ws_send");
}

static PyObject *native_ws_close(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    (void)m;
    return conn_call(args, nargs, spikard_ws_close, "spikard_ws_close");
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

static PyObject *native_app_new(PyObject *m, PyObject *arg) {
    char *doc;
    Py_ssize_t n;
    int64_t app = 0;
    int rc;
    (void)m;
    if (PyBytes_AsStringAndSize(arg, &doc, &n) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_app_new(doc, (size_t)n, &app);
    Py_END_ALLOW_THREADS
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_app_new");
    return PyLong_FromLongLong(app);
}

static PyObject *native_app_free(PyObject *m, PyObject *arg) {
    long long app = PyLong_AsLongLong(arg);
    int rc;
    (void)m;
    if (app == -1 && PyErr_Occurred()) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_app_free((int64_t)app);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(rc);
}

static PyObject *native_handle_queued(PyObject *m, PyObject *args) {
    long long app;
    const char *name;
    unsigned long long tag;
    int rc;
    (void)m;
    if (!PyArg_ParseTuple(args, "LsK", &app, &name, &tag)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_app_handle_queued((int64_t)app, name, (uint64_t)tag);
    Py_END_ALLOW_THREADS
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_app_handle_queued");
    Py_RETURN_NONE;
}

static PyObject *native_listen(PyObject *m, PyObject *args) {
    long long app;
    const char *host;
    int port;
    uint16_t out = 0;
    int rc;
    (void)m;
    if (!PyArg_ParseTuple(args, "Lsi", &app, &host, &port)) return NULL;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port must be 0..65535");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_app_listen((int64_t)app, host, (uint16_t)port, &out);
    Py_END_ALLOW_THREADS
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_app_listen");
    return PyLong_FromLong(out);
}

static PyObject *native_shutdown(PyObject *m, PyObject *args) {
    long long app;
    int ms;
    int rc;
    (void)m;
    if (!PyArg_ParseTuple(args, "Li", &app, &ms)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = spikard_app_shutdown((int64_t)app, ms);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(rc);
}

static PyObject *native_ready_fd(PyObject *m, PyObject *arg) {
    long long app = PyLong_AsLongLong(arg);
    int fd = -1, rc;
    (void)m;
    if (app == -1 && PyErr_Occurred()) return NULL;
    rc = spikard_app_ready_fd((int64_t)app, &fd);
    if (rc != SPIKARD_OK) return raise_code(rc, "spikard_app_ready_fd");
    return PyLong_FromLong(fd);
}

typedef int (*doc_fn)(int64_t, char *, size_t, size_t *);

static PyObject *read_doc(PyObject *arg, doc_fn fn, const char *what) {
    long long app = PyLong_AsLongLong(arg);
    size_t need = 0;
    int rc;
    PyObject *out;
    if (app == -1 && PyErr_Occurred()) return NULL;
    rc = fn((int64_t)app, NULL, 0, &need);
    if (rc != SPIKARD_OK && rc != SPIKARD_ERANGE) return raise_code(rc, what);
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)need);
    if (out == NULL) return NULL;
    rc = fn((int64_t)app, PyBytes_AS_STRING(out), need, &need);
    if (rc != SPIKARD_OK) {
        Py_DECREF(out);
        return raise_code(rc, what);
    }
    return out;
}

static PyObject *native_app_config(PyObject *m, PyObject *arg) {
    (void)m;
    return read_doc(arg, spikard_app_config, "spikard_app_config");
}

static PyObject *native_app_openapi(PyObject *m, PyObject *arg) {
    (void)m;
    return read_doc(arg, spikard_app_openapi, "spikard_app_openapi");
}

static PyObject *native_abi_version(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    return PyLong_FromUnsignedLong(spikard_abi_version());
}

static PyObject *native_version(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    return PyUnicode_FromString(spikard_version());
}

static PyObject *native_strerror(PyObject *m, PyObject *arg) {
    long code = PyLong_AsLong(arg);
    (void)m;
    if (code == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(spikard_strerror((int)code));
}

/* set_request_type(cls): instances handed to routes are made of cls, a
 * subclass of Request without instance dictionaries. */
static PyObject *native_set_request_type(PyObject *m, PyObject *arg) {
    (void)m;
    if (!PyType_Check(arg) || !PyType_IsSubtype((PyTypeObject *)arg, &RequestType)) {
        PyErr_SetString(PyExc_TypeError, "set_request_type needs a subclass of _native.Request");
        return NULL;
    }
    if (((PyTypeObject *)arg)->tp_basicsize != RequestType.tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "the Request subclass must declare __slots__ = ()");
        return NULL;
    }
    Py_INCREF(arg);
    if (request_type != &RequestType) Py_DECREF((PyObject *)request_type);
    request_type = (PyTypeObject *)arg;
    Py_RETURN_NONE;
}

static PyMethodDef native_methods[] = {
    {"abi_version", native_abi_version, METH_NOARGS, "spikard_abi_version()"},
    {"version", native_version, METH_NOARGS, "spikard_version()"},
    {"strerror", native_strerror, METH_O, "spikard_strerror(code)"},
    {"app_new", native_app_new, METH_O, "app_new(document: bytes) -> app handle"},
    {"app_free", native_app_free, METH_O, "app_free(app) -> code"},
    {"app_config", native_app_config, METH_O, "app_config(app) -> bytes: the document as the core read it"},
    {"app_openapi", native_app_openapi, METH_O, "app_openapi(app) -> bytes: the OpenAPI document"},
    {"handle_queued", native_handle_queued, METH_VARARGS, "handle_queued(app, name, tag)"},
    {"listen", native_listen, METH_VARARGS, "listen(app, host, port) -> bound port"},
    {"shutdown", native_shutdown, METH_VARARGS, "shutdown(app, timeout_ms) -> code (GIL released)"},
    {"ready_fd", native_ready_fd, METH_O, "ready_fd(app) -> fd readable while requests are queued"},
    {"serve", native_serve, METH_VARARGS, "serve(app, table, poll_ms): the blocking drain loop"},
    {"drain", native_drain, METH_VARARGS, "drain(app, table) -> bool: dispatch what is queued now"},
    {"set_request_type", native_set_request_type, METH_O, "set_request_type(cls)"},
    {"stream_write", (PyCFunction)(void (*)(void))native_stream_write, METH_FASTCALL,
     "stream_write(stream, data): the next chunk (may block for backpressure; GIL released)"},
    {"stream_end", native_stream_end, METH_O, "stream_end(stream): end the body cleanly"},
    {"stream_fail", native_stream_fail, METH_VARARGS, "stream_fail(stream, message): cut the body off"},
    {"sse_send", (PyCFunction)(void (*)(void))native_sse_send, METH_FASTCALL,
     "sse_send(stream, event, data, id, comment, retry_ms): one Server-Sent Event"},
    {"ws_send", (PyCFunction)(void (*)(void))native_ws_send, METH_FASTCALL,
     "ws_send(conn, opcode, data): one WebSocket message (1 text, 2 binary)"},
    {"ws_close", (PyCFunction)(void (*)(void))native_ws_close, METH_FASTCALL,
     "ws_close(conn, code, reason): start the closing handshake"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "spikard._native", "libspikard's queued dispatch for CPython.", -1, native_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m;
    if (spikard_abi_version() != SPIKARD_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "spikard: libspikard ABI version %u does not match the version this module was built "
                     "for (%d): rebuild the package (pip install ./bindings/python)",
                     spikard_abi_version(), SPIKARD_ABI_VERSION);
        return NULL;
    }
    if (PyType_Ready(&RequestType) < 0) return NULL;
    m = PyModule_Create(&native_module);
    if (m == NULL) return NULL;
    SpikardError = PyErr_NewExceptionWithDoc(
        "spikard._native.SpikardError",
        "A libspikard call failed: args are (message, code), code a negative spikard_error.", NULL, NULL);
    if (SpikardError == NULL || PyModule_AddObjectRef(m, "SpikardError", SpikardError) < 0 ||
        PyModule_AddObjectRef(m, "Request", (PyObject *)&RequestType) < 0 ||
        PyModule_AddIntConstant(m, "ABI_VERSION", SPIKARD_ABI_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "BATCH", BATCH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
