// C handlers for the Go tests of the ABI (capitest.go). They call the
// library exactly as a C host does.
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "helpers.h"

int capitest_freed;
int capitest_second_rc;
uint64_t capitest_last_id;

static const char JSON[] = "Content-Type: application/json\n";

// Answers the validated values inside the callback (the fast path).
void capitest_echo(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, r->values, r->values_len);
}

// Answers the raw request body inside the callback (the benchmarks' echo).
void capitest_echo_body(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, r->body, r->body_len);
}

// Answers twice inside the callback; keeps the second result.
void capitest_twice(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 201, NULL, 0, "a", 1);
    __atomic_store_n(&capitest_second_rc, spikard_respond(r->id, 202, NULL, 0, "b", 1), __ATOMIC_SEQ_CST);
}

// Fails inside the callback.
void capitest_raise(const spikard_request *r, void *data) {
    spikard_respond_error(r->id, data ? (const char *)data : "boom");
}

// Does not answer: records the id for an answer from another thread.
void capitest_later(const spikard_request *r, void *data) {
    (void)data;
    __atomic_store_n(&capitest_last_id, r->id, __ATOMIC_SEQ_CST);
}

int capitest_foreign_rc;
int capitest_racers;

static void *answer_foreign(void *p) {
    spikard_background(*(uint64_t *)p, "noop", "1", 1);
    spikard_respond(*(uint64_t *)p, 203, NULL, 0, "foreign", 7);
    return NULL;
}

// Another thread answers while the callback still runs (it waits for it);
// the callback's own answer comes second (its result is kept).
void capitest_foreign(const spikard_request *r, void *data) {
    (void)data;
    uint64_t id = r->id;
    pthread_t t;
    if (pthread_create(&t, NULL, answer_foreign, &id) != 0) return;
    pthread_join(t, NULL);
    __atomic_store_n(&capitest_foreign_rc, spikard_respond(r->id, 200, NULL, 0, "own", 3), __ATOMIC_SEQ_CST);
}

static void *race(void *p) {
    uint64_t id = (uint64_t)(uintptr_t)p;
    /* Until the request is answered, by this thread or by its callback. */
    for (int i = 0; i < 64 && spikard_background(id, "noop", "2", 1) == SPIKARD_OK; i++) {
    }
    spikard_respond(id, 203, NULL, 0, "foreign", 7);
    __atomic_sub_fetch(&capitest_racers, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

// Answers inside the callback while another thread (left running) keeps
// calling the library with the same id: either answer may win.
void capitest_race(const spikard_request *r, void *data) {
    (void)data;
    pthread_t t;
    __atomic_add_fetch(&capitest_racers, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, NULL, race, (void *)(uintptr_t)r->id) != 0) {
        __atomic_sub_fetch(&capitest_racers, 1, __ATOMIC_SEQ_CST);
    } else {
        pthread_detach(t);
    }
    spikard_respond(r->id, 200, NULL, 0, "own", 3);
}

// Calls into Go.
void capitest_go(const spikard_request *r, void *data) { capitestGoHandler((spikard_request *)r, (uintptr_t)data); }

void capitest_count_free(void *data) {
    (void)data;
    __atomic_add_fetch(&capitest_freed, 1, __ATOMIC_SEQ_CST);
}

int capitest_poll(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, timeout_ms);
    return n > 0 && (p.revents & POLLIN);
}

spikard_handler_fn capitest_fn(int which) {
    switch (which) {
    case 0: return capitest_echo;
    case 1: return capitest_twice;
    case 2: return capitest_raise;
    case 3: return capitest_later;
    case 4: return capitest_go;
    case 5: return capitest_echo_body;
    case 6: return capitest_foreign;
    case 7: return capitest_race;
    }
    return NULL;
}

int capitest_get_freed(void) { return __atomic_load_n(&capitest_freed, __ATOMIC_SEQ_CST); }
int capitest_get_second_rc(void) { return __atomic_load_n(&capitest_second_rc, __ATOMIC_SEQ_CST); }
uint64_t capitest_get_last_id(void) { return __atomic_load_n(&capitest_last_id, __ATOMIC_SEQ_CST); }
int capitest_get_foreign_rc(void) { return __atomic_load_n(&capitest_foreign_rc, __ATOMIC_SEQ_CST); }
int capitest_get_racers(void) { return __atomic_load_n(&capitest_racers, __ATOMIC_SEQ_CST); }

int capitest_handle_go(int64_t app, const char *name, uintptr_t key) {
    return spikard_app_handle_callback(app, name, capitest_go, (void *)key, NULL);
}
