// Command rawfasthttp is the baseline: plain fasthttp + fasthttp/router with
// every conversion and check written by hand (bench/servers/gohand), giving
// the same answers as every other server (bench/workload).
package main

import (
	"bytes"
	"log"

	"github.com/fasthttp/router"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/servers/gohand"
	"github.com/spikard/spikard-go/bench/workload"
	"github.com/valyala/fasthttp"
)

type args struct{ a *fasthttp.Args }

func (v args) Get(name string) (string, bool) {
	b := v.a.Peek(name)
	return string(b), b != nil
}

func (v args) All(name string) []string {
	var out []string
	for _, b := range v.a.PeekMulti(name) {
		out = append(out, string(b))
	}
	return out
}

func reply(ctx *fasthttp.RequestCtx) func([]byte, error) {
	return func(body []byte, err error) {
		if err != nil {
			ctx.Error(gohand.Invalid, fasthttp.StatusUnprocessableEntity)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
}

func handler(r *workload.Route, validated bool) fasthttp.RequestHandler {
	switch r.Kind {
	case workload.KindEcho:
		return func(ctx *fasthttp.RequestCtx) {
			body := ctx.PostBody()
			reply(ctx)(body, gohand.JSON(body, validated))
		}
	case workload.KindPath:
		return func(ctx *fasthttp.RequestCtx) {
			reply(ctx)(gohand.Path(r.ID, func(n string) string { s, _ := ctx.UserValue(n).(string); return s }, validated))
		}
	case workload.KindQuery:
		return func(ctx *fasthttp.RequestCtx) {
			reply(ctx)(gohand.Fields(r.ID, args{ctx.QueryArgs()}, validated))
		}
	case workload.KindForm:
		return func(ctx *fasthttp.RequestCtx) {
			if !bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("application/x-www-form-urlencoded")) {
				ctx.Error(gohand.Invalid, fasthttp.StatusUnsupportedMediaType)
				return
			}
			reply(ctx)(gohand.Fields(r.ID, args{ctx.PostArgs()}, validated))
		}
	case workload.KindMultipart:
		return func(ctx *fasthttp.RequestCtx) {
			form, err := ctx.MultipartForm()
			if err != nil {
				ctx.Error(`{"detail":"bad multipart body"}`, fasthttp.StatusBadRequest)
				return
			}
			defer ctx.Request.RemoveMultipartFormFiles()
			var u gohand.Upload
			if t := form.Value["title"]; len(t) > 0 {
				u.Title, u.HasTitle = t[0], true
			}
			if fs := form.File["file"]; len(fs) > 0 {
				u.HasFile, u.Filename, u.ContentType, u.Size = true, fs[0].Filename, fs[0].Header.Get("Content-Type"), int(fs[0].Size)
			}
			reply(ctx)(gohand.Multipart(u, validated))
		}
	}
	panic("rawfasthttp: unknown route kind " + r.Kind)
}

func newServer() *fasthttp.Server {
	rt := router.New()
	for _, r := range workload.Routes {
		for _, validated := range []bool{false, true} {
			path := r.Path
			if validated {
				path = r.ValidatedPath()
			}
			rt.Handle(r.Method, path, handler(r, validated))
		}
	}
	return &fasthttp.Server{
		Handler:               rt.Handler,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		// Like Spikard's core: 10 MiB bodies; multipart files stay in memory.
		MaxRequestBodySize: 10 << 20,
	}
}

func main() { log.Fatal(newServer().Serve(servekit.Listen())) }
