/*
 * spikard.node - the N-API addon of the Node.js binding.
 *
 * A thin layer over libspikard (include/spikard.h). It owns no HTTP logic:
 * the core routes, validates and answers problems; this file moves requests
 * to the JavaScript main thread and answers back.
 *
 * Dispatch (JavaScript runs only on the main thread):
 *
 *   poll      (default) every handler name is bound to the app's queue
 *             (spikard_app_handle_queued, tag = index of the bound name). The
 *             queue's ready descriptor is watched by a uv_poll on Node's
 *             loop; when it is readable the loop drains spikard_try_next in
 *             batches of 64 and calls the JavaScript dispatcher for each
 *             request inside ONE callback scope per batch (microtasks, i.e.
 *             async handlers that finish at once, run once per batch).
 *   callback  names are bound with spikard_app_handle_callback: library
 *             threads push the request into a small C queue and wake the main
 *             thread with a threadsafe function (once per empty -> non-empty
 *             transition), which drains the queue the same way.
 *   Measured alike within noise (README, "Dispatch"); poll spends a little
 *   less on the main thread and is the default.
 *
 * The dispatcher receives (token, tag, values): token names the request in
 * this addon's slot table (a number: generation * 2^20 + slot, so a stale
 * token is refused and never answers another request), tag the handler, and
 * values the validated values document as JSON text (undefined when "{}"),
 * which JavaScript parses on first use: measured 2-4x cheaper than building
 * the objects here with N-API calls (bench/dispatch.mjs; the builder stays
 * for that measurement, mode bit 2). Everything else (method, path, query,
 * raw headers, body) is read lazily with field(token, which) while the
 * request is open: the library keeps the view valid until it is answered.
 *
 * Answers: respond(token, status, headers, body) with headers a
 * "Name: value\n" block (string) and body a string, Buffer, TypedArray or
 * undefined. Strings are written as UTF-8 into a reusable scratch buffer;
 * Buffers are handed to spikard_respond as they are (the library copies
 * once). continueRequest(token, changes) finishes a hook or factory
 * invocation without answering (spikard_continue).
 *
 * WebSocket events reach the dispatcher as (token, tag, values, kind,
 * conn). streamBegin answers a request with a stream; the calls that may
 * block (stream writes, events, WebSocket sends and closes) are queued
 * and run on writer threads, one per busy stream or connection (section
 * "writers"), their results coming back to JavaScript through liveInit's
 * callback.
 */
#define NAPI_VERSION 9
#include <node_api.h>
#ifndef SPIKARD_NO_UV
#include <uv.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikard.h"

#define BATCH 64
#define SLOT_BITS 20
#define SLOT_MAX (1u << SLOT_BITS)

enum { MODE_POLL = 0, MODE_CALLBACK = 1 };

typedef struct app_state app_state;

/* A request handed to the dispatcher, with its route tag. */
struct entry {
    const spikard_request *req;
    double tag;
};

/* What a callback binding passes to on_callback. */
typedef struct {
    app_state *app;
    double tag;
} cb_binding;

/* One open request: a copy of the library's view, valid until answered. */
typedef struct {
    spikard_request req;
    app_state *app;
    uint32_t gen;
    int32_t next_free; /* free list link, -1 = end */
    uint8_t live;
} slot_t;

struct app_state {
    int64_t handle;
    int mode;
    int values_objects; /* hand values over as objects built here (measured: slower) */
    napi_env env;
    napi_ref dispatch; /* the JavaScript dispatcher */
    napi_ref resource; /* async resource object for the callback scopes */
    napi_async_context actx;
    int started;       /* the uv_poll / tsfn is running */
    int closing;       /* appFree began */
#ifndef SPIKARD_NO_UV
    uv_poll_t *poll;
#endif
    /* callback mode */
    napi_threadsafe_function tsfn;
    pthread_mutex_t qlock;
    struct entry *q;
    size_t qlen, qcap;
    int qsignalled;
    app_state *next;
};

/* ---- writer threads (streams and WebSocket sends; see "Writers") ------- */

/* One call that may block, queued for a writer thread. */
typedef struct op {
    struct op *next;
    int kind;        /* OP_* */
    int64_t n;       /* SSE: retry_ms; WS_SEND: opcode; WS_CLOSE: code; FINISH: how (FIN_*), status in n2 */
    int n2;
    uint64_t req;    /* FINISH: the request id */
    double ticket;   /* > 0: the result goes back to JavaScript under this number */
    size_t total;    /* bytes counted against the channel's queue */
    size_t len[4];   /* the byte strings in data, each followed by a NUL */
    char data[];
} op;

/* A stream or a WebSocket connection: its calls run in order, on one writer
 * at a time. All fields are guarded by writers.lock. */
typedef struct chan {
    uint64_t key;    /* handle * 2 + (1 for a WebSocket connection) */
    op *head, *tail;
    size_t bytes;    /* bytes queued, not yet handed to the library */
    int busy;        /* a writer owns the channel (it has ops or runs one) */
    int rc;          /* a stream's failure (ECLOSED...): later writes are refused at once */
    int closed;      /* the last op (END, FAIL, RELEASE) was queued */
    struct chan *next;
} chan;

typedef struct writer {
    pthread_cond_t cond;
    chan *job;       /* given by the thread that woke it */
    struct writer *next;
} writer;

/* A finished op whose result JavaScript waits for. */
typedef struct done {
    struct done *next;
    double ticket;
    int rc;
    char *msg;       /* spikard_last_error() of a failed call */
} done;

#define CHAN_BUCKETS 256

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t exited;
    chan *buckets[CHAN_BUCKETS];
    uint32_t nchans;
    writer *idle;    /* writers waiting for a channel */
    uint32_t nwriters;
    int stopping;
    done *done_head, *done_tail;
    int done_signalled;
    napi_threadsafe_function done_tsfn; /* wakes the main thread with results */
    napi_ref done_resource;
    napi_async_context done_actx;
} writers_t;

/* Per-environment data (one per main thread or worker). */
typedef struct {
    writers_t w;
    slot_t *slots;
    uint32_t nslots, cap;
    int32_t free_head;
    uint32_t live;
    char *scratch;      /* UTF-8 of a string body */
    size_t scratch_cap;
    char *hscratch;     /* UTF-8 of a header block */
    size_t hscratch_cap;
    app_state *apps;
    uint64_t n_batches, n_requests, n_wakes; /* dispatch statistics (stats()) */
    spikard_request batch[BATCH];
} addon_t;

/* ---- errors ------------------------------------------------------------ */

static const char *code_name(int rc) {
    switch (rc) {
    case SPIKARD_EINVAL: return "SPIKARD_EINVAL";
    case SPIKARD_EBADHANDLE: return "SPIKARD_EBADHANDLE";
    case SPIKARD_EVERSION: return "SPIKARD_EVERSION";
    case SPIKARD_ECONFIG: return "SPIKARD_ECONFIG";
    case SPIKARD_ETIMEOUT: return "SPIKARD_ETIMEOUT";
    case SPIKARD_ESTATE: return "SPIKARD_ESTATE";
    case SPIKARD_ERANGE: return "SPIKARD_ERANGE";
    case SPIKARD_ECLOSED: return "SPIKARD_ECLOSED";
    case SPIKARD_EIO: return "SPIKARD_EIO";
    case SPIKARD_ENOTIMPL: return "SPIKARD_ENOTIMPL";
    case SPIKARD_EINTERNAL: return "SPIKARD_EINTERNAL";
    default: return "SPIKARD_E?";
    }
}

