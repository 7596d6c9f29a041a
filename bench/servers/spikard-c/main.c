/*
 * The benchmark routes on the C binding (libspikard, include/spikard.h):
 * the workload table's core document (argv[1]) served as it is, with one
 * callback handler per route kind answering from the request's validated
 * values document: the path, query or body group as the core wrote it, the
 * raw body for the JSON echo, and title/filename/size of the file part.
 *
 *   spikard-c DOC.json PORT      serves on 127.0.0.1:PORT until SIGTERM
 */
#include "spikard.h"
#include "../../../bindings/c/common/minijson.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char JSON_HEADERS[] = "Content-Type: application/json\n";

static void reply(const spikard_request *req, const char *body, size_t n) {
    spikard_respond(req->id, 200, JSON_HEADERS, sizeof JSON_HEADERS - 1, body, n);
}

static mj_span values(const spikard_request *req) { return (mj_span){req->values, req->values_len}; }

static void group(const spikard_request *req, const char *name) {
    mj_span v;
    if (!mj_get(values(req), name, &v)) {
        spikard_respond_error(req->id, "values document lacks the group");
        return;
    }
    reply(req, v.p, v.n);
}

static void on_echo(const spikard_request *req, void *d) { (void)d; reply(req, req->body, req->body_len); }
static void on_path(const spikard_request *req, void *d) { (void)d; group(req, "path"); }
static void on_query(const spikard_request *req, void *d) { (void)d; group(req, "query"); }
static void on_form(const spikard_request *req, void *d) { (void)d; group(req, "body"); }

static void on_multipart(const spikard_request *req, void *d) {
    (void)d;
    mj_span body, title, file, filename, size;
    if (!mj_get(values(req), "body", &body) || !mj_get(body, "title", &title) || !mj_get(body, "file", &file) ||
        !mj_get(file, "filename", &filename) || !mj_get(file, "size", &size)) {
        spikard_respond_error(req->id, "upload lacks title or file");
        return;
    }
    size_t cap = title.n + filename.n + size.n + 64;
    char *out = malloc(cap);
    int n = snprintf(out, cap, "{\"title\":%.*s,\"filename\":%.*s,\"size\":%.*s}", (int)title.n, title.p,
                     (int)filename.n, filename.p, (int)size.n, size.p);
    reply(req, out, (size_t)n);
    free(out);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spikard-c DOC.json PORT\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char doc[1 << 20];
    size_t n = fread(doc, 1, sizeof doc, f);
    fclose(f);
    int64_t app;
    uint16_t port = (uint16_t)atoi(argv[2]);
    int rc = spikard_app_new(doc, n, &app);
    struct { const char *name; spikard_handler_fn fn; } hs[] = {
        {"echo", on_echo}, {"path", on_path}, {"query", on_query}, {"form", on_form}, {"multipart", on_multipart}};
    for (size_t i = 0; rc == SPIKARD_OK && i < sizeof hs / sizeof hs[0]; i++)
        rc = spikard_app_handle_callback(app, hs[i].name, hs[i].fn, NULL, NULL);
    if (rc == SPIKARD_OK) rc = spikard_app_listen(app, "127.0.0.1", port, &port);
    if (rc != SPIKARD_OK) {
        fprintf(stderr, "spikard-c: %s\n", spikard_last_error());
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("listening on 127.0.0.1:%u\n", port);
    fflush(stdout);
    while (!stop) pause();
    spikard_app_shutdown(app, 1000);
    spikard_app_free(app);
    return 0;
}
