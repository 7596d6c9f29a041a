/*
 * fixtureapp - the C binding's conformance fixture app (cmd/conformance,
 * PROTOCOL.md): reads one JSON line per scenario on stdin, serves it on a
 * free port of 127.0.0.1 through libspikard, answers on stdout.
 *
 *   in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
 *   out: {"port": N}            or {"error": "..."}
 *   in:  {"stop": true}
 *   out: {"stopped": true}
 *   EOF: stop and exit.
 *
 * The configuration document goes to spikard_app_new untouched. Every
 * handler name of the start message is bound (route handlers, lifecycle
 * hooks, dependency factories alike); each answers as its spec says, reading
 * what it needs from the request's values document (spikard_request.values):
 * fixed answers, echo, hooks that continue (spikard_continue), background
 * work (spikard_background), state lists, streamed bodies
 * (spikard_stream_*), event streams (spikard_sse_send) and WebSocket
 * handlers (SPIKARD_KIND_WS_* events, spikard_ws_send / spikard_ws_close).
 *
 * Dispatch modes: SPIKARD_FIXTURE_MODE=callback | queue | mixed (default).
 * mixed alternates per scenario app, so one run of the corpus goes through
 * both: callback handlers answer inside the callback (or, with sleep_ms,
 * from another thread later: asynchronous completion), queued handlers are
 * served by one host thread taking batches with spikard_next.
 *
 * Logs go to stderr; stdout carries protocol lines only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/minijson.h"
#include "spikard.h"

/* ---- growable buffer, JSON writing ----------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_string(buf *b, const char *s, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

static char *span_dup(mj_span v) {
    char *s = malloc(v.n + 1);
    memcpy(s, v.p, v.n);
    s[v.n] = 0;
    return s;
}

/* ---- specs ------------------------------------------------------------------------ */

typedef struct kv {
    char *k, *v; /* decoded strings (v may hold NULs: vlen) */
    size_t vlen;
} kv;

typedef struct rec {
    char *state;
    char *value; /* JSON text, or NULL: the invocation's name */
} rec;

typedef struct sse_event {
    char *event, *id, *data, *comment; /* NULL: absent */
    long long retry_ms;
} sse_event;

typedef struct spec {
    char *name;
    /* stream: chunks (decoded) written with delay_ms between them */
    int is_stream;
    char **chunks;    size_t *chunk_len; size_t nchunks;
    /* sse: events sent with delay_ms between them; resume skips ids <= Last-Event-ID */
    int is_sse, resume;
    sse_event *events; size_t nevents;
    int delay_ms;
    /* websocket */
    int is_ws, ws_echo, close_code;
    char *greeting;   /* JSON text or NULL */
    char *close_text, *close_reason;
    int status, echo, raise, sleep_ms, cont, generate_uuid;
    kv *headers;      size_t nheaders;      /* response headers */
    kv *headers_from; size_t nheaders_from; /* header -> pointer */
    kv *fill;         size_t nfill;         /* target pointer -> source pointer */
    char **cookies;   size_t ncookies;
    char **require;   size_t nrequire;
    rec *record;      size_t nrecord;
    rec *cleanup;     size_t ncleanup;
    char *bg_state, *bg_from;
    char *state;
    char *ct;
    char *body; /* JSON text (has_body 1) or bytes (has_body 2) */
    size_t body_len;
    int has_body;
} spec;

typedef struct running {
    int64_t app;
    spec *specs;
    size_t nspecs;
    int queued;
    pthread_t host;
} running;

static running *cur;
static unsigned scenario;

/* ---- state lists: the running app's, shared by its handlers ------------------------- */

typedef struct slist {
    char *name;
    buf items; /* JSON values joined by ',' */
    size_t count;
} slist;

static pthread_mutex_t lists_mu = PTHREAD_MUTEX_INITIALIZER;
static slist *lists;
static size_t nlists;

static slist *list_get(const char *name) { /* under lists_mu */
    for (size_t i = 0; i < nlists; i++)
        if (strcmp(lists[i].name, name) == 0) return &lists[i];
    lists = realloc(lists, (nlists + 1) * sizeof *lists);
    slist *l = &lists[nlists++];
    memset(l, 0, sizeof *l);
    l->name = strdup(name);
    return l;
}

