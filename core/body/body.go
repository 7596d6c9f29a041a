// Package body decodes request bodies by media type: JSON, urlencoded forms,
// multipart forms, text and raw bytes. Decoding only turns bytes into a JSON
// value (coercing form strings by the body schema's shape); validation is the
// caller's, against the same schema (see ValidationSchema for file parts).
//
// # Media types
//
// The Content-Type header is parsed per RFC 9110 (case-insensitive type and
// parameter names, quoted-string values):
//
//   - application/json and any */*+json → JSON. A charset other than UTF-8
//     is a 415 unsupported-charset problem.
//   - application/x-www-form-urlencoded → form (see form.go for key syntax).
//   - multipart/form-data → multipart; without a boundary parameter it is a
//     400 problem, even when the body is empty.
//   - text/* → the body as a string (UTF-8 only).
//   - anything else → raw bytes: v is nil and present is true; the handler
//     reads the bytes itself.
//
// Which media types a route accepts:
//
//   - Route.ContentType set: only that type (case-insensitive, parameters
//     ignored; "type/*" and "*/*" are wildcards; any JSON type satisfies a
//     JSON route type). A body without Content-Type is read as that type.
//   - otherwise, a route with a body schema: JSON, form and multipart. A body
//     without Content-Type is JSON.
//   - otherwise: any type. A body without Content-Type is raw bytes.
//
// Anything else is a 415 problem, checked whenever a Content-Type header is
// sent (also with an empty body).
//
// # JSON
//
// Strict RFC 8259 in one pass (json.go): invalid UTF-8, control characters
// in strings, trailing data, truncation and any other syntax error are a 400
// with detail "Invalid request format" (the corpus's wording). Nesting deeper
// than Limits.MaxDepth is a 400 "Request body exceeds maximum nesting depth
// of N" (edge_cases/23). Numbers stay exact as json.Number; duplicate keys:
// the last one wins; a lone UTF-16 surrogate escape becomes U+FFFD (as
// encoding/json does); a leading UTF-8 byte order mark is skipped.
//
// # Forms and multipart
//
// See form.go (key syntax, coercion, blank values) and multipart.go (file
// objects). Malformed input is a 400 "Failed to parse URL-encoded form data:
// …" or "Failed to parse multipart data: …". Declared file parts
// (Route.Parameters.Files) are checked in files.go.
//
// # Order of checks
//
// 415 (media type, charset) and 400 (missing boundary) → 413 (size) → 400
// (Content-Length mismatch) → empty body (present=false) → decoding (400 on
// malformed input) → coercion and file-declaration errors (errs, a 422 with
// the caller's validation errors).
package body

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// Limits bound what a decoder accepts.
type Limits struct {
	// MaxBytes caps the body size (413). Zero means DefaultMaxBytes; negative
	// means no limit. Route.MaxBodyBytes, when positive, takes precedence.
	MaxBytes int64
	// MaxDepth caps JSON nesting (and form key nesting). `{}` has depth 1.
	// Zero means DefaultMaxDepth.
	MaxDepth int
}

const (
	DefaultMaxBytes = 10 << 20
	DefaultMaxDepth = 64
)

// Decoder is prepared once per route.
type Decoder struct {
	route  config.Route
	shape  *params.Shape
	limits Limits
	// declared is set when the route declares a body: a body schema, a
	// content type or file parts. Only then must every request go through
	// Decode (header checks apply even to an empty body).
	declared bool
	// hasSchema is set when the route declares a body schema: it then takes
	// JSON, forms and multipart, and a body without Content-Type is JSON.
	hasSchema bool

	maxBytes   int64 // <0: no limit
	maxDepth   int
	routeType  []byte // Route.ContentType's type/subtype, if set
	routeClass class
	files      []fileCheck
	required   bool // some declared file is required
	valSchema  json.RawMessage
	depthMsg   string
}

// New prepares the decoder of a route.
func New(route config.Route, limits Limits) (*Decoder, error) {
	d := &Decoder{
		route:     route,
		shape:     params.ShapeOf(route.BodySchema),
		limits:    limits,
		declared:  len(route.BodySchema) > 0 || route.ContentType != "" || len(route.Parameters.Files) > 0,
		hasSchema: len(route.BodySchema) > 0,
		maxDepth:  limits.MaxDepth,
		maxBytes:  limits.MaxBytes,
	}
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxDepth
	}
	switch {
	case route.MaxBodyBytes > 0:
		d.maxBytes = route.MaxBodyBytes
	case d.maxBytes == 0:
		d.maxBytes = DefaultMaxBytes
	}
	if route.ContentType != "" {
		mt := parseMediaType([]byte(route.ContentType))
		if string(mt.token) != "*" {
			if slash := bytes.IndexByte(mt.token, '/'); slash <= 0 || slash == len(mt.token)-1 {
				return nil, fmt.Errorf("body: route %s %s: invalid content_type %q", route.Method, route.Path, route.ContentType)
			}
		}
		d.routeType = bytes.ToLower(mt.token)
		d.routeClass = mt.class
	}
	d.files = newFileChecks(route.Parameters.Files)
	for _, f := range route.Parameters.Files {
		d.required = d.required || f.Required
	}
	d.valSchema = widenBinary(route.BodySchema)
	d.depthMsg = "Request body exceeds maximum nesting depth of " + strconv.Itoa(d.maxDepth)
	return d, nil
}

