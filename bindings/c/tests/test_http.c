/*
 * test_http: real requests over sockets to 127.0.0.1 through each dispatch
 * mode: callback answered inside the callback, callback answered later from
 * another thread, queued with spikard_next, queued with the ready
 * descriptor and spikard_try_next; the handler timeout, answers given
 * twice, host errors, a shutdown with requests in flight, and concurrency.
 */
#include <poll.h>

#include "testutil.h"

static const char DOC[] =
    "{\"version\":1,\"server\":{\"handler_timeout_ms\":%d},\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/users/{id:int}\",\"handler\":\"user\","
    " \"parameters\":{\"query\":{\"verbose\":{\"type\":\"boolean\",\"default\":false}}}},"
    "{\"method\":\"POST\",\"path\":\"/items\",\"handler\":\"create\","
    " \"body_schema\":{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}},"
    "{\"method\":\"GET\",\"path\":\"/later\",\"handler\":\"later\"},"
    "{\"method\":\"GET\",\"path\":\"/queued/{n}\",\"handler\":\"queued\"},"
    "{\"method\":\"GET\",\"path\":\"/fail\",\"handler\":\"fail\"},"
    "{\"method\":\"GET\",\"path\":\"/twice\",\"handler\":\"twice\"},"
    "{\"method\":\"GET\",\"path\":\"/typed\",\"handler\":\"typed\","
    " \"response_schema\":{\"type\":\"object\",\"required\":[\"id\"]}},"
    "{\"method\":\"GET\",\"path\":\"/guarded\",\"handler\":\"guarded\",\"handler_dependencies\":[\"clock\"],"
    " \"middleware\":{\"lifecycle_hooks\":{\"pre_handler\":[{\"name\":\"auth\",\"handler\":\"guard\"}],"
    "  \"on_response\":[{\"name\":\"stamp\",\"handler\":\"stamp\"}]}}}],"
    "\"dependencies\":{\"clock\":{\"type\":\"factory\",\"factory\":\"make_clock\"}}}";

static const char JSON[] = "Content-Type: application/json\n";

/* ---- handlers ------------------------------------------------------------------ */

/* Answers inside the callback with the validated values. */
static void on_user(const spikard_request *r, void *data) {
    (void)data;
    char body[512];
    int n = snprintf(body, sizeof body, "{\"method\":\"%.*s\",\"path\":\"%.*s\",\"values\":%.*s}", (int)r->method_len,
                     r->method, (int)r->path_len, r->path, (int)r->values_len, r->values);
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, body, (size_t)n);
}

static void on_create(const spikard_request *r, void *data) {
    (void)data;
    const char h[] = "Content-Type: application/json\nLocation: /items/1\nSet-Cookie: a=1\nSet-Cookie: b=2\n";
    spikard_respond(r->id, 201, h, sizeof h - 1, r->body, r->body_len);
}

static void on_fail(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond_error(r->id, "the host raised ValueError");
}

static int twice_rc = 1;
static void on_twice(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, NULL, 0, "first", 5);
    twice_rc = spikard_respond(r->id, 200, NULL, 0, "second", 6);
}

static void on_typed(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, "{\"name\":\"no id\"}", 16);
}

/* A pre_handler hook: refuses without X-Token, else lets the request go on
 * with a response header and request state. */
static void on_guard(const spikard_request *r, void *data) {
    (void)data;
    if (strstr(r->headers, "X-Token: ") == NULL) {
        const char body[] = "{\"error\":\"token required\"}";
        spikard_respond(r->id, 401, JSON, sizeof JSON - 1, body, sizeof body - 1);
        return;
    }
    if (strstr(r->values, "\"call\":{\"kind\":\"hook\",\"phase\":\"pre_handler\",\"name\":\"auth\"") == NULL) {
        spikard_respond_error(r->id, "the hook's values lack its call");
        return;
    }
    const char changes[] = "{\"headers\":{\"X-Auth\":\"ok\"},\"state\":{\"user\":\"ada\"}}";
    spikard_continue(r->id, changes, sizeof changes - 1);
}

/* A dependency factory: its answer is the value. */
static void on_make_clock(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, "{\"now\":42}", 10);
}

/* The route handler: asks for background work, then answers its values
 * (state and dependencies included). */
static void on_guarded(const spikard_request *r, void *data) {
    (void)data;
    if (spikard_background(r->id, "audit", "{\"seen\":\"guarded\"}", 18) != SPIKARD_OK)
        fprintf(stderr, "spikard_background: %s\n", spikard_last_error());
    spikard_respond(r->id, 200, JSON, sizeof JSON - 1, r->values, r->values_len);
    /* too late now */
    if (spikard_background(r->id, "audit", NULL, 0) != SPIKARD_ESTATE) fprintf(stderr, "background after answer accepted\n");
}

