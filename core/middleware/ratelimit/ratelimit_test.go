package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

func mustBuild(t testing.TB, cfg string) *Limiter {
	t.Helper()
	l, err := Build(json.RawMessage(cfg))
	if err != nil || l == nil {
		t.Fatalf("config %s: %v", cfg, err)
	}
	return l
}

type result struct {
	status  int
	reached bool
	hdr     map[string]string
	body    map[string]any
}

func newCtx(ip string, headers ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("/r")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, nil)
	return ctx
}

func serve(t testing.TB, h fasthttp.RequestHandler, ip string, headers ...string) result {
	t.Helper()
	ctx := newCtx(ip, headers...)
	h(ctx)
	r := result{status: ctx.Response.StatusCode(), hdr: map[string]string{}}
	r.reached = ctx.UserValue("reached") != nil
	for k, v := range ctx.Response.Header.All() {
		r.hdr[string(k)] = string(v)
	}
	if r.status != 200 {
		if err := json.Unmarshal(ctx.Response.Body(), &r.body); err != nil {
			t.Fatalf("body %q: %v", ctx.Response.Body(), err)
		}
	}
	return r
}

func ok(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue("reached", true)
	ctx.SetStatusCode(200)
}

func TestBurstThen429(t *testing.T) {
	l := mustBuild(t, `{"per_second":0.5,"burst":3,"warmup_requests":5,"warmup_expect_status":200,"sleep_ms_between":10}`)
	h := l.Wrap(ok)
	for i := 0; i < 3; i++ {
		r := serve(t, h, "192.0.2.1")
		if r.status != 200 || !r.reached {
			t.Fatalf("request %d: %d", i, r.status)
		}
		if r.hdr["Ratelimit-Limit"] != "3" || r.hdr["Ratelimit-Remaining"] != strconv.Itoa(2-i) || r.hdr["X-Ratelimit-Limit"] != "3" ||
			r.hdr["X-Ratelimit-Remaining"] != strconv.Itoa(2-i) || r.hdr["Ratelimit-Policy"] != "3;w=6" {
			t.Errorf("request %d headers %v", i, r.hdr)
		}
		if want := strconv.Itoa(2 * (i + 1)); r.hdr["Ratelimit-Reset"] != want {
			t.Errorf("request %d: reset %s, want %s", i, r.hdr["Ratelimit-Reset"], want)
		}
	}
	r := serve(t, h, "192.0.2.1")
	if r.status != 429 || r.reached {
		t.Fatalf("4th: %d reached %v", r.status, r.reached)
	}
	want := map[string]any{"type": "https://spikard.dev/errors/too-many-requests", "title": "Too Many Requests",
		"status": float64(429), "detail": "Rate limit exceeded. Try again in 2 seconds."}
	if fmt.Sprint(r.body) != fmt.Sprint(want) {
		t.Errorf("body %v", r.body)
	}
	if r.hdr["Content-Type"] != "application/problem+json" || r.hdr["Retry-After"] != "2" ||
		r.hdr["Ratelimit-Remaining"] != "0" || r.hdr["X-Ratelimit-Remaining"] != "0" || r.hdr["Ratelimit-Reset"] != "6" {
		t.Errorf("429 headers %v", r.hdr)
	}
	reset, _ := strconv.ParseInt(r.hdr["X-Ratelimit-Reset"], 10, 64)
	if d := reset - time.Now().Unix(); d < 5 || d > 7 {
		t.Errorf("X-RateLimit-Reset %d is not ~now+6", reset)
	}
	// Another client has its own bucket.
	if r := serve(t, h, "192.0.2.2"); r.status != 200 {
		t.Fatalf("other IP: %d", r.status)
	}
	// IPv4-mapped IPv6 is the same client.
	if r := serve(t, h, "::ffff:192.0.2.1"); r.status != 429 {
		t.Fatalf("mapped IP: %d", r.status)
	}
}