/* Throws an Error with .code (the name) and .errno (the number). */
static void throw_rc(napi_env env, int rc, const char *msg) {
    napi_value err, m, c, n;
    char buf[1200];
    if (msg == NULL || !*msg) msg = spikard_strerror(rc);
    snprintf(buf, sizeof buf, "%s", msg);
    napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, code_name(rc), NAPI_AUTO_LENGTH, &c);
    napi_create_error(env, c, m, &err);
    napi_create_int32(env, rc, &n);
    napi_set_named_property(env, err, "errno", n);
    napi_throw(env, err);
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        if ((call) != napi_ok) {                                                     \
            const napi_extended_error_info *info_ = NULL;                            \
            bool pending_ = false;                                                   \
            napi_is_exception_pending(env, &pending_);                               \
            if (!pending_) {                                                         \
                napi_get_last_error_info(env, &info_);                               \
                napi_throw_error(env, NULL, info_ && info_->error_message            \
                                                ? info_->error_message               \
                                                : "spikard addon: N-API call failed"); \
            }                                                                        \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

static addon_t *get_addon(napi_env env) {
    void *d = NULL;
    napi_get_instance_data(env, &d);
    return d;
}

static app_state *find_app(addon_t *ad, int64_t h) {
    for (app_state *a = ad->apps; a; a = a->next)
        if (a->handle == h) return a;
    return NULL;
}

/* ---- slots ------------------------------------------------------------- */

static double slot_open(addon_t *ad, const spikard_request *req, app_state *app) {
    int32_t i;
    if (ad->free_head >= 0) {
        i = ad->free_head;
        ad->free_head = ad->slots[i].next_free;
    } else {
        if (ad->nslots == ad->cap) {
            uint32_t nc = ad->cap ? ad->cap * 2 : 256;
            if (nc > SLOT_MAX) return -1;
            slot_t *ns = realloc(ad->slots, nc * sizeof *ns);
            if (!ns) return -1;
            ad->slots = ns;
            ad->cap = nc;
        }
        i = (int32_t)ad->nslots++;
        ad->slots[i].gen = 0;
    }
    slot_t *s = &ad->slots[i];
    s->req = *req;
    s->app = app;
    s->live = 1;
    s->gen++;
    ad->live++;
    return (double)s->gen * (double)SLOT_MAX + (double)i;
}

static slot_t *slot_get(addon_t *ad, double token) {
    if (!(token >= 0) || token > 9007199254740991.0) return NULL;
    uint64_t t = (uint64_t)token;
    uint32_t i = (uint32_t)(t & (SLOT_MAX - 1));
    uint32_t gen = (uint32_t)(t >> SLOT_BITS);
    if (i >= ad->nslots) return NULL;
    slot_t *s = &ad->slots[i];
    if (!s->live || s->gen != gen) return NULL;
    return s;
}

static void slot_close(addon_t *ad, slot_t *s) {
    s->live = 0;
    s->next_free = ad->free_head;
    ad->free_head = (int32_t)(s - ad->slots);
    ad->live--;
}

/* ---- values as objects (the measured alternative to JSON text) --------- */

/* Builds the JavaScript value of the JSON text at *p (the core's values
 * document is valid JSON: no error recovery needed beyond stopping). */
static napi_value jv(napi_env env, const char **p, const char *e);

static void jws(const char **p, const char *e) {
    while (*p < e && (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')) (*p)++;
}

static napi_value jstr(napi_env env, const char **p, const char *e) {
    const char *s = ++(*p);
    const char *q = s;
    while (q < e && *q != '"' && *q != '\\') q++;
    napi_value r;
    if (q < e && *q == '"') { /* no escapes: the common case */
        napi_create_string_utf8(env, s, (size_t)(q - s), &r);
        *p = q + 1;
        return r;
    }
    char stackbuf[256] = {0};
    size_t cap = sizeof stackbuf, n = 0;
    char *buf = stackbuf;
    for (q = s; q < e && *q != '"'; q++) {
        if (n + 8 > cap) {
            size_t nc = cap * 2;
            char *nb = buf == stackbuf ? malloc(nc) : realloc(buf, nc);
            if (!nb) break;
            if (buf == stackbuf) memcpy(nb, stackbuf, n);
            buf = nb;
            cap = nc;
        }
        if (*q != '\\') {
            buf[n++] = *q;
            continue;
        }
        q++;
        switch (*q) {
        case 'n': buf[n++] = '\n'; break;
        case 't': buf[n++] = '\t'; break;
        case 'r': buf[n++] = '\r'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul((char[]){q[1], q[2], q[3], q[4], 0}, NULL, 16);
            q += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q + 6 < e && q[1] == '\\' && q[2] == 'u') {
                unsigned lo = (unsigned)strtoul((char[]){q[3], q[4], q[5], q[6], 0}, NULL, 16);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            if (cp < 0x80) buf[n++] = (char)cp;
            else if (cp < 0x800) { buf[n++] = (char)(0xC0 | cp >> 6); buf[n++] = (char)(0x80 | (cp & 63)); }
            else if (cp < 0x10000) { buf[n++] = (char)(0xE0 | cp >> 12); buf[n++] = (char)(0x80 | (cp >> 6 & 63)); buf[n++] = (char)(0x80 | (cp & 63)); }
            else { buf[n++] = (char)(0xF0 | cp >> 18); buf[n++] = (char)(0x80 | (cp >> 12 & 63)); buf[n++] = (char)(0x80 | (cp >> 6 & 63)); buf[n++] = (char)(0x80 | (cp & 63)); }
            break;
        }
        default: buf[n++] = *q;
        }
    }
    napi_create_string_utf8(env, buf, n, &r);
    if (buf != stackbuf) free(buf);
    *p = q + 1;
    return r;
}

static napi_value jv(napi_env env, const char **p, const char *e) {
    napi_value r;
    jws(p, e);
    if (*p >= e) {
        napi_get_undefined(env, &r);
        return r;
    }
    switch (**p) {
    case '{': {
        napi_create_object(env, &r);
        (*p)++;
        for (;;) {
            jws(p, e);
            if (*p >= e || **p == '}') { (*p)++; break; }
            if (**p == ',') { (*p)++; continue; }
            napi_value k = jstr(env, p, e);
            jws(p, e);
            (*p)++; /* : */
            napi_value v = jv(env, p, e);
            napi_set_property(env, r, k, v);
        }
        return r;
    }
    case '[': {
        napi_create_array(env, &r);
        (*p)++;
        uint32_t i = 0;
        for (;;) {
            jws(p, e);
            if (*p >= e || **p == ']') { (*p)++; break; }
            if (**p == ',') { (*p)++; continue; }
            napi_set_element(env, r, i++, jv(env, p, e));
        }
        return r;
    }
    case '"': return jstr(env, p, e);
    case 't': *p += 4; napi_get_boolean(env, true, &r); return r;
    case 'f': *p += 5; napi_get_boolean(env, false, &r); return r;
    case 'n': *p += 4; napi_get_null(env, &r); return r;
    default: {
        char *end;
        double d = strtod(*p, &end);
        *p = end;
        napi_create_double(env, d, &r);
        return r;
    }
    }
}

/* ---- dispatch ---------------------------------------------------------- */

/* Calls the dispatcher for n requests inside one callback scope, so that
 * the microtasks (promise continuations of async handlers) run once, after
 * the batch. */
static void dispatch_batch(app_state *app, const struct entry *ents, size_t n) {
    napi_env env = app->env;
    addon_t *ad = get_addon(env);
    napi_handle_scope hs;
    napi_callback_scope cs;
    napi_value fn, recv, resource, argv[5];
    napi_open_handle_scope(env, &hs);
    napi_get_reference_value(env, app->resource, &resource);
    napi_get_reference_value(env, app->dispatch, &fn);
    napi_get_undefined(env, &recv);
    napi_open_callback_scope(env, resource, app->actx, &cs);
    for (size_t k = 0; k < n; k++) {
        const spikard_request *r = ents[k].req;
        double tok = slot_open(ad, r, app);
        if (tok < 0) {
            spikard_respond_error(r->id, "spikard node addon: too many open requests");
            continue;
        }
        napi_create_double(env, tok, &argv[0]);
        napi_create_double(env, ents[k].tag, &argv[1]);
        if (r->values_len <= 2)
            argv[2] = recv;
        else if (app->values_objects) {
            const char *vp = r->values;
            argv[2] = jv(env, &vp, r->values + r->values_len);
        } else if (r->values_len > 2)
            napi_create_string_utf8(env, r->values, r->values_len, &argv[2]);
        else
            argv[2] = recv;
        size_t argc = 3;
        if (r->kind != SPIKARD_KIND_HTTP) {
            /* a WebSocket event: its kind and connection too */
            napi_create_uint32(env, r->kind, &argv[3]);
            napi_create_double(env, (double)r->conn, &argv[4]);
            argc = 5;
        }
        napi_value ret;
        napi_status st = napi_call_function(env, recv, fn, argc, argv, &ret);
        if (st != napi_ok) {
            /* The dispatcher catches handler errors itself; reaching this is
             * a bug in the binding: answer 500 and report it. */
            napi_value exc;
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (pending) napi_get_and_clear_last_exception(env, &exc);
            slot_t *s = slot_get(ad, tok);
            if (s) {
                spikard_respond_error(s->req.id, "spikard node binding: the dispatcher failed");
                slot_close(ad, s);
            }
            fprintf(stderr, "spikard: internal error in the request dispatcher\n");
        }
    }
    napi_close_callback_scope(env, cs);
    napi_close_handle_scope(env, hs);
    ad->n_batches++;
    ad->n_requests += n;
}

#ifndef SPIKARD_NO_UV
static void on_ready(uv_poll_t *h, int status, int events) {
    app_state *app = h->data;
    addon_t *ad = get_addon(app->env);
    ad->n_wakes++;
    for (;;) {
        size_t n = 0;
        int rc = spikard_try_next(app->handle, ad->batch, BATCH, &n);
        if (rc == SPIKARD_ECLOSED || rc == SPIKARD_EBADHANDLE) {
            uv_poll_stop(h);
            return;
        }
        if (rc != SPIKARD_OK || n == 0) return;
        struct entry ents[BATCH];
        for (size_t k = 0; k < n; k++) {
            ents[k].req = &ad->batch[k];
            ents[k].tag = (double)ad->batch[k].tag;
        }
        dispatch_batch(app, ents, n);
        if (n < BATCH) return;
    }
}

static void on_poll_closed(uv_handle_t *h) { free(h); }
#endif

/* Callback mode: runs on library threads. */
static void on_callback(const spikard_request *req, void *data) {
    cb_binding *b = data;
    app_state *app = b->app;
    int wake = 0;
    pthread_mutex_lock(&app->qlock);
    if (app->qlen == app->qcap) {
        size_t nc = app->qcap ? app->qcap * 2 : 256;
        struct entry *nq = realloc(app->q, nc * sizeof *nq);
        if (!nq) {
            pthread_mutex_unlock(&app->qlock);
            spikard_respond_error(req->id, "spikard node addon: out of memory");
            return;
        }
        app->q = nq;
        app->qcap = nc;
    }
    app->q[app->qlen].req = req;
    app->q[app->qlen].tag = b->tag;
    app->qlen++;
    if (!app->qsignalled) {
        app->qsignalled = 1;
        wake = 1;
    }
    pthread_mutex_unlock(&app->qlock);
    if (wake && napi_call_threadsafe_function(app->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok)
        spikard_respond_error(req->id, "spikard node addon: the main thread is gone");
}

static void on_tsfn(napi_env env, napi_value js_cb, void *context, void *data) {
    app_state *app = context;
    if (env == NULL) return;
    get_addon(env)->n_wakes++;
    struct entry local[BATCH];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&app->qlock);
        n = app->qlen < BATCH ? app->qlen : BATCH;
        memcpy(local, app->q, n * sizeof *local);
        memmove(app->q, app->q + n, (app->qlen - n) * sizeof *local);
        app->qlen -= n;
        if (n == 0) app->qsignalled = 0;
        pthread_mutex_unlock(&app->qlock);
        if (n == 0) return;
        dispatch_batch(app, local, n);
    }
}

/* ---- argument helpers -------------------------------------------------- */

static int arg_int64(napi_env env, napi_value v, int64_t *out) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
    *out = (int64_t)d;
    return 1;
}

