package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	"github.com/spikard/spikard-go/core/body"
	"github.com/spikard/spikard-go/core/middleware/requestid"
	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// Handler answers a request that has been routed and validated.
type Handler func(c *Ctx) error

// Ctx is the request as a handler sees it: the validated, coerced parameter
// values and body, and the response being built. A Ctx is reused across
// requests: a handler must not keep it after it returns.
type Ctx struct {
	fctx    *fasthttp.RequestCtx
	app     *App
	route   *route
	path    []params.Value
	query   []params.Value
	headers []params.Value
	cookies []params.Value
	body    any
	hasBody bool
	// bodyJSON: body was decoded from the request's JSON body as it is,
	// so AppendValues can copy the text instead of encoding body again.
	bodyJSON bool
	// bodyLazy: body is not decoded yet (only checked); Body decodes it.
	bodyLazy bool
	reqID    string
	rid      ridStore // holds the ID AppendRequestID makes
	// x is the state of hooks, dependencies, request state and background
	// work (ext.go); nil for requests that use none.
	x *ctxExt
}

// Value is one validated value with conversion helpers. The zero Value is an
// absent parameter.
type Value struct {
	v  any
	ok bool
}

// Present reports whether the request carried the value (or a default).
func (v Value) Present() bool { return v.ok }

// Any returns the value: nil, bool, string, int64, float64, json.Number,
// []any or map[string]any.
func (v Value) Any() any { return v.v }

// Int returns the value as an integer (0 when it is not a number).
func (v Value) Int() int64 {
	switch x := v.v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

// Float returns the value as a float (0 when it is not a number).
func (v Value) Float() float64 {
	switch x := v.v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return 0
}

// String returns a string value, or the value formatted as JSON text.
func (v Value) String() string {
	switch x := v.v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, _ := json.Marshal(v.v)
	return string(b)
}

// Bool returns a boolean value (false otherwise).
func (v Value) Bool() bool { b, _ := v.v.(bool); return b }

func lookup(vals []params.Value, name string) Value {
	for i := range vals {
		if vals[i].Name == name {
			return Value{vals[i].V, true}
		}
	}
	return Value{}
}

// Path returns a path parameter.
func (c *Ctx) Path(name string) Value { return lookup(c.path, name) }

// Query returns a declared query parameter.
func (c *Ctx) Query(name string) Value { return lookup(c.query, name) }

// Header returns a declared header parameter by its declared name.
func (c *Ctx) Header(name string) Value { return lookup(c.headers, name) }

// Cookie returns a declared cookie parameter.
func (c *Ctx) Cookie(name string) Value { return lookup(c.cookies, name) }

// Body returns the decoded, validated body (nil when there is none).
func (c *Ctx) Body() any {
	if c.bodyLazy {
		c.bodyLazy = false
		c.body = body.ParseJSON(c.fctx.Request.Body())
	}
	return c.body
}

// RawBody returns the request body bytes, valid until the handler returns.
func (c *Ctx) RawBody() []byte { return c.fctx.Request.Body() }

// Bind decodes the JSON body into v (after the core validated it).
func (c *Ctx) Bind(v any) error { return json.Unmarshal(c.fctx.Request.Body(), v) }

// Method is the request method.
func (c *Ctx) Method() string { return string(c.fctx.Method()) }

// URLPath is the request path after percent-decoding and normalisation.
func (c *Ctx) URLPath() string { return string(c.fctx.Path()) }

// RawHeader returns any request header, declared or not.
func (c *Ctx) RawHeader(name string) string { return string(c.fctx.Request.Header.Peek(name)) }

// RequestID is the request's ID (X-Request-ID from the client, or generated).
func (c *Ctx) RequestID() string {
	if c.reqID == "" {
		c.reqID = requestID(c.fctx)
	}
	return c.reqID
}

// AppendRequestID appends the request's ID to b. For the bindings, which
// hand the ID on as bytes: an ID made here is made into the Ctx, without an
// allocation (see ridStore).
func (c *Ctx) AppendRequestID(b []byte) []byte {
	if c.reqID != "" || c.rid.pool == nil {
		return append(b, c.RequestID()...)
	}
	out, ok, stored := requestid.AppendFromCtx(c.fctx, b, &c.rid)
	if !ok {
		return append(b, c.RequestID()...)
	}
	c.rid.held = c.rid.held || stored
	return out
}

// ridStore is the requestid.Store of a pooled Ctx. The request holds it
// until fasthttp resets the request, which is after the Ctx was released:
// a Ctx whose store is held goes back to the pool when the store is closed,
// not when it is released.
type ridStore struct {
	buf  [36]byte
	c    *Ctx
	pool *sync.Pool // nil for a Ctx that is not pooled
	held bool
}

func (s *ridStore) IDBuf() *[36]byte { return &s.buf }

func (s *ridStore) Close() error {
	if s.held {
		s.held = false
		s.pool.Put(s.c)
	}
	return nil
}

// Fast exposes the underlying fasthttp context for what the API lacks.
func (c *Ctx) Fast() *fasthttp.RequestCtx { return c.fctx }

// Values renders the validated values as one JSON document:
// {"path":{...},"query":{...},"headers":{...},"cookies":{...},"body":...};
// a group is present only when the route declares it.
func (c *Ctx) Values() []byte {
	return c.AppendValues(make([]byte, 0, 256))
}

// AppendValues appends Values() to b.
func (c *Ctx) AppendValues(b []byte) []byte {
	b = append(b, '{')
	start := len(b)
	r := c.route
	b = appendGroup(b, start, `"path":{`, c.path, len(r.path))
	b = appendGroup(b, start, `"query":{`, c.query, len(r.query))
	b = appendGroup(b, start, `"headers":{`, c.headers, len(r.headers))
	b = appendGroup(b, start, `"cookies":{`, c.cookies, len(r.cookies))
	if c.hasBody {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, `"body":`...)
		if raw, ok := c.rawJSONBody(); ok {
			b = append(b, raw...)
		} else {
			b = appendJSON(b, c.Body())
		}
	}
	if c.x != nil {
		b = c.x.appendValues(c, b)
	}
	return append(b, '}')
}