static void list_add(const char *name, const char *json, size_t n) {
    pthread_mutex_lock(&lists_mu);
    slist *l = list_get(name);
    if (l->count++) put(&l->items, ",", 1);
    put(&l->items, json, n);
    pthread_mutex_unlock(&lists_mu);
}

static void lists_reset(void) {
    pthread_mutex_lock(&lists_mu);
    for (size_t i = 0; i < nlists; i++) {
        free(lists[i].name);
        free(lists[i].items.p);
    }
    free(lists);
    lists = NULL;
    nlists = 0;
    pthread_mutex_unlock(&lists_mu);
}

/* ---- output ------------------------------------------------------------------------ */

static void reply_error(const char *msg) {
    buf b = {0};
    puts_(&b, "{\"error\":");
    put_json_string(&b, msg, strlen(msg));
    puts_(&b, "}\n");
    fputs(b.p, stdout);
    fflush(stdout);
    free(b.p);
}

static void reply(const char *line) {
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ---- answering ------------------------------------------------------------------------ */

static void sleep_ms(int ms) {
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static void fail_request(uint64_t id, const char *what, const char *detail) {
    char msg[512];
    snprintf(msg, sizeof msg, "fixtureapp: %s%s", what, detail ? detail : "");
    spikard_respond_error(id, msg);
}

static void uuid4(char out[37]) {
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r)
        for (int i = 0; i < 16; i++) r[i] = (unsigned char)rand();
    if (fd >= 0) close(fd);
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* The value at ptr in the values document, as header text (a string's
 * content, anything else as JSON). Returns malloc'd text or NULL. */
static char *header_text(mj_span values, const char *ptr, size_t *len) {
    mj_span v;
    if (!mj_pointer(values, ptr, &v)) return NULL;
    if (v.p[0] == '"') return mj_string(v, len);
    *len = v.n;
    return span_dup(v);
}

/* Sets target (a pointer into the JSON text *body) to the text src. */
static int json_splice(buf *body, const char *target, mj_span src) {
    mj_span doc = {body->p, body->n}, t;
    if (!mj_pointer(doc, target, &t)) return 0;
    buf out = {0};
    put(&out, body->p, (size_t)(t.p - body->p));
    put(&out, src.p, src.n);
    put(&out, t.p + t.n, body->n - (size_t)(t.p + t.n - body->p));
    free(body->p);
    *body = out;
    return 1;
}

/* ---- streams, event streams, WebSockets ---------------------------------------------- */

/* Decodes standard base64 (with padding). Returns malloc'd bytes or NULL. */
static char *b64_decode(const char *in, size_t n, size_t *out_len) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(n / 4 * 3 + 3);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        const char *c = memchr(al, in[i], 64);
        if (c == NULL) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)(c - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    *out_len = o;
    return out;
}

/* The request's Last-Event-ID as a number, or -1. */
static long long last_event_id(const spikard_request *r) {
    static const char name[] = "last-event-id:";
    for (const char *p = r->headers, *e = r->headers + r->headers_len; p < e;) {
        const char *eol = memchr(p, '\n', (size_t)(e - p));
        if (eol == NULL) eol = e;
        if ((size_t)(eol - p) > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
            char *end;
            long long v = strtoll(p + sizeof name - 1, &end, 10);
            return end == p + sizeof name - 1 ? -1 : v;
        }
        p = eol + 1;
    }
    return -1;
}

static size_t slen(const char *s) { return s ? strlen(s) : 0; }

/* Produces the stream or event stream of a spec on the calling thread (a
 * producer thread of its own: see dispatch). hb: the answer's header block. */
static void produce(const spikard_request *r, const spec *s, const buf *hb) {
    uint64_t st;
    int rc = spikard_stream_begin(r->id, s->status, hb->p, hb->n, &st);
    if (rc != SPIKARD_OK) {
        fprintf(stderr, "fixtureapp: spikard_stream_begin: %s\n", spikard_last_error());
        return;
    }
    long long last = s->resume ? last_event_id(r) : -1;
    size_t count = s->is_sse ? s->nevents : s->nchunks;
    for (size_t i = 0; i < count && rc != SPIKARD_ECLOSED; i++) {
        if (s->is_sse) {
            const sse_event *ev = &s->events[i];
            char *end;
            long long id = ev->id ? strtoll(ev->id, &end, 10) : -1;
            if (last >= 0 && ev->id && *ev->id && *end == 0 && id <= last) continue;
        }
        if (s->delay_ms > 0) sleep_ms(s->delay_ms);
        if (s->is_sse) {
            const sse_event *ev = &s->events[i];
            rc = spikard_sse_send(st, ev->event, slen(ev->event), ev->data, slen(ev->data), ev->id, slen(ev->id),
                                  ev->comment, slen(ev->comment), ev->retry_ms);
            if (rc == SPIKARD_EINVAL) rc = SPIKARD_OK; /* the route's event schema refused it: skip */
        } else {
            rc = spikard_stream_write(st, s->chunks[i], s->chunk_len[i]);
        }
        if (rc != SPIKARD_OK && rc != SPIKARD_ECLOSED)
            fprintf(stderr, "fixtureapp: streaming %s: %s\n", s->name, spikard_last_error());
    }
    spikard_stream_end(st);
}

/* One WebSocket event (the spec's "websocket" member). */
static void ws_event(const spikard_request *r, const spec *s) {
    int rc = SPIKARD_OK;
    switch (r->kind) {
    case SPIKARD_KIND_WS_OPEN:
        if (s->greeting) rc = spikard_ws_send(r->conn, 1, s->greeting, strlen(s->greeting));
        break;
    case SPIKARD_KIND_WS_MESSAGE:
        if (s->close_text && r->method_len == 4 && memcmp(r->method, "TEXT", 4) == 0 &&
            r->body_len == strlen(s->close_text) && memcmp(r->body, s->close_text, r->body_len) == 0) {
            rc = spikard_ws_close(r->conn, s->close_code, s->close_reason, slen(s->close_reason));
        } else if (s->ws_echo) {
            /* an answer's body goes back as one message; binary by its type */
            int bin = r->method_len == 6 && memcmp(r->method, "BINARY", 6) == 0;
            const char *h = bin ? "Content-Type: application/octet-stream" : "";
            if (spikard_respond(r->id, 200, h, strlen(h), r->body, r->body_len) == SPIKARD_OK) return;
            rc = -1;
        }
        break;
    }
    if (rc != SPIKARD_OK) fprintf(stderr, "fixtureapp: websocket %s: %s\n", s->name, spikard_last_error());
    spikard_continue(r->id, NULL, 0);
}

/* Answers one invocation as its spec says (PROTOCOL.md, "Handler spec"). */
static void answer(const spikard_request *r, const spec *s) {
    mj_span values = {r->values, r->values_len}, v;
    size_t n;
    char *t;
    int rc = SPIKARD_OK;

    if (s->is_ws && r->kind != SPIKARD_KIND_HTTP) {
        ws_event(r, s);
        return;
    }
    /* a cleanup call: record and return */
    if (mj_pointer(values, "/call/kind", &v) && mj_lit(v, "\"cleanup\"")) {
        for (size_t i = 0; i < s->ncleanup; i++) {
            if (s->cleanup[i].value) list_add(s->cleanup[i].state, s->cleanup[i].value, strlen(s->cleanup[i].value));
            else if (mj_pointer(values, "/call/name", &v)) list_add(s->cleanup[i].state, v.p, v.n);
        }
        spikard_continue(r->id, NULL, 0);
        return;
    }
    for (size_t i = 0; i < s->nrequire; i++)
        if (!mj_pointer(values, s->require[i], &v)) {
            fail_request(r->id, "required value missing from the values document: ", s->require[i]);
            return;
        }
    for (size_t i = 0; i < s->nrecord; i++) {
        if (s->record[i].value) list_add(s->record[i].state, s->record[i].value, strlen(s->record[i].value));
        else if (mj_pointer(values, "/call/name", &v)) list_add(s->record[i].state, v.p, v.n);
    }
    if (s->raise) {
        spikard_respond_error(r->id, "fixtureapp: the handler raised, as the scenario asks");
        return;
    }

    /* headers: the spec's, then headers_from */
    kv *hs = calloc(s->nheaders + s->nheaders_from + 1, sizeof *hs);
    size_t nh = 0;
    for (size_t i = 0; i < s->nheaders; i++) hs[nh++] = (kv){s->headers[i].k, s->headers[i].v, s->headers[i].vlen};
    char **owned = calloc(s->nheaders_from + 1, sizeof *owned);
    for (size_t i = 0; i < s->nheaders_from; i++) {
        if ((t = header_text(values, s->headers_from[i].v, &n)) == NULL) {
            fail_request(r->id, "headers_from: no value at ", s->headers_from[i].v);
            goto out;
        }
        owned[i] = t;
        hs[nh++] = (kv){s->headers_from[i].k, t, n};
    }

    if (s->bg_state) {
        mj_span from;
        if (!mj_pointer(values, s->bg_from, &from)) {
            fail_request(r->id, "background: no value at ", s->bg_from);
            goto out;
        }
        buf p = {0};
        puts_(&p, "{\"state\":");
        put_json_string(&p, s->bg_state, strlen(s->bg_state));
        puts_(&p, ",\"value\":");
        put(&p, from.p, from.n);
        puts_(&p, "}");
        rc = spikard_background(r->id, "__fixture_task", p.p, p.n);
        free(p.p);
        if (rc != SPIKARD_OK) goto out;
    }

    if (s->cont) { /* a hook that lets the request go on, keeping its headers */
        buf ch = {0};
        puts_(&ch, "{\"headers\":{");
        for (size_t i = 0; i < nh; i++) {
            if (i) puts_(&ch, ",");
            put_json_string(&ch, hs[i].k, strlen(hs[i].k));
            puts_(&ch, ":");
            put_json_string(&ch, hs[i].v, hs[i].vlen);
        }
        puts_(&ch, "}}");
        rc = spikard_continue(r->id, ch.p, ch.n);
        free(ch.p);
        goto out;
    }

    /* the answer */
    buf hb = {0}, body = {0};
    const char *ct = s->ct ? s->ct : s->is_sse ? "text/event-stream" : NULL;
    char uuid[40];
    for (size_t i = 0; i < nh; i++) {
        puts_(&hb, hs[i].k);
        puts_(&hb, ": ");
        put(&hb, hs[i].v, hs[i].vlen);
        puts_(&hb, "\n");
    }
    for (size_t i = 0; i < s->ncookies; i++) {
        puts_(&hb, "Set-Cookie: ");
        puts_(&hb, s->cookies[i]);
        puts_(&hb, "\n");
    }
    if (s->state) {
        pthread_mutex_lock(&lists_mu);
        slist *l = list_get(s->state);
        puts_(&body, "{");
        put_json_string(&body, s->state, strlen(s->state));
        puts_(&body, ":[");
        if (l->items.n) put(&body, l->items.p, l->items.n);
        puts_(&body, "]}");
        pthread_mutex_unlock(&lists_mu);
        ct = "application/json";
    } else if (s->generate_uuid) {
        uuid4(uuid);
        put_json_string(&body, uuid, strlen(uuid));
        ct = "application/json";
    } else if (s->echo) {
        put(&body, r->values, r->values_len);
        ct = "application/json";
    } else if (s->has_body) {
        put(&body, s->body, s->body_len);
        for (size_t i = 0; i < s->nfill; i++) {
            mj_span src;
            if (!mj_pointer(values, s->fill[i].v, &src)) {
                fail_request(r->id, "fill: no value at ", s->fill[i].v);
                free(hb.p);
                free(body.p);
                goto out;
            }
            if (!json_splice(&body, s->fill[i].k, src)) {
                fail_request(r->id, "fill: no member at ", s->fill[i].k);
                free(hb.p);
                free(body.p);
                goto out;
            }
        }
    }
    if (ct && *ct) {
        puts_(&hb, "Content-Type: ");
        puts_(&hb, ct);
        puts_(&hb, "\n");
    }
    if (s->is_stream || s->is_sse) {
        produce(r, s, &hb);
        free(hb.p);
        free(body.p);
        goto out;
    }
    rc = spikard_respond(r->id, s->status, hb.p, hb.n, body.p, body.n);
    free(hb.p);
    free(body.p);
out:
    if (rc != SPIKARD_OK) fprintf(stderr, "fixtureapp: answering %s: %s\n", s->name, spikard_last_error());
    for (size_t i = 0; i < s->nheaders_from; i++) free(owned[i]);
    free(owned);
    free(hs);
}

/* The background task handler: {"state","value"} in call.payload. */
static void task(const spikard_request *r) {
    mj_span values = {r->values, r->values_len}, st, val;
    if (mj_pointer(values, "/call/payload/state", &st) && mj_pointer(values, "/call/payload/value", &val)) {
        char *name = mj_string(st, NULL);
        if (name) list_add(name, val.p, val.n);
        free(name);
    }
    spikard_continue(r->id, NULL, 0);
}

static int outstanding; /* delayed answers not given yet: stop() waits for them */

typedef struct delayed {
    spikard_request req; /* the view: valid until answered */
    const spec *s;
} delayed;

static void *answer_later(void *p) {
    delayed *d = p;
    sleep_ms(d->s->sleep_ms);
    answer(&d->req, d->s);
    free(d);
    __atomic_sub_fetch(&outstanding, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void dispatch(const spikard_request *r, const spec *s) {
    if (s == NULL) {
        task(r);
        return;
    }
    /* Streams are produced on a thread of their own, so that a callback
     * returns (the response starts) and the queue's thread goes on. */
    if (s->sleep_ms <= 0 && !s->is_stream && !s->is_sse) {
        answer(r, s);
        return;
    }
    delayed *d = malloc(sizeof *d);
    d->req = *r;
    d->s = s;
    __atomic_add_fetch(&outstanding, 1, __ATOMIC_SEQ_CST);
    pthread_t t;
    pthread_create(&t, NULL, answer_later, d);
    pthread_detach(t);
}

static void on_request(const spikard_request *r, void *data) { dispatch(r, data); }

static void *host_thread(void *arg) {
    running *run = arg;
    spikard_request reqs[64];
    for (;;) {
        size_t n = 0;
        int rc = spikard_next(run->app, 1000, reqs, 64, &n);
        if (rc == SPIKARD_ETIMEOUT) continue;
        if (rc != SPIKARD_OK) break; /* SPIKARD_ECLOSED: the app was shut down */
        for (size_t i = 0; i < n; i++)
            dispatch(&reqs[i], reqs[i].tag < run->nspecs ? &run->specs[reqs[i].tag] : NULL);
    }
    return NULL;
}

/* ---- reading specs ------------------------------------------------------------------ */

static char *str_or_null(mj_span v) { return v.n && v.p[0] == '"' ? mj_string(v, NULL) : NULL; }

/* An object of strings into kv pairs (values decoded), in order. */
static int read_kv(mj_span obj, kv **out, size_t *n) {
    if (obj.n == 0 || obj.p[0] != '{') return 0;
    const char *it = obj.p, *e = obj.p + obj.n;
    mj_span k, v;
    while (mj_next(&it, e, &k, &v) == 1) {
        *out = realloc(*out, (*n + 1) * sizeof **out);
        kv *p = &(*out)[(*n)++];
        p->k = mj_string(k, NULL);
        p->v = mj_string(v, &p->vlen);
        if (p->k == NULL || p->v == NULL) return 0;
    }
    return 1;
}

static int read_strings(mj_span arr, char ***out, size_t *n) {
    if (arr.n == 0 || arr.p[0] != '[') return 0;
    const char *it = arr.p, *e = arr.p + arr.n;
    mj_span v;
    while (mj_next_elem(&it, e, &v) == 1) {
        *out = realloc(*out, (*n + 1) * sizeof **out);
        if (((*out)[(*n)++] = str_or_null(v)) == NULL) return 0;
    }
    return 1;
}

static int read_records(mj_span arr, rec **out, size_t *n) {
    if (arr.n == 0 || arr.p[0] != '[') return 0;
    const char *it = arr.p, *e = arr.p + arr.n;
    mj_span v, f;
    while (mj_next_elem(&it, e, &v) == 1) {
        *out = realloc(*out, (*n + 1) * sizeof **out);
        rec *r = &(*out)[(*n)++];
        r->state = mj_get(v, "state", &f) ? str_or_null(f) : NULL;
        r->value = mj_get(v, "value", &f) ? span_dup(f) : NULL;
        if (r->state == NULL) return 0;
    }
    return 1;
}

static int read_stream(mj_span v, spec *s) {
    mj_span f, c;
    s->is_stream = 1;
    if (mj_get(v, "delay_ms", &f)) s->delay_ms = (int)mj_int(f, 0);
    if (!mj_get(v, "chunks", &f) || f.n == 0 || f.p[0] != '[') return 0;
    const char *it = f.p, *e = f.p + f.n;
    while (mj_next_elem(&it, e, &c) == 1) {
        size_t n;
        char *b64 = mj_string(c, &n);
        if (b64 == NULL) return 0;
        s->chunks = realloc(s->chunks, (s->nchunks + 1) * sizeof *s->chunks);
        s->chunk_len = realloc(s->chunk_len, (s->nchunks + 1) * sizeof *s->chunk_len);
        s->chunks[s->nchunks] = b64_decode(b64, n, &s->chunk_len[s->nchunks]);
        free(b64);
        if (s->chunks[s->nchunks++] == NULL) return 0;
    }
    return 1;
}

static int read_sse(mj_span v, spec *s) {
    mj_span f, ev, x;
    s->is_sse = 1;
    if (mj_get(v, "delay_ms", &f)) s->delay_ms = (int)mj_int(f, 0);
    if (mj_get(v, "resume", &f)) s->resume = mj_lit(f, "true");
    if (!mj_get(v, "events", &f) || f.n == 0 || f.p[0] != '[') return 0;
    const char *it = f.p, *e = f.p + f.n;
    while (mj_next_elem(&it, e, &ev) == 1) {
        s->events = realloc(s->events, (s->nevents + 1) * sizeof *s->events);
        sse_event *o = &s->events[s->nevents++];
        memset(o, 0, sizeof *o);
        o->event = mj_get(ev, "event", &x) ? str_or_null(x) : NULL;
        o->id = mj_get(ev, "id", &x) ? str_or_null(x) : NULL;
        o->data = mj_get(ev, "data", &x) ? str_or_null(x) : NULL;
        o->comment = mj_get(ev, "comment", &x) ? str_or_null(x) : NULL;
        o->retry_ms = mj_get(ev, "retry_ms", &x) ? mj_int(x, 0) : 0;
    }
    return 1;
}

/* Reads one handler spec. Returns NULL or an error message. */
static const char *read_spec(mj_span key, mj_span val, spec *s) {
    static char msg[200];
    memset(s, 0, sizeof *s);
    s->name = mj_string(key, NULL);
    s->status = 200;
    if (s->name == NULL || val.n == 0 || val.p[0] != '{') return "a handler spec must be an object";
    const char *it = val.p, *e = val.p + val.n;
    mj_span k, v, f;
    int r, ok = 1;
    while (ok && (r = mj_next(&it, e, &k, &v)) == 1) {
        if (mj_is(k, "status")) {
            s->status = (int)mj_int(v, 0);
            if (s->status == 0) s->status = 200;
        } else if (mj_is(k, "echo")) s->echo = mj_lit(v, "true");
        else if (mj_is(k, "raise")) s->raise = mj_lit(v, "true");
        else if (mj_is(k, "continue")) s->cont = mj_lit(v, "true");
        else if (mj_is(k, "sleep_ms")) s->sleep_ms = (int)mj_int(v, 0);
        else if (mj_is(k, "content_type")) ok = (s->ct = str_or_null(v)) != NULL || mj_lit(v, "null");
        else if (mj_is(k, "headers")) ok = read_kv(v, &s->headers, &s->nheaders);
        else if (mj_is(k, "headers_from")) ok = read_kv(v, &s->headers_from, &s->nheaders_from);
        else if (mj_is(k, "fill")) ok = read_kv(v, &s->fill, &s->nfill);
        else if (mj_is(k, "set_cookies")) ok = read_strings(v, &s->cookies, &s->ncookies);
        else if (mj_is(k, "require")) ok = read_strings(v, &s->require, &s->nrequire);
        else if (mj_is(k, "record")) ok = read_records(v, &s->record, &s->nrecord);
        else if (mj_is(k, "cleanup_record")) ok = read_records(v, &s->cleanup, &s->ncleanup);
        else if (mj_is(k, "state")) ok = (s->state = str_or_null(v)) != NULL;
        else if (mj_is(k, "generate")) {
            ok = mj_lit(v, "\"uuid\"");
            s->generate_uuid = ok;
        } else if (mj_is(k, "background")) {
            s->bg_state = mj_get(v, "state", &f) ? str_or_null(f) : NULL;
            s->bg_from = mj_get(v, "from", &f) ? str_or_null(f) : NULL;
            ok = s->bg_state && s->bg_from;
        } else if (mj_is(k, "body_raw")) {
            if (!mj_lit(v, "null")) {
                free(s->body);
                ok = (s->body = mj_string(v, &s->body_len)) != NULL;
                s->has_body = 2;
            }
        } else if (mj_is(k, "body")) {
            if (!mj_lit(v, "null") && s->has_body != 2) {
                s->body = span_dup(v); /* the JSON text itself */
                s->body_len = v.n;
                s->has_body = 1;
            }
        } else if (mj_is(k, "stream")) {
            ok = read_stream(v, s);
        } else if (mj_is(k, "sse")) {
            ok = read_sse(v, s);
        } else if (mj_is(k, "websocket")) {
            s->is_ws = 1;
            if (mj_get(v, "echo", &f)) s->ws_echo = mj_lit(f, "true");
            if (mj_get(v, "greeting", &f) && !mj_lit(f, "null")) s->greeting = span_dup(f);
            if (mj_get(v, "close_on", &f) && f.n && f.p[0] == '{') {
                mj_span x;
                s->close_text = mj_get(f, "text", &x) ? str_or_null(x) : NULL;
                s->close_reason = mj_get(f, "reason", &x) ? str_or_null(x) : NULL;
                s->close_code = mj_get(f, "code", &x) ? (int)mj_int(x, 1000) : 1000;
                ok = s->close_text != NULL;
            }
        } else {
            snprintf(msg, sizeof msg, "the C fixture app does not know the handler spec member %.*s", (int)k.n, k.p);
            return msg;
        }
        if (!ok) {
            snprintf(msg, sizeof msg, "handler spec member %.*s is malformed", (int)k.n, k.p);
            return msg;
        }
    }
    if (r < 0) return "malformed handler spec";
    if (s->has_body == 1 && s->ct == NULL) s->ct = strdup("application/json");
    return NULL;
}

static void free_kv(kv *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].k);
        free(p[i].v);
    }
    free(p);
}