/* UTF-8 of a string argument into a growable buffer; returns length or -1. */
static ssize_t utf8_into(napi_env env, napi_value v, char **buf, size_t *cap) {
    size_t got = 0;
    if (*cap == 0) {
        *cap = 16384;
        *buf = malloc(*cap);
        if (!*buf) return -1;
    }
    if (napi_get_value_string_utf8(env, v, *buf, *cap, &got) != napi_ok) return -1;
    if (got + 1 < *cap) return (ssize_t)got;
    size_t need = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &need) != napi_ok) return -1;
    if (need + 1 > *cap) {
        size_t nc = *cap;
        while (nc < need + 1) nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    if (napi_get_value_string_utf8(env, v, *buf, *cap, &got) != napi_ok) return -1;
    return (ssize_t)got;
}

/* Bytes of a body argument: string (UTF-8), Buffer / TypedArray / DataView /
 * ArrayBuffer, or undefined / null (no body). Returns 0 on success. */
static int body_bytes(napi_env env, addon_t *ad, napi_value v, const char **p, size_t *n) {
    napi_valuetype t;
    *p = NULL;
    *n = 0;
    napi_typeof(env, v, &t);
    if (t == napi_undefined || t == napi_null) return 0;
    if (t == napi_string) {
        ssize_t len = utf8_into(env, v, &ad->scratch, &ad->scratch_cap);
        if (len < 0) return -1;
        *p = ad->scratch;
        *n = (size_t)len;
        return 0;
    }
    bool is;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
        napi_typedarray_type tt;
        size_t len, off;
        void *data;
        napi_value ab;
        if (napi_get_typedarray_info(env, v, &tt, &len, &data, &ab, &off) != napi_ok) return -1;
        size_t es = 1;
        switch (tt) {
        case napi_int16_array: case napi_uint16_array: es = 2; break;
        case napi_int32_array: case napi_uint32_array: case napi_float32_array: es = 4; break;
        case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: es = 8; break;
        default: es = 1;
        }
        *p = data;
        *n = len * es;
        return 0;
    }
    if (napi_is_dataview(env, v, &is) == napi_ok && is) {
        size_t len, off;
        void *data;
        napi_value ab;
        if (napi_get_dataview_info(env, v, &len, &data, &ab, &off) != napi_ok) return -1;
        *p = data;
        *n = len;
        return 0;
    }
    if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
        void *data;
        size_t len;
        if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok) return -1;
        *p = data;
        *n = len;
        return 0;
    }
    return -1;
}

/* ---- writers ------------------------------------------------------------ *
 *
 * spikard_stream_write, spikard_sse_send, spikard_ws_send and
 * spikard_ws_close may block (backpressure from a slow client, up to 10 s
 * for a WebSocket send), and the main thread must never wait for a client.
 * So JavaScript only queues these calls here: each stream or connection is
 * a channel, a FIFO of ops; a channel with ops is owned by exactly one
 * writer thread, which runs them in order, so a slow client blocks only its
 * own channel. Writers are taken from an idle list (or created) when a
 * channel gets work, go back to it when the channel is empty, and end after
 * 5 s without work: there are as many threads as channels busy at once.
 *
 * Results go back to the main thread through one threadsafe function
 * (signalled once per empty -> non-empty transition of the result list),
 * under the ticket number JavaScript gave the op; ops without a ticket
 * report nothing. A stream write that failed (client gone) makes the
 * channel refuse later writes at once (streamWrite returns the code), so
 * the producer stops at its next chunk.
 *
 * The answer to a WebSocket event (spikard_respond / spikard_continue /
 * spikard_respond_error) joins the connection's channel when sends are
 * still queued there, so a message sent during the event goes out before
 * the one the event answers with.
 */

enum { OP_WRITE, OP_FLUSH, OP_SSE, OP_END, OP_FAIL, OP_WS_SEND, OP_WS_CLOSE, OP_FINISH, OP_RELEASE };
enum { FIN_RESPOND = 1, FIN_ERROR = 2, FIN_CONTINUE = 3 };

#define KEY_STREAM(h) ((uint64_t)(h) * 2)
#define KEY_WS(h) ((uint64_t)(h) * 2 + 1)

static chan **chan_slot(writers_t *w, uint64_t key) {
    chan **pp = &w->buckets[(key >> 1) % CHAN_BUCKETS];
    while (*pp && (*pp)->key != key) pp = &(*pp)->next;
    return pp;
}

/* An op with room for n strings of the given lengths. */
static op *op_new(int kind, const size_t *lens, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += lens[i] + 1;
    op *o = calloc(1, sizeof *o + total + 1);
    if (!o) return NULL;
    o->kind = kind;
    for (int i = 0; i < n; i++) {
        o->len[i] = lens[i];
        o->total += lens[i];
    }
    return o;
}

static char *op_str(op *o, int i) {
    char *p = o->data;
    for (int k = 0; k < i; k++) p += o->len[k] + 1;
    return p;
}

