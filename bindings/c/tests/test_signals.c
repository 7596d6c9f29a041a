/*
 * test_signals: what the Go runtime inside libspikard does to a host's
 * signals (spikard.h, "Signals and the Go runtime"):
 *
 * - SIGINT and SIGTERM keep the default disposition: the library installs
 *   nothing for them, so Ctrl-C still ends a host, and a host handler
 *   (installed with SA_ONSTACK) runs while the library serves.
 * - SIGPIPE: the runtime installs a handler. A client that goes away while
 *   the library writes does not hurt the process. A SIGPIPE raised on a
 *   host thread is forwarded to the host: with the default disposition the
 *   process dies as it would without the library; ignoring SIGPIPE works.
 */
#include <signal.h>
#include <sys/wait.h>

#include "testutil.h"

static const char DOC[] =
    "{\"version\":1,\"server\":{\"handler_timeout_ms\":5000},\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/q\",\"handler\":\"q\"},"
    "{\"method\":\"GET\",\"path\":\"/big\",\"handler\":\"big\"}]}";

static char *big_body;
enum { BIG = 8 << 20 };

static void on_big(const spikard_request *r, void *data) {
    (void)data;
    spikard_respond(r->id, 200, NULL, 0, big_body, BIG);
}

static int64_t app;
static uint16_t port;

static void start(void) {
    big_body = malloc(BIG);
    memset(big_body, 'x', BIG);
    CHECK_RC(spikard_app_new(DOC, sizeof DOC - 1, &app), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_queued(app, "q", 1), SPIKARD_OK);
    CHECK_RC(spikard_app_handle_callback(app, "big", on_big, NULL, NULL), SPIKARD_OK);
    CHECK_RC(spikard_app_listen(app, "127.0.0.1", 0, &port), SPIKARD_OK);
}

static void test_dispositions(void) {
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL);
    sigaction(SIGTERM, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL);
    sigaction(SIGHUP, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL);
    sigaction(SIGPIPE, NULL, &sa);
    CHECK(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN); /* the runtime's */
    CHECK(sa.sa_flags & SA_ONSTACK);
}

static volatile sig_atomic_t got_sigint;
static void on_sigint(int sig) {
    (void)sig;
    got_sigint++;
}

/* A host SIGINT handler (with SA_ONSTACK, as the header requires) runs while
 * the library serves, and serving goes on. */
static void test_host_sigint_handler(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    /* One at a time, each handled before the next is sent: a process-directed
     * signal lands on any thread, Go's included; and none may still be
     * pending when the default disposition comes back below (it would end
     * the process: this raced under valgrind, which delays delivery). */
    for (int i = 0; i < 20; i++) {
        kill(getpid(), SIGINT);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (got_sigint <= i && t_ms_since(t0) < t_scale(2000)) t_sleep_ms(1);
        CHECK(got_sigint == i + 1);
    }
    http_resp r;
    CHECK(http_do(port, "GET", "/nope", NULL, NULL, &r) == 0 && r.status == 404);
    http_resp_free(&r);
    sigaction(SIGINT, &old, NULL);
}

/* Without a handler, SIGINT ends the process as usual. */
static void test_default_sigint(void) {
    pid_t pid = fork();
    if (pid == 0) { /* only async-signal-safe calls in the child */
        kill(getpid(), SIGINT);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
}

/* A client that resets its connection while the library writes a large
 * answer: the write fails inside the library, the process lives on. */
static void test_client_gone(void) {
    for (int i = 0; i < 5; i++) {
        int fd = http_connect(port);
        CHECK(fd >= 0);
        const char req[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
        char buf[1024];
        recv(fd, buf, sizeof buf, 0); /* the answer has started */
        struct linger l = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l); /* close with RST */
        close(fd);
    }
    /* a queued request whose client left before the host answered */
    int fd = http_connect(port);
    const char req[] = "GET /q HTTP/1.1\r\nHost: x\r\n\r\n";
    send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
    spikard_request q;
    size_t n;
    CHECK_RC(spikard_next(app, t_scale(5000), &q, 1, &n), SPIKARD_OK);
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
    t_sleep_ms(50);
    CHECK_RC(spikard_respond(q.id, 200, NULL, 0, big_body, 1 << 20), SPIKARD_OK);
    t_sleep_ms(100);
    http_resp r;
    CHECK(http_do(port, "GET", "/nope", NULL, NULL, &r) == 0 && r.status == 404);
    http_resp_free(&r);
}

/* A SIGPIPE on a host thread: default disposition kills (as without the
 * library); SIG_IGN makes the write fail with EPIPE. */
static void test_host_sigpipe(void) {
    for (int ignore = 0; ignore < 2; ignore++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (ignore) signal(SIGPIPE, SIG_IGN);
            int p[2];
            if (pipe(p) != 0) _exit(2);
            close(p[0]);
            ssize_t w = write(p[1], "x", 1);
            _exit(w < 0 && errno == EPIPE ? 0 : 3);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (ignore && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fprintf(stderr, "sigpipe child: exited=%d status=%d signalled=%d sig=%d\n", WIFEXITED(st), WEXITSTATUS(st),
                    WIFSIGNALED(st), WTERMSIG(st));
        if (ignore) CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        else CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
    }
}

int main(void) {
    start();
    RUN(test_dispositions);
    RUN(test_host_sigint_handler);
    RUN(test_default_sigint);
    RUN(test_client_gone);
    RUN(test_host_sigpipe);
    CHECK_RC(spikard_app_shutdown(app, 1000), SPIKARD_OK);
    CHECK_RC(spikard_app_free(app), SPIKARD_OK);
    free(big_body);
    return t_done();
}
