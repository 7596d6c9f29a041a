/*
 * bench_server: serves GET /json -> {"message":"Hello, World!"} from a C
 * handler through libspikard, for wrk.
 *
 *   bench_server callback [port]        the library calls the handler on its threads
 *   bench_server queue [port] [batch]   one host thread: spikard_next(batch) + respond
 *
 * Runs until stdin is closed or reaches EOF (or SIGTERM kills it).
 */
#include "spikard.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HEADERS[] = "Content-Type: application/json\n";
static const char BODY[] = "{\"message\":\"Hello, World!\"}";

static const char CONFIG[] =
    "{\"version\":1,\"routes\":[{\"method\":\"GET\",\"path\":\"/json\",\"handler\":\"json\"}]}";

static void on_json(const spikard_request *req, void *data) {
    (void)data;
    spikard_respond(req->id, 200, HEADERS, sizeof HEADERS - 1, BODY, sizeof BODY - 1);
}

static int64_t app;
static size_t batch = 64;

static void *drain(void *arg) {
    (void)arg;
    spikard_request *reqs = calloc(batch, sizeof *reqs);
    for (;;) {
        size_t n = 0;
        int rc = spikard_next(app, 1000, reqs, batch, &n);
        if (rc == SPIKARD_ETIMEOUT) continue;
        if (rc != SPIKARD_OK) break;
        for (size_t i = 0; i < n; i++)
            spikard_respond(reqs[i].id, 200, HEADERS, sizeof HEADERS - 1, BODY, sizeof BODY - 1);
    }
    free(reqs);
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "callback";
    uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 8080;
    if (argc > 3) batch = (size_t)atoi(argv[3]);
    if (spikard_app_new(CONFIG, sizeof CONFIG - 1, &app) != SPIKARD_OK) {
        fprintf(stderr, "bench_server: %s\n", spikard_last_error());
        return 1;
    }
    int queued = strcmp(mode, "queue") == 0;
    int rc = queued ? spikard_app_handle_queued(app, "json", 1)
                    : spikard_app_handle_callback(app, "json", on_json, NULL, NULL);
    if (rc == SPIKARD_OK) rc = spikard_app_listen(app, "127.0.0.1", port, &port);
    if (rc != SPIKARD_OK) {
        fprintf(stderr, "bench_server: %s\n", spikard_last_error());
        return 1;
    }
    pthread_t t;
    if (queued) pthread_create(&t, NULL, drain, NULL);
    fprintf(stderr, "bench_server: %s mode on http://127.0.0.1:%u/json\n", mode, port);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    spikard_app_shutdown(app, 1000);
    if (queued) pthread_join(t, NULL);
    spikard_app_free(app);
    return 0;
}