// appendGroup writes one parameter group of the values document (a plain
// function, not a closure: this runs for every request a host handles).
func appendGroup(b []byte, start int, head string, vals []params.Value, declared int) []byte {
	if declared == 0 {
		return b
	}
	if len(b) > start {
		b = append(b, ',')
	}
	b = append(b, head...)
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v.Name)
		b = append(b, ':')
		b = appendJSON(b, v.V)
	}
	return append(b, '}')
}

func (c *Ctx) rawJSONBody() ([]byte, bool) {
	if !c.bodyJSON || c.fctx == nil {
		return nil, false
	}
	return body.RawJSON(c.fctx.Request.Body())
}

// appendJSONString is appendJSON for a string, which an interface would
// have to box (an allocation per parameter name).
func appendJSONString(b []byte, s string) []byte {
	if plainASCII(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	out, _ := json.Marshal(s)
	return append(b, out...)
}

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case nil:
		return append(b, "null"...)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

// Response building.

// Status sets the response status.
func (c *Ctx) Status(code int) *Ctx { c.fctx.SetStatusCode(code); return c }

// SetHeader sets a response header.
func (c *Ctx) SetHeader(k, v string) { c.fctx.Response.Header.Set(k, v) }

// SetCookie adds a Set-Cookie header.
func (c *Ctx) SetCookie(ck *fasthttp.Cookie) { c.fctx.Response.Header.SetCookie(ck) }

// JSON answers with v encoded as JSON.
func (c *Ctx) JSON(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(status, "application/json", b)
}

// Text answers with a text/plain body.
func (c *Ctx) Text(status int, s string) error {
	return c.Send(status, "text/plain; charset=utf-8", []byte(s))
}

// NoContent answers with a status and no body.
func (c *Ctx) NoContent(status int) error {
	if c.x != nil && c.x.intercept(status, "", nil) {
		return nil
	}
	c.fctx.SetStatusCode(status)
	c.fctx.Response.ResetBody()
	return nil
}

// Send answers with raw bytes. A JSON answer on a route with a response
// schema is validated first; a breach is the server's fault (500).
func (c *Ctx) Send(status int, contentType string, b []byte) error {
	if c.x != nil && c.x.intercept(status, contentType, b) {
		return nil // a dependency factory's value (di.go)
	}
	if rs := c.route.respSch; rs != nil && c.app.validateResponses && status < 300 && isJSON(contentType) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return errResponseInvalid
		}
		if errs := rs.Validate(v, []any{"response"}); errs != nil {
			return &responseError{errs}
		}
	}
	c.fctx.SetStatusCode(status)
	if contentType != "" {
		c.fctx.SetContentType(contentType)
	}
	c.fctx.SetBody(b)
	return nil
}

func isJSON(ct string) bool {
	return len(ct) >= 16 && ct[:16] == "application/json" || bytes.Contains([]byte(ct), []byte("+json"))
}

var errResponseInvalid = errors.New("handler answered invalid JSON on a route with a response schema")

type responseError struct{ errs []problem.ErrorItem }

func (e *responseError) Error() string {
	return "response does not match the route's response_schema: " + e.errs[0].Msg
}

// plainASCII reports whether s can be written as a JSON string without escapes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
