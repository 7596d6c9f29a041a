/*
 * hello - a typed, validated JSON API served from C through libspikard.
 *
 *   ./hello [port]          (default 8000; Ctrl-C stops it gracefully)
 *
 *   curl localhost:8000/hello
 *   curl 'localhost:8000/hello/ada?greeting=Hi&times=2'
 *   curl 'localhost:8000/hello/ada?times=9'               -> 422, validated by the core
 *   curl -XPOST localhost:8000/items -H 'content-type: application/json' \
 *        -d '{"name":"pen","price":1.5,"tags":["office"]}'  -> 201
 *   curl localhost:8000/items/1                            -> 200 or 404
 *
 * The routes and their schemas are one JSON document; the core validates
 * every request against it before a handler runs, so the handlers only read
 * values that are known to be well-formed. GET routes are callback handlers
 * (answered on the library's threads); the items routes are queued and
 * served by one host thread that owns the item store, so it needs no lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/minijson.h"
#include "spikard.h"

static const char CONFIG[] = "{"
    "\"version\": 1,"
    "\"server\": {\"handler_timeout_ms\": 5000},"
    "\"routes\": ["
    "  {\"method\": \"GET\", \"path\": \"/hello\", \"handler\": \"hello\","
    "   \"response_schema\": {\"type\": \"object\", \"required\": [\"message\"]}},"
    "  {\"method\": \"GET\", \"path\": \"/hello/{name}\", \"handler\": \"greet\","
    "   \"parameters\": {"
    "     \"path\": {\"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40}},"
    "     \"query\": {"
    "       \"greeting\": {\"type\": \"string\", \"enum\": [\"Hello\", \"Hi\", \"Hey\"], \"default\": \"Hello\"},"
    "       \"times\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 5, \"default\": 1}}}},"
    "  {\"method\": \"POST\", \"path\": \"/items\", \"handler\": \"create_item\","
    "   \"body_schema\": {\"type\": \"object\", \"required\": [\"name\", \"price\"],"
    "     \"properties\": {"
    "       \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100},"
    "       \"price\": {\"type\": \"number\", \"exclusiveMinimum\": 0},"
    "       \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"maxItems\": 10}},"
    "     \"additionalProperties\": false}},"
    "  {\"method\": \"GET\", \"path\": \"/items/{id:int}\", \"handler\": \"get_item\"}"
    "]}";

static const char JSON[] = "Content-Type: application/json\n";
static const char PROBLEM[] = "Content-Type: application/problem+json\n";

/* ---- callback handlers (library threads, concurrently) -------------------------- */

static void hello(const spikard_request *req, void *data) {
    (void)data;
    static const char body[] = "{\"message\":\"Hello, World!\"}";
    spikard_respond(req->id, 200, JSON, sizeof JSON - 1, body, sizeof body - 1);
}

/* Appends s as a JSON string body (without quotes) to out. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static void greet(const spikard_request *req, void *data) {
    (void)data;
    /* values: {"path":{"name":...},"query":{"greeting":...,"times":...}} - already validated */
    mj_span values = {req->values, req->values_len}, path, query, v;
    char *name = NULL, *greeting = NULL;
    long long times = 1;
    if (mj_get(values, "path", &path) && mj_get(path, "name", &v)) name = mj_string(v, NULL);
    if (mj_get(values, "query", &query)) {
        if (mj_get(query, "greeting", &v)) greeting = mj_string(v, NULL);
        if (mj_get(query, "times", &v)) times = mj_int(v, 1);
    }
    if (name == NULL || greeting == NULL) {
        spikard_respond_error(req->id, "greet: values without name or greeting");
    } else {
        char body[1024];
        size_t n = (size_t)snprintf(body, sizeof body, "{\"message\":\"");
        for (long long i = 0; i < times; i++) {
            n += (size_t)snprintf(body + n, sizeof body - n, "%s%s, ", i ? " " : "", greeting);
            n += json_escape(body + n, sizeof body - n, name, strlen(name));
            n += (size_t)snprintf(body + n, sizeof body - n, "!");
        }
        n += (size_t)snprintf(body + n, sizeof body - n, "\"}");
        spikard_respond(req->id, 200, JSON, sizeof JSON - 1, body, n);
    }
    free(name);
    free(greeting);
}

/* ---- queued handlers: one host thread owns the store ------------------------------ */

enum { TAG_CREATE = 1, TAG_GET = 2, MAX_ITEMS = 1024 };

static char *items[MAX_ITEMS + 1]; /* id -> JSON document */
static int nitems;
static int64_t app;

