// Package problem renders every error the core produces as an RFC 9457
// problem details document. One shape for every part of the core, so clients
// and the conformance corpus see the same bytes whichever binding served them.
package problem

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// ContentType is the media type of every problem document.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI.
const TypeBase = "https://spikard.dev/errors/"

// Problem is an RFC 9457 problem details document. Errors is set only for
// validation failures.
type Problem struct {
	Type   string      `json:"type"`
	Title  string      `json:"title"`
	Status int         `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Errors []ErrorItem `json:"errors,omitempty"`
	// Extra members (for example request_id) are merged into the document.
	Extra map[string]any `json:"-"`
	// Headers are sent with the problem (Allow, Retry-After, WWW-Authenticate).
	Headers [][2]string `json:"-"`
}

// ErrorItem is one validation failure, in the pydantic-compatible shape the
// reference corpus uses: {type, loc, msg, input, ctx}.
type ErrorItem struct {
	Type string `json:"type"`
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	// Input is the offending value. HasInput distinguishes "no input member"
	// from an explicit null (the corpus uses both).
	Input    any            `json:"-"`
	HasInput bool           `json:"-"`
	Ctx      map[string]any `json:"-"`
}

// MarshalJSON writes members in the corpus order: type, loc, msg, input, ctx.
func (e ErrorItem) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, `{"type":`...)
	b = appendJSON(b, e.Type)
	b = append(b, `,"loc":`...)
	b = appendJSON(b, e.Loc)
	b = append(b, `,"msg":`...)
	b = appendJSON(b, e.Msg)
	if e.HasInput {
		b = append(b, `,"input":`...)
		b = appendJSON(b, e.Input)
	}
	if e.Ctx != nil {
		b = append(b, `,"ctx":`...)
		b = appendJSON(b, e.Ctx)
	}
	return append(b, '}'), nil
}

// appendJSON writes v without HTML escaping: problem documents are JSON
// for API clients, and messages quote client input verbatim.
func appendJSON(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(b, "null"...)
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// MarshalJSON writes the standard members first, then Extra.
func (p *Problem) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":`...)
	b = appendJSON(b, p.Type)
	b = append(b, `,"title":`...)
	b = appendJSON(b, p.Title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	if p.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSON(b, p.Detail)
	}
	if len(p.Errors) > 0 {
		b = append(b, `,"errors":`...)
		b = appendJSON(b, p.Errors)
	}
	for _, k := range sortedKeys(p.Extra) {
		b = append(b, ',')
		b = appendJSON(b, k)
		b = append(b, ':')
		b = appendJSON(b, p.Extra[k])
	}
	return append(b, '}'), nil
}

// Bytes renders the problem document.
func (p *Problem) Bytes() []byte {
	b, _ := p.MarshalJSON()
	return b
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// New builds a problem of the given slug (the last segment of the type URI).
func New(status int, slug, title, detail string) *Problem {
	return &Problem{Type: TypeBase + slug, Title: title, Status: status, Detail: detail}
}

// WithHeader adds a response header to the problem and returns it.
func (p *Problem) WithHeader(k, v string) *Problem {
	p.Headers = append(p.Headers, [2]string{k, v})
	return p
}

// Validation builds the 422 document for a list of failures.
func Validation(errs []ErrorItem) *Problem {
	n := len(errs)
	detail := strconv.Itoa(n) + " validation error"
	if n != 1 {
		detail += "s"
	}
	detail += " in request"
	return &Problem{
		Type:   TypeBase + "validation-error",
		Title:  "Request Validation Failed",
		Status: 422,
		Detail: detail,
		Errors: errs,
	}
}

// Common problems. Each call returns a fresh value: callers may add headers.

func NotFound() *Problem {
	return New(404, "not-found", "Not Found", "No route matches the requested path")
}

func MethodNotAllowed(allow string) *Problem {
	return New(405, "method-not-allowed", "Method Not Allowed", "Method not allowed for this route").WithHeader("Allow", allow)
}

func Internal() *Problem {
	return New(500, "internal-server-error", "Internal Server Error", "Internal server error")
}

func BadRequest(detail string) *Problem {
	return New(400, "bad-request", "Bad Request", detail)
}

func UnsupportedMediaType() *Problem {
	return New(415, "unsupported-media-type", "Unsupported Media Type", "Unsupported media type")
}

func PayloadTooLarge(limit int64) *Problem {
	return New(413, "payload-too-large", "Payload Too Large",
		"Request body size exceeds maximum allowed size of "+strconv.FormatInt(limit, 10)+" bytes")
}
