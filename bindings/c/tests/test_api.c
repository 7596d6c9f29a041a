/*
 * test_api: every function of spikard.h, called correctly and incorrectly,
 * without sockets (test_http covers serving): versions, errors, the app
 * lifecycle, handler binding, the configuration getter, the queue calls on
 * an idle app, answers to ids that do not exist, the reserved functions.
 */
#include "testutil.h"

static const char DOC[] =
    "{\"version\":1,\"server\":{\"handler_timeout_ms\":1000},\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/a/{id:int}\",\"handler\":\"a\"},"
    "{\"method\":\"POST\",\"path\":\"/b\",\"handler\":\"b\",\"body_schema\":{\"type\":\"object\"}}]}";

static int freed;
static void count_free(void *data) {
    (void)data;
    freed++;
}
static void noop(const spikard_request *r, void *data) {
    (void)r;
    (void)data;
}

static int64_t new_app(void) {
    int64_t app = 0;
    CHECK_RC(spikard_app_new(DOC, sizeof DOC - 1, &app), SPIKARD_OK);
    return app;
}

static void test_versions(void) {
    CHECK(spikard_abi_version() == SPIKARD_ABI_VERSION);
    CHECK(strcmp(spikard_version(), SPIKARD_VERSION) == 0);
    CHECK(spikard_last_error() != NULL);
    CHECK(strncmp(spikard_strerror(SPIKARD_OK), "SPIKARD_OK", 10) == 0);
    CHECK(strncmp(spikard_strerror(SPIKARD_EINVAL), "SPIKARD_EINVAL", 14) == 0);
    CHECK(strncmp(spikard_strerror(SPIKARD_EINTERNAL), "SPIKARD_EINTERNAL", 17) == 0);
    CHECK(strncmp(spikard_strerror(42), "SPIKARD_E?", 10) == 0);
    for (int c = 0; c >= SPIKARD_EINTERNAL; c--) CHECK(strstr(spikard_strerror(c), "SPIKARD_E?") == NULL);
    CHECK(sizeof(spikard_request) == 168);
}