/* A background task handler (a name the document does not use). */
static int audits;
static void on_audit(const spikard_request *r, void *data) {
    (void)data;
    if (strstr(r->values, "\"kind\":\"task\"") && strstr(r->values, "\"payload\":{\"seen\":\"guarded\"}"))
        __atomic_add_fetch(&audits, 1, __ATOMIC_SEQ_CST);
    else
        fprintf(stderr, "audit: %.*s\n", (int)r->values_len, r->values);
    spikard_continue(r->id, NULL, 0);
}

/* Answers later from another thread (asynchronous completion). */
typedef struct later_job {
    uint64_t id;
    char values[256];
} later_job;

static void *answer_later(void *p) {
    later_job *j = p;
    t_sleep_ms(30);
    int rc = spikard_respond(j->id, 202, JSON, sizeof JSON - 1, "{\"later\":true}", 14);
    if (rc != SPIKARD_OK) fprintf(stderr, "answer_later: %s\n", spikard_last_error());
    free(j);
    return NULL;
}

static uint64_t never_id;
static int answer_async = 1;
static void on_later(const spikard_request *r, void *data) {
    (void)data;
    if (!answer_async) {
        never_id = r->id; /* keep the id; never answer */
        return;
    }
    later_job *j = calloc(1, sizeof *j);
    j->id = r->id;
    pthread_t t;
    pthread_create(&t, NULL, answer_later, j);
    pthread_detach(t);
}

/* ---- a host thread for the queued handler ---------------------------------------- */

static volatile int host_stop;
static int64_t host_app;
static int host_answered;

static void *host_loop(void *arg) {
    (void)arg;
    spikard_request reqs[64];
    while (!host_stop) {
        size_t n = 0;
        int rc = spikard_next(host_app, 100, reqs, 64, &n);
        if (rc == SPIKARD_ETIMEOUT) continue;
        if (rc != SPIKARD_OK) break;
        for (size_t i = 0; i < n; i++) {
            if (reqs[i].tag == 99) { /* the on_response hook */
                const char ch[] = "{\"headers\":{\"X-Stamp\":\"queued-hook\"}}";
                spikard_continue(reqs[i].id, ch, sizeof ch - 1);
                continue;
            }
            char body[256];
            int k = snprintf(body, sizeof body, "{\"tag\":%llu,\"path\":\"%.*s\"}", (unsigned long long)reqs[i].tag,
                             (int)reqs[i].path_len, reqs[i].path);
            if (spikard_respond(reqs[i].id, 200, JSON, sizeof JSON - 1, body, (size_t)k) == SPIKARD_OK)
                __atomic_add_fetch(&host_answered, 1, __ATOMIC_SEQ_CST);
        }
    }
    return NULL;
}

