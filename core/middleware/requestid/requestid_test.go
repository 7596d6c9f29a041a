package requestid

import (
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// serve runs h on an in-memory listener and returns a client for it.
func serve(t testing.TB, h fasthttp.RequestHandler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func get(t testing.TB, c *fasthttp.Client, path string, hdr ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://test" + path)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res := &fasthttp.Response{}
	if err := c.Do(req, res); err != nil {
		t.Fatal(err)
	}
	return res
}

func chain(t testing.TB, doc string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	t.Helper()
	mw, err := middleware.Chain(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	if mw == nil {
		return h
	}
	return mw(h)
}

// echo answers with the ID the handler sees.
func echo(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(FromCtx(ctx)) }

func TestGenerated(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{"enabled":true}}`, echo))
	res := get(t, c, "/")
	id := string(res.Header.Peek("X-Request-ID"))
	if !uuidRE.MatchString(id) {
		t.Fatalf("X-Request-ID %q is not a UUID v4", id)
	}
	if string(res.Body()) != id {
		t.Fatalf("handler saw %q, response has %q", res.Body(), id)
	}
	if id2 := string(get(t, c, "/").Header.Peek("X-Request-ID")); id2 == id {
		t.Fatal("two requests got the same ID")
	}
}

func TestPropagated(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{}}`, echo))
	res := get(t, c, "/", "X-Request-ID", "trace-123")
	if got := string(res.Header.Peek("X-Request-ID")); got != "trace-123" {
		t.Fatalf("X-Request-ID = %q", got)
	}
	if string(res.Body()) != "trace-123" {
		t.Fatalf("handler saw %q", res.Body())
	}
}

func TestInsaneIncomingReplaced(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{}}`, echo))
	for _, bad := range []string{strings.Repeat("a", MaxLen+1), "has space", "quote\"", "semi;colon", "<script>"} {
		res := get(t, c, "/", "X-Request-ID", bad)
		if got := string(res.Header.Peek("X-Request-ID")); !uuidRE.MatchString(got) {
			t.Errorf("incoming %q: X-Request-ID = %q, want a fresh UUID", bad, got)
		}
	}
	ok := strings.Repeat("a", MaxLen)
	if got := string(get(t, c, "/", "X-Request-ID", ok).Header.Peek("X-Request-ID")); got != ok {
		t.Errorf("128-character ID not propagated: %q", got)
	}
}

func TestTrustIncomingFalse(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{"trust_incoming":false}}`, echo))
	if got := string(get(t, c, "/", "X-Request-ID", "trace-123").Header.Peek("X-Request-ID")); !uuidRE.MatchString(got) {
		t.Fatalf("X-Request-ID = %q, want a generated UUID", got)
	}
}

func TestCustomHeader(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{"header":"X-Correlation-ID"}}`, echo))
	res := get(t, c, "/", "X-Correlation-ID", "corr-1")
	if got := string(res.Header.Peek("X-Correlation-ID")); got != "corr-1" {
		t.Fatalf("X-Correlation-ID = %q", got)
	}
	if len(res.Header.Peek("X-Request-ID")) != 0 {
		t.Fatal("X-Request-ID set with a custom header name")
	}
}

func TestDisabled(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{"enabled":false}}`, echo))
	res := get(t, c, "/", "X-Request-ID", "external-id")
	if v := res.Header.Peek("X-Request-ID"); v != nil {
		t.Fatalf("X-Request-ID = %q, want absent", v)
	}
	if len(res.Body()) != 0 {
		t.Fatalf("handler saw ID %q", res.Body())
	}
}

// An app-wide request_id wrapping a route that disables it: no header, no ID.
func TestRouteDisablesAppWide(t *testing.T) {
	route := chain(t, `{"request_id":{"enabled":false}}`, echo)
	app := chain(t, `{"request_id":{}}`, route)
	c := serve(t, app)
	res := get(t, c, "/", "X-Request-ID", "external-id")
	if v := res.Header.Peek("X-Request-ID"); v != nil {
		t.Fatalf("X-Request-ID = %q, want absent", v)
	}
	if len(res.Body()) != 0 {
		t.Fatalf("handler saw ID %q", res.Body())
	}
}

// A route-level request_id inside an app-wide one keeps the outer ID.
func TestNestedReusesID(t *testing.T) {
	var inner string
	route := chain(t, `{"request_id":{}}`, func(ctx *fasthttp.RequestCtx) { inner = FromCtx(ctx) })
	var outer string
	app := chain(t, `{"request_id":{}}`, func(ctx *fasthttp.RequestCtx) { outer = FromCtx(ctx); route(ctx) })
	c := serve(t, app)
	res := get(t, c, "/")
	if inner == "" || inner != outer || string(res.Header.Peek("X-Request-ID")) != inner {
		t.Fatalf("outer %q inner %q header %q", outer, inner, res.Header.Peek("X-Request-ID"))
	}
	if n := len(res.Header.PeekAll("X-Request-ID")); n != 1 {
		t.Fatalf("%d X-Request-ID headers", n)
	}
}

