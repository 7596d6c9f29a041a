// C handlers for the Go tests of the ABI (capitest.go). They call the
// library exactly as a C host does.
#include <poll.h>
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
    }
    return NULL;
}

int capitest_get_freed(void) { return __atomic_load_n(&capitest_freed, __ATOMIC_SEQ_CST); }
int capitest_get_second_rc(void) { return __atomic_load_n(&capitest_second_rc, __ATOMIC_SEQ_CST); }
uint64_t capitest_get_last_id(void) { return __atomic_load_n(&capitest_last_id, __ATOMIC_SEQ_CST); }

int capitest_handle_go(int64_t app, const char *name, uintptr_t key) {
    return spikard_app_handle_callback(app, name, capitest_go, (void *)key, NULL);
}