// Declared reports whether the route declares a body: a body schema, a
// content type or file parts. Such a route's requests must all go through
// Decode, even without a body (a multipart Content-Type without boundary is
// a 400, a required file part is reported missing).
func (d *Decoder) Declared() bool { return d.declared }

// ValidationSchema is the schema the decoded value should be validated
// against: Route.BodySchema, except that a string property with
// "format": "binary" (an uploaded file) also accepts the file object the
// multipart decoder produces ({"filename","content_type","size","content"}).
// It is the body schema itself (same bytes) when there is nothing to widen.
func (d *Decoder) ValidationSchema() json.RawMessage { return d.valSchema }

// Decode reads the body. present is false when the request has no body.
// A problem is a framework answer (400, 413, 415); errs are coercion
// failures reported as 422 together with the other validation errors (loc
// ["body", ...]), and declared-file failures (loc ["files", name]).
func (d *Decoder) Decode(ctx *fasthttp.RequestCtx) (v any, present bool, p *problem.Problem, errs []problem.ErrorItem) {
	v, present, _, p, errs = d.DecodeJSONAware(ctx, false)
	return v, present, p, errs
}

// DecodeJSONAware is Decode that also reports whether v was decoded from a
// JSON body as it is (isJSON): such a value is the body's JSON text, so a
// caller that needs it as JSON can reuse the raw bytes (see RawJSON)
// instead of encoding v again. With lazy, a JSON body is only checked (as
// strictly as decoding would) and v is nil: decode it later with
// ParseJSON if it is needed at all.
func (d *Decoder) DecodeJSONAware(ctx *fasthttp.RequestCtx, lazy bool) (v any, present, isJSON bool, p *problem.Problem, errs []problem.ErrorItem) {
	var cls class
	v, present, p, errs = d.decode(ctx, &cls, lazy)
	return v, present, present && p == nil && cls == classJSON, p, errs
}

// ParseJSON decodes a JSON body that DecodeJSONAware checked lazily.
func ParseJSON(raw []byte) any {
	v, _ := decodeJSON(raw, 1<<30) // the depth was checked against the route's limit already
	return v
}

