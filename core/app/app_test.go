package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/valyala/fasthttp"
)

const testDoc = `{
  "version": 1,
  "routes": [
    {"method": "GET", "path": "/items/{id:int}", "handler": "echo",
     "parameters": {"query": {"verbose": {"type": "boolean", "default": false},
                              "tags": {"type": "array", "items": {"type": "string"}, "optional": true}},
                    "headers": {"x_token": {"type": "string", "minLength": 3, "optional": true}}}},
    {"method": "POST", "path": "/items", "handler": "echo",
     "body_schema": {"type": "object", "required": ["name", "price"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}, "price": {"type": "number", "exclusiveMinimum": 0}}}},
    {"method": "GET", "path": "/boom", "handler": "boom"},
    {"method": "GET", "path": "/fail", "handler": "fail"},
    {"method": "GET", "path": "/bad-answer", "handler": "bad",
     "response_schema": {"type": "object", "required": ["id"]}},
    {"method": "POST", "path": "/small", "handler": "echo", "max_body_size": 16}
  ]
}`

func start(t testing.TB) string {
	t.Helper()
	cfg, err := config.Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(*cfg)
	a.Handle("echo", func(c *app.Ctx) error { return c.Send(200, "application/json", c.Values()) })
	a.Handle("boom", func(c *app.Ctx) error { panic("kaboom") })
	a.Handle("fail", func(c *app.Ctx) error { return errors.New("database is down") })
	a.Handle("bad", func(c *app.Ctx) error { return c.JSON(200, map[string]any{"name": "no id"}) })
	a.SetLogger(discardLogger())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url, ctype, body string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func errTypes(a answer) []string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		loc, _ := json.Marshal(m["loc"])
		out = append(out, m["type"].(string)+string(loc))
	}
	return out
}

func TestCoercedValuesReachTheHandler(t *testing.T) {
	base := start(t)
	a := do(t, "GET", base+"/items/42?verbose=yes&tags=a&tags=b", "", "", "X-Token", "abcd")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	want := `{"path":{"id":42},"query":{"verbose":true,"tags":["a","b"]},"headers":{"x_token":"abcd"}}`
	if a.raw != want {
		t.Fatalf("got %s\nwant %s", a.raw, want)
	}
	// Defaults apply when a parameter is absent.
	if a := do(t, "GET", base+"/items/7", "", ""); a.raw != `{"path":{"id":7},"query":{"verbose":false},"headers":{}}` {
		t.Fatalf("defaults: %s", a.raw)
	}
}

func TestAllErrorsReportedTogetherInOrder(t *testing.T) {
	base := start(t)
	a := do(t, "GET", base+"/items/x?verbose=maybe", "", "", "X-Token", "ab")
	if a.status != 422 || a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d ctype %s", a.status, a.header.Get("Content-Type"))
	}
	got := strings.Join(errTypes(a), " ")
	want := `int_parsing["path","id"] bool_parsing["query","verbose"] string_too_short["headers","x_token"]`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if a.body["detail"] != "3 validation errors in request" {
		t.Fatalf("detail %v", a.body["detail"])
	}
}

func TestBodyValidation(t *testing.T) {
	base := start(t)
	if a := do(t, "POST", base+"/items", "application/json", `{"name":"x","price":2.5}`); a.raw != `{"body":{"name":"x","price":2.5}}` {
		t.Fatalf("valid body: %d %s", a.status, a.raw)
	}
	a := do(t, "POST", base+"/items", "application/json", `{"price":0,"extra":1}`)
	got := strings.Join(errTypes(a), " ")
	if a.status != 422 || !strings.Contains(got, `missing["body","name"]`) || !strings.Contains(got, `greater_than["body","price"]`) {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	if a := do(t, "POST", base+"/items", "application/json", `{"name":`); a.status != 400 || a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("truncated JSON: %d %s", a.status, a.raw)
	}
	if a := do(t, "POST", base+"/items", "", ""); a.status != 422 || errTypes(a)[0] != `missing["body"]` {
		t.Fatalf("missing body: %d %s", a.status, a.raw)
	}
	if a := do(t, "POST", base+"/small", "application/json", `{"a":"0123456789abcdef"}`); a.status != 413 {
		t.Fatalf("oversize: %d %s", a.status, a.raw)
	}
}