static void free_strings(char **p, size_t n) {
    for (size_t i = 0; i < n; i++) free(p[i]);
    free(p);
}

static void free_records(rec *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].state);
        free(p[i].value);
    }
    free(p);
}

static void free_specs(spec *specs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        spec *s = &specs[i];
        free(s->name);
        free_kv(s->headers, s->nheaders);
        free_kv(s->headers_from, s->nheaders_from);
        free_kv(s->fill, s->nfill);
        free_strings(s->cookies, s->ncookies);
        free_strings(s->require, s->nrequire);
        free_records(s->record, s->nrecord);
        free_records(s->cleanup, s->ncleanup);
        free(s->bg_state);
        free(s->bg_from);
        free(s->state);
        free(s->ct);
        free(s->body);
        for (size_t j = 0; j < s->nchunks; j++) free(s->chunks[j]);
        free(s->chunks);
        free(s->chunk_len);
        for (size_t j = 0; j < s->nevents; j++) {
            free(s->events[j].event);
            free(s->events[j].id);
            free(s->events[j].data);
            free(s->events[j].comment);
        }
        free(s->events);
        free(s->greeting);
        free(s->close_text);
        free(s->close_reason);
    }
    free(specs);
}

/* ---- start / stop ------------------------------------------------------------------ */