static void create_item(const spikard_request *req) {
    mj_span values = {req->values, req->values_len}, body;
    if (nitems == MAX_ITEMS || !mj_get(values, "body", &body)) {
        static const char full[] = "{\"type\":\"https://spikard.dev/errors/insufficient-storage\","
                                   "\"title\":\"Insufficient Storage\",\"status\":507}";
        spikard_respond(req->id, 507, PROBLEM, sizeof PROBLEM - 1, full, sizeof full - 1);
        return;
    }
    int id = ++nitems;
    /* {"id":N, <the validated body's members>} */
    size_t cap = body.n + 32;
    char *doc = malloc(cap);
    int n = snprintf(doc, cap, "{\"id\":%d%s%.*s", id, body.n > 2 ? "," : "", (int)(body.n - 1), body.p + 1);
    items[id] = doc;
    char loc[64];
    int ln = snprintf(loc, sizeof loc, "Content-Type: application/json\nLocation: /items/%d\n", id);
    spikard_respond(req->id, 201, loc, (size_t)ln, doc, (size_t)n);
}

static void get_item(const spikard_request *req) {
    mj_span values = {req->values, req->values_len}, path, v;
    long long id = 0;
    if (mj_get(values, "path", &path) && mj_get(path, "id", &v)) id = mj_int(v, 0);
    if (id < 1 || id > nitems) {
        static const char nf[] = "{\"type\":\"https://spikard.dev/errors/not-found\",\"title\":\"Not Found\","
                                 "\"status\":404,\"detail\":\"No item with this id\"}";
        spikard_respond(req->id, 404, PROBLEM, sizeof PROBLEM - 1, nf, sizeof nf - 1);
        return;
    }
    spikard_respond(req->id, 200, JSON, sizeof JSON - 1, items[id], strlen(items[id]));
}

static void *store_thread(void *arg) {
    (void)arg;
    spikard_request batch[64];
    for (;;) {
        size_t n = 0;
        int rc = spikard_next(app, 1000, batch, 64, &n);
        if (rc == SPIKARD_ETIMEOUT) continue;
        if (rc != SPIKARD_OK) break; /* SPIKARD_ECLOSED after shutdown */
        for (size_t i = 0; i < n; i++) {
            if (batch[i].tag == TAG_CREATE) create_item(&batch[i]);
            else get_item(&batch[i]);
        }
    }
    return NULL;
}

/* ---- main ---------------------------------------------------------------------------- */

static int stop_pipe[2];

static void on_signal(int sig) {
    (void)sig;
    char c = 1;
    ssize_t w = write(stop_pipe[1], &c, 1);
    (void)w;
}

static int check(int rc, const char *what) {
    if (rc != SPIKARD_OK) fprintf(stderr, "hello: %s: %s (%s)\n", what, spikard_last_error(), spikard_strerror(rc));
    return rc;
}

int main(int argc, char **argv) {
    if (spikard_abi_version() != SPIKARD_ABI_VERSION) {
        fprintf(stderr, "hello: libspikard has ABI %u, this program was built for %d\n", spikard_abi_version(),
                SPIKARD_ABI_VERSION);
        return 1;
    }
    uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 8000;
    if (check(spikard_app_new(CONFIG, sizeof CONFIG - 1, &app), "spikard_app_new") ||
        check(spikard_app_handle_callback(app, "hello", hello, NULL, NULL), "hello") ||
        check(spikard_app_handle_callback(app, "greet", greet, NULL, NULL), "greet") ||
        check(spikard_app_handle_queued(app, "create_item", TAG_CREATE), "create_item") ||
        check(spikard_app_handle_queued(app, "get_item", TAG_GET), "get_item") ||
        check(spikard_app_listen(app, "127.0.0.1", port, &port), "spikard_app_listen"))
        return 1;

    /* Signal handlers in a process with the Go runtime need SA_ONSTACK. */
    if (pipe(stop_pipe) != 0) return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    pthread_t store;
    pthread_create(&store, NULL, store_thread, NULL);
    fprintf(stderr, "hello: libspikard %s serving on http://127.0.0.1:%u (Ctrl-C stops)\n", spikard_version(), port);

    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    fprintf(stderr, "hello: shutting down\n");
    /* The store thread keeps answering during the grace period, then sees
     * SPIKARD_ECLOSED. */
    check(spikard_app_shutdown(app, 5000), "spikard_app_shutdown");
    pthread_join(store, NULL);
    spikard_app_free(app);
    for (int i = 1; i <= nitems; i++) free(items[i]);
    return 0;
}
