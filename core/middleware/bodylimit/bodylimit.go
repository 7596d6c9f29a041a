// Package bodylimit rejects request bodies larger than a configured size
// with a 413 problem document.
//
// Configuration key "body_limit" (order 50), app-wide or per route:
//
//	"middleware": {"body_limit": {"max_bytes": 65536}}
//
// max_bytes 0 or null disables the middleware. The declared Content-Length
// is checked first, so an oversized declared body is refused without
// looking at it; then the actual length (chunked bodies). When the server
// streams request bodies (fasthttp Server.StreamRequestBody) the stream is
// read only up to max_bytes+1.
//
// The server's own limit (fasthttp Server.MaxRequestBodySize) applies
// before any middleware: a body_limit above it cannot raise it.
package bodylimit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

func init() { middleware.Register("body_limit", 50, New) }

// Config is the "body_limit" configuration value.
type Config struct {
	MaxBytes *int64 `json:"max_bytes"`
}

// New builds the middleware from its raw configuration value.
func New(raw json.RawMessage) (middleware.Middleware, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("body_limit: %w", err)
	}
	if c.MaxBytes == nil || *c.MaxBytes == 0 {
		return nil, nil
	}
	if *c.MaxBytes < 0 {
		return nil, fmt.Errorf("body_limit: max_bytes must not be negative")
	}
	return Limit(*c.MaxBytes), nil
}

// Limit returns a middleware refusing bodies over max bytes.
func Limit(max int64) middleware.Middleware {
	tooLarge := problem.PayloadTooLarge(max).Bytes()
	reject := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.ResetBody()
		ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
		ctx.SetContentType(problem.ContentType)
		ctx.SetBody(tooLarge)
	}
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			// ContentLength is -1 for chunked bodies, -2 for none (identity).
			if cl := ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > max {
				reject(ctx)
				if ctx.Request.IsBodyStream() {
					// The rest of the body is unread: do not reuse the connection.
					ctx.SetConnectionClose()
				}
				return
			}
			if ctx.Request.IsBodyStream() {
				if !limitStream(ctx, max) {
					reject(ctx)
					// The rest of the body is unread: do not reuse the connection.
					ctx.SetConnectionClose()
					return
				}
			} else if int64(len(ctx.Request.Body())) > max {
				reject(ctx)
				return
			}
			next(ctx)
		}
	}
}

// limitStream reads a streamed body up to max+1 bytes and keeps it as the
// request body when it fits.
func limitStream(ctx *fasthttp.RequestCtx, max int64) bool {
	r := ctx.RequestBodyStream()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil || n > max {
		return false
	}
	ctx.Request.SetBody(buf.Bytes())
	return true
}
