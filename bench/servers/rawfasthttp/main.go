// Command rawfasthttp is the baseline: plain fasthttp + fasthttp/router with
// every conversion and check written by hand, doing the same work as the
// spikard-go server and giving the same answers (see bench/workload).
package main

import (
	"encoding/json"
	"log"
	"strconv"

	"github.com/fasthttp/router"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
	"github.com/valyala/fasthttp"
)

func sendJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.Error("internal error", fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func invalid(ctx *fasthttp.RequestCtx) {
	ctx.Error(`{"detail":"invalid input"}`, fasthttp.StatusUnprocessableEntity)
}

func main() {
	r := router.New()
	r.GET("/json", func(ctx *fasthttp.RequestCtx) {
		sendJSON(ctx, workload.HelloWorld)
	})
	r.GET("/users/{id}/posts/{slug}", func(ctx *fasthttp.RequestCtx) {
		id, err := strconv.ParseInt(ctx.UserValue("id").(string), 10, 64)
		if err != nil {
			invalid(ctx)
			return
		}
		sendJSON(ctx, workload.Post{ID: id, Slug: ctx.UserValue("slug").(string)})
	})
	r.GET("/search", func(ctx *fasthttp.RequestCtx) {
		a := ctx.QueryArgs()
		s, err := workload.ParseSearch(string(a.Peek("q")), string(a.Peek("limit")), string(a.Peek("page")),
			a.Has("q"), a.Has("limit"), a.Has("page"))
		if err != nil {
			invalid(ctx)
			return
		}
		sendJSON(ctx, s)
	})
	r.POST("/items", func(ctx *fasthttp.RequestCtx) {
		var it workload.Item
		if err := json.Unmarshal(ctx.PostBody(), &it); err != nil || it.Check() != nil {
			invalid(ctx)
			return
		}
		// The answer is the validated object, echoed as received.
		ctx.SetContentType("application/json")
		ctx.SetBody(ctx.PostBody())
	})
	r.POST("/items-raw", func(ctx *fasthttp.RequestCtx) {
		if !json.Valid(ctx.PostBody()) {
			ctx.Error(`{"detail":"invalid JSON"}`, fasthttp.StatusBadRequest)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(ctx.PostBody())
	})

	s := &fasthttp.Server{
		Handler: r.Handler,
		// Like Spikard's server: no default Content-Type. Bodies are
		// identical; Spikard's defaults add ~70 B of headers (Server,
		// X-Request-Id) that a hand-written server has no reason to send.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
	}
	log.Fatal(s.Serve(servekit.Listen()))
}
