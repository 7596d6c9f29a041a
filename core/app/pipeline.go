package app

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spikard/spikard-go/core/body"
	"github.com/spikard/spikard-go/core/middleware/requestid"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// serveRoute is the one request path of the core.
func (a *App) serveRoute(r *route) fasthttp.RequestHandler {
	return func(fctx *fasthttp.RequestCtx) {
		c := a.pool.Get().(*Ctx)
		c.fctx, c.app, c.route = fctx, a, r
		defer a.release(c)
		if r.x != nil { // lifecycle hooks, dependencies (hooks.go)
			defer a.finish(c)
			if a.begin(c) {
				return
			}
		}

		if r.pathEscapes && !pathDecodable(fctx) {
			writeProblem(fctx, problem.BadRequest("Invalid percent-encoding in the request path"))
			return
		}
		if !r.streamsBody() && int64(len(fctx.Request.Body())) > r.maxBody { // streamsBody: proto.go
			writeProblem(fctx, problem.PayloadTooLarge(r.maxBody))
			return
		}
		if r.x != nil && a.preValidation(c) {
			return
		}
		var errs []problem.ErrorItem
		if !r.noParams {
			for _, group := range [...]struct {
				specs []*paramsSpec
				dst   *[]paramValue
			}{
				{r.path, &c.path}, {r.query, &c.query}, {r.headers, &c.headers}, {r.cookies, &c.cookies},
			} {
				for _, s := range group.specs {
					v, ok, e := s.Extract(fctx, pathValue)
					if e != nil {
						errs = append(errs, e...)
						continue
					}
					if ok {
						*group.dst = append(*group.dst, paramValue{Name: s.Name, V: v})
					}
				}
			}
		}
		if !r.streamsBody() && (r.body.Declared() || len(fctx.Request.Body()) > 0) {
			// A JSON body is only checked here and decoded when the handler
			// asks (Ctx.Body), unless validation needs the value: without a
			// body schema it never does, and a schema the text check
			// (validate.ValidJSONText) confirms needs it only for errors.
			lazy := r.bodySch == nil || r.bodySch.HasFastPath()
			v, present, isJSON, p, e := r.body.DecodeJSONAware(fctx, lazy)
			if p != nil {
				writeProblem(fctx, p)
				return
			}
			switch {
			case e != nil:
				errs = append(errs, e...)
			case present:
				raw := fctx.Request.Body()
				decoded := !lazy || !isJSON
				if !decoded && r.bodySch != nil && !r.bodySch.ValidJSONText(raw) {
					v, decoded = body.ParseJSON(raw), true
				}
				c.body, c.hasBody, c.bodyJSON, c.bodyLazy = v, true, isJSON, !decoded
				if r.bodySch != nil && decoded {
					errs = append(errs, r.bodySch.ValidateJSON(v, raw, locBody)...)
				}
			case r.body.Declared() && r.bodySch != nil:
				errs = append(errs, problem.ErrorItem{Type: "missing", Loc: locBody, Msg: "Field required", Input: nil, HasInput: true})
			}
		}
		if len(errs) > 0 {
			writeProblem(fctx, problem.Validation(errs))
			return
		}
		a.call(c)
	}
}

// call runs the handler; a panic or an error becomes a problem answer and
// never reaches fasthttp (which would drop the connection).
func (a *App) call(c *Ctx) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("handler panicked", "panic", v, "request_id", c.RequestID(),
				"method", c.Method(), "path", c.URLPath(), "stack", stack())
			a.fail(c, problem.Internal())
		}
	}()
	if c.route.x != nil && a.beforeHandler(c) {
		return
	}
	if err := c.route.handler(c); err != nil {
		var p *problem.Problem
		var re *responseError
		switch {
		case errors.As(err, &p):
			a.fail(c, p)
		case errors.As(err, &re):
			a.log.Error("response validation failed", "request_id", c.RequestID(), "error", err)
			pr := problem.New(500, "response-validation-error", "Response Validation Failed", "The handler's answer does not match the route's response schema")
			a.fail(c, pr)
		default:
			a.log.Error("handler failed", "request_id", c.RequestID(), "error", err)
			a.fail(c, problem.Internal())
		}
	}
}

func (a *App) fail(c *Ctx, p *problem.Problem) {
	c.fctx.Response.Reset()
	writeProblem(c.fctx, p)
	if c.x != nil && c.route.x != nil {
		a.onError(c, p)
	}
}

func (a *App) release(c *Ctx) {
	if c.x != nil {
		a.releaseExt(c)
	}
	c.fctx, c.app, c.route = nil, nil, nil
	c.path, c.query, c.headers, c.cookies = c.path[:0], c.query[:0], c.headers[:0], c.cookies[:0]
	c.body, c.hasBody, c.bodyJSON, c.bodyLazy, c.reqID = nil, false, false, false, ""
	if c.rid.held {
		return // the request holds c.rid: its Close puts c back
	}
	a.pool.Put(c)
}

var (
	reqSeq    atomic.Uint64
	reqPrefix = strconv.FormatInt(time.Now().UnixNano()&0xffffffffff, 36)
)

// requestID returns the client's X-Request-ID or a process-unique one. The
// request ID middleware replaces this with its configured policy.
func requestID(ctx *fasthttp.RequestCtx) string {
	if id := requestid.FromCtx(ctx); id != "" {
		return id
	}
	if v := ctx.Request.Header.Peek("X-Request-ID"); len(v) > 0 && len(v) <= 128 {
		return string(v)
	}
	return reqPrefix + "-" + strconv.FormatUint(reqSeq.Add(1), 36)
}

// pathValue returns a path parameter, percent-decoded. The router matches the
// raw path so that an encoded slash stays inside its segment; decoding
// happens only here, per value.
func pathValue(ctx *fasthttp.RequestCtx, name string) (string, bool) {
	v, ok := ctx.UserValue(name).(string)
	if !ok {
		return "", false
	}
	if strings.IndexByte(v, '%') < 0 {
		return v, true
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return v, true
	}
	return d, true
}

// pathDecodable reports whether every %-escape of the raw path is valid.
func pathDecodable(ctx *fasthttp.RequestCtx) bool {
	p := ctx.Request.URI().PathOriginal()
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

var locBody = []any{"body"}
