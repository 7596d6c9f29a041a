/*
 * The C half of libspikard's ABI: the request plane.
 *
 * Every call a host makes per request is plain C and never enters the Go
 * runtime: spikard_next / spikard_try_next (the queue, a condition variable
 * and the ready descriptor), spikard_respond / spikard_respond_error (the
 * request table and the outbox). A host thread calling into Go would have to
 * take a Go scheduler slot (P) for each call, park on it when it waits, and
 * would leave the goroutines its answer wakes stranded on a P it holds while
 * it runs host code; measured, that halved the throughput of the queued mode
 * (see capi/README.md). Go reaches this file only from its own goroutines:
 * handlers create, enqueue, expire and free requests, and one collector
 * goroutine takes the outbox of answers.
 *
 * Also here: the per-thread last-error message, the version getters, code
 * names, and the callback trampoline with its fast path (an answer given
 * inside a callback handler is written into the caller's buffer, or a
 * per-thread one, and returned by the trampoline).
 *
 * Locking: one mutex (g_lock) guards the request table, every app's queue,
 * live list and ready descriptor, and the outbox. sk_block.state is atomic:
 * it changes under g_lock, except DELIVERED -> ANSWERED by the in-callback
 * fast path, which races only with other compare-and-swaps.
 *
 * A callback request that is answered inside its callback (the common case)
 * takes no lock at all: its id comes from a few slots its thread keeps (the
 * table's lock is taken once per batch), its block is not linked into its
 * app's live list and holds no reference on the app (the Go side keeps the
 * app alive while a callback runs), and it is freed by its own thread. Other
 * threads that look such a block up (an answer from elsewhere, while the
 * callback runs) pin its slot under g_lock; the owner waits for the pins
 * to go before it frees the block, and such an answer stays in the block
 * (it is not linked, so not for the outbox): spikard__invoke returns it.
 * spikard_stream_begin keeps its pin while it runs Go code, so that the Go
 * waiter the block's token names stays put. A callback that returns
 * without an answer is marked returned (lookups ask again) until the Go
 * handler adopts it (spikard__adopt links it under the handler's key, and
 * an answer that came meanwhile goes to the outbox then); from then on it
 * is like any other block.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP (g_lock) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
/* Go's switches between goroutine stacks (which live in its heap) and
 * thread stacks look to memcheck like stack frames coming and going, and it
 * then marks Go memory near a goroutine stack as undefined, at random. Bytes
 * Go hands to this file were written by Go and are defined: say so before
 * copying them, or the copies inherit the mistake. Outside memcheck the
 * request is a few no-op instructions. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SK_FROM_GO(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#endif
#endif
#ifndef SK_FROM_GO
#define SK_FROM_GO(p, n) ((void)(p), (void)(n))
#endif

#include "cside.h"

/* ---- errors and versions ---------------------------------------------- */

static __thread char errbuf[1024];

void spikard__set_error(const char *msg, size_t n) {
    SK_FROM_GO(msg, n);
    if (n >= sizeof errbuf) {
        n = sizeof errbuf - 1;
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80) n--; /* keep UTF-8 whole */
    }
    memcpy(errbuf, msg, n);
    errbuf[n] = 0;
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return code;
}

const char *spikard_last_error(void) { return errbuf; }

uint32_t spikard_abi_version(void) { return SPIKARD_ABI_VERSION; }

const char *spikard_version(void) { return SPIKARD_VERSION; }

const char *spikard_strerror(int code) {
    switch (code) {
    case SPIKARD_OK: return "SPIKARD_OK: success";
    case SPIKARD_EINVAL: return "SPIKARD_EINVAL: invalid argument";
    case SPIKARD_EBADHANDLE: return "SPIKARD_EBADHANDLE: unknown app handle or request id";
    case SPIKARD_EVERSION: return "SPIKARD_EVERSION: unsupported configuration document version";
    case SPIKARD_ECONFIG: return "SPIKARD_ECONFIG: invalid configuration document";
    case SPIKARD_ETIMEOUT: return "SPIKARD_ETIMEOUT: timed out";
    case SPIKARD_ESTATE: return "SPIKARD_ESTATE: not valid in the current state";
    case SPIKARD_ERANGE: return "SPIKARD_ERANGE: buffer too small";
    case SPIKARD_ECLOSED: return "SPIKARD_ECLOSED: app shut down";
    case SPIKARD_EIO: return "SPIKARD_EIO: operating-system error";
    case SPIKARD_ENOTIMPL: return "SPIKARD_ENOTIMPL: not implemented in this version";
    case SPIKARD_EINTERNAL: return "SPIKARD_EINTERNAL: internal error";
    }
    return "SPIKARD_E?: unknown error code";
}

/* ---- wake-up descriptors -------------------------------------------------- */

/* A descriptor pair that is readable while signalled: an eventfd on Linux
 * (r == w), a pipe elsewhere. Both ends non-blocking and close-on-exec. */
static int fd_make(int *r, int *w) {
#ifdef __linux__
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    *r = *w = fd;
    return 0;
#else
    int p[2];
    if (pipe(p) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
        fcntl(p[i], F_SETFD, FD_CLOEXEC);
    }
    *r = p[0];
    *w = p[1];
    return 0;
#endif
}