// decode is Decode; it writes the class the body was read as to *used.
func (d *Decoder) decode(ctx *fasthttp.RequestCtx, used *class, lazy bool) (v any, present bool, p *problem.Problem, errs []problem.ErrorItem) {
	raw := ctx.Request.Body()
	mt := parseMediaType(ctx.Request.Header.ContentType())

	cls := mt.class
	if cls == classNone {
		switch {
		case len(raw) == 0:
		case d.routeClass != classNone:
			cls = d.routeClass
		case d.hasSchema:
			cls = classJSON
		default:
			cls = classOther
		}
	} else if !d.accepts(mt) {
		return nil, false, problem.UnsupportedMediaType(), nil
	}
	*used = cls
	switch cls {
	case classMultipart:
		if !mt.hasBoundary || mt.boundary == "" {
			return nil, false, problem.BadRequest("multipart/form-data requires 'boundary' parameter"), nil
		}
	case classJSON:
		if mt.hasCharset && !isUTF8Charset(mt.charset) {
			return nil, false, unsupportedCharset(mt.charset, "JSON"), nil
		}
	case classText:
		if mt.hasCharset && !isUTF8Charset(mt.charset) {
			return nil, false, unsupportedCharset(mt.charset, "text"), nil
		}
	}

	if d.maxBytes >= 0 && int64(len(raw)) > d.maxBytes {
		return nil, false, problem.PayloadTooLarge(d.maxBytes), nil
	}
	// fasthttp reads exactly Content-Length bytes off the wire, so on a real
	// connection the two always agree (a short body times out with 408 before
	// the handler runs; extra bytes become the next request). This catches
	// requests built in-process and bodies rewritten by middleware.
	if len(ctx.Request.Header.Peek(fasthttp.HeaderContentLength)) > 0 {
		if n := ctx.Request.Header.ContentLength(); n >= 0 && n != len(raw) {
			return nil, false, problem.New(400, "content-length-mismatch", "Content-Length header mismatch",
				"Content-Length header does not match actual body size"), nil
		}
	}

	if len(raw) == 0 {
		if cls == classText && d.declared && d.shape.Kind == params.KindString {
			// An empty text body is the empty string, not a missing body.
			return "", true, nil, nil
		}
		return nil, false, nil, d.missingFiles(nil)
	}

	switch cls {
	case classJSON:
		var val any
		var jerr jsonErr
		if lazy {
			jerr = checkJSON(raw, d.maxDepth)
		} else {
			val, jerr = decodeJSON(raw, d.maxDepth)
		}
		switch jerr {
		case jsonSyntax:
			return nil, false, problem.BadRequest("Invalid request format"), nil
		case jsonDepth:
			return nil, false, problem.BadRequest(d.depthMsg), nil
		}
		return val, true, nil, d.missingFiles(nil)

	case classForm:
		t := formTree{maxDepth: d.maxDepth}
		if ferr := parseURLEncoded(raw, &t); ferr != nil {
			return nil, false, problem.BadRequest("Failed to parse URL-encoded form data: " + ferr.reason), nil
		}
		var f finisher
		m := f.object(&t.root, d.shape)
		if f.bad != nil {
			return nil, false, problem.BadRequest("Failed to parse URL-encoded form data: " + f.bad.reason), nil
		}
		return m, true, nil, append(f.errs, d.missingFiles(nil)...)

	case classMultipart:
		owned := append(make([]byte, 0, len(raw)), raw...)
		t := formTree{maxDepth: d.maxDepth}
		var files []*fileLeaf
		if ferr := parseMultipart(owned, mt.boundary, &t, &files); ferr != nil {
			return nil, false, problem.BadRequest("Failed to parse multipart data: " + ferr.reason), nil
		}
		var f finisher
		m := f.object(&t.root, d.shape)
		if f.bad != nil {
			return nil, false, problem.BadRequest("Failed to parse multipart data: " + f.bad.reason), nil
		}
		errs = f.errs
		if len(d.files) > 0 {
			errs = append(errs, checkFiles(d.files, files)...)
		}
		return m, true, nil, errs

	case classText:
		if !utf8.Valid(raw) {
			return nil, false, problem.BadRequest("Request body is not valid UTF-8"), nil
		}
		return string(raw), true, nil, d.missingFiles(nil)
	}
	return nil, true, nil, d.missingFiles(nil)
}

// accepts reports whether the route takes a body of media type mt.
func (d *Decoder) accepts(mt mediaType) bool {
	if d.routeType != nil {
		rt := d.routeType
		switch {
		case string(rt) == "*/*" || string(rt) == "*":
			return true
		case len(rt) >= 2 && rt[len(rt)-1] == '*' && rt[len(rt)-2] == '/':
			return len(mt.token) >= len(rt)-1 && bytes.EqualFold(mt.token[:len(rt)-1], rt[:len(rt)-1])
		case bytes.EqualFold(mt.token, rt):
			return true
		}
		return d.routeClass == classJSON && mt.class == classJSON
	}
	if d.hasSchema {
		return mt.class == classJSON || mt.class == classForm || mt.class == classMultipart
	}
	return true
}

// missingFiles reports required declared files when the body is not multipart.
func (d *Decoder) missingFiles(errs []problem.ErrorItem) []problem.ErrorItem {
	if !d.required {
		return errs
	}
	return append(errs, checkFiles(d.files, nil)...)
}

func unsupportedCharset(cs, what string) *problem.Problem {
	return problem.New(415, "unsupported-charset", "Unsupported Charset",
		"Unsupported charset '"+cs+"' for "+what+". Only UTF-8 is supported.")
}

// RawJSON returns the JSON text of a body that DecodeJSONAware read as JSON,
// ready to embed in a JSON document: the raw bytes without a byte order
// mark or surrounding whitespace. ok is false when the text would not mean
// exactly what the decoder produced (a lone UTF-16 surrogate escape, which
// the decoder replaces with U+FFFD): encode the value instead then.
func RawJSON(raw []byte) (text []byte, ok bool) {
	if len(raw) >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF {
		raw = raw[3:]
	}
	raw = bytes.TrimSpace(raw)
	for i := 0; i+5 < len(raw); i++ {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			break
		}
		if i += j; i+5 >= len(raw) {
			break
		}
		if raw[i+1] == 'u' && (raw[i+2] == 'd' || raw[i+2] == 'D') && bytes.IndexByte([]byte("89abcdefABCDEF"), raw[i+3]) >= 0 {
			return nil, false // a surrogate: a pair is fine, but checking costs more than encoding
		}
		i++ // skip the escaped character
	}
	return raw, true
}