func TestRoutingAnswers(t *testing.T) {
	base := start(t)
	if a := do(t, "GET", base+"/nope", "", ""); a.status != 404 || a.body["type"] != "https://spikard.dev/errors/not-found" {
		t.Fatalf("404: %d %s", a.status, a.raw)
	}
	a := do(t, "DELETE", base+"/items/1", "", "")
	if a.status != 405 || !strings.Contains(a.header.Get("Allow"), "GET") {
		t.Fatalf("405: %d %v %s", a.status, a.header, a.raw)
	}
	if a := do(t, "HEAD", base+"/items/1", "", ""); a.status != 200 || a.raw != "" {
		t.Fatalf("HEAD: %d %q", a.status, a.raw)
	}
	if a := do(t, "OPTIONS", base+"/items/1", "", ""); a.status != 204 || !strings.Contains(a.header.Get("Allow"), "GET") {
		t.Fatalf("OPTIONS: %d %v", a.status, a.header)
	}
	// Trailing slashes are significant.
	if a := do(t, "GET", base+"/items/1/", "", ""); a.status != 404 {
		t.Fatalf("trailing slash: %d", a.status)
	}
}

func TestHandlerFailuresDoNotKillTheServer(t *testing.T) {
	base := start(t)
	for i := 0; i < 3; i++ {
		if a := do(t, "GET", base+"/boom", "", ""); a.status != 500 || a.body["type"] != "https://spikard.dev/errors/internal-server-error" {
			t.Fatalf("panic: %d %s", a.status, a.raw)
		}
	}
	if a := do(t, "GET", base+"/fail", "", ""); a.status != 500 || strings.Contains(a.raw, "database") {
		t.Fatalf("error must be 500 without leaking internals: %d %s", a.status, a.raw)
	}
	if a := do(t, "GET", base+"/bad-answer", "", ""); a.status != 500 || a.body["type"] != "https://spikard.dev/errors/response-validation-error" {
		t.Fatalf("response validation: %d %s", a.status, a.raw)
	}
	if a := do(t, "GET", base+"/items/1", "", ""); a.status != 200 {
		t.Fatalf("server stopped serving: %d", a.status)
	}
}

func TestMalformedRequestsGetProblems(t *testing.T) {
	base := strings.TrimPrefix(start(t), "http://")
	for _, raw := range []string{
		"GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /items/1?verbose=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n\xff\xfe\xfd\xfc\xfb",
		"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n" + strings.Repeat("[", 300),
		"GARBAGE\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", base)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = conn.Write([]byte(raw))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if res.StatusCode >= 500 {
			t.Errorf("%q: status %d", raw, res.StatusCode)
		}
		conn.Close()
	}
}

// FuzzServe feeds arbitrary requests through the whole pipeline: nothing may
// panic past the core and only handler-made failures may be 5xx.
func FuzzServe(f *testing.F) {
	cfg, err := config.Parse([]byte(testDoc))
	if err != nil {
		f.Fatal(err)
	}
	a := app.New(*cfg)
	a.Handle("echo", func(c *app.Ctx) error { return c.Send(200, "application/json", c.Values()) })
	a.Handle("boom", func(c *app.Ctx) error { return nil })
	a.Handle("fail", func(c *app.Ctx) error { return nil })
	a.Handle("bad", func(c *app.Ctx) error { return c.JSON(200, map[string]any{"id": 1}) })
	a.SetLogger(discardLogger())
	h, err := a.Build()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET /items/1?verbose=1&tags=x HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Add("POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"name\":1}")
	f.Add("POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nname=%z")
	f.Fuzz(func(t *testing.T, raw string) {
		var ctx fasthttp.RequestCtx
		if err := ctx.Request.Read(bufio.NewReader(bytes.NewReader([]byte(raw)))); err != nil {
			return
		}
		h(&ctx)
		if s := ctx.Response.StatusCode(); s >= 500 {
			t.Fatalf("status %d for %q: %s", s, raw, ctx.Response.Body())
		}
	})
}

func TestShortBodyIsContentLengthMismatch(t *testing.T) {
	base := strings.TrimPrefix(start(t), "http://")
	conn, err := net.Dial("tcp", base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = conn.Write([]byte("POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":1}"))
	_ = conn.(*net.TCPConn).CloseWrite()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !strings.Contains(string(b), "content-length-mismatch") {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
}
