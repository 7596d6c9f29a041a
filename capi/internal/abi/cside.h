/* Internal to libspikard: the C half of the ABI (cside.c). Not API. */
#ifndef SPIKARD_CSIDE_H
#define SPIKARD_CSIDE_H

#include <stddef.h>
#include <stdint.h>

#include "spikard.h"

#define SPIKARD__HIDDEN __attribute__((visibility("hidden")))

/* Request states (sk_block.state). */
enum {
    SK_QUEUED = 1,    /* waiting in its app's queue; the host has not seen it */
    SK_DELIVERED = 2, /* the host holds the view */
    SK_ANSWERED = 3,  /* the host answered; the Go handler owns the block */
    SK_TIMEDOUT = 4,  /* the client got 504; the host's late answer frees the block */
    SK_ABORTED = 5,   /* the client got 503 (shutdown); likewise */
    SK_CANCELLED = 6  /* dropped before the host saw it; the Go handler frees the block */
};

typedef struct sk_app sk_app;

/* An answer given inside a callback handler: its bytes are in the buffer
 * spikard__invoke's caller lent, or in `owned`. */
typedef struct spikard__answer {
    int state; /* 0 none, 1 spikard_respond, 2 spikard_respond_error (body = message),
                  3 spikard_continue (body = changes), 4 spikard_stream_begin (no body) */
    int status;
    const char *headers;
    size_t headers_len;
    const char *body;
    size_t body_len;
    struct sk_task *tasks; /* spikard__invoke, answered: the block's background tasks, now the caller's */
    struct sk_block *block; /* spikard__invoke, not answered: the block, alive (NULL when state is not 0) */
    uint64_t id;            /* ... and its request id */
    char *owned; /* spikard__invoke, answered: NULL when the bytes are in the caller's out buffer, else the
                    malloc'd buffer holding them, the caller's to free */
} spikard__answer;

/* What Go renders of a view besides its strings: the eight strings' lengths
 * (handler, method, path, query, headers, request_id, values, body; in the
 * data they come in this order, each followed by a NUL), the kind, the
 * WebSocket connection, the binding's tag and the Go waiter's key. */
typedef struct spikard__meta {
    size_t lens[8];
    uint32_t kind;
    uint64_t conn, tag, gokey;
    uintptr_t gotoken; /* spikard__invoke: the Go waiter while the callback runs (spikard__stream_lookup) */
} spikard__meta;

/* Background work asked for during a request (spikard_background). */
typedef struct sk_task {
    struct sk_task *next;
    char *handler; /* NUL-terminated */
    char *payload; /* payload_len bytes of JSON */
    size_t payload_len;
} sk_task;

/* One request: the view handed to the host, the library's bookkeeping, then
 * the strings (written by Go at SK_HEAD). One malloc per request. */
typedef struct sk_block {
    spikard_request req; /* first: &block->req is what a callback receives */
    uint32_t state;      /* atomic; changed under the lock except by the in-callback fast path */
    uint32_t in_queue;
    uint32_t ans_kind; /* as spikard__answer.state */
    int ans_status;
    char *ans; /* malloc'd: headers then body (or the error message) */
    size_t ans_hlen, ans_blen;
    sk_app *app;
    sk_task *tasks;                 /* in the order asked for */
    uint64_t gokey;                 /* the Go handler waiting for it (its key in Go's waiting table) */
    uintptr_t gotoken;              /* spikard__invoke's block, in its callback: the Go waiter (not in the table) */
    uint32_t flags;                 /* SK_LINKED, SK_RETURNED */
    size_t cap;                     /* bytes allocated */
    struct sk_block *qprev, *qnext; /* the app's queue */
    struct sk_block *lprev, *lnext; /* the app's live blocks */
    struct sk_block *onext;         /* the outbox */
    char data[];
} sk_block;

enum { SK_HEAD = offsetof(sk_block, data) };

/* sk_block.flags, changed under g_lock. A block spikard__invoke made is not
 * linked until spikard__adopt: answers from other threads meanwhile stay in
 * the block instead of going to the outbox. */
enum {
    SK_LINKED = 1,  /* in its app's live list, holding a reference on the app */
    SK_RETURNED = 2 /* its callback returned without an answer: the Go handler is adopting it */
};

SPIKARD__HIDDEN void spikard__set_error(const char *msg, size_t n);

SPIKARD__HIDDEN sk_app *spikard__app_new(int64_t handle, int64_t timeout_ms);
SPIKARD__HIDDEN void spikard__app_close(sk_app *a);
SPIKARD__HIDDEN void spikard__app_free(sk_app *a);

SPIKARD__HIDDEN sk_block *spikard__submit(sk_app *a, const char *data, size_t n, spikard__meta m);
SPIKARD__HIDDEN spikard__answer spikard__invoke(sk_app *a, const char *data, size_t n, spikard__meta m, uintptr_t fn,
                                                uintptr_t udata, char *out, size_t out_cap);
SPIKARD__HIDDEN int spikard__stream_lookup(uint64_t id, uintptr_t *token, uint64_t *key);
SPIKARD__HIDDEN void spikard__unpin(uint64_t id);
SPIKARD__HIDDEN void spikard__adopt(sk_block *b, uint64_t gokey);
SPIKARD__HIDDEN void spikard__drop(sk_block *b);
SPIKARD__HIDDEN void spikard__test_hold_returned(unsigned us);
SPIKARD__HIDDEN uint32_t spikard__expire(sk_block *b);
SPIKARD__HIDDEN void spikard__block_free(sk_block *b);

SPIKARD__HIDDEN int spikard__outbox_fd(void);
SPIKARD__HIDDEN sk_block *spikard__collect(void);

SPIKARD__HIDDEN uint32_t spikard__abort_id(uint64_t id);
SPIKARD__HIDDEN void spikard__tasks_free(struct sk_task *t);
/* spikard_stream_begin's answer (kind 4): status and headers checked as
 * spikard_respond checks them. */
SPIKARD__HIDDEN int spikard__answer_stream(uint64_t id, int status, const char *headers, size_t headers_len);
SPIKARD__HIDDEN void spikard__free_data(uintptr_t fn, uintptr_t data);

typedef struct sk_live {
    size_t apps, blocks;
} sk_live;
SPIKARD__HIDDEN sk_live spikard__live(void);

#endif
