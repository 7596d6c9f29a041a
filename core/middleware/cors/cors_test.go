package cors

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	frouter "github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func serve(t testing.TB, h fasthttp.RequestHandler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, NoDefaultContentType: true}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func do(t testing.TB, c *fasthttp.Client, method, path string, hdr ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://api.test" + path)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res := &fasthttp.Response{}
	if err := c.Do(req, res); err != nil {
		t.Fatal(err)
	}
	return res
}

func build(t testing.TB, doc string) func(fasthttp.RequestHandler) fasthttp.RequestHandler {
	t.Helper()
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// app mimics the core: a router with automatic OPTIONS, wrapped by an
// app-wide cors.
func app(t testing.TB, doc string) *fasthttp.Client {
	r := frouter.New()
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) }
	ok := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Total-Count", "42")
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
	}
	r.GET("/api/data", ok)
	r.POST("/api/data", ok)
	r.GET("/items/", ok)
	return serve(t, build(t, doc)(r.Handler))
}

type hdrs map[string]string

func check(t *testing.T, res *fasthttp.Response, status int, want hdrs) {
	t.Helper()
	if res.StatusCode() != status {
		t.Errorf("status %d, want %d (body %s)", res.StatusCode(), status, res.Body())
	}
	for k, v := range want {
		got := res.Header.Peek(k)
		switch v {
		case "<<absent>>":
			if got != nil {
				t.Errorf("%s: %q, want absent", k, got)
			}
		default:
			if string(got) != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
	}
}

const strict = `{"allowed_origins":["https://example.com"],"allowed_methods":["GET","POST"],"allowed_headers":["Content-Type"]}`

func TestSimpleAllowed(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://example.com"],"allowed_methods":["GET"],"expose_headers":["X-Total-Count","X-Request-Id"]}`)
	res := do(t, c, "GET", "/api/data", "Origin", "https://example.com")
	check(t, res, 200, hdrs{
		"Access-Control-Allow-Origin":      "https://example.com",
		"Access-Control-Expose-Headers":    "X-Total-Count, X-Request-Id",
		"Vary":                             "Origin",
		"X-Total-Count":                    "42",
		"Access-Control-Allow-Credentials": "<<absent>>",
	})
}

func TestSimpleBlocked(t *testing.T) {
	c := app(t, strict)
	res := do(t, c, "GET", "/items/", "Origin", "https://malicious-site.com")
	check(t, res, 403, hdrs{"Content-Type": "application/problem+json", "Access-Control-Allow-Origin": "<<absent>>", "Vary": "Origin"})
	var p map[string]any
	if err := json.Unmarshal(res.Body(), &p); err != nil {
		t.Fatal(err)
	}
	if p["detail"] != "CORS request from origin 'https://malicious-site.com' not allowed" || p["status"] != 403.0 {
		t.Fatalf("body %s", res.Body())
	}
}

func TestNoOriginPasses(t *testing.T) {
	c := app(t, strict)
	check(t, do(t, c, "GET", "/api/data"), 200, hdrs{"Access-Control-Allow-Origin": "<<absent>>", "Vary": "Origin"})
}

func TestSameOriginPasses(t *testing.T) {
	c := app(t, strict)
	check(t, do(t, c, "POST", "/api/data", "Origin", "http://api.test"), 200, hdrs{"Access-Control-Allow-Origin": "<<absent>>"})
}

func TestPreflightOK(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://example.com"],"allowed_methods":["POST"],"allowed_headers":["Content-Type"],"max_age":3600}`)
	res := do(t, c, "OPTIONS", "/api/data", "Origin", "https://example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "Content-Type")
	check(t, res, 204, hdrs{
		"Access-Control-Allow-Origin":  "https://example.com",
		"Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "Content-Type",
		"Access-Control-Max-Age":       "3600",
		"Vary":                         "Origin",
	})
	if len(res.Body()) != 0 {
		t.Fatalf("preflight body %q", res.Body())
	}
}

// A preflight to a path the router knows only for GET, and to an unknown
// path: the middleware answers both, the router's OPTIONS never runs.
func TestPreflightBeforeRouting(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://app.example.com"],"allowed_methods":["GET","POST","PUT","PATCH","DELETE"],"max_age":3600}`)
	for _, path := range []string{"/items/", "/api/resource/456"} {
		res := do(t, c, "OPTIONS", path, "Origin", "https://app.example.com", "Access-Control-Request-Method", "DELETE")
		check(t, res, 204, hdrs{
			"Access-Control-Allow-Origin":  "https://app.example.com",
			"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
			"Access-Control-Max-Age":       "3600",
			"Vary":                         "Origin",
			"Allow":                        "<<absent>>",
		})
	}
}

func TestPreflightRejected(t *testing.T) {
	c := app(t, strict)
	for name, h := range map[string][]string{
		"method": {"Origin", "https://example.com", "Access-Control-Request-Method", "DELETE", "Access-Control-Request-Headers", "Content-Type"},
		"header": {"Origin", "https://example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "X-Custom-Header"},
		"origin": {"Origin", "https://evil.example", "Access-Control-Request-Method", "GET"},
		"mixed":  {"Origin", "https://example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, x-other"},
	} {
		res := do(t, c, "OPTIONS", "/api/data", h...)
		if res.StatusCode() != 403 || string(res.Header.ContentType()) != "application/problem+json" {
			t.Errorf("%s: status %d %s", name, res.StatusCode(), res.Body())
		}
		if res.Header.Peek("Access-Control-Allow-Origin") != nil {
			t.Errorf("%s: Access-Control-Allow-Origin on a rejection", name)
		}
	}
}

func TestPreflightHeaderCaseAndSafelisted(t *testing.T) {
	c := app(t, strict)
	res := do(t, c, "OPTIONS", "/api/data", "Origin", "https://example.com",
		"Access-Control-Request-Method", "post", "Access-Control-Request-Headers", "CONTENT-TYPE,accept , Accept-Language")
	check(t, res, 204, hdrs{"Access-Control-Allow-Headers": "Content-Type", "Access-Control-Allow-Methods": "GET, POST"})
}

// OPTIONS without Access-Control-Request-Method is not a preflight.
func TestPlainOptionsReachesRouter(t *testing.T) {
	c := app(t, strict)
	res := do(t, c, "OPTIONS", "/api/data", "Origin", "https://example.com")
	check(t, res, 204, hdrs{"Access-Control-Allow-Origin": "https://example.com", "Access-Control-Allow-Methods": "<<absent>>"})
	if !strings.Contains(string(res.Header.Peek("Allow")), "GET") {
		t.Fatalf("router did not answer: Allow %q", res.Header.Peek("Allow"))
	}
}

func TestWildcard(t *testing.T) {
	c := app(t, `{"allowed_origins":["*"],"allowed_methods":["*"],"allowed_headers":["*"]}`)
	res := do(t, c, "GET", "/api/data", "Origin", "https://random-site.com")
	check(t, res, 200, hdrs{"Access-Control-Allow-Origin": "*", "Vary": "<<absent>>"})
	res = do(t, c, "OPTIONS", "/api/data", "Origin", "https://x.com", "Access-Control-Request-Method", "PURGE",
		"Access-Control-Request-Headers", "X-A, X-B")
	check(t, res, 204, hdrs{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PURGE", "Access-Control-Allow-Headers": "X-A, X-B"})
}

func TestCredentialsAndMultipleOrigins(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://app.example.com","https://admin.example.com","https://mobile.example.com"],"allow_credentials":true}`)
	res := do(t, c, "GET", "/api/data", "Origin", "https://admin.example.com", "Cookie", "session=abc123")
	check(t, res, 200, hdrs{"Access-Control-Allow-Origin": "https://admin.example.com", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"})
	res = do(t, c, "GET", "/api/data", "Origin", "https://other.example.com")
	check(t, res, 403, nil)
}

func TestOriginPattern(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://*.example.com"]}`)
	check(t, do(t, c, "GET", "/api/data", "Origin", "https://a.b.example.com"), 200, hdrs{"Access-Control-Allow-Origin": "https://a.b.example.com"})
	for _, bad := range []string{"https://example.com", "https://evil.com/.example.com", "http://a.example.com", "https://a.example.com.evil.com", "https://x@a.example.com"} {
		if res := do(t, c, "GET", "/api/data", "Origin", bad); res.StatusCode() != 403 {
			t.Errorf("%s: status %d", bad, res.StatusCode())
		}
	}
}

func TestPrivateNetwork(t *testing.T) {
	c := app(t, `{"allowed_origins":["https://public.example.com"],"allowed_methods":["GET","POST"],"allow_private_network":true}`)
	res := do(t, c, "OPTIONS", "/api/local", "Origin", "https://public.example.com",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Private-Network", "true")
	check(t, res, 204, hdrs{"Access-Control-Allow-Private-Network": "true", "Access-Control-Allow-Methods": "GET, POST", "Vary": "Origin"})
}

// Vary merges with what the handler set.
func TestVaryMerged(t *testing.T) {
	h := build(t, strict)(func(ctx *fasthttp.RequestCtx) { ctx.Response.Header.Set("Vary", "Accept-Encoding") })
	c := serve(t, h)
	res := do(t, c, "GET", "/", "Origin", "https://example.com")
	if got := res.Header.PeekAll("Vary"); len(got) != 2 || string(got[0]) != "Accept-Encoding" || string(got[1]) != "Origin" {
		t.Fatalf("Vary %q", got)
	}
	h2 := build(t, strict)(func(ctx *fasthttp.RequestCtx) { ctx.Response.Header.Set("Vary", "origin, Accept") })
	res = do(t, serve(t, h2), "GET", "/", "Origin", "https://example.com")
	if got := res.Header.PeekAll("Vary"); len(got) != 1 {
		t.Fatalf("Vary duplicated: %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, doc := range []string{
		`{}`, `{"allowed_origins":[]}`, `{"allowed_origins":["*"],"allow_credentials":true}`,
		`{"allowed_origins":["https://a.com"],"allowed_origin":["x"]}`, `{"allowed_origins":"https://a.com"}`,
		`{"allowed_origins":["https://*.*.com"]}`, `{"allowed_origins":["*.example.com"]}`,
		`{"allowed_origins":["https://a.com"],"allowed_methods":["GET POST"]}`,
		`{"allowed_origins":["https://a.com"],"allowed_headers":["bad header"]}`,
		`{"allowed_origins":["https://a.com"],"max_age":-1}`,
	} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	if mw, err := New(json.RawMessage(`null`)); err != nil || mw != nil {
		t.Errorf("null: %v %v", mw, err)
	}
}

func benchCORS(b *testing.B, method string, hdr ...string) {
	mw, err := New(json.RawMessage(`{"allowed_origins":["https://a.example.com","https://b.example.com"],"allowed_methods":["GET","POST"],"allowed_headers":["Content-Type","Authorization"],"max_age":600}`))
	if err != nil {
		b.Fatal(err)
	}
	h := mw(func(*fasthttp.RequestCtx) {})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI("/x")
	for i := 0; i+1 < len(hdr); i += 2 {
		ctx.Request.Header.Set(hdr[i], hdr[i+1])
	}
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
		ctx.Response.Reset()
	}
}

func BenchmarkSimple(b *testing.B) { benchCORS(b, "GET", "Origin", "https://b.example.com") }
func BenchmarkPreflight(b *testing.B) {
	benchCORS(b, "OPTIONS", "Origin", "https://b.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type, authorization")
}
func BenchmarkNoOrigin(b *testing.B) { benchCORS(b, "GET") }