static void done_push(writers_t *w, double ticket, int rc, char *msg) {
    done *d = malloc(sizeof *d);
    if (!d) {
        free(msg);
        return;
    }
    d->next = NULL;
    d->ticket = ticket;
    d->rc = rc;
    d->msg = msg;
    if (w->done_tail) w->done_tail->next = d;
    else w->done_head = d;
    w->done_tail = d;
}

static int run_op(uint64_t key, op *o) {
    uint64_t h = key >> 1;
    switch (o->kind) {
    case OP_WRITE: return spikard_stream_write(h, o->data, o->len[0]);
    case OP_FLUSH: return spikard_stream_write(h, "", 0);
    case OP_SSE: {
        const char *s[4];
        for (int i = 0; i < 4; i++) s[i] = o->len[i] ? op_str(o, i) : NULL;
        return spikard_sse_send(h, s[0], o->len[0], s[1], o->len[1], s[2], o->len[2], s[3], o->len[3], o->n);
    }
    case OP_END: return spikard_stream_end(h);
    case OP_FAIL: return spikard_stream_fail(h, o->len[0] ? o->data : NULL);
    case OP_WS_SEND: return spikard_ws_send(h, (int)o->n, o->data, o->len[0]);
    case OP_WS_CLOSE: return spikard_ws_close(h, (int)o->n, o->data, o->len[0]);
    case OP_FINISH:
        switch (o->n) {
        case FIN_RESPOND: return spikard_respond(o->req, o->n2, op_str(o, 0), o->len[0], op_str(o, 1), o->len[1]);
        case FIN_ERROR: return spikard_respond_error(o->req, o->len[0] ? o->data : NULL);
        default: return spikard_continue(o->req, o->len[0] ? o->data : NULL, o->len[0]);
        }
    default: return SPIKARD_OK; /* OP_RELEASE */
    }
}

/* Runs a channel's ops until it is empty (called and returns with the lock
 * held; the calls run without it). Frees the channel after its last op.
 * Returns whether results wait for the main thread. */
static int run_chan(writers_t *w, chan *c) {
    int wake = 0;
    for (;;) {
        op *o = c->head;
        if (!o) {
            c->busy = 0;
            return wake;
        }
        c->head = o->next;
        if (!c->head) c->tail = NULL;
        int refused = c->rc < 0 && (o->kind == OP_WRITE || o->kind == OP_FLUSH || o->kind == OP_SSE);
        int rc = c->rc;
        uint64_t key = c->key;
        pthread_mutex_unlock(&w->lock);
        char *msg = NULL;
        if (!refused) {
            rc = run_op(key, o);
            if (rc < 0 && o->ticket > 0) msg = strdup(spikard_last_error());
        }
        pthread_mutex_lock(&w->lock);
        c->bytes -= o->total;
        if (!(key & 1) && rc < 0 && rc != SPIKARD_EINVAL && c->rc == 0) c->rc = rc;
        if (o->ticket > 0) {
            if (!w->done_head && !w->done_signalled) {
                w->done_signalled = 1;
                wake = 1;
            }
            done_push(w, o->ticket, rc, msg);
        }
        int last = o->kind == OP_END || o->kind == OP_FAIL || o->kind == OP_RELEASE;
        free(o);
        if (last) {
            chan **pp = chan_slot(w, c->key);
            if (*pp == c) *pp = c->next;
            w->nchans--;
            free(c); /* nothing can follow the last op: the channel was closed */
            return wake;
        }
    }
}

static void *writer_main(void *arg) {
    writers_t *w = ((void **)arg)[0];
    writer *self = ((void **)arg)[1];
    free(arg);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        chan *c = self->job;
        self->job = NULL;
        if (c && run_chan(w, c) && w->done_tsfn) {
            /* Called with the lock held: the finalizer releases the
             * function only after every writer ended. */
            napi_call_threadsafe_function(w->done_tsfn, NULL, napi_tsfn_nonblocking);
        }
        if (w->stopping) break;
        self->next = w->idle;
        w->idle = self;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        while (!self->job && !w->stopping)
            if (pthread_cond_timedwait(&self->cond, &w->lock, &ts) == ETIMEDOUT) break;
        if (!self->job) {
            for (writer **pp = &w->idle; *pp; pp = &(*pp)->next)
                if (*pp == self) {
                    *pp = self->next;
                    break;
                }
            break;
        }
    }
    w->nwriters--;
    pthread_cond_broadcast(&w->exited);
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&self->cond);
    free(self);
    return NULL;
}

/* Gives channel c to an idle writer or a new one (lock held). */
static int writer_for(writers_t *w, chan *c) {
    if (w->idle) {
        writer *t = w->idle;
        w->idle = t->next;
        t->job = c;
        pthread_cond_signal(&t->cond);
        return 0;
    }
    writer *t = calloc(1, sizeof *t);
    void **arg = malloc(2 * sizeof *arg);
    if (!t || !arg) {
        free(t);
        free(arg);
        return -1;
    }
    pthread_cond_init(&t->cond, NULL);
    t->job = c;
    arg[0] = w;
    arg[1] = t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 1 << 20);
    pthread_t th;
    int e = pthread_create(&th, &at, writer_main, arg);
    pthread_attr_destroy(&at);
    if (e != 0) {
        pthread_cond_destroy(&t->cond);
        free(t);
        free(arg);
        return -1;
    }
    w->nwriters++;
    return 0;
}

/* Queues o on the channel of key (created unless create is 0). last: o is
 * the channel's last op. Returns SPIKARD_OK (o is the channel's), or a code
 * (o was freed): ESTATE for a channel that was closed or does not exist,
 * EINTERNAL when no thread could be started. *bytes, when not NULL,
 * receives the bytes queued, or the stream's failure code. */
