package redisstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/middleware/ratelimit"
	"github.com/valyala/fasthttp"
)

// helperEnv makes the test binary a rate-limited HTTP server (for the
// two-process test): its value is the "middleware" object.
const helperEnv = "SPIKARD_RATELIMIT_HELPER_MIDDLEWARE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(helperEnv); cfg != "" {
		os.Exit(helperServer(cfg))
	}
	os.Exit(m.Run())
}

// helperServer serves the configured middleware in front of a 200 handler
// on a free port, prints "LISTEN <addr>", and stops when stdin closes.
func helperServer(cfg string) int {
	mw, err := middleware.Chain(json.RawMessage(cfg))
	if err != nil || mw == nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	srv := &fasthttp.Server{Handler: mw(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(200)
		ctx.SetBodyString(`{"status":"ok"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("LISTEN %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Shutdown()
	return 0
}

// redisServer is a private redis-server process for one test.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server on a free port without persistence and
// stops it when the test ends. The test is skipped only when the binary is
// not installed.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (Debian: apt-get install redis-server): Redis store tests skipped")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	rs := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: rs.addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer on %s: %s", rs.addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return rs
}

func (rs *redisServer) url() string { return "redis://" + rs.addr + "/0" }

func newCtx(ip string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("/")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 1234}, nil)
	return ctx
}

func TestRedisStoreBurstRefillAndExpiry(t *testing.T) {
	rs := startRedis(t)
	cfg := fmt.Sprintf(`{"rate_limit":{"per_second":10,"burst":3,"store":"redis","redis_url":%q,"key_prefix":"t1:"}}`, rs.url())
	mw, err := middleware.Chain(json.RawMessage(cfg))
	if err != nil || mw == nil {
		t.Fatal(err)
	}
	h := mw(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	statuses := func(ip string, n int) []int {
		var out []int
		for i := 0; i < n; i++ {
			ctx := newCtx(ip)
			h(ctx)
			out = append(out, ctx.Response.StatusCode())
		}
		return out
	}
	if got := fmt.Sprint(statuses("192.0.2.1", 4)); got != "[200 200 200 429]" {
		t.Fatalf("burst: %s", got)
	}
	if got := fmt.Sprint(statuses("192.0.2.2", 1)); got != "[200]" {
		t.Fatalf("other client: %s", got)
	}
	ctx := newCtx("192.0.2.1")
	h(ctx)
	if ctx.Response.StatusCode() != 429 || string(ctx.Response.Header.Peek("Retry-After")) != "1" ||
		string(ctx.Response.Header.ContentType()) != "application/problem+json" {
		t.Fatalf("429: %d %s", ctx.Response.StatusCode(), ctx.Response.Header.String())
	}
	c := redis.NewClient(&redis.Options{Addr: rs.addr})
	defer c.Close()
	ttl, err := c.PTTL(context.Background(), "t1:ip:192.0.2.1").Result()
	if err != nil || ttl <= 0 || ttl > 400*time.Millisecond {
		t.Fatalf("bucket key TTL %v (%v): want it to expire once refilled", ttl, err)
	}
	time.Sleep(120 * time.Millisecond) // one token back (T = 100ms)
	if got := fmt.Sprint(statuses("192.0.2.1", 2)); got != "[200 429]" {
		t.Fatalf("after refill: %s", got)
	}
	time.Sleep(400 * time.Millisecond)
	if n, _ := c.Exists(context.Background(), "t1:ip:192.0.2.1").Result(); n != 0 {
		t.Fatalf("refilled bucket still stored")
	}
}

func TestRedisStoreUnavailable(t *testing.T) {
	port := freePort(t) // nothing listens there
	for _, c := range []struct {
		failOpen string
		want     int
	}{{"true", 200}, {"false", 503}} {
		cfg := fmt.Sprintf(`{"per_second":1,"burst":1,"store":"redis","redis_url":"redis://127.0.0.1:%d/0","redis_timeout_ms":100,"fail_open":%s}`, port, c.failOpen)
		l, err := ratelimit.Build(json.RawMessage(cfg))
		if err != nil {
			t.Fatal(err)
		}
		ctx := newCtx("192.0.2.1")
		l.Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })(ctx)
		if ctx.Response.StatusCode() != c.want {
			t.Errorf("fail_open %s: %d", c.failOpen, ctx.Response.StatusCode())
		}
	}
	// After a failure the store answers at once while it backs off.
	st, err := New(fmt.Sprintf("redis://127.0.0.1:%d/0", port), "", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.Limit{Rate: 1, Burst: 1}
	if _, err := st.Take(context.Background(), []byte("k"), lim, time.Now()); err == nil || err == ErrBackoff {
		t.Fatalf("first call: %v", err)
	}
	start := time.Now()
	if _, err := st.Take(context.Background(), []byte("k"), lim, time.Now()); err != ErrBackoff || time.Since(start) > 10*time.Millisecond {
		t.Fatalf("second call: %v after %v", err, time.Since(start))
	}
	if _, err := ratelimit.Build(json.RawMessage(`{"per_second":1,"burst":1,"store":"redis"}`)); err == nil {
		t.Error("redis without redis_url accepted")
	}
	if _, err := ratelimit.Build(json.RawMessage(`{"per_second":1,"burst":1,"store":"redis","redis_url":"http://x"}`)); err == nil {
		t.Error("bad redis_url accepted")
	}
}

// TestTwoProcessesShareOneLimit runs two separate server processes (this
// test binary, re-executed) with their own stores on the same Redis and
// sends requests to both, interleaved and concurrently: across both, exactly
// burst requests are admitted.
func TestTwoProcessesShareOneLimit(t *testing.T) {
	rs := startRedis(t)
	const burst = 7
	cfg := fmt.Sprintf(`{"rate_limit":{"per_second":0.001,"burst":%d,"store":"redis","redis_url":%q,"key_prefix":"shared:"}}`, burst, rs.url())

	var addrs []string
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+cfg)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stdin.Close()
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "LISTEN ") {
			t.Fatalf("helper %d: %q %v", i, line, err)
		}
		addrs = append(addrs, strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")))
	}
	if addrs[0] == addrs[1] {
		t.Fatal("helpers share an address")
	}

	client := &http.Client{Timeout: 5 * time.Second}
	var (
		mu     sync.Mutex
		counts = map[string]map[int]int{}
		wg     sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				addr := addrs[(w+i)%2]
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				if counts[addr] == nil {
					counts[addr] = map[int]int{}
				}
				counts[addr][resp.StatusCode]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	total := map[int]int{}
	for _, c := range counts {
		for st, n := range c {
			total[st] += n
		}
	}
	t.Logf("per process: %v", counts)
	if total[200] != burst || total[429] != 40-burst || len(total) != 2 {
		t.Fatalf("admitted across both processes %v, want %d x 200 and %d x 429", total, burst, 40-burst)
	}
	for _, a := range addrs {
		if counts[a][200]+counts[a][429] != 20 {
			t.Fatalf("process %s answered %v", a, counts[a])
		}
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server not installed")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	for c.Ping(context.Background()).Err() != nil {
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	l, err := ratelimit.Build(json.RawMessage(fmt.Sprintf(`{"per_second":1000000,"burst":1000000000,"store":"redis","redis_url":"redis://%s/0","fail_open":false}`, addr)))
	if err != nil {
		b.Fatal(err)
	}
	h := l.Wrap(func(ctx *fasthttp.RequestCtx) {})
	ctx := newCtx("192.0.2.1")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h(ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatal(ctx.Response.StatusCode())
	}
}