static void fd_signal(int w) {
    uint64_t one = 1;
    while (write(w, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

static void fd_drain(int r, int w) {
    char buf[64];
    for (;;) {
        ssize_t n = read(r, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || r == w) return;
    }
}

static void fd_close(int r, int w) {
    if (r >= 0) close(r);
    if (w >= 0 && w != r) close(w);
}

/* ---- the request table ---------------------------------------------------- */

struct sk_app {
    int64_t handle;
    int64_t timeout_ms;
    int refs;   /* the Go app, each live block, each waiting spikard_next */
    int closed; /* shut down: the queue takes nothing more */
    int freed;  /* spikard_app_free was called */
    sk_block *qhead, *qtail;
    sk_block *live;
    pthread_cond_t cond;
    int waiters;
    int rfd, wfd;
    int ready_on;
    sk_app *next;
};

/* Held for a few dozen instructions at a time, by every request twice: on
 * glibc an adaptive mutex spins briefly before it sleeps, so two cores
 * meeting on it do not turn into futex sleeps and wake-ups. */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
static pthread_mutex_t g_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
#else
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
#endif
static sk_app *g_apps;
static size_t g_live_apps, g_live_blocks;

/* Request ids: the slot index in the low 32 bits, the slot's generation
 * (never 0) in the high ones. A stale id finds a newer generation, an
 * unissued one a bigger index or generation. Slots live in chunks that are
 * never freed. gen and b are atomic: a thread issues and releases the slots
 * it keeps (thread_state) without g_lock; lookups are under g_lock. */
typedef struct sk_slot {
    uint32_t gen;
    uint32_t next_free;
    sk_block *b;
    uint32_t pins; /* lookups under way on a block its thread frees without g_lock (slot_pin) */
} sk_slot;

#define SLOT_CHUNK 4096u
#define SLOT_CHUNKS 4096u /* 16M requests in flight at most */
#define NO_SLOT 0xFFFFFFFFu

static sk_slot *g_chunks[SLOT_CHUNKS];
static uint32_t g_nslots;
static uint32_t g_free_slot = NO_SLOT;

static sk_slot *slot_at(uint32_t i) { return &g_chunks[i / SLOT_CHUNK][i % SLOT_CHUNK]; }

/* A free slot index, NO_SLOT when the table is full or out of memory.
 * Under g_lock. */
static uint32_t slot_take(void) {
    uint32_t i;
    if (g_free_slot != NO_SLOT) {
        i = g_free_slot;
        g_free_slot = slot_at(i)->next_free;
        return i;
    }
    if (g_nslots == SLOT_CHUNK * SLOT_CHUNKS) return NO_SLOT;
    if (g_nslots % SLOT_CHUNK == 0) {
        sk_slot *c = calloc(SLOT_CHUNK, sizeof *c);
        if (c == NULL) return NO_SLOT;
        g_chunks[g_nslots / SLOT_CHUNK] = c;
    }
    return g_nslots++;
}

/* Issues slot i (taken, not in use) to b: b->req.id is set. By whoever
 * holds i: under g_lock, or the thread keeping it. */
static void slot_issue(uint32_t i, sk_block *b) {
    sk_slot *s = slot_at(i);
    uint32_t gen = __atomic_load_n(&s->gen, __ATOMIC_RELAXED) + 1;
    if (gen == 0) gen = 1;
    __atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
    b->req.id = ((uint64_t)gen << 32) | i;
    __atomic_store_n(&s->b, b, __ATOMIC_RELEASE); /* gen and the id are seen with it */
}

static uint64_t slot_alloc(sk_block *b) {
    uint32_t i = slot_take();
    if (i == NO_SLOT) return 0;
    slot_issue(i, b);
    return b->req.id;
}

/* The block of an id, or NULL with the code: SPIKARD_ESTATE for a finished
 * request, SPIKARD_EBADHANDLE for an id never issued. Under g_lock; a block
 * in a callback (not linked) may be freed by its thread meanwhile unless
 * it is pinned: use slot_pin. */
static sk_block *slot_get(uint64_t id, int *code) {
    uint32_t i = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (gen == 0 || i >= g_nslots) {
        *code = SPIKARD_EBADHANDLE;
        return NULL;
    }
    sk_slot *s = slot_at(i);
    sk_block *b = __atomic_load_n(&s->b, __ATOMIC_ACQUIRE);
    uint32_t now = __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
    if (now == gen && b != NULL) return b;
    *code = gen <= now ? SPIKARD_ESTATE : SPIKARD_EBADHANDLE;
    return NULL;
}

/* slot_get, and the block stays alive until slot_unpin (before g_lock is
 * released). Every lookup by id goes through here. */
static sk_block *slot_pin(uint64_t id, int *code) {
    sk_block *b = slot_get(id, code);
    if (b == NULL) return NULL;
    sk_slot *s = slot_at((uint32_t)id);
    __atomic_add_fetch(&s->pins, 1, __ATOMIC_SEQ_CST);
    /* The owner clears b before it looks at pins (slot_release_fast): if b
     * is still there with the id's generation, the owner waits for us. */
    if (__atomic_load_n(&s->b, __ATOMIC_SEQ_CST) != b || __atomic_load_n(&s->gen, __ATOMIC_SEQ_CST) != (uint32_t)(id >> 32)) {
        __atomic_sub_fetch(&s->pins, 1, __ATOMIC_SEQ_CST);
        *code = SPIKARD_ESTATE;
        return NULL;
    }
    return b;
}

static void slot_unpin(uint64_t id) { __atomic_sub_fetch(&slot_at((uint32_t)id)->pins, 1, __ATOMIC_RELEASE); }

/* Under g_lock (a linked block: nobody holds a pin but the caller). */
static void slot_release(uint64_t id) {
    uint32_t i = (uint32_t)id;
    sk_slot *s = slot_at(i);
    __atomic_store_n(&s->b, NULL, __ATOMIC_RELEASE);
    s->next_free = g_free_slot;
    g_free_slot = i;
}

/* ---- per-thread state --------------------------------------------------------- */

enum {
    SLOT_CACHE = 16,   /* request ids a thread keeps to issue without g_lock */
    SK_SMALL = 2048,   /* blocks of up to this size are allocated at this size... */
    BLOCK_CACHE = 4    /* ...and a thread keeps this many freed ones for reuse */
};

/* What a thread keeps: the callback it runs, its answer buffer, the slots
 * and blocks it reuses. One allocation behind one initial-exec pointer:
 * hosts dlopen libspikard, whose static TLS must stay a few bytes. */
typedef struct thread_state {
    sk_block *b; /* the request of the running callback; NULL: none */
    spikard__answer answer;
    char *buf; /* holds the answer's bytes... */
    size_t cap;
    char *out; /* ...unless they fit here: the caller's buffer, during spikard__invoke only */
    size_t out_cap;
    uint32_t slots[SLOT_CACHE];
    uint32_t nslots;
    uint32_t nblocks;
    sk_block *blocks;                  /* linked by onext */
    struct thread_state *prev, *next; /* g_states */
} thread_state;

/* Every thread's state, so that it stays reachable from a global (a forked
 * child has one thread, and leak checkers do not look into the others'). */
static thread_state *g_states;

static __thread thread_state *g_ts __attribute__((tls_model("initial-exec")));
static pthread_key_t ts_key;
static pthread_once_t ts_once = PTHREAD_ONCE_INIT;

/* At thread exit: the buffers go, the slots go back to the table. */
static void ts_free(void *p) {
    thread_state *t = p;
    free(t->buf);
    for (sk_block *b = t->blocks, *next; b != NULL; b = next) {
        next = b->onext;
        free(b);
    }
    pthread_mutex_lock(&g_lock);
    for (uint32_t k = 0; k < t->nslots; k++) {
        slot_at(t->slots[k])->next_free = g_free_slot;
        g_free_slot = t->slots[k];
    }
    if (t->prev) t->prev->next = t->next;
    else g_states = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&g_lock);
    free(t);
    g_ts = NULL;
}

static void ts_make_key(void) { pthread_key_create(&ts_key, ts_free); }

/* The calling thread's state, made on first use; NULL when out of memory. */
static thread_state *ts(void) {
    if (g_ts != NULL) return g_ts;
    pthread_once(&ts_once, ts_make_key);
    thread_state *t = calloc(1, sizeof *t);
    if (t == NULL || pthread_setspecific(ts_key, t) != 0) {
        free(t);
        return NULL;
    }
    pthread_mutex_lock(&g_lock);
    t->next = g_states;
    if (g_states) g_states->prev = t;
    g_states = t;
    pthread_mutex_unlock(&g_lock);
    g_ts = t;
    return t;
}

/* A block of at least size bytes (SK_HEAD zeroed, cap set); small ones come
 * from the thread's spares. */
static sk_block *block_alloc(size_t size) {
    sk_block *b;
    thread_state *t = g_ts;
    if (size <= SK_SMALL) {
        size = SK_SMALL;
        if (t != NULL && t->blocks != NULL) {
            b = t->blocks;
            t->blocks = b->onext;
            t->nblocks--;
        } else {
            b = malloc(size);
        }
    } else {
        b = malloc(size);
    }
    if (b == NULL) return NULL;
    memset(b, 0, SK_HEAD);
    b->cap = size;
    return b;
}

static void block_release_mem(sk_block *b) {
    thread_state *t = g_ts;
    if (b->cap == SK_SMALL && t != NULL && t->nblocks < BLOCK_CACHE) {
        b->onext = t->blocks;
        t->blocks = b;
        t->nblocks++;
        return;
    }
    free(b);
}

static sk_app *find_app(int64_t h) {
    for (sk_app *a = g_apps; a != NULL; a = a->next)
        if (a->handle == h) return a;
    return NULL;
}

/* Drops a reference; the last one frees the app. Under g_lock. */
static void app_unref(sk_app *a) {
    if (--a->refs > 0) return;
    pthread_cond_destroy(&a->cond);
    free(a);
    g_live_apps--;
}

static void queue_remove(sk_block *b) {
    sk_app *a = b->app;
    if (!b->in_queue) return;
    if (b->qprev) b->qprev->qnext = b->qnext;
    else a->qhead = b->qnext;
    if (b->qnext) b->qnext->qprev = b->qprev;
    else a->qtail = b->qprev;
    b->qprev = b->qnext = NULL;
    b->in_queue = 0;
    if (a->qhead == NULL && a->ready_on) {
        fd_drain(a->rfd, a->wfd);
        a->ready_on = 0;
    }
}

/* Forgets a block: its id, its app reference. Under g_lock; the caller
 * frees the memory (block_dispose) after unlocking. */
static void block_forget(sk_block *b) {
    sk_app *a = b->app;
    queue_remove(b);
    if (b->lprev) b->lprev->lnext = b->lnext;
    else a->live = b->lnext;
    if (b->lnext) b->lnext->lprev = b->lprev;
    slot_release(b->req.id);
    g_live_blocks--;
    app_unref(a);
}

void spikard__tasks_free(sk_task *t) {
    for (sk_task *next; t != NULL; t = next) {
        next = t->next;
        free(t->handler);
        free(t->payload);
        free(t);
    }
}

static void block_dispose(sk_block *b) {
    spikard__tasks_free(b->tasks);
    free(b->ans);
    block_release_mem(b);
}

static uint32_t state_of(sk_block *b) { return __atomic_load_n(&b->state, __ATOMIC_ACQUIRE); }

static int cas_state(sk_block *b, uint32_t from, uint32_t to) {
    return __atomic_compare_exchange_n(&b->state, &from, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* ---- called by Go ----------------------------------------------------------- */

sk_app *spikard__app_new(int64_t handle, int64_t timeout_ms) {
    sk_app *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    a->handle = handle;
    a->timeout_ms = timeout_ms;
    a->refs = 1;
    a->rfd = a->wfd = -1;
#if defined(__APPLE__)
    pthread_cond_init(&a->cond, NULL);
#else
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &attr);
    pthread_condattr_destroy(&attr);
#endif
    pthread_mutex_lock(&g_lock);
    a->next = g_apps;
    g_apps = a;
    g_live_apps++;
    pthread_mutex_unlock(&g_lock);
    return a;
}

/* The end of a shutdown: the queue takes nothing more; waiters and event
 * loops wake up to learn SPIKARD_ECLOSED. */
void spikard__app_close(sk_app *a) {
    pthread_mutex_lock(&g_lock);
    __atomic_store_n(&a->closed, 1, __ATOMIC_RELEASE); /* spikard__invoke reads it without the lock */
    pthread_cond_broadcast(&a->cond);
    if (a->rfd >= 0 && !a->ready_on) {
        fd_signal(a->wfd);
        a->ready_on = 1;
    }
    pthread_mutex_unlock(&g_lock);
}

/* spikard_app_free: forget the handle, free the requests held for the host
 * (timed out or cut off), close the ready descriptor. Blocks owned by Go
 * handlers keep the app alive until they are freed. */
void spikard__app_free(sk_app *a) {
    sk_block *drop = NULL;
    pthread_mutex_lock(&g_lock);
    a->freed = 1;
    __atomic_store_n(&a->closed, 1, __ATOMIC_RELEASE);
    for (sk_app **pp = &g_apps; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    pthread_cond_broadcast(&a->cond);
    for (sk_block *b = a->live, *next; b != NULL; b = next) {
        next = b->lnext;
        uint32_t st = state_of(b);
        if (st == SK_TIMEDOUT || st == SK_ABORTED) {
            block_forget(b);
            b->onext = drop;
            drop = b;
        }
    }
    fd_close(a->rfd, a->wfd);
    a->rfd = a->wfd = -1;
    a->ready_on = 0;
    app_unref(a);
    pthread_mutex_unlock(&g_lock);
    while (drop != NULL) {
        sk_block *next = drop->onext;
        block_dispose(drop);
        drop = next;
    }
}

/* Makes b one of its app's live blocks. Under g_lock. */
static void block_link(sk_block *b) {
    sk_app *a = b->app;
    b->flags |= SK_LINKED;
    b->lnext = a->live;
    if (a->live) a->live->lprev = b;
    a->live = b;
    a->refs++;
    g_live_blocks++;
}

static sk_block *block_of_view(sk_app *a, const char *data, size_t n, spikard__meta m, uint32_t state);

/* A queued request in one crossing: a block holding a copy of the view Go
 * rendered (data is the eight strings back to back, each followed by a
 * NUL: spikard__meta), given an id, linked and put in its app's queue, all
 * under one hold of g_lock. NULL when the app is shut down (or no memory). */
sk_block *spikard__submit(sk_app *a, const char *data, size_t n, spikard__meta m) {
    sk_block *b = block_of_view(a, data, n, m, SK_QUEUED);
    if (b == NULL) return NULL;
    int wake = 0;
    pthread_mutex_lock(&g_lock);
    if (a->closed || slot_alloc(b) == 0) {
        pthread_mutex_unlock(&g_lock);
        block_release_mem(b);
        return NULL;
    }
    block_link(b);
    b->qprev = a->qtail;
    b->qnext = NULL;
    if (a->qtail) a->qtail->qnext = b;
    else a->qhead = b;
    a->qtail = b;
    b->in_queue = 1;
    wake = a->waiters > 0;
    if (a->rfd >= 0 && !a->ready_on) {
        /* under the lock: readiness must change with the queue */
        fd_signal(a->wfd);
        a->ready_on = 1;
    }
    pthread_mutex_unlock(&g_lock);
    /* Signalled after unlocking, so that the woken thread does not wait for
     * the lock at once. The app cannot be freed meanwhile: b holds it. */
    if (wake) pthread_cond_signal(&a->cond);
    return b;
}

/* A new block of app a in the given state, holding a copy of the view Go
 * rendered; no id yet. NULL when out of memory. */
static sk_block *block_of_view(sk_app *a, const char *data, size_t n, spikard__meta m, uint32_t state) {
    sk_block *b = block_alloc(SK_HEAD + n);
    if (b == NULL) return NULL;
    b->req.size = sizeof(spikard_request);
    b->req.app = a->handle;
    b->state = state;
    b->app = a;
    SK_FROM_GO(data, n);
    memcpy(b->data, data, n);
    spikard_request *r = &b->req;
    r->kind = m.kind;
    r->conn = m.conn;
    r->tag = m.tag;
    b->gokey = m.gokey;
    b->gotoken = m.gotoken;
    const char *p = b->data;
#define SK_FIELD(f, i) (r->f = p, r->f##_len = m.lens[i], p += m.lens[i] + 1)
    SK_FIELD(handler, 0);
    SK_FIELD(method, 1);
    SK_FIELD(path, 2);
    SK_FIELD(query, 3);
    SK_FIELD(headers, 4);
    SK_FIELD(request_id, 5);
    SK_FIELD(values, 6);
    SK_FIELD(body, 7);
#undef SK_FIELD
    return b;
}

/* Finds request id's Go waiter for spikard_stream_begin. 1: the request is
 * in its callback (spikard__invoke): *token is the waiter the callback's
 * caller passed (not in Go's table yet); the slot stays pinned - the callback's caller cannot finish - until
 * spikard__unpin. 2: the block is linked: *key is the waiter's key in Go's
 * table (not pinned). 3: its callback returned and the Go handler is
 * adopting it: ask again. 0: no live request has this id. */
int spikard__stream_lookup(uint64_t id, uintptr_t *token, uint64_t *key) {
    int code, r = 0;
    pthread_mutex_lock(&g_lock);
    sk_block *b = slot_pin(id, &code);
    if (b != NULL) {
        *key = b->gokey;
        if (b->flags & SK_LINKED) r = 2;
        else if (b->flags & SK_RETURNED) r = 3;
        else {
            *token = b->gotoken;
            r = 1;
        }
        if (r != 1) slot_unpin(id);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

void spikard__unpin(uint64_t id) { slot_unpin(id); }

/* The handler timeout. Returns the state after it: SK_CANCELLED (the Go
 * handler frees the block), SK_TIMEDOUT (the block is the host's now: do not
 * touch it), or SK_ANSWERED / SK_ABORTED (a wake-up is on its way). */
uint32_t spikard__expire(sk_block *b) {
    pthread_mutex_lock(&g_lock);
    uint32_t st = state_of(b);
    if (st == SK_QUEUED) {
        queue_remove(b);
        __atomic_store_n(&b->state, SK_CANCELLED, __ATOMIC_RELEASE);
        st = SK_CANCELLED;
    } else if (st == SK_DELIVERED) {
        st = cas_state(b, SK_DELIVERED, SK_TIMEDOUT) ? SK_TIMEDOUT : state_of(b);
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}

/* A shutdown cuts the request off: SK_CANCELLED or SK_ABORTED as for
 * spikard__expire, 0 when it was answered meanwhile (nothing changed). */
static uint32_t abort_locked(sk_block *b) {
    uint32_t now = state_of(b);
    if (now == SK_QUEUED) {
        queue_remove(b);
        __atomic_store_n(&b->state, SK_CANCELLED, __ATOMIC_RELEASE);
        return SK_CANCELLED;
    }
    if (cas_state(b, SK_DELIVERED, SK_ABORTED)) return SK_ABORTED;
    return 0;
}

/* Cuts a request off for a shutdown: SK_CANCELLED when the host never saw
 * it (the Go handler frees the block), SK_ABORTED when the host holds it
 * (its late answer or spikard_app_free frees it), 0 when it was answered -
 * also when the id no longer names a block (spikard__invoke freed it). */
uint32_t spikard__abort_id(uint64_t id) {
    int code;
    pthread_mutex_lock(&g_lock);
    /* One hold of g_lock: spikard__invoke empties the slot under it
     * before it frees the block. */
    sk_block *b = slot_pin(id, &code);
    uint32_t st = 0;
    if (b != NULL) {
        st = abort_locked(b);
        slot_unpin(id);
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}

/* Frees a block the Go handler owns (answered or cancelled). */
void spikard__block_free(sk_block *b) {
    pthread_mutex_lock(&g_lock);
    block_forget(b);
    pthread_mutex_unlock(&g_lock);
    block_dispose(b);
}

/* ---- the outbox: answers given outside a callback, for Go's collector ----- */

static sk_block *g_out_head, *g_out_tail;
static int g_out_r = -1, g_out_w = -1;
static int g_out_signalled;
static pthread_once_t g_out_once = PTHREAD_ONCE_INIT;

static void out_init(void) {
    if (fd_make(&g_out_r, &g_out_w) != 0) g_out_r = g_out_w = -1;
}

/* The descriptor the collector waits on (readable when the outbox has
 * answers); -1 if it could not be made. */
int spikard__outbox_fd(void) {
    pthread_once(&g_out_once, out_init);
    return g_out_r;
}

/* Takes every answer in the outbox, linked by onext. */
/* Takes every answer in the outbox, linked by onext. The collector reads
 * the descriptor (which resets it) before calling this; a push that comes
 * after signals it again, so no wake-up is lost (at worst one is spurious). */
sk_block *spikard__collect(void) {
    pthread_mutex_lock(&g_lock);
    sk_block *h = g_out_head;
    g_out_head = g_out_tail = NULL;
    g_out_signalled = 0;
    pthread_mutex_unlock(&g_lock);
    return h;
}

/* Under g_lock. Returns 1 when the caller must signal the collector (after
 * unlocking). */
static int outbox_push(sk_block *b) {
    b->onext = NULL;
    if (g_out_tail) g_out_tail->onext = b;
    else g_out_head = b;
    g_out_tail = b;
    if (g_out_signalled) return 0;
    g_out_signalled = 1;
    return 1;
}

/* ---- callbacks ------------------------------------------------------------- */

static char *reserve(thread_state *t, size_t n) {
    if (t->out != NULL && n <= t->out_cap) return t->out;
    if (n <= t->cap && t->buf != NULL) return t->buf;
    char *b = realloc(t->buf, n ? n : 1);
    if (b == NULL) return NULL;
    t->buf = b;
    t->cap = n;
    return b;
}

/* Runs a callback handler and returns the answer given inside it (state
 * 0: none; its bytes are in out when they fit, else in t->buf). */
static spikard__answer call(thread_state *t, uintptr_t fn, sk_block *b, uintptr_t data, char *out, size_t out_cap) {
    /* a handler never runs inside another, but stay correct */
    sk_block *saved_b = t->b;
    spikard__answer saved = t->answer;
    char *saved_out = t->out;
    size_t saved_cap = t->out_cap;
    t->out = out;
    t->out_cap = out_cap;
    if (t->cap > (1u << 20)) { /* do not keep a huge answer's buffer */
        free(t->buf);
        t->buf = NULL;
        t->cap = 0;
    }
    t->b = b;
    t->answer.state = 0;
    ((spikard_handler_fn)fn)(&b->req, (void *)data);
    spikard__answer ans = t->answer;
    t->b = saved_b;
    t->answer = saved;
    t->out = saved_out; /* never kept: it is Go memory, lent for the call */
    t->out_cap = saved_cap;
    return ans;
}

/* Releases a slot this thread issued to a block it never linked, once no
 * lookup holds it (slot_pin). */
static void slot_release_fast(thread_state *t, uint64_t id) {
    uint32_t i = (uint32_t)id;
    sk_slot *s = slot_at(i);
    __atomic_store_n(&s->b, NULL, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&s->pins, __ATOMIC_SEQ_CST) != 0) sched_yield();
    if (t->nslots < SLOT_CACHE) {
        t->slots[t->nslots++] = i;
        return;
    }
    pthread_mutex_lock(&g_lock);
    s->next_free = g_free_slot;
    g_free_slot = i;
    pthread_mutex_unlock(&g_lock);
}

/* Tests only: how long spikard__invoke holds a block that returned
 * unanswered before handing it to Go (the window in which lookups must ask
 * again). */
static unsigned g_test_hold_us;
void spikard__test_hold_returned(unsigned us) { g_test_hold_us = us; }

/* A callback handler's whole request in one crossing: the block made from
 * the view, the callback run and, when it answered inside, the block freed,
 * its background tasks handed to the caller - all without g_lock when the
 * thread has a spare slot (see the top of this file). An answer that fits
 * is written into out (the caller's buffer, lent for the call), else
 * ans.owned hands the bytes over. state -1: no block
 * (the app is shut down, or no memory); 0: not answered, ans.block and
 * ans.id are the block, now linked like any other. */
spikard__answer spikard__invoke(sk_app *a, const char *data, size_t n, spikard__meta m, uintptr_t fn, uintptr_t udata,
                                char *out, size_t out_cap) {
    spikard__answer none = {0};
    none.state = -1;
    thread_state *t = ts();
    if (t == NULL || __atomic_load_n(&a->closed, __ATOMIC_ACQUIRE)) return none;
    if (t->nslots == 0) {
        pthread_mutex_lock(&g_lock);
        while (t->nslots < SLOT_CACHE / 2) {
            uint32_t i = slot_take();
            if (i == NO_SLOT) break;
            t->slots[t->nslots++] = i;
        }
        pthread_mutex_unlock(&g_lock);
        if (t->nslots == 0) return none;
    }
    /* Delivered from the start: nothing cuts off a block that is not
     * linked yet (the Go side keeps shutdowns away from running callbacks,
     * and an answer needs the id, published below). */
    sk_block *b = block_of_view(a, data, n, m, SK_DELIVERED);
    if (b == NULL) return none;
    slot_issue(t->slots[--t->nslots], b);
    spikard__answer ans = call(t, fn, b, udata, out, out_cap);
    if (ans.state == 0) {
        pthread_mutex_lock(&g_lock);
        if (state_of(b) != SK_ANSWERED) {
            /* From now on lookups wait for spikard__adopt; one that pinned
             * the slot before may still use the Go waiter: wait for it. */
            b->flags |= SK_RETURNED;
            pthread_mutex_unlock(&g_lock);
            if (g_test_hold_us) usleep(g_test_hold_us);
            while (__atomic_load_n(&slot_at((uint32_t)b->req.id)->pins, __ATOMIC_SEQ_CST) != 0) sched_yield();
            ans.block = b;
            ans.id = b->req.id;
            return ans;
        }
        /* answered from another thread while the callback ran */
        size_t an = b->ans_hlen + b->ans_blen;
        char *bytes = b->ans;
        if (an <= out_cap && out != NULL) {
            if (an) memcpy(out, b->ans, an);
            bytes = out;
        } else {
            ans.owned = b->ans;
            b->ans = NULL;
        }
        ans.state = (int)b->ans_kind;
        ans.status = b->ans_status;
        ans.headers = bytes;
        ans.headers_len = b->ans_hlen;
        ans.body = bytes + b->ans_hlen;
        ans.body_len = b->ans_blen;
        pthread_mutex_unlock(&g_lock);
    } else if (ans.headers_len + ans.body_len > 0 && ans.headers != out) {
        /* too big for out: the thread's buffer goes to the caller, so that
         * the caller need not stay on this thread to read it */
        ans.owned = t->buf;
        t->buf = NULL;
        t->cap = 0;
    }
    slot_release_fast(t, b->req.id);
    ans.tasks = b->tasks;
    b->tasks = NULL;
    block_dispose(b);
    return ans;
}

/* The Go handler of a block spikard__invoke returned unanswered waits for
 * it now, under gokey: the block is linked, and an answer that came
 * meanwhile goes to the outbox. */
void spikard__adopt(sk_block *b, uint64_t gokey) {
    int wake = 0;
    pthread_mutex_lock(&g_lock);
    b->gokey = gokey;
    b->flags &= ~SK_RETURNED;
    block_link(b);
    if (state_of(b) == SK_ANSWERED) wake = outbox_push(b);
    pthread_mutex_unlock(&g_lock);
    if (wake) fd_signal(g_out_w);
}

/* Frees a block spikard__invoke returned unanswered that nobody will wait
 * for (its app was freed meanwhile). */
void spikard__drop(sk_block *b) {
    pthread_mutex_lock(&g_lock);
    slot_release(b->req.id);
    pthread_mutex_unlock(&g_lock);
    block_dispose(b);
}

void spikard__free_data(uintptr_t fn, uintptr_t data) { ((spikard_free_fn)fn)((void *)data); }

/* ---- the queue --------------------------------------------------------------- */

/* Moves up to cap queued requests into out. Under g_lock. */
static size_t take(sk_app *a, spikard_request *out, size_t cap) {
    size_t n = 0;
    while (n < cap && a->qhead != NULL) {
        sk_block *b = a->qhead;
        queue_remove(b);
        __atomic_store_n(&b->state, SK_DELIVERED, __ATOMIC_RELEASE);
        out[n++] = b->req;
    }
    return n;
}

static int next_args(const char *fn, spikard_request *out, size_t cap, size_t *out_n) {
    if (out_n != NULL) *out_n = 0;
    if (out == NULL || out_n == NULL || cap == 0)
        return fail(SPIKARD_EINVAL, "%s: out and out_n are required and cap must not be 0", fn);
    return 0;
}

int spikard_next(int64_t app, int timeout_ms, spikard_request *out, size_t cap, size_t *out_n) {
    int rc = next_args("spikard_next", out, cap, out_n);
    if (rc != 0) return rc;
    struct timespec deadline;
    if (timeout_ms > 0) {
#if defined(__APPLE__)
        clock_gettime(CLOCK_REALTIME, &deadline);
#else
        clock_gettime(CLOCK_MONOTONIC, &deadline);
#endif
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&g_lock);
    sk_app *a = find_app(app);
    if (a == NULL) {
        pthread_mutex_unlock(&g_lock);
        return fail(SPIKARD_EBADHANDLE, "spikard_next: %lld is not a live app handle", (long long)app);
    }
    a->refs++;
    for (;;) {
        size_t n = take(a, out, cap);
        if (n > 0) {
            *out_n = n;
            if (a->qhead != NULL && a->waiters > 0) pthread_cond_signal(&a->cond); /* pass the baton */
            rc = SPIKARD_OK;
            break;
        }
        if (a->closed) {
            rc = fail(SPIKARD_ECLOSED, "spikard_next: app %lld was shut down", (long long)app);
            break;
        }
        if (timeout_ms == 0) {
            rc = fail(SPIKARD_ETIMEOUT, "spikard_next: no request queued");
            break;
        }
        int w;
        a->waiters++;
        if (timeout_ms < 0) w = pthread_cond_wait(&a->cond, &g_lock);
        else w = pthread_cond_timedwait(&a->cond, &g_lock, &deadline);
        a->waiters--;
        if (w == ETIMEDOUT && a->qhead == NULL && !a->closed) {
            rc = fail(SPIKARD_ETIMEOUT, "spikard_next: no request within %d ms", timeout_ms);
            break;
        }
    }
    app_unref(a);
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int spikard_try_next(int64_t app, spikard_request *out, size_t cap, size_t *out_n) {
    int rc = next_args("spikard_try_next", out, cap, out_n);
    if (rc != 0) return rc;
    pthread_mutex_lock(&g_lock);
    sk_app *a = find_app(app);
    if (a == NULL) {
        rc = fail(SPIKARD_EBADHANDLE, "spikard_try_next: %lld is not a live app handle", (long long)app);
    } else {
        *out_n = take(a, out, cap);
        if (*out_n == 0 && a->closed)
            rc = fail(SPIKARD_ECLOSED, "spikard_try_next: app %lld was shut down", (long long)app);
        else if (a->qhead != NULL && a->waiters > 0)
            pthread_cond_signal(&a->cond);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int spikard_app_ready_fd(int64_t app, int *out_fd) {
    if (out_fd == NULL) return fail(SPIKARD_EINVAL, "spikard_app_ready_fd: out_fd is required");
    int rc = SPIKARD_OK;
    pthread_mutex_lock(&g_lock);
    sk_app *a = find_app(app);
    if (a == NULL) {
        rc = fail(SPIKARD_EBADHANDLE, "spikard_app_ready_fd: %lld is not a live app handle", (long long)app);
    } else {
        if (a->rfd < 0) {
            if (fd_make(&a->rfd, &a->wfd) != 0) {
                rc = fail(SPIKARD_EIO, "spikard_app_ready_fd: %s", strerror(errno));
                a->rfd = a->wfd = -1;
            } else if (a->qhead != NULL || a->closed) {
                fd_signal(a->wfd);
                a->ready_on = 1;
            }
        }
        if (rc == SPIKARD_OK) *out_fd = a->rfd;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* ---- answers ----------------------------------------------------------------- */

/* tchar of RFC 9110 (header names). */
static const unsigned char k_token[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* The header block: "Name: value" lines separated by "\n", a "\r" before
 * the "\n" ignored, empty lines skipped. The Go side (headers.go) reads it
 * with the same rules. One pass: this runs for every answer. */
static int check_headers(const char *fn, const char *h, size_t n) {
    size_t line = 0, i = 0;
    while (i < n) {
        size_t start = i;
        line++;
        while (i < n && k_token[(unsigned char)h[i]]) i++; /* the name */
        if (i == start) {
            /* an empty line (or a lone CR) is skipped; anything else has no name */
            if (i < n && h[i] == '\n') { i++; continue; }
            if (i + 1 < n && h[i] == '\r' && h[i + 1] == '\n') { i += 2; continue; }
            if (i + 1 == n && h[i] == '\r') return 0;
            return fail(SPIKARD_EINVAL, "%s: headers: line %zu: want \"Name: value\"", fn, line);
        }
        if (i == n || h[i] != ':') {
            size_t e = i;
            while (e < n && h[e] != '\n' && h[e] != ':') e++;
            if (e < n && h[e] == ':')
                return fail(SPIKARD_EINVAL, "%s: headers: line %zu: \"%.*s\" is not a valid header name", fn, line,
                            (int)(e - start), h + start);
            return fail(SPIKARD_EINVAL, "%s: headers: line %zu: want \"Name: value\"", fn, line);
        }
        size_t colon = i++;
        for (; i < n && h[i] != '\n'; i++) {
            unsigned char c = (unsigned char)h[i];
            if ((c < 0x20 && c != '\t' && !(c == '\r' && (i + 1 == n || h[i + 1] == '\n'))) || c == 0x7f)
                return fail(SPIKARD_EINVAL, "%s: headers: line %zu: header %.*s: control character %#x in the value",
                            fn, line, (int)(colon - start), h + start, c);
        }
        if (i < n) i++;
    }
    return 0;
}

/* Records an answer given inside the request's own callback. 1: done (rc
 * set); 0: take the ordinary path. */
static int answer_in_callback(const char *fn, uint64_t id, int kind, int status, const char *h, size_t hlen,
                              const char *body, size_t blen, int *rc) {
    thread_state *t = g_ts;
    if (t == NULL || t->b == NULL || t->b->req.id != id) return 0;
    if (t->answer.state != 0) {
        *rc = fail(SPIKARD_ESTATE, "%s: request %llu was already answered", fn, (unsigned long long)id);
        return 1;
    }
    if (!cas_state(t->b, SK_DELIVERED, SK_ANSWERED)) return 0; /* finished meanwhile: the ordinary path says how */
    char *buf = reserve(t, hlen + blen);
    if (buf == NULL) {
        __atomic_store_n(&t->b->state, SK_DELIVERED, __ATOMIC_RELEASE);
        *rc = fail(SPIKARD_EINTERNAL, "%s: out of memory", fn);
        return 1;
    }
    if (hlen) memcpy(buf, h, hlen);
    if (blen) memcpy(buf + hlen, body, blen);
    t->answer.state = kind;
    t->answer.status = status;
    t->answer.headers = buf;
    t->answer.headers_len = hlen;
    t->answer.body = buf + hlen;
    t->answer.body_len = blen;
    *rc = SPIKARD_OK;
    return 1;
}

static int answer(const char *fn, uint64_t id, int kind, int status, const char *h, size_t hlen,
                  const char *body, size_t blen) {
    int rc;
    if (answer_in_callback(fn, id, kind, status, h, hlen, body, blen, &rc)) return rc;

    /* Copy first: the lock is not held while copying bodies. */
    char *copy = malloc(hlen + blen + 1);
    if (copy == NULL) return fail(SPIKARD_EINTERNAL, "%s: out of memory", fn);
    if (hlen) memcpy(copy, h, hlen);
    if (blen) memcpy(copy + hlen, body, blen);

    sk_block *drop = NULL;
    int wake = 0;
    pthread_mutex_lock(&g_lock);
    sk_block *b = slot_pin(id, &rc);
    if (b == NULL) {
        pthread_mutex_unlock(&g_lock);
        free(copy);
        if (rc == SPIKARD_EBADHANDLE)
            return fail(rc, "%s: %llu is not a request id this library issued", fn, (unsigned long long)id);
        return fail(rc, "%s: request %llu was already answered (or its app was freed)", fn, (unsigned long long)id);
    }
    uint32_t st = state_of(b);
    if ((st == SK_QUEUED || st == SK_DELIVERED) && cas_state(b, st, SK_ANSWERED)) {
        queue_remove(b);
        b->ans_kind = (uint32_t)kind;
        b->ans_status = status;
        b->ans = copy;
        b->ans_hlen = hlen;
        b->ans_blen = blen;
        /* a block not linked yet is still with spikard__invoke or the Go
         * handler adopting it: they take the answer from it */
        if (b->flags & SK_LINKED) wake = outbox_push(b);
        rc = SPIKARD_OK;
    } else if (st == SK_TIMEDOUT) {
        block_forget(b);
        drop = b;
        rc = fail(SPIKARD_ETIMEOUT,
                  "%s: request %llu was answered 504 by the core after the handler timeout (%lld ms); this answer is dropped",
                  fn, (unsigned long long)id, (long long)b->app->timeout_ms);
    } else if (st == SK_ABORTED) {
        block_forget(b);
        drop = b;
        rc = fail(SPIKARD_ECLOSED, "%s: request %llu was cut off by the app's shutdown and answered 503; this answer is dropped",
                  fn, (unsigned long long)id);
    } else {
        rc = fail(SPIKARD_ESTATE, "%s: request %llu was already answered", fn, (unsigned long long)id);
    }
    slot_unpin(id);
    pthread_mutex_unlock(&g_lock);
    if (wake) fd_signal(g_out_w);
    if (rc != SPIKARD_OK) free(copy);
    if (drop != NULL) block_dispose(drop);
    return rc;
}

int spikard_respond(uint64_t id, int status, const char *headers, size_t headers_len, const char *body,
                    size_t body_len) {
    if (status < 100 || status > 599)
        return fail(SPIKARD_EINVAL, "spikard_respond: status %d is not an HTTP status (100-599)", status);
    if ((headers == NULL && headers_len > 0) || (body == NULL && body_len > 0))
        return fail(SPIKARD_EINVAL, "spikard_respond: a NULL buffer with a non-zero length");
    int rc = check_headers("spikard_respond", headers, headers_len);
    if (rc != 0) return rc;
    return answer("spikard_respond", id, 1, status, headers, headers_len, body, body_len);
}

int spikard__answer_stream(uint64_t id, int status, const char *headers, size_t headers_len) {
    if (status < 100 || status > 599)
        return fail(SPIKARD_EINVAL, "spikard_stream_begin: status %d is not an HTTP status (100-599)", status);
    if (headers == NULL && headers_len > 0)
        return fail(SPIKARD_EINVAL, "spikard_stream_begin: a NULL buffer with a non-zero length");
    int rc = check_headers("spikard_stream_begin", headers, headers_len);
    if (rc != 0) return rc;
    return answer("spikard_stream_begin", id, 4, status, headers, headers_len, NULL, 0);
}

int spikard_respond_error(uint64_t id, const char *message) {
    size_t n = message ? strlen(message) : 0;
    return answer("spikard_respond_error", id, 2, 500, NULL, 0, message, n);
}

int spikard_continue(uint64_t id, const char *changes, size_t changes_len) {
    if (changes == NULL && changes_len > 0)
        return fail(SPIKARD_EINVAL, "spikard_continue: a NULL buffer with a non-zero length");
    return answer("spikard_continue", id, 3, 0, NULL, 0, changes, changes_len);
}

int spikard_background(uint64_t id, const char *handler, const char *payload, size_t payload_len) {
    if (handler == NULL || handler[0] == 0)
        return fail(SPIKARD_EINVAL, "spikard_background: handler is required");
    if (payload == NULL && payload_len > 0)
        return fail(SPIKARD_EINVAL, "spikard_background: a NULL buffer with a non-zero length");
    sk_task *t = calloc(1, sizeof *t);
    if (t == NULL) return fail(SPIKARD_EINTERNAL, "spikard_background: out of memory");
    t->handler = strdup(handler);
    t->payload_len = payload_len ? payload_len : 4;
    t->payload = malloc(t->payload_len);
    if (t->handler == NULL || t->payload == NULL) {
        free(t->handler);
        free(t->payload);
        free(t);
        return fail(SPIKARD_EINTERNAL, "spikard_background: out of memory");
    }
    memcpy(t->payload, payload_len ? payload : "null", t->payload_len);
    int rc = SPIKARD_OK;
    pthread_mutex_lock(&g_lock);
    sk_block *b = slot_pin(id, &rc);
    uint32_t st = b ? state_of(b) : 0;
    if (b == NULL && rc == SPIKARD_ESTATE) {
        fail(rc, "spikard_background: request %llu was already answered", (unsigned long long)id);
    } else if (b == NULL) {
        rc = SPIKARD_EBADHANDLE;
        fail(rc, "spikard_background: %llu is not a request the library handed over", (unsigned long long)id);
    } else if (st != SK_QUEUED && st != SK_DELIVERED) {
        rc = fail(SPIKARD_ESTATE, "spikard_background: request %llu was already answered (ask for background work before answering)",
                  (unsigned long long)id);
    } else {
        sk_task **tail = &b->tasks;
        while (*tail) tail = &(*tail)->next;
        *tail = t;
        t = NULL;
    }
    if (b != NULL) slot_unpin(id);
    pthread_mutex_unlock(&g_lock);
    if (t != NULL) {
        free(t->handler);
        free(t->payload);
        free(t);
    }
    return rc;
}

/* For tests: what is still alive. */
sk_live spikard__live(void) {
    pthread_mutex_lock(&g_lock);
    sk_live l = {g_live_apps, g_live_blocks};
    pthread_mutex_unlock(&g_lock);
    return l;
}