static int chan_push(writers_t *w, uint64_t key, op *o, int create, int last, int64_t *bytes) {
    pthread_mutex_lock(&w->lock);
    chan **pp = chan_slot(w, key);
    chan *c = *pp;
    if (!c && create) {
        c = calloc(1, sizeof *c);
        if (c) {
            c->key = key;
            *pp = c;
            w->nchans++;
        }
    }
    if (!c || c->closed) {
        pthread_mutex_unlock(&w->lock);
        free(o);
        return c || create ? SPIKARD_ESTATE : SPIKARD_OK;
    }
    if (o->kind == OP_WRITE && c->rc < 0) {
        if (bytes) *bytes = c->rc;
        pthread_mutex_unlock(&w->lock);
        free(o);
        return SPIKARD_OK;
    }
    if (last) c->closed = 1;
    if (c->tail) c->tail->next = o;
    else c->head = o;
    c->tail = o;
    c->bytes += o->total;
    if (bytes) *bytes = (int64_t)c->bytes;
    int rc = SPIKARD_OK;
    if (!c->busy) {
        c->busy = 1;
        if (writer_for(w, c) != 0) {
            rc = SPIKARD_EINTERNAL;
            c->busy = 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* An op holding n arguments (strings as UTF-8, Buffers / TypedArrays /
 * ArrayBuffers as bytes, undefined / null as nothing); NULL with a
 * TypeError thrown for anything else. */
static op *op_from(napi_env env, addon_t *ad, int kind, const napi_value *vals, int n) {
    size_t lens[4] = {0};
    const char *bytes[4] = {0};
    int isstr[4] = {0};
    for (int i = 0; i < n; i++) {
        napi_valuetype t = napi_undefined;
        napi_typeof(env, vals[i], &t);
        if (t == napi_string) {
            isstr[i] = 1;
            if (napi_get_value_string_utf8(env, vals[i], NULL, 0, &lens[i]) != napi_ok) return NULL;
        } else if (body_bytes(env, ad, vals[i], &bytes[i], &lens[i]) != 0) {
            napi_throw_type_error(env, NULL, "spikard: a message, chunk or event field must be a string, a Buffer or a TypedArray");
            return NULL;
        }
    }
    op *o = op_new(kind, lens, n);
    if (!o) {
        napi_throw_error(env, NULL, "spikard: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char *dst = op_str(o, i);
        size_t got;
        if (isstr[i]) napi_get_value_string_utf8(env, vals[i], dst, lens[i] + 1, &got);
        else if (lens[i]) memcpy(dst, bytes[i], lens[i]);
    }
    return o;
}

static napi_value ret_double(napi_env env, double d) {
    napi_value r;
    napi_create_double(env, d, &r);
    return r;
}

/* How a queued call reads its arguments: the handle at 0, nstr strings
 * from str_at, a number at n_at (if > 0), the ticket at ticket_at (may be
 * absent). */
typedef struct {
    int kind, ws, str_at, nstr, n_at, ticket_at, last;
} call_layout;

/* The calls JavaScript queues (see the module's properties):
 *   streamFlush(stream, ticket): reports once what was written before
 *     reached the library (or the stream's failure);
 *   sseSend(stream, event, data, id, comment, retryMs, ticket);
 *   streamEnd(stream, ticket), streamFail(stream, message, ticket);
 *   wsSend(conn, opcode, data, ticket), wsClose(conn, code, reason, ticket);
 *   wsRelease(conn): the connection is over (after its close event). */
static const call_layout L_FLUSH = {OP_FLUSH, 0, 1, 0, 0, 1, 0};
static const call_layout L_SSE = {OP_SSE, 0, 1, 4, 5, 6, 0};
static const call_layout L_END = {OP_END, 0, 1, 0, 0, 1, 1};
static const call_layout L_FAIL = {OP_FAIL, 0, 1, 1, 0, 2, 1};
static const call_layout L_WS_SEND = {OP_WS_SEND, 1, 2, 1, 1, 3, 0};
static const call_layout L_WS_CLOSE = {OP_WS_CLOSE, 1, 2, 1, 1, 3, 0};
static const call_layout L_WS_RELEASE = {OP_RELEASE, 1, 1, 0, 0, 1, 1};

/* Queues one call (its layout is the function's data); returns the code. */
static napi_value js_queue(napi_env env, napi_callback_info info) {
    size_t argc = 8;
    napi_value argv[8];
    void *data;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &data));
    const call_layout *l = data;
    addon_t *ad = get_addon(env);
    double h, ticket = 0;
    int64_t n = 0;
    if (argc < (size_t)l->ticket_at || napi_get_value_double(env, argv[0], &h) != napi_ok ||
        (l->n_at > 0 && napi_get_value_int64(env, argv[l->n_at], &n) != napi_ok)) {
        napi_throw_type_error(env, NULL, "spikard: bad arguments to a stream or WebSocket call");
        return NULL;
    }
    if (argc > (size_t)l->ticket_at) napi_get_value_double(env, argv[l->ticket_at], &ticket);
    op *o = op_from(env, ad, l->kind, argv + l->str_at, l->nstr);
    if (!o) return NULL;
    o->n = n;
    o->ticket = ticket;
    uint64_t key = l->ws ? KEY_WS((uint64_t)h) : KEY_STREAM((uint64_t)h);
    return ret_double(env, chan_push(&ad->w, key, o, l->kind != OP_RELEASE, l->last, NULL));
}

/* streamBegin(token, status, headers) -> the stream handle (> 0) or a
 * code (< 0; the request stays open after SPIKARD_EINVAL). Answers the
 * request: read its fields before. */
static napi_value js_stream_begin(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double tok;
    int32_t status;
    if (argc < 3 || napi_get_value_double(env, argv[0], &tok) != napi_ok ||
        napi_get_value_int32(env, argv[1], &status) != napi_ok) {
        napi_throw_type_error(env, NULL, "streamBegin(token, status, headers)");
        return NULL;
    }
    slot_t *s = slot_get(ad, tok);
    if (!s) return ret_double(env, SPIKARD_ESTATE);
    const char *h = NULL;
    size_t hl = 0;
    napi_valuetype t = napi_undefined;
    napi_typeof(env, argv[2], &t);
    if (t == napi_string) {
        ssize_t n = utf8_into(env, argv[2], &ad->hscratch, &ad->hscratch_cap);
        if (n < 0) return NULL;
        h = ad->hscratch;
        hl = (size_t)n;
    }
    uint64_t sid = 0;
    int rc = spikard_stream_begin(s->req.id, status, h, hl, &sid);
    if (rc != SPIKARD_EINVAL) slot_close(ad, s);
    return ret_double(env, rc == SPIKARD_OK ? (double)sid : rc);
}

/* streamWrite(stream, chunk) -> bytes queued (>= 0), or the code of the
 * stream's failure (< 0: the client went away...; stop and end it). */
static napi_value js_stream_write(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double h;
    if (argc < 2 || napi_get_value_double(env, argv[0], &h) != napi_ok) {
        napi_throw_type_error(env, NULL, "streamWrite(stream, chunk)");
        return NULL;
    }
    op *o = op_from(env, ad, OP_WRITE, argv + 1, 1);
    if (!o) return NULL;
    int64_t q = 0;
    int rc = chan_push(&ad->w, KEY_STREAM((uint64_t)h), o, 1, 0, &q);
    return ret_double(env, rc != SPIKARD_OK ? rc : (double)q);
}

/* For a WebSocket event whose connection still has sends queued: queues
 * the event's answer behind them and returns 1 (the request is then the
 * writer's); 0 when it can be answered now; -1 with an exception. */
static int finish_later(napi_env env, addon_t *ad, slot_t *s, int how, int status, const napi_value *vals, int n) {
    if (s->req.kind == SPIKARD_KIND_HTTP || s->req.conn == 0) return 0;
    writers_t *w = &ad->w;
    uint64_t key = KEY_WS(s->req.conn);
    pthread_mutex_lock(&w->lock);
    chan *c = *chan_slot(w, key);
    int busy = c && c->busy;
    pthread_mutex_unlock(&w->lock);
    if (!busy) return 0;
    op *o = op_from(env, ad, OP_FINISH, vals, n);
    if (!o) return -1;
    o->n = how;
    o->n2 = status;
    o->req = s->req.id;
    if (chan_push(w, key, o, 0, 0, NULL) != SPIKARD_OK) return 0;
    slot_close(ad, s);
    return 1;
}

/* The main thread's side of the results: onDone([ticket, code, message, ...]). */
static void on_done(napi_env env, napi_value js_cb, void *context, void *data) {
    addon_t *ad = context;
    if (env == NULL) return;
    writers_t *w = &ad->w;
    pthread_mutex_lock(&w->lock);
    done *d = w->done_head;
    w->done_head = w->done_tail = NULL;
    w->done_signalled = 0;
    pthread_mutex_unlock(&w->lock);
    if (!d) return;
    napi_handle_scope hs;
    napi_open_handle_scope(env, &hs);
    napi_value arr, v, undef, resource, ret;
    napi_get_undefined(env, &undef);
    napi_create_array(env, &arr);
    uint32_t i = 0;
    while (d) {
        done *next = d->next;
        napi_create_double(env, d->ticket, &v);
        napi_set_element(env, arr, i++, v);
        napi_create_int32(env, d->rc, &v);
        napi_set_element(env, arr, i++, v);
        if (d->msg) napi_create_string_utf8(env, d->msg, NAPI_AUTO_LENGTH, &v);
        else v = undef;
        napi_set_element(env, arr, i++, v);
        free(d->msg);
        free(d);
        d = next;
    }
    napi_callback_scope cs;
    napi_get_reference_value(env, w->done_resource, &resource);
    napi_open_callback_scope(env, resource, w->done_actx, &cs);
    if (napi_call_function(env, undef, js_cb, 1, &arr, &ret) != napi_ok) {
        bool pending = false;
        napi_value exc;
        napi_is_exception_pending(env, &pending);
        if (pending) napi_get_and_clear_last_exception(env, &exc);
        fprintf(stderr, "spikard: internal error in the stream results callback\n");
    }
    napi_close_callback_scope(env, cs);
    napi_close_handle_scope(env, hs);
}

/* liveInit(onDone): where results go (once per environment). */
static napi_value js_live_init(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], name, resource;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    writers_t *w = &ad->w;
    if (w->done_tsfn) return NULL;
    CHECK(napi_create_string_utf8(env, "spikard.streams", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_object(env, &resource));
    CHECK(napi_create_reference(env, resource, 1, &w->done_resource));
    CHECK(napi_async_init(env, resource, name, &w->done_actx));
    napi_threadsafe_function f;
    CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, ad, on_done, &f));
    /* Never keeps the process alive by itself: while an app listens, its
     * dispatch does. */
    CHECK(napi_unref_threadsafe_function(env, f));
    pthread_mutex_lock(&w->lock);
    w->done_tsfn = f;
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* openChannels() -> [streams and connections with queued calls, writer threads] (tests). */
static napi_value js_open_channels(napi_env env, napi_callback_info info) {
    writers_t *w = &get_addon(env)->w;
    napi_value r;
    CHECK(napi_create_array_with_length(env, 2, &r));
    pthread_mutex_lock(&w->lock);
    double xs[2] = {w->nchans, w->nwriters};
    pthread_mutex_unlock(&w->lock);
    for (uint32_t i = 0; i < 2; i++) CHECK(napi_set_element(env, r, i, ret_double(env, xs[i])));
    return r;
}

/* Stops the writers (after the apps were freed, so no call blocks), then
 * the results function. */
static void writers_stop(writers_t *w) {
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    for (writer *t = w->idle; t; t = t->next) pthread_cond_signal(&t->cond);
    while (w->nwriters > 0) pthread_cond_wait(&w->exited, &w->lock);
    for (int b = 0; b < CHAN_BUCKETS; b++) {
        while (w->buckets[b]) {
            chan *c = w->buckets[b];
            w->buckets[b] = c->next;
            while (c->head) {
                op *o = c->head;
                c->head = o->next;
                free(o);
            }
            free(c);
        }
    }
    while (w->done_head) {
        done *d = w->done_head;
        w->done_head = d->next;
        free(d->msg);
        free(d);
    }
    napi_threadsafe_function f = w->done_tsfn;
    w->done_tsfn = NULL;
    pthread_mutex_unlock(&w->lock);
    if (f) napi_release_threadsafe_function(f, napi_tsfn_abort);
}

/* ---- exported functions ------------------------------------------------ */

static napi_value js_abi_version(napi_env env, napi_callback_info info) {
    napi_value r;
    CHECK(napi_create_uint32(env, spikard_abi_version(), &r));
    return r;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
    napi_value r;
    CHECK(napi_create_string_utf8(env, spikard_version(), NAPI_AUTO_LENGTH, &r));
    return r;
}

/* appNew(document: string, dispatch: Function, mode: 0|1) -> handle */
static napi_value js_app_new(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    int32_t mode = 0;
    napi_valuetype t;
    if (argc < 3) {
        napi_throw_type_error(env, NULL, "appNew(document, dispatch, mode)");
        return NULL;
    }
    CHECK(napi_typeof(env, argv[1], &t));
    if (t != napi_function) {
        napi_throw_type_error(env, NULL, "appNew: dispatch must be a function");
        return NULL;
    }
    CHECK(napi_get_value_int32(env, argv[2], &mode));
#ifdef SPIKARD_NO_UV
    mode |= MODE_CALLBACK;
#endif
    char *doc = NULL;
    size_t cap = 0;
    ssize_t len = utf8_into(env, argv[0], &doc, &cap);
    if (len < 0) {
        free(doc);
        napi_throw_type_error(env, NULL, "appNew: the document must be a string");
        return NULL;
    }
    int64_t h = 0;
    int rc = spikard_app_new(doc, (size_t)len, &h);
    free(doc);
    if (rc != SPIKARD_OK) {
        throw_rc(env, rc, spikard_last_error());
        return NULL;
    }
    app_state *a = calloc(1, sizeof *a);
    if (!a) {
        spikard_app_free(h);
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    a->handle = h;
    a->values_objects = (mode & 2) != 0;
    mode &= 1;
    a->mode = mode;
    a->env = env;
    pthread_mutex_init(&a->qlock, NULL);
    napi_value resource, rname;
    CHECK(napi_create_reference(env, argv[1], 1, &a->dispatch));
    CHECK(napi_create_object(env, &resource));
    CHECK(napi_create_reference(env, resource, 1, &a->resource));
    CHECK(napi_create_string_utf8(env, "SpikardRequest", NAPI_AUTO_LENGTH, &rname));
    CHECK(napi_async_init(env, resource, rname, &a->actx));
    a->next = ad->apps;
    ad->apps = a;
    CHECK(napi_create_double(env, (double)h, &r));
    return r;
}

static app_state *app_arg(napi_env env, napi_value v) {
    int64_t h;
    if (!arg_int64(env, v, &h)) {
        napi_throw_type_error(env, NULL, "an app handle is a number");
        return NULL;
    }
    app_state *a = find_app(get_addon(env), h);
    if (!a) throw_rc(env, SPIKARD_EBADHANDLE, "unknown or freed app handle");
    return a;
}

/* bind(app, name, tag) */
static napi_value js_bind(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    app_state *a = app_arg(env, argv[0]);
    if (!a) return NULL;
    char name[1024];
    size_t nl;
    double tag;
    if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &nl) != napi_ok ||
        napi_get_value_double(env, argv[2], &tag) != napi_ok) {
        napi_throw_type_error(env, NULL, "bind(app, name: string, tag: number)");
        return NULL;
    }
    int rc;
    if (a->mode == MODE_CALLBACK) {
        cb_binding *b = malloc(sizeof *b);
        if (!b) return NULL;
        b->app = a;
        b->tag = tag;
        rc = spikard_app_handle_callback(a->handle, name, on_callback, b, free);
        if (rc != SPIKARD_OK) free(b);
    } else {
        rc = spikard_app_handle_queued(a->handle, name, (uint64_t)tag);
    }
    if (rc != SPIKARD_OK) {
        throw_rc(env, rc, spikard_last_error());
        return NULL;
    }
    return NULL;
}

