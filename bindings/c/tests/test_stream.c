/*
 * test_stream: streamed answers, Server-Sent Events and WebSockets through
 * the C ABI over real sockets: a callback that streams its whole body
 * before returning, a queued host that streams from its own thread, an
 * event stream with a schema that refuses an event, a producer that fails
 * midway, and a WebSocket exchange (a minimal RFC 6455 client below) with
 * open/message/close events, replies, binary echo and a handler close code.
 */
#include "testutil.h"

static const char DOC[] =
    "{\"version\":1,\"server\":{\"handler_timeout_ms\":%d},\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/ndjson\",\"handler\":\"ndjson\"},"
    "{\"method\":\"GET\",\"path\":\"/broken\",\"handler\":\"broken\"},"
    "{\"method\":\"GET\",\"path\":\"/events\",\"handler\":\"events\",\"sse\":{\"keep_alive_ms\":-1,"
    " \"event_schema\":{\"type\":\"object\",\"required\":[\"n\"]}}},"
    "{\"method\":\"GET\",\"path\":\"/chat/{room}\",\"handler\":\"chat\",\"websocket\":{}}]}";

/* ---- handlers ------------------------------------------------------------------ */

/* Streams 100 lines inside the callback: the response starts only after it
 * returns, so these writes must not block. */
static void on_ndjson(const spikard_request *r, void *data) {
    (void)data;
    uint64_t s;
    const char h[] = "Content-Type: application/x-ndjson\nX-Rows: 100";
    if (spikard_stream_begin(r->id, 200, h, sizeof h - 1, &s) != SPIKARD_OK) return;
    for (int i = 0; i < 100; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "{\"i\":%d}\n", i);
        CHECK_RC(spikard_stream_write(s, line, (size_t)n), SPIKARD_OK);
    }
    CHECK_RC(spikard_stream_end(s), SPIKARD_OK);
    CHECK_RC(spikard_stream_end(s), SPIKARD_ESTATE);
    CHECK_RC(spikard_stream_write(s, "x", 1), SPIKARD_ESTATE);
}

static void on_broken(const spikard_request *r, void *data) {
    (void)data;
    uint64_t s;
    CHECK_RC(spikard_stream_begin(r->id, 200, "Content-Type: text/plain", 24, &s), SPIKARD_OK);
    CHECK_RC(spikard_stream_write(s, "partial", 7), SPIKARD_OK);
    CHECK_RC(spikard_stream_fail(s, "the producer raised"), SPIKARD_OK);
    CHECK_RC(spikard_respond(r->id, 200, NULL, 0, NULL, 0), SPIKARD_ESTATE); /* begin answered it */
}

static int chat_events[8]; /* per kind */
static int chat_close_code;
static void on_chat(const spikard_request *r, void *data) {
    (void)data;
    __atomic_add_fetch(&chat_events[r->kind < 8 ? r->kind : 7], 1, __ATOMIC_SEQ_CST);
    CHECK(r->conn != 0);
    if (r->kind == SPIKARD_KIND_WS_OPEN) {
        char hello[128];
        int n = snprintf(hello, sizeof hello, "{\"room\":%.*s}", (int)r->values_len, r->values);
        CHECK_RC(spikard_ws_send(r->conn, 1, hello, (size_t)n), SPIKARD_OK);
        uint64_t s;
        CHECK_RC(spikard_stream_begin(r->id, 200, NULL, 0, &s), SPIKARD_EINVAL); /* events do not stream */
        CHECK_RC(spikard_continue(r->id, NULL, 0), SPIKARD_OK);
    } else if (r->kind == SPIKARD_KIND_WS_MESSAGE) {
        if (r->body_len == 3 && memcmp(r->body, "bye", 3) == 0) {
            CHECK_RC(spikard_ws_close(r->conn, 4002, "done", 4), SPIKARD_OK);
            CHECK_RC(spikard_continue(r->id, NULL, 0), SPIKARD_OK);
        } else {
            /* the answer's body is the reply; binary by its Content-Type */
            const char *h = r->method_len == 6 ? "Content-Type: application/octet-stream" : "";
            CHECK_RC(spikard_respond(r->id, 200, h, strlen(h), r->body, r->body_len), SPIKARD_OK);
        }
    } else if (r->kind == SPIKARD_KIND_WS_CLOSE) {
        CHECK(r->body_len >= 2);
        chat_close_code = ((unsigned char)r->body[0] << 8) | (unsigned char)r->body[1];
        CHECK_RC(spikard_ws_send(r->conn, 1, "late", 4), SPIKARD_ECLOSED);
        CHECK_RC(spikard_continue(r->id, NULL, 0), SPIKARD_OK);
    }
}