static void test_app_new(void) {
    int64_t app = 7;
    CHECK_RC(spikard_app_new(NULL, 5, &app), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_new(DOC, sizeof DOC - 1, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_new(DOC, 0, &app), SPIKARD_EINVAL);
    CHECK(app == 7);

    const char *bad_json = "{\"version\":1";
    CHECK_RC(spikard_app_new(bad_json, strlen(bad_json), &app), SPIKARD_ECONFIG);
    CHECK_MSG("not valid JSON");
    const char *no_version = "{\"routes\":[]}";
    CHECK_RC(spikard_app_new(no_version, strlen(no_version), &app), SPIKARD_ECONFIG);
    CHECK_MSG("\"version\"");
    const char *v2 = "{\"version\":2,\"routes\":[]}";
    CHECK_RC(spikard_app_new(v2, strlen(v2), &app), SPIKARD_EVERSION);
    CHECK_MSG("version 2 is not supported");
    CHECK_MSG("reads version 1");
    const char *bad_schema =
        "{\"version\":1,\"routes\":[{\"method\":\"POST\",\"path\":\"/x\",\"handler\":\"h\",\"body_schema\":{\"type\":7}}]}";
    CHECK_RC(spikard_app_new(bad_schema, strlen(bad_schema), &app), SPIKARD_ECONFIG);
    CHECK_MSG("body_schema");
    const char *bad_timeout = "{\"version\":1,\"server\":{\"handler_timeout_ms\":-5}}";
    CHECK_RC(spikard_app_new(bad_timeout, strlen(bad_timeout), &app), SPIKARD_ECONFIG);
    CHECK_MSG("handler_timeout_ms");
    CHECK(app == 7);

    /* Not NUL-terminated: only config_len bytes are read. */
    char buf[sizeof DOC + 8];
    memcpy(buf, DOC, sizeof DOC - 1);
    memset(buf + sizeof DOC - 1, 'x', 9);
    CHECK_RC(spikard_app_new(buf, sizeof DOC - 1, &app), SPIKARD_OK);
    CHECK(app > 0);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_app_free(void) {
    CHECK_RC(spikard_app_free(0), SPIKARD_EBADHANDLE);
    CHECK_MSG("not a live app handle");
    CHECK_RC(spikard_app_free(-3), SPIKARD_EBADHANDLE);
    int64_t app = new_app();
    int64_t other = new_app();
    CHECK(app != other);
    freed = 0;
    CHECK_RC(spikard_app_handle_callback(app, "a", noop, &freed, count_free), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "b", 2), SPIKARD_OK);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
    CHECK(freed == 1);
    CHECK_RC(spikard_app_free(app), SPIKARD_EBADHANDLE);
    CHECK(freed == 1);
    /* the other app is untouched */
    size_t n;
    CHECK_RC(spikard_app_config(other, NULL, 0, &n), SPIKARD_ERANGE);
    CHECK_RC(spikard_app_free(other), SPIKARD_OK);
}

static void test_handle(void) {
    int64_t app = new_app();
    freed = 0;
    CHECK_RC(spikard_app_handle_callback(12345, "a", noop, NULL, NULL), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_handle_callback(app, NULL, noop, NULL, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_handle_callback(app, "", noop, NULL, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_handle_callback(app, "a", NULL, NULL, NULL), SPIKARD_EINVAL);
    /* a name the document does not use: a background task handler */
    CHECK_RC(spikard_app_handle_callback(app, "task", noop, &freed, count_free), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(12345, "a", 1), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_handle_queued(app, NULL, 1), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_handle_queued(app, "task", 1), SPIKARD_ESTATE);
    CHECK_RC(spikard_app_handle_callback(app, "a", noop, &freed, count_free), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "a", noop, &freed, count_free), SPIKARD_ESTATE);
    CHECK_MSG("already bound");
    CHECK_RC(spikard_app_handle_queued(app, "a", 1), SPIKARD_ESTATE);
    /* unbound "b": listen refuses */
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, NULL), SPIKARD_ECONFIG);
    CHECK_MSG("\"b\"");
    CHECK_RC(spikard_app_handle_queued(app, "b", 2), SPIKARD_OK);
    uint16_t port = 0;
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, &port), SPIKARD_OK);
    CHECK(port != 0);
    CHECK_RC(spikard_app_handle_queued(app, "b", 3), SPIKARD_ESTATE);
    CHECK_MSG("already listening");
    CHECK(freed == 0); /* failed registrations took nothing */
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
    CHECK(freed == 2);
}

