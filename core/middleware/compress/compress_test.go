package compress

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func serve(t testing.TB, h fasthttp.RequestHandler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h, NoDefaultContentType: true}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func do(t testing.TB, c *fasthttp.Client, method, path string, hdr ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
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

var bigJSON = func() string {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; i < 200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item number %d","tags":["a","b","c"]}`, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}()

var random = func() []byte {
	b := make([]byte, 8192)
	_, _ = rand.Read(b)
	return b
}()

// app answers according to the path.
func app(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/json":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(bigJSON)
	case "/problem":
		ctx.SetStatusCode(422)
		ctx.SetContentType("application/problem+json")
		ctx.SetBodyString(bigJSON)
	case "/small":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"message":"Small payload","payload":"tiny"}`)
	case "/png":
		ctx.SetContentType("image/png")
		ctx.SetBodyString(bigJSON)
	case "/sse":
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyString(bigJSON)
	case "/encoded":
		ctx.SetContentType("application/json")
		ctx.Response.Header.SetContentEncoding("identity")
		ctx.SetBodyString(bigJSON)
	case "/partial":
		ctx.SetStatusCode(206)
		ctx.SetContentType("text/plain")
		ctx.Response.Header.Set("Content-Range", "bytes 0-99/1000")
		ctx.SetBodyString(bigJSON)
	case "/notransform":
		ctx.SetContentType("text/plain")
		ctx.Response.Header.Set("Cache-Control", "public, no-transform")
		ctx.SetBodyString(bigJSON)
	case "/random":
		ctx.SetContentType("text/plain")
		ctx.SetBody(random)
	case "/stream":
		ctx.SetContentType("text/plain")
		ctx.SetBodyStream(strings.NewReader(bigJSON), -1)
	case "/etag":
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("ETag", `"abc"`)
		ctx.SetBodyString(bigJSON)
	case "/raw":
		ctx.SetContentType("text/plain")
		ctx.Response.SetBodyRaw([]byte(bigJSON))
	case "/nocontenttype":
		ctx.SetBodyString(bigJSON)
	}
}

func client(t testing.TB, doc string) *fasthttp.Client {
	t.Helper()
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, mw(app))
}

func decode(t testing.TB, res *fasthttp.Response) string {
	t.Helper()
	var out []byte
	var err error
	switch string(res.Header.ContentEncoding()) {
	case "gzip":
		out, err = fasthttp.AppendGunzipBytes(nil, res.Body())
	case "br":
		out, err = fasthttp.AppendUnbrotliBytes(nil, res.Body())
	case "":
		out = res.Body()
	default:
		t.Fatalf("unexpected Content-Encoding %q", res.Header.ContentEncoding())
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestNegotiated(t *testing.T) {
	c := client(t, `{}`)
	for ae, want := range map[string]string{
		"gzip":                     "gzip",
		"br":                       "br",
		"gzip, deflate, br":        "br",
		"gzip;q=1.0, br;q=0.5":     "gzip",
		"br;q=0, gzip":             "gzip",
		"BR;Q=0.8, GZIP;Q=0.9":     "gzip",
		"*":                        "br",
		"gzip;q=0, *":              "br",
		"*;q=0":                    "",
		"identity":                 "",
		"deflate":                  "",
		"":                         "",
		"gzip;q=0, br;q=0":         "",
		"x-gzip":                   "gzip",
		"br;q=0.001, gzip;q=0.000": "br",
	} {
		hdr := []string{}
		if ae != "" {
			hdr = []string{"Accept-Encoding", ae}
		}
		res := do(t, c, "GET", "/json", hdr...)
		if got := string(res.Header.ContentEncoding()); got != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", ae, got, want)
		}
		if got := string(res.Header.Peek("Vary")); got != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q", ae, got)
		}
		if decode(t, res) != bigJSON {
			t.Errorf("Accept-Encoding %q: body does not round-trip", ae)
		}
		if want != "" && len(res.Body()) >= len(bigJSON)/2 {
			t.Errorf("Accept-Encoding %q: %d bytes, not compressed much", ae, len(res.Body()))
		}
		if cl := res.Header.ContentLength(); cl != len(res.Body()) {
			t.Errorf("Accept-Encoding %q: Content-Length %d for %d bytes", ae, cl, len(res.Body()))
		}
	}
}

func TestOnlyGzipEnabled(t *testing.T) {
	c := client(t, `{"gzip":true,"brotli":false,"quality":9}`)
	if got := string(do(t, c, "GET", "/json", "Accept-Encoding", "br, gzip").Header.ContentEncoding()); got != "gzip" {
		t.Fatalf("Content-Encoding %q", got)
	}
	if got := string(do(t, c, "GET", "/json", "Accept-Encoding", "br").Header.ContentEncoding()); got != "" {
		t.Fatalf("Content-Encoding %q", got)
	}
}

func TestMinSize(t *testing.T) {
	c := client(t, `{"gzip":true,"brotli":false,"min_size":4096,"quality":6}`)
	res := do(t, c, "GET", "/small", "Accept-Encoding", "gzip")
	if res.Header.Peek("Content-Encoding") != nil || string(res.Body()) != `{"message":"Small payload","payload":"tiny"}` {
		t.Fatalf("%s %s", res.Header.String(), res.Body())
	}
	if res.Header.Peek("Vary") != nil {
		t.Fatal("Vary on a body that is never compressed")
	}
	if got := string(do(t, c, "GET", "/json", "Accept-Encoding", "gzip").Header.ContentEncoding()); got != "gzip" {
		t.Fatalf("big body: Content-Encoding %q", got)
	}
	c0 := client(t, `{"min_size":0}`)
	if got := string(do(t, c0, "GET", "/small", "Accept-Encoding", "gzip").Header.ContentEncoding()); got != "" {
		// 44 bytes of JSON do not shrink under gzip: sent as they are.
		t.Fatalf("tiny body: Content-Encoding %q", got)
	}
}

func TestSkipped(t *testing.T) {
	c := client(t, `{"min_size":100}`)
	for _, path := range []string{"/png", "/sse", "/encoded", "/partial", "/notransform", "/random", "/stream", "/nocontenttype"} {
		res := do(t, c, "GET", path, "Accept-Encoding", "gzip, br")
		if ce := string(res.Header.ContentEncoding()); ce != "" && ce != "identity" {
			t.Errorf("%s: compressed (%s)", path, ce)
		}
		if path != "/partial" && string(res.Body()) != bigJSON && path != "/random" {
			t.Errorf("%s: body changed", path)
		}
	}
	if res := do(t, c, "GET", "/random", "Accept-Encoding", "gzip"); string(res.Body()) != string(random) || string(res.Header.Peek("Vary")) != "Accept-Encoding" {
		t.Errorf("/random: incompressible body changed or no Vary")
	}
	if res := do(t, c, "GET", "/json", "Accept-Encoding", "gzip", "Range", "bytes=0-10"); len(res.Header.ContentEncoding()) != 0 {
		t.Error("Range request compressed")
	}
	res := do(t, c, "HEAD", "/json", "Accept-Encoding", "gzip")
	if len(res.Header.ContentEncoding()) != 0 {
		t.Error("HEAD compressed")
	}
}

func TestProblemEtagRaw(t *testing.T) {
	c := client(t, `{"min_size":100}`)
	res := do(t, c, "GET", "/problem", "Accept-Encoding", "br")
	if res.StatusCode() != 422 || string(res.Header.ContentEncoding()) != "br" || decode(t, res) != bigJSON {
		t.Fatalf("problem: %d %s", res.StatusCode(), res.Header.ContentEncoding())
	}
	res = do(t, c, "GET", "/etag", "Accept-Encoding", "gzip")
	if got := string(res.Header.Peek("ETag")); got != `W/"abc"` {
		t.Fatalf("ETag %q", got)
	}
	for i := 0; i < 3; i++ {
		res = do(t, c, "GET", "/raw", "Accept-Encoding", "gzip")
		if decode(t, res) != bigJSON {
			t.Fatal("raw body does not round-trip")
		}
	}
}

func TestVaryMerged(t *testing.T) {
	mw, _ := New(json.RawMessage(`{"min_size":10}`))
	c := serve(t, mw(func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Vary", "Origin")
		if ctx.QueryArgs().Has("star") {
			ctx.Response.Header.Set("Vary", "*")
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(bigJSON)
	}))
	res := do(t, c, "GET", "/", "Accept-Encoding", "gzip")
	if got := res.Header.PeekAll("Vary"); len(got) != 2 || string(got[1]) != "Accept-Encoding" {
		t.Fatalf("Vary %q", got)
	}
	if got := do(t, c, "GET", "/?star", "Accept-Encoding", "gzip").Header.PeekAll("Vary"); len(got) != 1 {
		t.Fatalf("Vary %q", got)
	}
}

func TestContentTypesOption(t *testing.T) {
	c := client(t, `{"min_size":10,"content_types":["image/*"]}`)
	if got := string(do(t, c, "GET", "/png", "Accept-Encoding", "gzip").Header.ContentEncoding()); got != "gzip" {
		t.Fatalf("png: %q", got)
	}
	if got := string(do(t, c, "GET", "/json", "Accept-Encoding", "gzip").Header.ContentEncoding()); got != "" {
		t.Fatalf("json: %q", got)
	}
}

func TestConfig(t *testing.T) {
	for _, doc := range []string{`{"quality":12}`, `{"quality":-1}`, `{"min_size":-1}`, `{"level":5}`, `{"gzip":"yes"}`,
		`{"content_types":["json"]}`, `{"content_types":["text/*/x"]}`, `{"content_types":["*/json"]}`} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	if mw, err := New(json.RawMessage(`{"gzip":false,"brotli":false}`)); mw != nil || err != nil {
		t.Errorf("all codings off: %v %v", mw != nil, err)
	}
	p, _ := compile(Config{})
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=utf-8": true, "application/vnd.api+json": true,
		"text/html": true, "text/event-stream": false, "image/svg+xml": true, "image/png": false,
		"application/zip": false, "video/mp4": false, "application/octet-stream": false, "": false,
		"application/problem+json": true, "application/javascript": true, "font/woff2": false,
	} {
		if got := p.compressible([]byte(ct)); got != want {
			t.Errorf("compressible(%q) = %v", ct, got)
		}
	}
}

func TestParseQ(t *testing.T) {
	for in, want := range map[string]int{"": 1000, "q=1": 1000, "q=0": 0, "q=0.5": 500, " q=0.25 ": 250, "q=0.125": 125,
		"q=1.5": 0, "q=2": 0, "q=abc": 0, "level=1;q=0.3": 300, "Q=0.9": 900, "q=1.000": 1000, "q=0.0001": 0} {
		if got := parseQ([]byte(in)); got != want {
			t.Errorf("parseQ(%q) = %d, want %d", in, got, want)
		}
	}
}

func bench(b *testing.B, doc, ct, body, ae string) {
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		b.Fatal(err)
	}
	h := mw(func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType(ct)
		ctx.SetBodyString(body)
	})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/")
	if ae != "" {
		ctx.Request.Header.Set("Accept-Encoding", ae)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
		ctx.Response.Reset()
	}
}

func BenchmarkGzip8K(b *testing.B) { bench(b, `{}`, "application/json", bigJSON, "gzip, deflate") }
func BenchmarkGzip8KFast(b *testing.B) {
	bench(b, `{"quality":1}`, "application/json", bigJSON, "gzip")
}
func BenchmarkBrotli8K(b *testing.B) {
	bench(b, `{}`, "application/json", bigJSON, "gzip, deflate, br")
}
func BenchmarkSkipSmall(b *testing.B) {
	bench(b, `{}`, "application/json", `{"ok":true}`, "gzip, deflate, br")
}
func BenchmarkSkipNoAcceptEncoding(b *testing.B) { bench(b, `{}`, "application/json", bigJSON, "") }
func BenchmarkNegotiate(b *testing.B) {
	ae := []byte("gzip;q=0.8, deflate, br;q=0.9, *;q=0.1")
	b.ReportAllocs()
	for b.Loop() {
		Negotiate(ae, true, true)
	}
}