static void stop(void) {
    if (cur == NULL) return;
    int rc = spikard_app_shutdown(cur->app, 5000);
    if (rc != SPIKARD_OK) fprintf(stderr, "fixtureapp: shutdown: %s\n", spikard_last_error());
    if (cur->queued) pthread_join(cur->host, NULL);
    for (int i = 0; i < 1000 && __atomic_load_n(&outstanding, __ATOMIC_SEQ_CST) > 0; i++) sleep_ms(10);
    spikard_app_free(cur->app);
    free_specs(cur->specs, cur->nspecs);
    free(cur);
    cur = NULL;
}

static int use_queue(void) {
    const char *m = getenv("SPIKARD_FIXTURE_MODE");
    if (m && strcmp(m, "queue") == 0) return 1;
    if (m && strcmp(m, "callback") == 0) return 0;
    return scenario % 2 == 1;
}

static int bind(running *run, const char *name, spec *s, uint64_t tag) {
    return run->queued ? spikard_app_handle_queued(run->app, name, tag)
                       : spikard_app_handle_callback(run->app, name, on_request, s, NULL);
}

static void start(mj_span app_doc, mj_span handlers) {
    scenario++;
    lists_reset();
    running *run = calloc(1, sizeof *run);
    run->queued = use_queue();
    if (spikard_app_new(app_doc.p, app_doc.n, &run->app) != SPIKARD_OK) {
        reply_error(spikard_last_error());
        free(run);
        return;
    }
    const char *err = NULL;
    char msg[1200];
    if (handlers.n && handlers.p[0] == '{') {
        const char *it = handlers.p, *e = handlers.p + handlers.n;
        mj_span k, v;
        int r;
        size_t count = 0;
        while (mj_next(&it, e, &k, &v) == 1) count++;
        /* allocated once: callbacks keep pointers to their spec */
        run->specs = calloc(count ? count : 1, sizeof *run->specs);
        it = handlers.p;
        while (err == NULL && (r = mj_next(&it, e, &k, &v)) == 1) {
            spec *s = &run->specs[run->nspecs++];
            if ((err = read_spec(k, v, s)) != NULL) break;
            if (bind(run, s->name, s, run->nspecs - 1) != SPIKARD_OK) {
                snprintf(msg, sizeof msg, "binding %s: %s", s->name, spikard_last_error());
                err = msg;
            }
        }
        if (err == NULL && r < 0) err = "malformed \"handlers\"";
    }
    /* the background task handler (spikard_background) */
    if (err == NULL && bind(run, "__fixture_task", NULL, UINT64_MAX) != SPIKARD_OK) {
        snprintf(msg, sizeof msg, "binding the task handler: %s", spikard_last_error());
        err = msg;
    }
    uint16_t port = 0;
    if (err == NULL && spikard_app_listen(run->app, "127.0.0.1", 0, &port) != SPIKARD_OK) {
        snprintf(msg, sizeof msg, "%s", spikard_last_error());
        err = msg;
    }
    if (err != NULL) {
        reply_error(err);
        spikard_app_free(run->app);
        free_specs(run->specs, run->nspecs);
        free(run);
        return;
    }
    if (run->queued) pthread_create(&run->host, NULL, host_thread, run);
    cur = run;
    char out[32];
    snprintf(out, sizeof out, "{\"port\":%u}", port);
    reply(out);
}

int main(void) {
    if (spikard_abi_version() != SPIKARD_ABI_VERSION) {
        fprintf(stderr, "fixtureapp: libspikard ABI %u, header %d\n", spikard_abi_version(), SPIKARD_ABI_VERSION);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        const char *e = line + n;
        const char *p = mj_ws(line, e);
        if (p == e) continue;
        const char *end = mj_skip(p, e);
        if (*p != '{' || end == NULL) {
            reply_error("bad protocol line: not a JSON object");
            continue;
        }
        mj_span top = {p, (size_t)(end - p)};
        mj_span app, handlers = {"{}", 2}, st;
        if (mj_get(top, "stop", &st) && mj_lit(st, "true")) {
            stop();
            reply("{\"stopped\":true}");
        } else if (mj_get(top, "app", &app)) {
            stop();
            mj_get(top, "handlers", &handlers);
            start(app, handlers);
        } else {
            reply_error("unknown message: want {\"app\":...} or {\"stop\":true}");
        }
    }
    stop();
    lists_reset();
    free(line);
    return 0;
}