static void test_config(void) {
    int64_t app = new_app();
    size_t need = 0;
    CHECK_RC(spikard_app_config(app, NULL, 0, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_config(app, NULL, 10, &need), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_config(99999, NULL, 0, &need), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_config(app, NULL, 0, &need), SPIKARD_ERANGE);
    CHECK(need > 50);
    char *buf = malloc(need);
    size_t got = 0;
    CHECK_RC(spikard_app_config(app, buf, need - 1, &got), SPIKARD_ERANGE);
    CHECK(got == need);
    CHECK_RC(spikard_app_config(app, buf, need, &got), SPIKARD_OK);
    CHECK(got == need && buf[0] == '{' && buf[got - 1] == '}');
    /* the document reads back */
    int64_t again = 0;
    CHECK_RC(spikard_app_new(buf, got, &again), SPIKARD_OK);
    CHECK_RC(spikard_app_free(again), SPIKARD_OK);
    free(buf);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_listen_shutdown(void) {
    CHECK_RC(spikard_app_listen(4242, NULL, 0, NULL), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_shutdown(4242, 0), SPIKARD_EBADHANDLE);
    int64_t app = new_app();
    CHECK_RC(spikard_app_shutdown(app, 100), SPIKARD_OK); /* never listened: fine */
    CHECK_RC(spikard_app_handle_queued(app, "a", 1), SPIKARD_ESTATE);
    CHECK_RC(spikard_app_listen(app, NULL, 0, NULL), SPIKARD_ESTATE);
    CHECK_MSG("shut down");
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);

    app = new_app();
    CHECK_RC(spikard_app_handle_queued(app, "a", 1), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "b", 2), SPIKARD_OK);
    uint16_t port = 0, port2 = 0;
    CHECK_RC(spikard_app_listen(app, NULL, 0, &port), SPIKARD_OK);
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", port, &port2), SPIKARD_EIO);
    CHECK_MSG("address already in use");
    CHECK_RC(spikard_app_listen(app, "256.1.1.1", 0, NULL), SPIKARD_EIO);
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, &port2), SPIKARD_OK); /* a second address */
    CHECK(port2 != port);
    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK(http_connect(port) < 0);
    CHECK_RC(spikard_app_listen(app, NULL, 0, NULL), SPIKARD_ESTATE);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_queue_idle(void) {
    int64_t app = new_app();
    spikard_request reqs[4];
    size_t n = 99;
    CHECK_RC(spikard_next(app, 0, NULL, 4, &n), SPIKARD_EINVAL);
    CHECK(n == 0);
    CHECK_RC(spikard_next(app, 0, reqs, 0, &n), SPIKARD_EINVAL);
    CHECK_RC(spikard_next(app, 0, reqs, 4, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_try_next(app, NULL, 4, &n), SPIKARD_EINVAL);
    CHECK_RC(spikard_try_next(app, reqs, 0, &n), SPIKARD_EINVAL);
    CHECK_RC(spikard_next(999, 0, reqs, 4, &n), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_try_next(999, reqs, 4, &n), SPIKARD_EBADHANDLE);
    n = 99;
    CHECK_RC(spikard_try_next(app, reqs, 4, &n), SPIKARD_OK);
    CHECK(n == 0);
    CHECK_RC(spikard_next(app, 0, reqs, 4, &n), SPIKARD_ETIMEOUT);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_RC(spikard_next(app, 120, reqs, 4, &n), SPIKARD_ETIMEOUT);
    long ms = t_ms_since(t0);
    CHECK(ms >= 110 && ms < t_scale(3000));

    int fd = -1, fd2 = -2;
    CHECK_RC(spikard_app_ready_fd(app, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_ready_fd(999, &fd), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_ready_fd(app, &fd), SPIKARD_OK);
    CHECK_RC(spikard_app_ready_fd(app, &fd2), SPIKARD_OK);
    CHECK(fd >= 0 && fd == fd2);

    CHECK_RC(spikard_app_shutdown(app, 0), SPIKARD_OK);
    CHECK_RC(spikard_try_next(app, reqs, 4, &n), SPIKARD_ECLOSED);
    CHECK_RC(spikard_next(app, -1, reqs, 4, &n), SPIKARD_ECLOSED);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
    CHECK_RC(spikard_next(app, 0, reqs, 4, &n), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_ready_fd(app, &fd), SPIKARD_EBADHANDLE);
}

static void test_respond_unknown(void) {
    CHECK_RC(spikard_respond(0, 200, NULL, 0, NULL, 0), SPIKARD_EBADHANDLE);
    CHECK_MSG("not a request id");
    CHECK_RC(spikard_respond(0xFFFFFFFFFFFFull, 200, NULL, 0, "x", 1), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_respond_error(77, "x"), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_respond_error(77, NULL), SPIKARD_EBADHANDLE);
    /* arguments are checked before the id */
    CHECK_RC(spikard_respond(77, 1000, NULL, 0, NULL, 0), SPIKARD_EINVAL);
    CHECK_RC(spikard_respond(77, 200, NULL, 4, NULL, 0), SPIKARD_EINVAL);
    CHECK_RC(spikard_respond(77, 200, "NoColon", 7, NULL, 0), SPIKARD_EINVAL);
}

static void test_openapi(void) {
    int64_t app = new_app();
    size_t need = 0, got = 0;
    CHECK_RC(spikard_app_openapi(app, NULL, 0, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_openapi(app, NULL, 5, &need), SPIKARD_EINVAL);
    CHECK_RC(spikard_app_openapi(4242, NULL, 0, &need), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_app_openapi(app, NULL, 0, &need), SPIKARD_ERANGE);
    CHECK(need > 100);
    char *buf = malloc(need + 1);
    CHECK_RC(spikard_app_openapi(app, buf, need, &got), SPIKARD_OK);
    buf[got] = 0;
    CHECK(got == need && strstr(buf, "\"openapi\": \"3.1") && strstr(buf, "\"/a/{id}\""));
    free(buf);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_continue_background_unknown(void) {
    CHECK_RC(spikard_continue(0, NULL, 0), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_continue(99, "{}", 2), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_continue(99, NULL, 2), SPIKARD_EINVAL);
    CHECK_RC(spikard_background(99, "task", "1", 1), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_background(99, NULL, "1", 1), SPIKARD_EINVAL);
    CHECK_RC(spikard_background(99, "", NULL, 0), SPIKARD_EINVAL);
    CHECK_RC(spikard_background(99, "task", NULL, 1), SPIKARD_EINVAL);
}

static void test_reserved(void) {
    CHECK_RC(spikard_app_on_shutdown(1, NULL, NULL, NULL), SPIKARD_ENOTIMPL);
    CHECK_MSG("reserved");
}

/* Streams and WebSockets with handles the library never issued. */
static void test_stream_ws_unknown(void) {
    uint64_t s = 0;
    CHECK_RC(spikard_stream_begin(99, 200, NULL, 0, &s), SPIKARD_EBADHANDLE);
    CHECK(s == 0);
    CHECK_RC(spikard_stream_begin(99, 200, NULL, 0, NULL), SPIKARD_EINVAL);
    CHECK_RC(spikard_stream_begin(99, 42, NULL, 0, &s), SPIKARD_EINVAL);
    CHECK_RC(spikard_stream_begin(99, 200, "bad header", 10, &s), SPIKARD_EINVAL);
    CHECK_MSG("spikard_stream_begin: headers");
    CHECK_RC(spikard_stream_write(1ull << 60, "x", 1), SPIKARD_EBADHANDLE);
    CHECK_MSG("not a stream");
    CHECK_RC(spikard_stream_write(1ull << 60, NULL, 1), SPIKARD_EINVAL);
    CHECK_RC(spikard_stream_end(0), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_stream_fail(1ull << 60, "boom"), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_sse_send(1ull << 60, "e", 1, "d", 1, NULL, 0, NULL, 0, 0), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_sse_send(1ull << 60, NULL, 1, "d", 1, NULL, 0, NULL, 0, 0), SPIKARD_EINVAL);
    CHECK_RC(spikard_ws_send(1ull << 60, 1, "m", 1), SPIKARD_EBADHANDLE);
    CHECK_MSG("not a WebSocket connection");
    CHECK_RC(spikard_ws_send(1ull << 60, 9, "m", 1), SPIKARD_EINVAL);
    CHECK_RC(spikard_ws_send(1ull << 60, 1, NULL, 1), SPIKARD_EINVAL);
    CHECK_RC(spikard_ws_close(0, 1000, NULL, 0), SPIKARD_EBADHANDLE);
    CHECK_RC(spikard_ws_close(1ull << 60, 1000, NULL, 3), SPIKARD_EINVAL);
}

/* spikard_last_error is per thread. */
static void *version_errors(void *arg) {
    int k = (int)(intptr_t)arg;
    char doc[64], want[64];
    snprintf(doc, sizeof doc, "{\"version\":%d}", 100 + k);
    snprintf(want, sizeof want, "version %d ", 100 + k);
    for (int i = 0; i < 200; i++) {
        int64_t app;
        if (spikard_app_new(doc, strlen(doc), &app) != SPIKARD_EVERSION || !strstr(spikard_last_error(), want))
            return (void *)1;
    }
    return NULL;
}

static void test_last_error_per_thread(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, version_errors, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    /* a success does not clear the message */
    int64_t app;
    CHECK_RC(spikard_app_new("x", 1, &app), SPIKARD_ECONFIG);
    app = new_app();
    CHECK_MSG("not valid JSON");
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

int main(void) {
    RUN(test_versions);
    RUN(test_app_new);
    RUN(test_app_free);
    RUN(test_handle);
    RUN(test_config);
    RUN(test_listen_shutdown);
    RUN(test_queue_idle);
    RUN(test_respond_unknown);
    RUN(test_openapi);
    RUN(test_continue_background_unknown);
    RUN(test_reserved);
    RUN(test_stream_ws_unknown);
    RUN(test_last_error_per_thread);
    return t_done();
}
