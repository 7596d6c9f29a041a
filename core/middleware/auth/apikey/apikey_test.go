package apikey

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

func mustMW(t testing.TB, cfg string) middleware.Middleware {
	t.Helper()
	mw, err := New(json.RawMessage(cfg))
	if err != nil || mw == nil {
		t.Fatalf("config %s: %v", cfg, err)
	}
	return mw
}

type result struct {
	status    int
	reached   bool
	body      map[string]any
	challenge string
	ctype     string
	resp      *fasthttp.Response
}

func serve(t testing.TB, mw middleware.Middleware, uri string, headers ...string) result {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	r := result{}
	mw(func(ctx *fasthttp.RequestCtx) { r.reached = true; ctx.SetStatusCode(200) })(&ctx)
	r.status = ctx.Response.StatusCode()
	r.challenge = string(ctx.Response.Header.Peek("WWW-Authenticate"))
	r.ctype = string(ctx.Response.Header.ContentType())
	r.resp = &ctx.Response
	if r.status != 200 {
		if err := json.Unmarshal(ctx.Response.Body(), &r.body); err != nil {
			t.Fatalf("body %q: %v", ctx.Response.Body(), err)
		}
	}
	return r
}

func expect401(t *testing.T, r result, title, detail string) {
	t.Helper()
	if r.status != 401 || r.reached {
		t.Fatalf("status %d reached %v", r.status, r.reached)
	}
	want := map[string]any{"type": "https://spikard.dev/errors/unauthorized", "title": title, "status": float64(401), "detail": detail}
	if len(r.body) != len(want) {
		t.Errorf("body %v", r.body)
	}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("body.%s = %v, want %v", k, r.body[k], v)
		}
	}
	if r.ctype != "application/problem+json" {
		t.Errorf("content type %q", r.ctype)
	}
	if !strings.HasPrefix(r.challenge, "APIKey") {
		t.Errorf("challenge %q", r.challenge)
	}
}

const cfg = `{"enabled":true,"keys":["sk_test_alpha","sk_test_beta"],"header_name":"X-API-Key"}`

func TestAPIKey(t *testing.T) {
	mw := mustMW(t, cfg)
	for _, k := range []string{"sk_test_alpha", "sk_test_beta"} {
		if r := serve(t, mw, "/d", "X-API-Key", k); r.status != 200 || !r.reached {
			t.Errorf("key %s: %d", k, r.status)
		}
		if r := serve(t, mw, "/d?x=1&api_key="+k); r.status != 200 {
			t.Errorf("query key %s: %d", k, r.status)
		}
	}
	missing := "Expected 'X-API-Key' header or 'api_key' query parameter with valid API key"
	expect401(t, serve(t, mw, "/d"), "Missing API key", missing)
	expect401(t, serve(t, mw, "/d", "X-API-Key", ""), "Missing API key", missing)
	expect401(t, serve(t, mw, "/d?api_key="), "Missing API key", missing)
	for _, bad := range []string{"invalid_key_1", "sk_test_alph", "sk_test_alphaa", "SK_TEST_ALPHA", " sk_test_alpha"} {
		expect401(t, serve(t, mw, "/d", "X-API-Key", bad), "Invalid API key", "The provided API key is not valid")
	}
	// The header wins over the query parameter.
	expect401(t, serve(t, mw, "/d?api_key=sk_test_alpha", "X-API-Key", "wrong"), "Invalid API key", "The provided API key is not valid")
	// Other parameter names are not keys.
	expect401(t, serve(t, mw, "/d?key=sk_test_alpha&apiKey=sk_test_alpha"), "Missing API key", missing)
}

func TestCustomNamesAndDeprecatedKeys(t *testing.T) {
	mw := mustMW(t, `{"keys":["new"],"deprecated_keys":["old"],"header_name":"X-API-Token","query_param":["token","access_key"],"realm":"data"}`)
	if r := serve(t, mw, "/", "X-API-Token", "new"); r.status != 200 || r.resp.Header.Peek(DeprecatedHeader) != nil {
		t.Fatalf("new key: %d %q", r.status, r.resp.Header.Peek(DeprecatedHeader))
	}
	if r := serve(t, mw, "/?access_key=old"); r.status != 200 || string(r.resp.Header.Peek(DeprecatedHeader)) != "true" {
		t.Fatalf("old key: %d %q", r.status, r.resp.Header.Peek(DeprecatedHeader))
	}
	r := serve(t, mw, "/", "X-API-Key", "new")
	expect401(t, r, "Missing API key", "Expected 'X-API-Token' header, 'token' query parameter or 'access_key' query parameter with valid API key")
	if r.challenge != `APIKey realm="data", header="X-API-Token", query="token access_key"` {
		t.Errorf("challenge %q", r.challenge)
	}

	hdrOnly := mustMW(t, `{"keys":["k"],"query_param":""}`)
	expect401(t, serve(t, hdrOnly, "/?api_key=k"), "Missing API key", "Expected 'X-API-Key' header with valid API key")
	queryOnly := mustMW(t, `{"keys":["k"],"header_name":"","query_param":"key"}`)
	expect401(t, serve(t, queryOnly, "/", "X-API-Key", "k"), "Missing API key", "Expected 'key' query parameter with valid API key")
	if r := serve(t, queryOnly, "/?key=k"); r.status != 200 {
		t.Fatalf("query only: %d", r.status)
	}
}

func TestRegistered(t *testing.T) {
	mw, err := middleware.Chain(json.RawMessage(`{"api_key_auth":` + cfg + `}`))
	if err != nil || mw == nil {
		t.Fatal(err)
	}
	expect401(t, serve(t, mw, "/"), "Missing API key", "Expected 'X-API-Key' header or 'api_key' query parameter with valid API key")
}

func TestMatchChecksEveryKey(t *testing.T) {
	c, err := build(json.RawMessage(`{"keys":["a","b","c"],"deprecated_keys":["d"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a", "b", "c", "d"} {
		if got := c.match([]byte(k)); got != i {
			t.Errorf("match(%s) = %d", k, got)
		}
	}
	if got := c.match([]byte("e")); got != -1 {
		t.Errorf("match(e) = %d", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []string{`null`, `[]`, `{}`, `{"keys":[]}`, `{"keys":[""]}`, `{"keys":["a"],"header":"X"}`,
		`{"keys":["a"],"header_name":"","query_param":""}`, `{"keys":"a"}`} {
		if _, err := New(json.RawMessage(c)); err == nil {
			t.Errorf("config %s accepted", c)
		}
	}
	if mw, err := New(json.RawMessage(`{"enabled":false}`)); mw != nil || err != nil {
		t.Errorf("disabled: %v %v", mw != nil, err)
	}
}

func BenchmarkAPIKeyValid(b *testing.B) {
	mw := mustMW(b, cfg)
	h := mw(func(ctx *fasthttp.RequestCtx) {})
	var req fasthttp.Request
	req.SetRequestURI("/")
	req.Header.Set("X-API-Key", "sk_test_beta")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
	}
}