/* A queued host thread that serves /events as an event stream. */
static void *sse_host(void *arg) {
    int64_t app = *(int64_t *)arg;
    spikard_request r;
    size_t n = 0;
    if (spikard_next(app, t_scale(10000), &r, 1, &n) != SPIKARD_OK || n != 1) {
        CHECK(0);
        return NULL;
    }
    uint64_t s;
    CHECK_RC(spikard_stream_begin(r.id, 200, NULL, 0, &s), SPIKARD_OK); /* the route's "sse" makes it one */
    CHECK_RC(spikard_sse_send(s, "tick", 4, "{\"n\":1}", 7, "1", 1, NULL, 0, 2500), SPIKARD_OK);
    CHECK_RC(spikard_sse_send(s, "tick", 4, "{\"m\":2}", 7, "2", 1, NULL, 0, 0), SPIKARD_EINVAL);
    CHECK_MSG("event_schema");
    CHECK_RC(spikard_sse_send(s, NULL, 0, "{\"n\":\n3}", 8, NULL, 0, "hi", 2, 0), SPIKARD_OK);
    CHECK_RC(spikard_stream_end(s), SPIKARD_OK);
    return NULL;
}

static int64_t start_app(uint16_t *port) {
    char doc[1024];
    int n = snprintf(doc, sizeof doc, DOC, t_scale(5000));
    int64_t app = 0;
    CHECK_RC(spikard_app_new(doc, (size_t)n, &app), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "ndjson", on_ndjson, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "broken", on_broken, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "events", 1), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "chat", on_chat, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, port), SPIKARD_OK);
    return app;
}

/* Removes chunked framing in place; returns 0 unless the body ends with
 * the terminating chunk. */
