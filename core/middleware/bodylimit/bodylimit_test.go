package bodylimit

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func serve(t testing.TB, s *fasthttp.Server) *fasthttputil.InmemoryListener {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln
}

func handler(t testing.TB, doc string) fasthttp.RequestHandler {
	t.Helper()
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	echo := func(ctx *fasthttp.RequestCtx) { ctx.SetBody(ctx.Request.Body()) }
	if mw == nil {
		return echo
	}
	return mw(echo)
}

func post(t testing.TB, ln *fasthttputil.InmemoryListener, body string, chunked bool) *fasthttp.Response {
	t.Helper()
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://test/")
	req.Header.SetContentType("application/json")
	if chunked {
		req.SetBodyStream(strings.NewReader(body), -1)
	} else {
		req.SetBodyString(body)
	}
	res := &fasthttp.Response{}
	if err := c.Do(req, res); err != nil {
		t.Fatal(err)
	}
	return res
}

const over = `{"note":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`

func check413(t *testing.T, res *fasthttp.Response) {
	t.Helper()
	if res.StatusCode() != 413 || string(res.Header.ContentType()) != "application/problem+json" {
		t.Fatalf("status %d %s: %s", res.StatusCode(), res.Header.ContentType(), res.Body())
	}
	var p map[string]any
	if err := json.Unmarshal(res.Body(), &p); err != nil {
		t.Fatal(err)
	}
	if p["status"] != 413.0 || p["type"] != "https://spikard.dev/errors/payload-too-large" ||
		p["detail"] != "Request body size exceeds maximum allowed size of 64 bytes" {
		t.Fatalf("problem %s", res.Body())
	}
}

func TestLimit(t *testing.T) {
	for _, stream := range []bool{false, true} {
		ln := serve(t, &fasthttp.Server{Handler: handler(t, `{"max_bytes":64}`), StreamRequestBody: stream})
		for _, chunked := range []bool{false, true} {
			res := post(t, ln, `{"note":"small"}`, chunked)
			if res.StatusCode() != 200 || string(res.Body()) != `{"note":"small"}` {
				t.Fatalf("stream=%v chunked=%v under limit: %d %s", stream, chunked, res.StatusCode(), res.Body())
			}
			check413(t, post(t, ln, over, chunked))
			exact := `{"n":"` + strings.Repeat("y", 64-8) + `"}`
			if res := post(t, ln, exact, chunked); res.StatusCode() != 200 || len(res.Body()) != 64 {
				t.Fatalf("stream=%v chunked=%v exactly at limit: %d (%d bytes)", stream, chunked, res.StatusCode(), len(res.Body()))
			}
		}
	}
}

// With a streaming server the declared Content-Length is refused before
// the body is sent: fasthttp pre-reads min(MaxRequestBodySize, 8 KiB) and
// streams the rest, which the client here never sends.
func TestContentLengthBeforeBody(t *testing.T) {
	ln := serve(t, &fasthttp.Server{Handler: handler(t, `{"max_bytes":64}`), StreamRequestBody: true, MaxRequestBodySize: 1024})
	conn, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("x", 2000))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var res fasthttp.Response
	if err := res.Read(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	check413(t, &res)
	if !res.ConnectionClose() {
		t.Error("connection kept open with an unread body")
	}
}

func TestDisabled(t *testing.T) {
	for _, doc := range []string{`null`, `{}`, `{"max_bytes":0}`, `{"max_bytes":null}`} {
		mw, err := New(json.RawMessage(doc))
		if err != nil || mw != nil {
			t.Errorf("%s: %v %v", doc, mw != nil, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, doc := range []string{`{"max_bytes":-1}`, `{"max_bytes":"64"}`, `{"max":64}`, `[64]`, `{"max_bytes":1.5}`} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
}

func BenchmarkUnderLimit(b *testing.B) {
	h := Limit(1 << 20)(func(*fasthttp.RequestCtx) {})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetBodyString(`{"note":"small"}`)
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
	}
}

func BenchmarkOverLimit(b *testing.B) {
	h := Limit(8)(func(*fasthttp.RequestCtx) {})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetBodyString(`{"note":"small"}`)
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
	}
}