// The handler's own X-Request-ID wins, and a reset response (an error page)
// still carries the ID.
func TestHandlerHeaderAndReset(t *testing.T) {
	c := serve(t, chain(t, `{"request_id":{}}`, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/own" {
			ctx.Response.Header.Set("X-Request-ID", "abc123")
			return
		}
		ctx.Response.Reset()
		ctx.SetStatusCode(500)
	}))
	if got := string(get(t, c, "/own", "X-Request-ID", "trace-1").Header.Peek("X-Request-ID")); got != "abc123" {
		t.Fatalf("handler header overridden: %q", got)
	}
	res := get(t, c, "/reset", "X-Request-ID", "trace-1")
	if res.StatusCode() != 500 || string(res.Header.Peek("X-Request-ID")) != "trace-1" {
		t.Fatalf("status %d X-Request-ID %q", res.StatusCode(), res.Header.Peek("X-Request-ID"))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, doc := range []string{`{"enabled":"yes"}`, `{"enable":true}`, `[]`, `{"header":"bad header"}`} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	for _, doc := range []string{``, `null`, `{}`, `{"enabled":true,"header":"X-Trace","trust_incoming":false}`} {
		if _, err := New(json.RawMessage(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 20000; i++ {
		id := NewID()
		if !uuidRE.MatchString(id) {
			t.Fatalf("%q is not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
	}
}

func TestValid(t *testing.T) {
	for _, v := range []string{"a", "trace-123", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "YWJj+/=", "user@host:1"} {
		if !Valid([]byte(v)) {
			t.Errorf("%q rejected", v)
		}
	}
	for _, v := range []string{"", "a b", "a\tb", "é", "a,b", "a\x00"} {
		if Valid([]byte(v)) {
			t.Errorf("%q accepted", v)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	var buf [36]byte
	for b.Loop() {
		AppendID(buf[:0])
	}
}

func benchMiddleware(b *testing.B, doc string, hdr ...string) {
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		b.Fatal(err)
	}
	h := mw(func(*fasthttp.RequestCtx) {})
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/")
	for i := 0; i+1 < len(hdr); i += 2 {
		ctx.Request.Header.Set(hdr[i], hdr[i+1])
	}
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
		ctx.RemoveUserValue(Key)
		ctx.Response.Header.Del("X-Request-ID")
	}
}

func BenchmarkGenerate(b *testing.B)  { benchMiddleware(b, `{}`) }
func BenchmarkPropagate(b *testing.B) { benchMiddleware(b, `{}`, "X-Request-ID", "trace-123") }

// testStore counts its closes; its buffer is overwritten when closed, as a
// reused store's would be.
type testStore struct {
	buf    [36]byte
	closed int
}

func (s *testStore) IDBuf() *[36]byte { return &s.buf }
func (s *testStore) Close() error {
	s.closed++
	copy(s.buf[:], strings.Repeat("x", 36))
	return nil
}

// An ID made into a Store is the one the response carries, FromCtx copies
// it (the store is reused after the request), and the request closes the
// store once it has ended.
func TestAppendFromCtxStore(t *testing.T) {
	stores := make(chan *testStore, 4)
	var seen, again string
	h := func(ctx *fasthttp.RequestCtx) {
		st := &testStore{}
		b, ok, stored := AppendFromCtx(ctx, []byte("id="), st)
		b2, _, stored2 := AppendFromCtx(ctx, nil, &testStore{}) // made once
		client := len(ctx.Request.Header.Peek("X-Request-ID")) > 0
		if !ok || stored == client || stored2 || string(b2) != string(b[3:]) {
			t.Errorf("AppendFromCtx: %q ok=%v stored=%v, again %q stored=%v", b, ok, stored, b2, stored2)
		}
		seen, again = string(b[3:]), FromCtx(ctx)
		stores <- st
	}
	c := serve(t, chain(t, `{"request_id":{}}`, h))
	res := get(t, c, "/")
	st := <-stores
	if !uuidRE.MatchString(seen) || string(res.Header.Peek("X-Request-ID")) != seen {
		t.Errorf("made %q, answered %q", seen, res.Header.Peek("X-Request-ID"))
	}
	get(t, c, "/") // the first request has surely been reset by now
	if st.closed != 1 || again != seen {
		t.Errorf("store closed %d times (want 1); FromCtx gave %q, which must survive the close (%q)", st.closed, again, seen)
	}
	// A client's ID is used as it is, not made into the store.
	res = get(t, c, "/", "X-Request-ID", "client-1")
	<-stores
	if seen != "client-1" || string(res.Header.Peek("X-Request-ID")) != "client-1" {
		t.Errorf("client ID: saw %q, answered %q", seen, res.Header.Peek("X-Request-ID"))
	}
}
