package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
)

// liveApp builds an app for the streaming / WebSocket / HTTP/2 tests; add
// routes with a.Route before calling listen.
func liveApp(srv config.Server) *app.App {
	a := app.New(config.App{Version: 1, Server: srv})
	a.SetLogger(discardLogger())
	return a
}

// listen serves a on a free port and shuts it down when the test ends.
func listen(t testing.TB, a *app.App) string {
	t.Helper()
	if _, err := a.Build(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// rawGet writes a GET on a new connection and returns the connection and
// a reader positioned after the response head.
func rawGet(t testing.TB, addr, target string, headers ...string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET " + target + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func header(resp *http.Response) string {
	var b strings.Builder
	for k, v := range resp.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(v, ", "))
	}
	return b.String()
}