func TestRegisteredAndCorpusShape(t *testing.T) {
	mw, err := middleware.Chain(json.RawMessage(`{"rate_limit":{"per_second":5,"burst":5}}`))
	if err != nil || mw == nil {
		t.Fatal(err)
	}
	h := mw(ok)
	for i := 0; i < 5; i++ {
		if r := serve(t, h, "127.0.0.1"); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	if r := serve(t, h, "127.0.0.1"); r.status != 429 || r.hdr["Retry-After"] != "1" ||
		r.body["detail"] != "Rate limit exceeded. Try again in 1 second." {
		t.Fatalf("6th: %d %v %v", r.status, r.hdr, r.body)
	}
}

func TestRefill(t *testing.T) {
	s := NewMemoryStore(0)
	lim := Limit{Rate: 10, Burst: 2}
	t0 := time.Now()
	k := []byte("ip:x")
	for i := 0; i < 2; i++ {
		if d := s.take(k, lim, t0); !d.Allowed || d.Remaining != int64(1-i) {
			t.Fatalf("take %d: %+v", i, d)
		}
	}
	d := s.take(k, lim, t0)
	if d.Allowed || d.RetryAfter != 100*time.Millisecond || d.ResetAfter != 200*time.Millisecond {
		t.Fatalf("denied: %+v", d)
	}
	if d := s.take(k, lim, t0.Add(99*time.Millisecond)); d.Allowed {
		t.Fatalf("too early: %+v", d)
	}
	if d := s.take(k, lim, t0.Add(100*time.Millisecond)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after one interval: %+v", d)
	}
	// Idle for long: a full bucket, never more than burst.
	later := t0.Add(time.Hour)
	for i := 0; i < 2; i++ {
		if d := s.take(k, lim, later); !d.Allowed {
			t.Fatalf("after idle %d: %+v", i, d)
		}
	}
	if d := s.take(k, lim, later); d.Allowed {
		t.Fatalf("burst exceeded after idle: %+v", d)
	}
}

func TestGlobalMode(t *testing.T) {
	h := mustBuild(t, `{"per_second":1,"burst":2,"ip_based":false}`).Wrap(ok)
	if serve(t, h, "192.0.2.1").status != 200 || serve(t, h, "192.0.2.2").status != 200 {
		t.Fatal("first two")
	}
	if r := serve(t, h, "192.0.2.3"); r.status != 429 {
		t.Fatalf("third client: %d", r.status)
	}
}

func TestClientIP(t *testing.T) {
	l := mustBuild(t, `{"per_second":1,"burst":1,"trusted_proxies":["10.0.0.0/8","2001:db8::/32","127.0.0.1"]}`)
	cases := []struct {
		peer    string
		headers []string
		want    string
	}{
		{"198.51.100.7", []string{"X-Forwarded-For", "1.1.1.1"}, "198.51.100.7"}, // untrusted peer: header ignored
		{"10.1.2.3", nil, "10.1.2.3"},
		{"10.1.2.3", []string{"X-Forwarded-For", "1.1.1.1"}, "1.1.1.1"},
		{"10.1.2.3", []string{"X-Forwarded-For", "6.6.6.6, 2.2.2.2, 10.0.0.5"}, "2.2.2.2"}, // spoofed leftmost ignored
		{"10.1.2.3", []string{"X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "2.2.2.2,10.9.9.9"}, "2.2.2.2"},
		{"10.1.2.3", []string{"X-Forwarded-For", "10.0.0.9, 10.0.0.8"}, "10.0.0.9"}, // all trusted: leftmost
		{"10.1.2.3", []string{"X-Forwarded-For", "garbage, 10.0.0.8"}, "10.0.0.8"},  // unparsable: stop at last trusted
		{"10.1.2.3", []string{"X-Forwarded-For", "3.3.3.3:4567"}, "3.3.3.3"},
		{"10.1.2.3", []string{"X-Forwarded-For", "[2001:db9::1]:80"}, "2001:db9::1"},
		{"10.1.2.3", []string{"X-Forwarded-For", "::ffff:4.4.4.4"}, "4.4.4.4"},
		{"127.0.0.1", []string{"X-Forwarded-For", " 5.5.5.5 ,, "}, "5.5.5.5"},
		{"2001:db8::1", []string{"X-Forwarded-For", "2001:db9::2"}, "2001:db9::2"},
	}
	for _, c := range cases {
		if got := l.ClientIP(newCtx(c.peer, c.headers...)).String(); got != c.want {
			t.Errorf("peer %s %v: %s, want %s", c.peer, c.headers, got, c.want)
		}
	}
	// Custom header.
	l = mustBuild(t, `{"per_second":1,"burst":1,"trusted_proxies":["10.0.0.1"],"forwarded_header":"X-Real-IP"}`)
	if got := l.ClientIP(newCtx("10.0.0.1", "X-Real-IP", "7.7.7.7", "X-Forwarded-For", "8.8.8.8")).String(); got != "7.7.7.7" {
		t.Errorf("X-Real-IP: %s", got)
	}
	// Without trusted proxies a forged header changes nothing.
	h := mustBuild(t, `{"per_second":0.1,"burst":1}`).Wrap(ok)
	serve(t, h, "192.0.2.9", "X-Forwarded-For", "1.1.1.1")
	if r := serve(t, h, "192.0.2.9", "X-Forwarded-For", "1.1.1.2"); r.status != 429 {
		t.Fatalf("spoofed XFF bypassed the limit: %d", r.status)
	}
}

func TestConfig(t *testing.T) {
	bad := []string{`null`, `[]`, `{}`, `{"per_second":5}`, `{"burst":5}`, `{"per_second":0,"burst":1}`,
		`{"per_second":-1,"burst":1}`, `{"per_second":1,"burst":0}`, `{"per_second":1,"burst":1.5}`,
		`{"per_second":1,"burst":1,"burts":2}`, `{"per_second":1,"burst":1,"store":"etcd"}`,
		`{"per_second":1,"burst":1,"trusted_proxies":["nope"]}`, `{"per_second":1,"burst":1,"ip_based":false,"trusted_proxies":["10.0.0.0/8"]}`,
		`{"per_second":1,"burst":1,"redis_url":"redis://x"}`, `{"per_second":1e7,"burst":1}`, `{"per_second":1,"burst":1,"max_entries":-1}`}
	for _, c := range bad {
		if _, err := Build(json.RawMessage(c)); err == nil {
			t.Errorf("config %s accepted", c)
		}
	}
	if l, err := Build(json.RawMessage(`{"enabled":false}`)); l != nil || err != nil {
		t.Errorf("disabled: %v %v", l, err)
	}
	l := mustBuild(t, `{"per_second":2.5,"burst":4,"headers":false}`)
	if l.lim.Interval() != 400*time.Millisecond {
		t.Errorf("interval %v", l.lim.Interval())
	}
	r := serve(t, l.Wrap(ok), "192.0.2.1")
	if _, has := r.hdr["Ratelimit-Limit"]; has || r.status != 200 {
		t.Errorf("headers false: %v", r.hdr)
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, []byte, Limit, time.Time) (Decision, error) {
	return Decision{}, errors.New("down")
}

func TestStoreFailure(t *testing.T) {
	l := NewWithStore(Limit{Rate: 1, Burst: 1}, failingStore{}, true)
	if r := serve(t, l.Wrap(ok), "192.0.2.1"); r.status != 200 || !r.reached {
		t.Fatalf("fail open: %d", r.status)
	}
	l.failOpen = false
	r := serve(t, l.Wrap(ok), "192.0.2.1")
	if r.status != 503 || r.reached || r.body["title"] != "Service Unavailable" {
		t.Fatalf("fail closed: %d %v", r.status, r.body)
	}
}

// TestConcurrentExactBurst: many goroutines on one bucket, no refill during
// the test: exactly burst requests pass (run with -race).
func TestConcurrentExactBurst(t *testing.T) {
	h := mustBuild(t, `{"per_second":0.001,"burst":50}`).Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	var passed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				ctx := newCtx("192.0.2.77")
				h(ctx)
				if ctx.Response.StatusCode() == 200 {
					passed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if passed.Load() != 50 {
		t.Fatalf("%d passed, want 50", passed.Load())
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryBounded sends 1e5 distinct client IPs: the store never holds
// more than max_entries buckets and the heap stays bounded.
func TestMemoryBounded(t *testing.T) {
	const distinct = 100_000
	for _, c := range []struct {
		cfg      string
		maxLen   int
		maxBytes uint64
	}{
		// Slow refill: buckets stay non-full, the cap evicts LRU ones.
		{`{"per_second":0.01,"burst":10,"max_entries":5000}`, 5000, 4 << 20},
		// Fast refill: buckets are full again at once and dropped on the way.
		{`{"per_second":1000000,"burst":1,"max_entries":50000}`, 50000, 8 << 20},
	} {
		l := mustBuild(t, c.cfg)
		h := l.Wrap(func(ctx *fasthttp.RequestCtx) {})
		before := heapInUse()
		var req fasthttp.Request
		req.SetRequestURI("/")
		ctx := new(fasthttp.RequestCtx)
		addr := &net.TCPAddr{IP: net.IPv4(0, 0, 0, 0).To4(), Port: 1}
		for i := 0; i < distinct; i++ {
			addr.IP[0], addr.IP[1], addr.IP[2], addr.IP[3] = 10, byte(i>>16), byte(i>>8), byte(i)
			ctx.Init(&req, addr, nil)
			h(ctx)
			if st := ctx.Response.StatusCode(); st != 200 {
				t.Fatalf("%s: client %d got %d", c.cfg, i, st)
			}
		}
		n := l.mem.Len()
		after := heapInUse()
		grown := int64(after) - int64(before)
		t.Logf("%s: %d buckets held, %d evicted, heap grew %d KiB", c.cfg, n, l.mem.Evictions(), grown/1024)
		if n > c.maxLen {
			t.Errorf("%s: %d buckets > cap %d", c.cfg, n, c.maxLen)
		}
		if grown > int64(c.maxBytes) {
			t.Errorf("%s: heap grew %d bytes", c.cfg, grown)
		}
		runtime.KeepAlive(l)
	}
}

func TestMemoryStoreExpiresRefilled(t *testing.T) {
	s := NewMemoryStore(1000)
	lim := Limit{Rate: 100, Burst: 1} // refilled after 10ms
	t0 := time.Now()
	for i := 0; i < 500; i++ {
		s.take([]byte("k"+strconv.Itoa(i)), lim, t0)
	}
	if s.Len() != 500 {
		t.Fatalf("len %d", s.Len())
	}
	// Later arrivals drop refilled buckets from the LRU tail.
	t1 := t0.Add(time.Second)
	for i := 0; i < 200; i++ {
		s.take([]byte("n"+strconv.Itoa(i)), lim, t1)
	}
	if n := s.Len(); n > 300 || s.Evictions() != 0 {
		t.Fatalf("len %d evictions %d after refill sweep", n, s.Evictions())
	}
}

func BenchmarkAllow(b *testing.B) {
	h := mustBuild(b, `{"per_second":1000000,"burst":1000000000}`).Wrap(func(ctx *fasthttp.RequestCtx) {})
	ctx := newCtx("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		h(ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatal(ctx.Response.StatusCode())
	}
}

func BenchmarkAllowNoHeaders(b *testing.B) {
	h := mustBuild(b, `{"per_second":1000000,"burst":1000000000,"headers":false}`).Wrap(func(ctx *fasthttp.RequestCtx) {})
	ctx := newCtx("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		h(ctx)
	}
}

func BenchmarkAllowParallelManyIPs(b *testing.B) {
	h := mustBuild(b, `{"per_second":1000000,"burst":1000000000}`).Wrap(func(ctx *fasthttp.RequestCtx) {})
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := seq.Add(1)
		ctx := newCtx(fmt.Sprintf("10.%d.0.1", n))
		addr := ctx.RemoteAddr().(*net.TCPAddr)
		i := 0
		for pb.Next() {
			addr.IP[len(addr.IP)-1] = byte(i % 64)
			i++
			h(ctx)
		}
	})
}

func BenchmarkDeny(b *testing.B) {
	h := mustBuild(b, `{"per_second":0.001,"burst":1}`).Wrap(func(ctx *fasthttp.RequestCtx) {})
	ctx := newCtx("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		h(ctx)
	}
}
