package timeout

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func serve(t testing.TB, h fasthttp.RequestHandler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 1}
}

func do(t testing.TB, c *fasthttp.Client, method, path, body string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://test" + path)
	req.SetBodyString(body)
	res := &fasthttp.Response{}
	if err := c.Do(req, res); err != nil {
		t.Fatal(err)
	}
	return res
}

func mw(t testing.TB, doc string) func(fasthttp.RequestHandler) fasthttp.RequestHandler {
	t.Helper()
	m, err := New(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCompletesBeforeDeadline(t *testing.T) {
	c := serve(t, mw(t, `{"seconds":2,"sleep_ms":100}`)(func(ctx *fasthttp.RequestCtx) {
		time.Sleep(100 * time.Millisecond)
		ctx.SetStatusCode(201)
		ctx.Response.Header.Set("X-Handler", "yes")
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok","duration":"fast"}`)
	}))
	res := do(t, c, "GET", "/", "")
	if res.StatusCode() != 201 || string(res.Body()) != `{"status":"ok","duration":"fast"}` ||
		string(res.Header.Peek("X-Handler")) != "yes" || string(res.Header.ContentType()) != "application/json" {
		t.Fatalf("%d %s %s", res.StatusCode(), res.Header.String(), res.Body())
	}
}

func TestDeadline(t *testing.T) {
	sawCancel := make(chan error, 1)
	lateWrites := make(chan struct{})
	c := serve(t, mw(t, `{"seconds":0.1}`)(func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/fast" {
			ctx.SetBodyString("fast")
			return
		}
		cc := Context(ctx)
		<-cc.Done()
		sawCancel <- cc.Err()
		// Write after the deadline, a lot, while the server answers and
		// serves the next request (run with -race).
		for i := 0; i < 1000; i++ {
			ctx.SetStatusCode(200)
			ctx.Response.Header.Set("X-Late", "1")
			ctx.SetBodyString(strings.Repeat("late", 10))
			_ = ctx.UserValue("x")
			ctx.SetUserValue("late", i)
		}
		close(lateWrites)
	}))
	res := do(t, c, "GET", "/slow", "")
	if res.StatusCode() != 408 || string(res.Header.ContentType()) != "application/problem+json" {
		t.Fatalf("%d %s", res.StatusCode(), res.Body())
	}
	var p map[string]any
	if err := json.Unmarshal(res.Body(), &p); err != nil || p["type"] != "https://spikard.dev/errors/request-timeout" || p["status"] != 408.0 {
		t.Fatalf("problem %s (%v)", res.Body(), err)
	}
	if err := <-sawCancel; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("handler context error %v", err)
	}
	// The same connection serves the next request; late writes don't leak.
	for i := 0; i < 50; i++ {
		res := do(t, c, "GET", "/fast", "")
		if res.StatusCode() != 200 || string(res.Body()) != "fast" || res.Header.Peek("X-Late") != nil {
			t.Fatalf("next request: %d %q late=%q", res.StatusCode(), res.Body(), res.Header.Peek("X-Late"))
		}
	}
	<-lateWrites
}

// Outer middleware keeps using the server's ctx after the deadline while
// the handler still writes its own: no data race, outer headers kept.
func TestOuterMiddlewareAfterDeadline(t *testing.T) {
	handlerDone := make(chan struct{})
	release := make(chan struct{}) // held until the client has its 408
	inner := mw(t, `{"seconds":0.05}`)(func(ctx *fasthttp.RequestCtx) {
		defer close(handlerDone)
		if v, _ := ctx.UserValue("outer").(string); v != "before" {
			t.Errorf("handler saw outer value %q", v)
		}
		if got := string(ctx.Response.Header.Peek("X-Outer-Before")); got != "1" {
			t.Errorf("handler did not see the header set before it: %q", got)
		}
		<-release
		ctx.Response.Header.Set("X-Request-ID", "late")
	})
	outer := func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue("outer", "before")
		ctx.Response.Header.Set("X-Outer-Before", "1")
		inner(ctx)
		ctx.Response.Header.Set("X-Request-ID", "outer")
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	}
	c := serve(t, outer)
	res := do(t, c, "GET", "/", "")
	if res.StatusCode() != 408 || string(res.Header.Peek("X-Request-ID")) != "outer" ||
		string(res.Header.Peek("Access-Control-Allow-Origin")) != "*" {
		t.Fatalf("%d %s", res.StatusCode(), res.Header.String())
	}
	close(release)
	<-handlerDone
}

type closer struct{ closed atomic.Bool }

func (c *closer) Close() error { c.closed.Store(true); return nil }

