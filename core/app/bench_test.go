package app_test

import (
	"testing"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/valyala/fasthttp"
)

// The pipeline's own cost per request, without sockets: routing, parameter
// coercion, body decoding and validation, the handler and the write.
func benchApp(b *testing.B) fasthttp.RequestHandler {
	cfg, err := config.Parse([]byte(`{"version":1,"routes":[
	 {"method":"GET","path":"/json","handler":"hello"},
	 {"method":"GET","path":"/users/{id:int}/posts/{slug}","handler":"echo"},
	 {"method":"GET","path":"/search","handler":"echo","parameters":{"query":{"q":{"type":"string"},"limit":{"type":"integer","minimum":1},"page":{"type":"integer","default":1}}}},
	 {"method":"POST","path":"/items","handler":"echo","body_schema":{"type":"object","required":["name","price"],"properties":{"name":{"type":"string","minLength":1},"price":{"type":"number","exclusiveMinimum":0},"tags":{"type":"array","items":{"type":"string"}},"in_stock":{"type":"boolean"}}}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	a := app.New(*cfg)
	hello := []byte(`{"message":"Hello, World!"}`)
	a.Handle("hello", func(c *app.Ctx) error { return c.Send(200, "application/json", hello) })
	a.Handle("echo", func(c *app.Ctx) error { return c.Send(200, "application/json", c.Values()) })
	h, err := a.Build()
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func run(b *testing.B, h fasthttp.RequestHandler, method, uri, body string) {
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if body != "" {
			ctx.Request.Header.SetContentType("application/json")
			ctx.Request.SetBodyString(body)
		}
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func BenchmarkJSONSmall(b *testing.B) { run(b, benchApp(b), "GET", "/json", "") }
func BenchmarkPathParams(b *testing.B) {
	run(b, benchApp(b), "GET", "/users/42/posts/hello-world", "")
}
func BenchmarkQueryParams(b *testing.B) {
	run(b, benchApp(b), "GET", "/search?q=go&limit=10&page=2", "")
}
func BenchmarkValidatedPost(b *testing.B) {
	run(b, benchApp(b), "POST", "/items", `{"name":"Widget","price":9.99,"tags":["a","b","c"],"in_stock":true,"description":"A small widget for benchmarking purposes"}`)
}