static int dechunk(http_resp *r) {
    char *in = r->body, *out = r->body, *end = r->body + r->body_len;
    while (in < end) {
        char *e;
        unsigned long n = strtoul(in, &e, 16);
        if (e == in || e + 2 > end || e[0] != '\r' || e[1] != '\n') return 0;
        in = e + 2;
        if (n == 0) {
            r->body_len = (size_t)(out - r->body);
            *out = 0;
            return 1;
        }
        if (in + n + 2 > end) return 0;
        memmove(out, in, n);
        out += n;
        in += n + 2;
    }
    return 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_streams(void) {
    uint16_t port;
    int64_t app = start_app(&port);
    http_resp r;
    CHECK(http_do(port, "GET", "/ndjson", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && strstr(r.head, "Transfer-Encoding: chunked") && !strstr(r.head, "Content-Length"));
    CHECK(strstr(r.head, "X-Rows: 100") != NULL);
    CHECK(dechunk(&r) && strncmp(r.body, "{\"i\":0}\n{\"i\":1}\n", 16) == 0 && strstr(r.body, "{\"i\":99}\n"));
    http_resp_free(&r);

    /* a producer that failed: never a complete-looking body */
    CHECK(http_do(port, "GET", "/broken", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "partial") && !dechunk(&r));
    http_resp_free(&r);

    pthread_t host;
    pthread_create(&host, NULL, sse_host, &app);
    CHECK(http_do(port, "GET", "/events", "Accept: text/event-stream\r\n", NULL, &r) == 0);
    pthread_join(host, NULL);
    CHECK(r.status == 200 && strstr(r.head, "Content-Type: text/event-stream"));
    CHECK(dechunk(&r));
    CHECK(strcmp(r.body, "event: tick\nid: 1\nretry: 2500\ndata: {\"n\":1}\n\n: hi\ndata: {\"n\":\ndata: 3}\n\n") == 0);
    http_resp_free(&r);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

/* ---- a minimal WebSocket client ---------------------------------------------------- */

static int ws_send_frame(int fd, int opcode, const char *p, size_t n) {
    unsigned char h[8] = {(unsigned char)(0x80 | opcode), (unsigned char)(0x80 | n), 1, 2, 3, 4};
    char m[125];
    if (n > sizeof m) return -1;
    for (size_t i = 0; i < n; i++) m[i] = (char)(p[i] ^ h[2 + i % 4]);
    return send(fd, h, 6, MSG_NOSIGNAL) == 6 && send(fd, m, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static int read_full(int fd, void *p, size_t n) {
    for (size_t got = 0; got < n;) {
        ssize_t k = recv(fd, (char *)p + got, n - got, 0);
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

/* One unmasked server frame (payload < 126 bytes). Returns its opcode or -1. */
static int ws_read_frame(int fd, char *p, size_t *n) {
    unsigned char h[2];
    if (read_full(fd, h, 2) != 0 || (h[1] & 0x7f) >= 126) return -1;
    *n = h[1] & 0x7f;
    if (read_full(fd, p, *n) != 0) return -1;
    p[*n] = 0;
    return h[0] & 0x0f;
}

static void test_websocket(void) {
    uint16_t port;
    int64_t app = start_app(&port);
    int fd = http_connect(port);
    CHECK(fd >= 0);
    const char hs[] = "GET /chat/lobby HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    CHECK(send(fd, hs, sizeof hs - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof hs - 1));
    char head[1024];
    size_t hn = 0;
    while (hn < sizeof head - 1 && read_full(fd, head + hn, 1) == 0) {
        hn++;
        if (hn >= 4 && memcmp(head + hn - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[hn] = 0;
    CHECK(strncmp(head, "HTTP/1.1 101", 12) == 0 && strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

    char p[128];
    size_t n;
    CHECK(ws_read_frame(fd, p, &n) == 1 && strcmp(p, "{\"room\":{\"path\":{\"room\":\"lobby\"}}}") == 0);
    CHECK(ws_send_frame(fd, 1, "hello", 5) == 0);
    CHECK(ws_read_frame(fd, p, &n) == 1 && strcmp(p, "hello") == 0);
    CHECK(ws_send_frame(fd, 2, "\x00\x01\xff", 3) == 0);
    CHECK(ws_read_frame(fd, p, &n) == 2 && n == 3 && memcmp(p, "\x00\x01\xff", 3) == 0);
    CHECK(ws_send_frame(fd, 1, "bye", 3) == 0);
    CHECK(ws_read_frame(fd, p, &n) == 8 && n == 6 && (unsigned char)p[0] == 0x0f && (unsigned char)p[1] == 0xa2 &&
          memcmp(p + 2, "done", 4) == 0); /* 4002 */
    CHECK(ws_send_frame(fd, 8, "\x0f\xa2", 2) == 0); /* the close handshake's answer */
    close(fd);
    /* spikard_app_free waits for nothing here: let the close event arrive first */
    for (int i = 0; i < t_scale(500) && __atomic_load_n(&chat_events[SPIKARD_KIND_WS_CLOSE], __ATOMIC_SEQ_CST) == 0; i++)
        t_sleep_ms(10);
    CHECK(chat_events[SPIKARD_KIND_WS_OPEN] == 1 && chat_events[SPIKARD_KIND_WS_MESSAGE] == 3);
    CHECK(chat_events[SPIKARD_KIND_WS_CLOSE] == 1 && chat_close_code == 4002);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
}

int main(void) {
    RUN(test_streams);
    RUN(test_websocket);
    return t_done();
}