// User values flow in and out; io.Closer values the handler stores are
// closed when the request ends (in time) or when the handler returns (late).
func TestUserValues(t *testing.T) {
	var fastCloser, lateCloser closer
	var outerSaw any
	lateDone := make(chan struct{})
	// The late handler is held until the client has its 408, so the test
	// does not depend on how fast a loaded machine runs the timer.
	release := make(chan struct{})
	inner := mw(t, `{"seconds":0.1}`)(func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/late" {
			ctx.SetUserValue("res", &lateCloser)
			<-release
			defer close(lateDone)
			return
		}
		if v := ctx.UserValue("id"); v != "42" {
			t.Errorf("path value %v", v)
		}
		ctx.SetUserValue("res", &fastCloser)
		ctx.SetUserValue("answer", 7)
	})
	c := serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue("id", "42")
		inner(ctx)
		outerSaw = ctx.UserValue("answer")
		if _, ok := ctx.UserValue(ContextKey).(context.Context); ok {
			t.Error("the timeout's context leaked to the outer ctx")
		}
	})
	do(t, c, "GET", "/fast", "")
	if outerSaw != 7 {
		t.Fatalf("outer saw %v", outerSaw)
	}
	waitClosed := func(c *closer) bool {
		deadline := time.Now().Add(2 * time.Second)
		for !c.closed.Load() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return c.closed.Load()
	}
	if !waitClosed(&fastCloser) {
		t.Fatal("closer not closed at the end of the request")
	}
	if res := do(t, c, "GET", "/late", ""); res.StatusCode() != 408 {
		t.Fatalf("status %d", res.StatusCode())
	}
	if lateCloser.closed.Load() {
		t.Fatal("closer closed while the handler still runs")
	}
	close(release)
	<-lateDone
	if !waitClosed(&lateCloser) {
		t.Fatal("closer of the abandoned handler never closed")
	}
}

func TestRequestBodyAndPanic(t *testing.T) {
	c := serve(t, mw(t, `{"seconds":1}`)(func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/panic" {
			panic("boom")
		}
		ctx.SetBody(append([]byte("echo:"), ctx.PostBody()...))
		ctx.Response.Header.Set("X-Method", string(ctx.Method()))
		ctx.Response.Header.Set("X-Remote", ctx.RemoteAddr().String())
	}))
	res := do(t, c, "POST", "/echo?q=1", `{"a":1}`)
	if string(res.Body()) != `echo:{"a":1}` || string(res.Header.Peek("X-Method")) != "POST" || len(res.Header.Peek("X-Remote")) == 0 {
		t.Fatalf("%s %s", res.Header.String(), res.Body())
	}
	res = do(t, c, "GET", "/panic", "")
	if res.StatusCode() != 500 || string(res.Header.ContentType()) != "application/problem+json" {
		t.Fatalf("panic: %d %s", res.StatusCode(), res.Body())
	}
	if res := do(t, c, "POST", "/echo", "x"); string(res.Body()) != "echo:x" {
		t.Fatalf("after panic: %s", res.Body())
	}
}

func TestBodyStream(t *testing.T) {
	c := serve(t, mw(t, `{"seconds":1}`)(func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStream(io.NopCloser(strings.NewReader("streamed body")), -1)
	}))
	for i := 0; i < 3; i++ {
		if res := do(t, c, "GET", "/", ""); string(res.Body()) != "streamed body" {
			t.Fatalf("%q", res.Body())
		}
	}
}

func TestParentCancelled(t *testing.T) {
	inner := mw(t, `{"seconds":5}`)(func(ctx *fasthttp.RequestCtx) {
		<-Context(ctx).Done()
		time.Sleep(100 * time.Millisecond) // still busy when the middleware answers
	})
	c := serve(t, func(ctx *fasthttp.RequestCtx) {
		parent, cancel := context.WithCancel(context.Background())
		ctx.SetUserValue(ContextKey, parent)
		time.AfterFunc(20*time.Millisecond, cancel)
		inner(ctx)
	})
	if res := do(t, c, "GET", "/", ""); res.StatusCode() != 503 {
		t.Fatalf("status %d", res.StatusCode())
	}
}

func TestConcurrent(t *testing.T) {
	c := serve(t, mw(t, `{"seconds":0.5}`)(func(ctx *fasthttp.RequestCtx) {
		if ctx.QueryArgs().Has("slow") {
			time.Sleep(2 * time.Second)
		}
		ctx.SetBody(ctx.QueryArgs().Peek("n"))
	}))
	c.MaxConnsPerHost = 256
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := strings.Repeat("n", i%7+1)
			path := "/?n=" + n
			if i%5 == 0 {
				path += "&slow=1"
			}
			res := do(t, c, "GET", path, "")
			if i%5 == 0 {
				if res.StatusCode() != 408 {
					t.Errorf("%d: status %d", i, res.StatusCode())
				}
			} else if string(res.Body()) != n {
				t.Errorf("%d: body %q want %q", i, res.Body(), n)
			}
		}(i)
	}
	wg.Wait()
}

func TestContextWithoutMiddleware(t *testing.T) {
	var ctx fasthttp.RequestCtx
	if Context(&ctx) != context.Background() {
		t.Fatal("want Background")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, doc := range []string{`{}`, `{"seconds":0}`, `{"seconds":-1}`, `{"seconds":"2"}`, `{"seconds":2,"extra":1}`, `{"seconds":2,"sleep_ms":-5}`, `{"seconds":1e300}`} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	if m, err := New(json.RawMessage(`null`)); m != nil || err != nil {
		t.Errorf("null: %v", err)
	}
}

func BenchmarkInTime(b *testing.B) {
	h := Timeout(time.Second)(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"ok":true}`) })
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/items/1?x=y")
	ctx.Request.Header.Set("Accept", "application/json")
	ctx.SetUserValue("id", "1")
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
		ctx.Response.Reset()
	}
}

func BenchmarkInTimeParallel(b *testing.B) {
	h := Timeout(time.Second)(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"ok":true}`) })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/items/1")
		for pb.Next() {
			h(&ctx)
			ctx.Response.Reset()
		}
	})
}