/* config(app) -> the normalised document */
/* A document the library writes into a caller's buffer (spikard_app_config,
 * spikard_app_openapi), as a JS string: size it, then fetch it. */
typedef int (*app_document_fn)(int64_t app, char *buf, size_t cap, size_t *out_len);

static napi_value app_document(napi_env env, napi_callback_info info, app_document_fn fn) {
    size_t argc = 1;
    napi_value argv[1], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    app_state *a = app_arg(env, argv[0]);
    if (!a) return NULL;
    size_t n = 0;
    int rc = fn(a->handle, NULL, 0, &n);
    if (rc != SPIKARD_OK && rc != SPIKARD_ERANGE) {
        throw_rc(env, rc, spikard_last_error());
        return NULL;
    }
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    rc = fn(a->handle, buf, n + 1, &n);
    if (rc != SPIKARD_OK) {
        free(buf);
        throw_rc(env, rc, spikard_last_error());
        return NULL;
    }
    napi_status st = napi_create_string_utf8(env, buf, n, &r);
    free(buf);
    CHECK(st);
    return r;
}

static napi_value js_config(napi_env env, napi_callback_info info) {
    return app_document(env, info, spikard_app_config);
}

static int start_dispatch(napi_env env, app_state *a) {
    if (a->started) return 0;
    if (a->mode == MODE_CALLBACK) {
        napi_value name;
        if (napi_create_string_utf8(env, "spikard", NAPI_AUTO_LENGTH, &name) != napi_ok) return -1;
        if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, a, on_tsfn,
                                            &a->tsfn) != napi_ok)
            return -1;
    } else {
#ifndef SPIKARD_NO_UV
        int fd;
        int rc = spikard_app_ready_fd(a->handle, &fd);
        if (rc != SPIKARD_OK) {
            throw_rc(env, rc, spikard_last_error());
            return -2;
        }
        uv_loop_t *loop;
        if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -1;
        a->poll = calloc(1, sizeof *a->poll);
        if (!a->poll) return -1;
        if (uv_poll_init(loop, a->poll, fd) != 0) {
            free(a->poll);
            a->poll = NULL;
            return -1;
        }
        a->poll->data = a;
        uv_poll_start(a->poll, UV_READABLE, on_ready);
#endif
    }
    a->started = 1;
    return 0;
}

static void stop_dispatch(app_state *a) {
    if (!a->started) return;
    a->started = 0;
    if (a->mode == MODE_CALLBACK) {
        napi_release_threadsafe_function(a->tsfn, napi_tsfn_abort);
        a->tsfn = NULL;
    } else {
#ifndef SPIKARD_NO_UV
        uv_poll_stop(a->poll);
        uv_close((uv_handle_t *)a->poll, on_poll_closed);
        a->poll = NULL;
#endif
    }
}

