/*
 * testutil.h - a few checks and a tiny HTTP/1.1 client over a real socket,
 * for the C tests of libspikard. Header-only; C99 + POSIX.
 */
#ifndef SPIKARD_TESTUTIL_H
#define SPIKARD_TESTUTIL_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "spikard.h"

static int t_failures;
static const char *t_name = "";

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, t_name, #cond); \
            t_failures++;                                                                     \
        }                                                                                     \
    } while (0)

/* Checks a result code, and that a failure left a message. */
#define CHECK_RC(call, want)                                                                          \
    do {                                                                                              \
        int rc_ = (call);                                                                             \
        if (rc_ != (want)) {                                                                          \
            fprintf(stderr, "%s:%d: %s: %s = %s (%s), want %s\n", __FILE__, __LINE__, t_name, #call,   \
                    spikard_strerror(rc_), rc_ ? spikard_last_error() : "", spikard_strerror(want));  \
            t_failures++;                                                                             \
        } else if (rc_ != SPIKARD_OK && spikard_last_error()[0] == 0) {                               \
            fprintf(stderr, "%s:%d: %s: %s failed without a message\n", __FILE__, __LINE__, t_name, #call); \
            t_failures++;                                                                             \
        }                                                                                             \
    } while (0)

/* The message of the last failure contains s. */
#define CHECK_MSG(s)                                                                                  \
    do {                                                                                              \
        if (strstr(spikard_last_error(), (s)) == NULL) {                                              \
            fprintf(stderr, "%s:%d: %s: last error %s does not contain %s\n", __FILE__, __LINE__,     \
                    t_name, spikard_last_error(), (s));                                               \
            t_failures++;                                                                             \
        }                                                                                             \
    } while (0)

#define RUN(fn)                                                  \
    do {                                                         \
        t_name = #fn;                                            \
        int before_ = t_failures;                                \
        fn();                                                    \
        fprintf(stderr, "%s %s\n", t_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

static inline int t_done(void) {
    if (t_failures) fprintf(stderr, "%d check(s) failed\n", t_failures);
    return t_failures ? 1 : 0;
}

static inline long t_ms_since(struct timespec t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

static inline void t_sleep_ms(int ms) {
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
}

/* Multiplies waits when running under valgrind (SPIKARD_TEST_SLOW=N). */
static inline int t_scale(int ms) {
    const char *s = getenv("SPIKARD_TEST_SLOW");
    int k = s ? atoi(s) : 1;
    return ms * (k > 0 ? k : 1);
}

/* ---- HTTP client ---------------------------------------------------------- */

typedef struct http_resp {
    int status;
    char head[4096]; /* the header lines, as received */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
} http_resp;

static inline void http_resp_free(http_resp *r) {
    free(r->body);
    r->body = NULL;
}

/* The value of header `name` in r (case-insensitive), copied into out. */
static inline int http_header(const http_resp *r, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = r->head; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            size_t k = strcspn(v, "\r\n");
            if (k >= cap) k = cap - 1;
            memcpy(out, v, k);
            out[k] = 0;
            return 1;
        }
    }
    return 0;
}

static inline int http_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    /* generous: under valgrind (SPIKARD_TEST_SLOW) a busy CI box is slow */
    struct timeval tv = {t_scale(30000) / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request on its own connection (Connection: close). extra: more header
 * lines, each ending in \r\n, or NULL. Returns 0 and fills r, or -1. */
static inline int http_do(uint16_t port, const char *method, const char *target, const char *extra,
                          const char *body, http_resp *r) {
    memset(r, 0, sizeof *r);
    int fd = http_connect(port);
    if (fd < 0) return -1;
    size_t blen = body ? strlen(body) : 0;
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     method, target, extra ? extra : "", blen);
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n || (blen && send(fd, body, blen, MSG_NOSIGNAL) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (len < 12 || sep == NULL || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    char *line2 = strstr(buf, "\r\n") + 2;
    size_t hl = (size_t)(sep - line2);
    if (hl >= sizeof r->head) hl = sizeof r->head - 1;
    memcpy(r->head, line2, hl);
    r->head[hl] = 0;
    r->body_len = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->body_len + 1);
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = 0;
    free(buf);
    return 0;
}

/* A request sent from another thread; wait with http_async_wait. */
typedef struct http_async {
    pthread_t t;
    uint16_t port;
    const char *method, *target, *extra, *body;
    int rc;
    http_resp resp;
} http_async;

static inline void *http_async_run(void *p) {
    http_async *a = p;
    a->rc = http_do(a->port, a->method, a->target, a->extra, a->body, &a->resp);
    return NULL;
}

static inline void http_async_start(http_async *a, uint16_t port, const char *method, const char *target,
                                    const char *extra, const char *body) {
    memset(a, 0, sizeof *a);
    a->port = port;
    a->method = method;
    a->target = target;
    a->extra = extra;
    a->body = body;
    pthread_create(&a->t, NULL, http_async_run, a);
}

static inline http_resp *http_async_wait(http_async *a) {
    pthread_join(a->t, NULL);
    return a->rc == 0 ? &a->resp : NULL;
}

#endif