static int64_t start_app(int timeout_ms, uint16_t *port) {
    char doc[2048];
    int n = snprintf(doc, sizeof doc, DOC, timeout_ms);
    int64_t app = 0;
    CHECK_RC(spikard_app_new(doc, (size_t)n, &app), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "user", on_user, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "create", on_create, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "later", on_later, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "queued", 77), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "fail", on_fail, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "twice", on_twice, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "typed", on_typed, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "guard", on_guard, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "make_clock", on_make_clock, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "guarded", on_guarded, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "stamp", 99), SPIKARD_OK); /* an on_response hook, queued */
    CHECK_RC(spikard_app_handle_callback(app, "audit", on_audit, NULL, NULL), SPIKARD_OK); /* a task */
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, port), SPIKARD_OK);
    return app;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_callback(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(5000), &port);
    http_resp r;
    char v[128];

    CHECK(http_do(port, "GET", "/users/42?verbose=true", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strcmp(r.body, "{\"method\":\"GET\",\"path\":\"/users/42\",\"values\":{\"path\":{\"id\":42},\"query\":{\"verbose\":true}}}") == 0);
    CHECK(http_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0);
    http_resp_free(&r);

    /* invalid input is answered by the core: the host never runs */
    CHECK(http_do(port, "GET", "/users/abc", NULL, NULL, &r) == 0);
    CHECK(r.status == 422 && strstr(r.body, "int_parsing"));
    CHECK(http_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/problem+json") == 0);
    http_resp_free(&r);
    CHECK(http_do(port, "POST", "/items", "Content-Type: application/json\r\n", "{\"nom\":1}", &r) == 0);
    CHECK(r.status == 422 && strstr(r.body, "\"missing\""));
    http_resp_free(&r);
    CHECK(http_do(port, "GET", "/nope", NULL, NULL, &r) == 0);
    CHECK(r.status == 404);
    http_resp_free(&r);

    CHECK(http_do(port, "POST", "/items", "Content-Type: application/json\r\n", "{\"name\":\"pen\"}", &r) == 0);
    CHECK(r.status == 201 && strcmp(r.body, "{\"name\":\"pen\"}") == 0);
    CHECK(http_header(&r, "Location", v, sizeof v) && strcmp(v, "/items/1") == 0);
    CHECK(strstr(r.head, "Set-Cookie: a=1") && strstr(r.head, "Set-Cookie: b=2"));
    http_resp_free(&r);

    /* spikard_respond_error: a 500 problem; the message stays in the log */
    CHECK(http_do(port, "GET", "/fail", NULL, NULL, &r) == 0);
    CHECK(r.status == 500 && strstr(r.body, "internal-server-error") && !strstr(r.body, "ValueError"));
    http_resp_free(&r);

    /* answering twice inside the callback: the first wins, the second is ESTATE */
    CHECK(http_do(port, "GET", "/twice", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && strcmp(r.body, "first") == 0);
    CHECK(twice_rc == SPIKARD_ESTATE);
    http_resp_free(&r);

    /* an answer that breaks the response schema is the server's fault */
    CHECK(http_do(port, "GET", "/typed", NULL, NULL, &r) == 0);
    CHECK(r.status == 500);
    http_resp_free(&r);

    /* HEAD of a GET route: no body */
    CHECK(http_do(port, "HEAD", "/users/1", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && r.body_len == 0);
    http_resp_free(&r);

    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_async_completion(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(5000), &port);
    answer_async = 1;
    http_async a[8];
    for (int i = 0; i < 8; i++) http_async_start(&a[i], port, "GET", "/later", NULL, NULL);
    for (int i = 0; i < 8; i++) {
        http_resp *r = http_async_wait(&a[i]);
        if (!r || r->status != 202)
            fprintf(stderr, "async %d: rc=%d status=%d body=%s\n", i, a[i].rc, r ? r->status : 0,
                    r && r->body ? r->body : "(none)");
        CHECK(r && r->status == 202 && strcmp(r->body, "{\"later\":true}") == 0);
        if (r) http_resp_free(r);
    }
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_queued(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(5000), &port);
    http_async a;
    http_async_start(&a, port, "GET", "/queued/7?x=1", "X-Request-ID: rid-7\r\nX-Host: h\r\n", NULL);
    spikard_request reqs[4];
    size_t n = 0;
    CHECK_RC(spikard_next(app, t_scale(5000), reqs, 4, &n), SPIKARD_OK);
    CHECK(n == 1);
    spikard_request *q = &reqs[0];
    CHECK(q->size == sizeof(spikard_request));
    CHECK(q->kind == SPIKARD_KIND_HTTP);
    CHECK(q->tag == 77 && q->app == app && q->id != 0);
    CHECK(q->handler_len == 6 && memcmp(q->handler, "queued", 6) == 0);
    CHECK(strcmp(q->method, "GET") == 0 && strcmp(q->path, "/queued/7") == 0 && strcmp(q->query, "x=1") == 0);
    CHECK(strcmp(q->request_id, "rid-7") == 0);
    CHECK(strcmp(q->values, "{\"path\":{\"n\":\"7\"}}") == 0);
    CHECK(strstr(q->headers, "X-Host: h\r\n") && q->headers[q->headers_len] == 0);
    CHECK(q->body_len == 0 && q->body[0] == 0);

    /* refused answers leave the request open */
    CHECK_RC(spikard_respond(q->id, 42, NULL, 0, NULL, 0), SPIKARD_EINVAL);
    CHECK_RC(spikard_respond(q->id, 200, "Bad Header: x", 13, NULL, 0), SPIKARD_EINVAL);
    CHECK_MSG("not a valid header name");
    const char h[] = "Content-Type: text/plain\r\nX-Answer: yes\r\n";
    CHECK_RC(spikard_respond(q->id, 200, h, sizeof h - 1, "queued ok", 9), SPIKARD_OK);
    CHECK_RC(spikard_respond(q->id, 200, NULL, 0, NULL, 0), SPIKARD_ESTATE);
    CHECK_MSG("already answered");
    CHECK_RC(spikard_respond_error(q->id, "again"), SPIKARD_ESTATE);
    http_resp *r = http_async_wait(&a);
    char v[64];
    CHECK(r && r->status == 200 && strcmp(r->body, "queued ok") == 0);
    CHECK(r && http_header(r, "X-Answer", v, sizeof v) && strcmp(v, "yes") == 0);
    CHECK(r && http_header(r, "Content-Type", v, sizeof v) && strcmp(v, "text/plain") == 0);
    if (r) http_resp_free(r);

    /* a host thread with batches, under concurrent clients */
    host_app = app;
    host_stop = 0;
    host_answered = 0;
    pthread_t host;
    pthread_create(&host, NULL, host_loop, NULL);
    enum { CLIENTS = 16 };
    http_async c[CLIENTS];
    char targets[CLIENTS][32];
    for (int i = 0; i < CLIENTS; i++) {
        snprintf(targets[i], sizeof targets[i], "/queued/%d", i);
        http_async_start(&c[i], port, "GET", targets[i], NULL, NULL);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"tag\":77,\"path\":\"/queued/%d\"}", i);
        http_resp *cr = http_async_wait(&c[i]);
        CHECK(cr && cr->status == 200 && strcmp(cr->body, want) == 0);
        if (cr) http_resp_free(cr);
    }
    host_stop = 1;
    pthread_join(host, NULL);
    CHECK(host_answered == CLIENTS);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_ready_fd(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(5000), &port);
    int fd = -1;
    CHECK_RC(spikard_app_ready_fd(app, &fd), SPIKARD_OK);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 20) == 0);
    http_async a[3];
    for (int i = 0; i < 3; i++) http_async_start(&a[i], port, "GET", "/queued/r", NULL, NULL);
    int answered = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (answered < 3 && t_ms_since(t0) < t_scale(10000)) {
        p.revents = 0;
        if (poll(&p, 1, 100) <= 0) continue;
        spikard_request reqs[2];
        size_t n;
        do { /* drain: the descriptor is level-triggered on the queue */
            CHECK_RC(spikard_try_next(app, reqs, 2, &n), SPIKARD_OK);
            for (size_t i = 0; i < n; i++) {
                CHECK_RC(spikard_respond(reqs[i].id, 200, NULL, 0, "fd", 2), SPIKARD_OK);
                answered++;
            }
        } while (n == 2);
    }
    CHECK(answered == 3);
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 0); /* empty queue: not readable */
    for (int i = 0; i < 3; i++) {
        http_resp *r = http_async_wait(&a[i]);
        CHECK(r && r->status == 200 && strcmp(r->body, "fd") == 0);
        if (r) http_resp_free(r);
    }
    /* shutdown wakes the event loop; try_next then says ECLOSED */
    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK(poll(&p, 1, 1000) == 1);
    size_t n;
    spikard_request one;
    CHECK_RC(spikard_try_next(app, &one, 1, &n), SPIKARD_ECLOSED);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_timeout(void) {
    uint16_t port;
    int timeout = t_scale(200);
    int64_t app = start_app(timeout, &port);

    /* queued, taken, never answered: 504 after the timeout */
    http_async a;
    http_async_start(&a, port, "GET", "/queued/slow", NULL, NULL);
    spikard_request q;
    size_t n;
    CHECK_RC(spikard_next(app, t_scale(5000), &q, 1, &n), SPIKARD_OK);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    http_resp *r = http_async_wait(&a);
    long waited = t_ms_since(t0);
    CHECK(r && r->status == 504 && strstr(r->body, "handler-timeout"));
    CHECK(waited < timeout + t_scale(2000));
    if (r) http_resp_free(r);
    /* the view stays readable until answered; the late answer is refused */
    CHECK(strcmp(q.path, "/queued/slow") == 0);
    CHECK_RC(spikard_respond(q.id, 200, NULL, 0, "late", 4), SPIKARD_ETIMEOUT);
    CHECK_MSG("handler timeout");
    CHECK_RC(spikard_respond(q.id, 200, NULL, 0, "later", 5), SPIKARD_ESTATE);

    /* queued, never taken: 504, and the queue forgets it */
    http_resp r2;
    CHECK(http_do(port, "GET", "/queued/never", NULL, NULL, &r2) == 0);
    CHECK(r2.status == 504);
    http_resp_free(&r2);
    CHECK_RC(spikard_try_next(app, &q, 1, &n), SPIKARD_OK);
    CHECK(n == 0);

    /* a callback that never answers */
    answer_async = 0;
    CHECK(http_do(port, "GET", "/later", NULL, NULL, &r2) == 0);
    CHECK(r2.status == 504);
    http_resp_free(&r2);
    CHECK_RC(spikard_respond_error(never_id, "late"), SPIKARD_ETIMEOUT);
    answer_async = 1;
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_shutdown_in_flight(void) {
    uint16_t port;
    int64_t app = start_app(0, &port); /* no handler timeout */
    answer_async = 0;
    http_async a, b;
    http_async_start(&a, port, "GET", "/queued/x", NULL, NULL);
    spikard_request q;
    size_t n;
    CHECK_RC(spikard_next(app, t_scale(5000), &q, 1, &n), SPIKARD_OK);
    never_id = 0;
    http_async_start(&b, port, "GET", "/later", NULL, NULL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (__atomic_load_n(&never_id, __ATOMIC_SEQ_CST) == 0 && t_ms_since(t0) < t_scale(5000)) t_sleep_ms(5);
    CHECK_RC(spikard_app_shutdown(app, 200), SPIKARD_ETIMEOUT);
    CHECK_MSG("2 request(s)");
    http_resp *r = http_async_wait(&a);
    CHECK(r && r->status == 503);
    if (r) http_resp_free(r);
    r = http_async_wait(&b);
    CHECK(r && r->status == 503);
    if (r) http_resp_free(r);
    CHECK_RC(spikard_respond(q.id, 200, NULL, 0, NULL, 0), SPIKARD_ECLOSED);
    CHECK_RC(spikard_next(app, 0, &q, 1, &n), SPIKARD_ECLOSED);
    answer_async = 1;
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
    CHECK_RC(spikard_respond_error(never_id, "x"), SPIKARD_ESTATE); /* released by app_free */
}

/* Many clients on every mode at once. */
/* Lifecycle hooks and a dependency factory bound as handlers: a hook that
 * refuses, a hook that continues with changes, a factory's value, and a
 * queued on_response hook that continues. */
static void test_hooks_and_factories(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(5000), &port);
    host_app = app;
    host_stop = 0;
    pthread_t host;
    pthread_create(&host, NULL, host_loop, NULL);
    http_resp r;
    char v[128];
    CHECK(http_do(port, "GET", "/guarded", NULL, NULL, &r) == 0);
    CHECK(r.status == 401 && strcmp(r.body, "{\"error\":\"token required\"}") == 0);
    CHECK(http_header(&r, "X-Stamp", v, sizeof v) && strcmp(v, "queued-hook") == 0);
    http_resp_free(&r);
    CHECK(http_do(port, "GET", "/guarded", "X-Token: t\r\n", NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "\"state\":{\"user\":\"ada\"}") != NULL);
    CHECK(strstr(r.body, "\"dependencies\":{\"clock\":{\"now\":42}}") != NULL);
    CHECK(http_header(&r, "X-Auth", v, sizeof v) && strcmp(v, "ok") == 0);
    CHECK(http_header(&r, "X-Stamp", v, sizeof v) && strcmp(v, "queued-hook") == 0);
    if (r.status != 200) fprintf(stderr, "guarded: %s\n", r.body);
    http_resp_free(&r);
    /* the background task ran after the response */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (__atomic_load_n(&audits, __ATOMIC_SEQ_CST) < 1 && t_ms_since(t0) < t_scale(5000)) t_sleep_ms(5);
    CHECK(audits == 1);
    host_stop = 1;
    pthread_join(host, NULL);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

static void test_concurrency(void) {
    uint16_t port;
    int64_t app = start_app(t_scale(10000), &port);
    host_app = app;
    host_stop = 0;
    pthread_t host;
    pthread_create(&host, NULL, host_loop, NULL);
    enum { N = 48 };
    http_async a[N];
    static const char *targets[] = {"/users/5", "/queued/q", "/later"};
    for (int i = 0; i < N; i++) http_async_start(&a[i], port, "GET", targets[i % 3], NULL, NULL);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        http_resp *r = http_async_wait(&a[i]);
        int want = i % 3 == 2 ? 202 : 200;
        if (r && r->status == want) ok++;
        if (r) http_resp_free(r);
    }
    CHECK(ok == N);
    host_stop = 1;
    pthread_join(host, NULL);
    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

int main(void) {
    RUN(test_callback);
    RUN(test_async_completion);
    RUN(test_queued);
    RUN(test_ready_fd);
    RUN(test_timeout);
    RUN(test_shutdown_in_flight);
    RUN(test_hooks_and_factories);
    RUN(test_concurrency);
    t_sleep_ms(100); /* let detached answer threads finish */
    return t_done();
}