/* listen(app, host, port) -> bound port */
static napi_value js_listen(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    app_state *a = app_arg(env, argv[0]);
    if (!a) return NULL;
    char host[256];
    size_t hl;
    uint32_t port;
    if (napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hl) != napi_ok ||
        napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535) {
        napi_throw_type_error(env, NULL, "listen(app, host: string, port: number)");
        return NULL;
    }
    int sr = start_dispatch(env, a);
    if (sr == -2) return NULL;
    if (sr != 0) {
        napi_throw_error(env, NULL, "spikard: cannot watch the request queue");
        return NULL;
    }
    uint16_t bound = 0;
    int rc = spikard_app_listen(a->handle, host, (uint16_t)port, &bound);
    if (rc != SPIKARD_OK) {
        throw_rc(env, rc, spikard_last_error());
        return NULL;
    }
    CHECK(napi_create_uint32(env, bound, &r));
    return r;
}

/* shutdown(app, timeoutMs) -> Promise<number>, the result code. Runs on a
 * worker thread: the main thread keeps answering the queue meanwhile. */
typedef struct {
    napi_async_work work;
    napi_deferred deferred;
    int64_t handle;
    int timeout;
    int rc;
} shutdown_job;

static void shutdown_exec(napi_env env, void *data) {
    shutdown_job *j = data;
    j->rc = spikard_app_shutdown(j->handle, j->timeout);
}

static void shutdown_done(napi_env env, napi_status status, void *data) {
    shutdown_job *j = data;
    napi_value v;
    napi_create_int32(env, j->rc, &v);
    napi_resolve_deferred(env, j->deferred, v);
    napi_delete_async_work(env, j->work);
    free(j);
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], promise, name;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    app_state *a = app_arg(env, argv[0]);
    if (!a) return NULL;
    int32_t timeout = 0;
    CHECK(napi_get_value_int32(env, argv[1], &timeout));
    shutdown_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->handle = a->handle;
    j->timeout = timeout;
    CHECK(napi_create_promise(env, &j->deferred, &promise));
    CHECK(napi_create_string_utf8(env, "spikard.shutdown", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_async_work(env, NULL, name, shutdown_exec, shutdown_done, j, &j->work));
    CHECK(napi_queue_async_work(env, j->work));
    return promise;
}

static void app_release(napi_env env, addon_t *ad, app_state *a) {
    /* poll: close the uv_poll before the library closes the descriptor;
     * callback: free the app first (it waits for running callbacks, and no
     * callback comes after it), then release the threadsafe function. */
    if (a->mode == MODE_POLL) stop_dispatch(a);
    spikard_app_free(a->handle);
    if (a->mode == MODE_CALLBACK) stop_dispatch(a);
    a->qlen = 0;
    /* Requests the library released are stale now. */
    for (uint32_t i = 0; i < ad->nslots; i++)
        if (ad->slots[i].live && ad->slots[i].app == a) slot_close(ad, &ad->slots[i]);
    for (app_state **pp = &ad->apps; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    if (env) {
        napi_async_destroy(env, a->actx);
        napi_delete_reference(env, a->dispatch);
        napi_delete_reference(env, a->resource);
    }
    pthread_mutex_destroy(&a->qlock);
    free(a->q);
    free(a);
}

/* free(app): no grace; answers what is still open with 503. */
static napi_value js_free(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    int64_t h;
    if (!arg_int64(env, argv[0], &h)) return NULL;
    addon_t *ad = get_addon(env);
    app_state *a = find_app(ad, h);
    if (a) app_release(env, ad, a);
    return NULL;
}

/* respond(token, status, headers, body) -> result code (0 ok, negative:
 * the library's code; the request is released unless EINVAL). */
static napi_value js_respond(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double tok;
    int32_t status;
    if (napi_get_value_double(env, argv[0], &tok) != napi_ok ||
        napi_get_value_int32(env, argv[1], &status) != napi_ok) {
        napi_throw_type_error(env, NULL, "respond(token, status, headers, body)");
        return NULL;
    }
    slot_t *s = slot_get(ad, tok);
    if (!s) {
        CHECK(napi_create_int32(env, SPIKARD_ESTATE, &r));
        return r;
    }
    int later = finish_later(env, ad, s, FIN_RESPOND, status, argv + 2, 2);
    if (later < 0) return NULL;
    if (later) return ret_double(env, SPIKARD_OK);
    const char *h = NULL;
    size_t hl = 0;
    napi_valuetype t = napi_undefined;
    if (argc > 2) napi_typeof(env, argv[2], &t);
    if (t == napi_string) {
        ssize_t n = utf8_into(env, argv[2], &ad->hscratch, &ad->hscratch_cap);
        if (n < 0) return NULL;
        h = ad->hscratch;
        hl = (size_t)n;
    }
    const char *b = NULL;
    size_t bl = 0;
    if (argc > 3 && body_bytes(env, ad, argv[3], &b, &bl) != 0) {
        napi_throw_type_error(env, NULL, "respond: the body must be a string, a Buffer or a TypedArray");
        return NULL;
    }
    int rc = spikard_respond(s->req.id, status, h, hl, b, bl);
    if (rc != SPIKARD_EINVAL) slot_close(ad, s);
    CHECK(napi_create_int32(env, rc, &r));
    return r;
}

/* respondError(token, message) -> result code */
static napi_value js_respond_error(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double tok;
    CHECK(napi_get_value_double(env, argv[0], &tok));
    slot_t *s = slot_get(ad, tok);
    if (!s) {
        CHECK(napi_create_int32(env, SPIKARD_ESTATE, &r));
        return r;
    }
    int later = finish_later(env, ad, s, FIN_ERROR, 0, argv + 1, 1);
    if (later < 0) return NULL;
    if (later) return ret_double(env, SPIKARD_OK);
    const char *msg = NULL;
    napi_valuetype t = napi_undefined;
    if (argc > 1) napi_typeof(env, argv[1], &t);
    if (t == napi_string) {
        if (utf8_into(env, argv[1], &ad->scratch, &ad->scratch_cap) < 0) return NULL;
        msg = ad->scratch;
    }
    int rc = spikard_respond_error(s->req.id, msg);
    slot_close(ad, s);
    CHECK(napi_create_int32(env, rc, &r));
    return r;
}

/* continueRequest(token, changes) -> result code: finishes a hook, factory
 * or task invocation without answering it (spikard_continue); changes is a
 * JSON text ({"status", "headers", "request_headers", "state"}) or undefined. */
static napi_value js_continue(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double tok;
    CHECK(napi_get_value_double(env, argv[0], &tok));
    slot_t *s = slot_get(ad, tok);
    if (!s) {
        CHECK(napi_create_int32(env, SPIKARD_ESTATE, &r));
        return r;
    }
    int later = finish_later(env, ad, s, FIN_CONTINUE, 0, argv + 1, 1);
    if (later < 0) return NULL;
    if (later) return ret_double(env, SPIKARD_OK);
    const char *c = NULL;
    size_t cl = 0;
    napi_valuetype t = napi_undefined;
    if (argc > 1) napi_typeof(env, argv[1], &t);
    if (t == napi_string) {
        ssize_t n = utf8_into(env, argv[1], &ad->scratch, &ad->scratch_cap);
        if (n < 0) return NULL;
        c = ad->scratch;
        cl = (size_t)n;
    }
    int rc = spikard_continue(s->req.id, c, cl);
    if (rc != SPIKARD_EINVAL) slot_close(ad, s);
    CHECK(napi_create_int32(env, rc, &r));
    return r;
}

/* openapi(app) -> the OpenAPI 3.1 document (JSON text) */
static napi_value js_openapi(napi_env env, napi_callback_info info) {
    return app_document(env, info, spikard_app_openapi);
}

enum { F_METHOD, F_PATH, F_QUERY, F_HEADERS, F_REQUEST_ID, F_BODY, F_HANDLER, F_VALUES };

/* field(token, which) -> string | Buffer; throws when the request was
 * already answered (its view is gone). */
static napi_value js_field(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    addon_t *ad = get_addon(env);
    double tok;
    int32_t which;
    CHECK(napi_get_value_double(env, argv[0], &tok));
    CHECK(napi_get_value_int32(env, argv[1], &which));
    slot_t *s = slot_get(ad, tok);
    if (!s) {
        throw_rc(env, SPIKARD_ESTATE,
                 "the request was already answered: read its fields (headers, body, query) before answering");
        return NULL;
    }
    const spikard_request *q = &s->req;
    switch (which) {
    case F_METHOD: CHECK(napi_create_string_latin1(env, q->method, q->method_len, &r)); break;
    case F_PATH: CHECK(napi_create_string_utf8(env, q->path, q->path_len, &r)); break;
    case F_QUERY: CHECK(napi_create_string_latin1(env, q->query, q->query_len, &r)); break;
    case F_HEADERS: CHECK(napi_create_string_latin1(env, q->headers, q->headers_len, &r)); break;
    case F_REQUEST_ID: CHECK(napi_create_string_latin1(env, q->request_id, q->request_id_len, &r)); break;
    case F_BODY: {
        void *d;
        CHECK(napi_create_buffer_copy(env, q->body_len, q->body_len ? q->body : "", &d, &r));
        break;
    }
    case F_HANDLER: CHECK(napi_create_string_utf8(env, q->handler, q->handler_len, &r)); break;
    case F_VALUES: CHECK(napi_create_string_utf8(env, q->values, q->values_len, &r)); break;
    default: napi_throw_range_error(env, NULL, "field: unknown field"); return NULL;
    }
    return r;
}

/* benchValues(fn, valuesJSON, n, asObjects) -> seconds: calls fn(token,
 * tag, values) n times in batches of 64 per callback scope, as the
 * dispatcher would, with the values as JSON text or as objects built here.
 * For bench/dispatch.mjs only (no request, no library involved). */
static napi_value js_bench_values(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4], r, recv, resource, args[3], name;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    char *txt = NULL;
    size_t cap = 0;
    ssize_t len = utf8_into(env, argv[1], &txt, &cap);
    uint32_t n;
    bool objects;
    CHECK(napi_get_value_uint32(env, argv[2], &n));
    CHECK(napi_get_value_bool(env, argv[3], &objects));
    napi_get_undefined(env, &recv);
    napi_create_object(env, &resource);
    napi_create_string_utf8(env, "bench", NAPI_AUTO_LENGTH, &name);
    napi_async_context actx;
    napi_async_init(env, resource, name, &actx);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t i = 0; i < n;) {
        napi_handle_scope hs;
        napi_callback_scope cs;
        napi_open_handle_scope(env, &hs);
        napi_open_callback_scope(env, resource, actx, &cs);
        for (int k = 0; k < BATCH && i < n; k++, i++) {
            napi_create_double(env, (double)i, &args[0]);
            napi_create_double(env, 0, &args[1]);
            if (objects) {
                const char *vp = txt;
                args[2] = jv(env, &vp, txt + len);
            } else {
                napi_create_string_utf8(env, txt, (size_t)len, &args[2]);
            }
            napi_value ret;
            if (napi_call_function(env, recv, argv[0], 3, args, &ret) != napi_ok) {
                napi_close_callback_scope(env, cs);
                napi_close_handle_scope(env, hs);
                free(txt);
                return NULL;
            }
        }
        napi_close_callback_scope(env, cs);
        napi_close_handle_scope(env, hs);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    napi_async_destroy(env, actx);
    free(txt);
    CHECK(napi_create_double(env, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, &r));
    return r;
}

/* signalsOnStack() -> how many handlers were fixed. libuv installs the
 * handlers of process.on('SIGTERM') and of child processes (SIGCHLD)
 * without SA_ONSTACK; on a thread of the Go runtime (which may run on a
 * small goroutine stack when the signal lands) a handler must run on the
 * alternate signal stack (include/spikard.h, "Signals"). This adds the flag
 * to every installed handler that lacks it; the binding calls it when it
 * listens, when a signal listener is added, and once a second. */
static napi_value js_signals_on_stack(napi_env env, napi_callback_info info) {
    uint32_t fixed = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) != 0) continue;
        if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)) continue;
        if (sa.sa_flags & SA_ONSTACK) continue;
        sa.sa_flags |= SA_ONSTACK;
        if (sigaction(sig, &sa, NULL) == 0) fixed++;
    }
    napi_value r;
    CHECK(napi_create_uint32(env, fixed, &r));
    return r;
}

/* stats() -> [wake-ups, batches, requests] dispatched so far (benchmarks). */
static napi_value js_stats(napi_env env, napi_callback_info info) {
    addon_t *ad = get_addon(env);
    napi_value r, v;
    CHECK(napi_create_array_with_length(env, 3, &r));
    double xs[3] = {(double)ad->n_wakes, (double)ad->n_batches, (double)ad->n_requests};
    for (uint32_t i = 0; i < 3; i++) {
        CHECK(napi_create_double(env, xs[i], &v));
        CHECK(napi_set_element(env, r, i, v));
    }
    return r;
}

/* openRequests() -> how many requests JavaScript holds (tests, leaks). */
static napi_value js_open_requests(napi_env env, napi_callback_info info) {
    napi_value r;
    CHECK(napi_create_uint32(env, get_addon(env)->live, &r));
    return r;
}

static void addon_finalize(napi_env env, void *data, void *hint) {
    addon_t *ad = data;
    while (ad->apps) app_release(NULL, ad, ad->apps);
    writers_stop(&ad->w);
    pthread_mutex_destroy(&ad->w.lock);
    pthread_cond_destroy(&ad->w.exited);
    free(ad->slots);
    free(ad->scratch);
    free(ad->hscratch);
    free(ad);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
    if (spikard_abi_version() != SPIKARD_ABI_VERSION) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "libspikard has ABI version %u, this addon was built for %u: rebuild the binding",
                 spikard_abi_version(), (unsigned)SPIKARD_ABI_VERSION);
        napi_throw_error(env, "SPIKARD_EVERSION", msg);
        return NULL;
    }
    addon_t *ad = calloc(1, sizeof *ad);
    if (!ad) return NULL;
    ad->free_head = -1;
    pthread_mutex_init(&ad->w.lock, NULL);
    pthread_cond_init(&ad->w.exited, NULL);
    napi_set_instance_data(env, ad, addon_finalize, NULL);
    napi_property_descriptor props[] = {
        {"abiVersion", NULL, js_abi_version, NULL, NULL, NULL, napi_default, NULL},
        {"version", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
        {"appNew", NULL, js_app_new, NULL, NULL, NULL, napi_default, NULL},
        {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
        {"config", NULL, js_config, NULL, NULL, NULL, napi_default, NULL},
        {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
        {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL},
        {"free", NULL, js_free, NULL, NULL, NULL, napi_default, NULL},
        {"respond", NULL, js_respond, NULL, NULL, NULL, napi_default, NULL},
        {"respondError", NULL, js_respond_error, NULL, NULL, NULL, napi_default, NULL},
        {"continueRequest", NULL, js_continue, NULL, NULL, NULL, napi_default, NULL},
        {"openapi", NULL, js_openapi, NULL, NULL, NULL, napi_default, NULL},
        {"field", NULL, js_field, NULL, NULL, NULL, napi_default, NULL},
        {"openRequests", NULL, js_open_requests, NULL, NULL, NULL, napi_default, NULL},
        {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
        {"signalsOnStack", NULL, js_signals_on_stack, NULL, NULL, NULL, napi_default, NULL},
        {"benchValues", NULL, js_bench_values, NULL, NULL, NULL, napi_default, NULL},
        {"liveInit", NULL, js_live_init, NULL, NULL, NULL, napi_default, NULL},
        {"streamBegin", NULL, js_stream_begin, NULL, NULL, NULL, napi_default, NULL},
        {"streamWrite", NULL, js_stream_write, NULL, NULL, NULL, napi_default, NULL},
        {"streamFlush", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_FLUSH},
        {"sseSend", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_SSE},
        {"streamEnd", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_END},
        {"streamFail", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_FAIL},
        {"wsSend", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_WS_SEND},
        {"wsClose", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_WS_CLOSE},
        {"wsRelease", NULL, js_queue, NULL, NULL, NULL, napi_default, (void *)&L_WS_RELEASE},
        {"openChannels", NULL, js_open_channels, NULL, NULL, NULL, napi_default, NULL},
    };
    napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
    return exports;
}
