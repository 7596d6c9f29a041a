// Package requestid gives every request an ID: the client's X-Request-ID when
// it is sane (1–128 characters of [A-Za-z0-9._~:/+=@-]), otherwise a fresh
// UUID v4. The ID is stored in the request (FromCtx, user value
// "spikard.request_id") before the handler runs, so handlers and logs see it,
// and is sent back in the X-Request-ID response header (unless the handler
// already set that header).
//
// Configuration key "request_id" (order 10, outermost), app-wide or per route:
//
//	"middleware": {"request_id": {}}                  // on (the default)
//	"middleware": {"request_id": {"enabled": false}}  // off
//
// Members: enabled (bool, default true), header (string, default
// "X-Request-ID"), trust_incoming (bool, default true: false always
// generates a new ID).
//
// A route-level {"enabled": false} also silences an app-wide request_id: it
// removes the ID from the request before the handler runs, and an outer
// request_id middleware only answers with the ID that is still in the
// request when the handler returns. A route-level request_id inside an
// app-wide one reuses the outer ID.
package requestid

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

// Key is the user value under which the request ID is stored.
const Key = "spikard.request_id"

// DefaultHeader is the request and response header carrying the ID.
const DefaultHeader = "X-Request-ID"

// MaxLen is the longest client-supplied ID that is propagated.
const MaxLen = 128

func init() { middleware.Register("request_id", 10, New) }

// Config is the "request_id" configuration value.
type Config struct {
	Enabled       *bool  `json:"enabled"`
	Header        string `json:"header"`
	TrustIncoming *bool  `json:"trust_incoming"`
}

// New builds the middleware from its raw configuration value (null and {}
// mean enabled with defaults).
func New(raw json.RawMessage) (middleware.Middleware, error) {
	var c Config
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("request_id: %w", err)
		}
	}
	return Build(c)
}

// Build makes the middleware from a decoded configuration.
func Build(c Config) (middleware.Middleware, error) {
	if c.Enabled != nil && !*c.Enabled {
		return disabled, nil
	}
	header := DefaultHeader
	if c.Header != "" {
		for i := 0; i < len(c.Header); i++ {
			if !isTokenChar(c.Header[i]) {
				return nil, fmt.Errorf("request_id: header %q is not a valid header name", c.Header)
			}
		}
		header = c.Header
	}
	trust := c.TrustIncoming == nil || *c.TrustIncoming
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			id, ok := ctx.UserValue(Key).(string)
			if !ok || id == "" {
				if v := ctx.Request.Header.Peek(header); trust && Valid(v) {
					id = string(v)
				} else {
					id = NewID()
				}
				ctx.SetUserValue(Key, id)
			}
			next(ctx)
			// Answer with the ID still in the request: a disabled inner
			// request_id removed it. A handler's own header wins.
			if cur, ok := ctx.UserValue(Key).(string); ok && cur != "" &&
				len(ctx.Response.Header.Peek(header)) == 0 {
				ctx.Response.Header.Set(header, cur)
			}
		}
	}, nil
}

// disabled removes any ID an outer request_id stored, so that neither the
// handler nor the outer middleware sees or sends one.
func disabled(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.RemoveUserValue(Key)
		next(ctx)
		ctx.RemoveUserValue(Key)
	}
}

// FromCtx returns the request's ID, or "" when no request_id middleware ran.
func FromCtx(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue(Key).(string)
	return id
}

// Valid reports whether a client-supplied ID may be propagated: 1 to MaxLen
// characters from [A-Za-z0-9._~:/+=@-].
func Valid(v []byte) bool {
	if len(v) == 0 || len(v) > MaxLen {
		return false
	}
	for _, c := range v {
		if !idChar[c] {
			return false
		}
	}
	return true
}

var idChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "._~:/+=@-" {
		t[c] = true
	}
	return t
}()

func isTokenChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// NewID returns a random (version 4) UUID in its canonical lower-case form.
func NewID() string {
	var b [36]byte
	AppendID(b[:0])
	return string(b[:])
}

// AppendID appends a random UUID v4 to dst. The bits come from the runtime's
// per-thread ChaCha8 generator (math/rand/v2): unpredictable enough for an
// ID that only has to be unique, and an order of magnitude cheaper per
// request than crypto/rand. IDs are not secrets and must not be used as such.
func AppendID(dst []byte) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var out [36]byte
	for i, x := range u {
		p := idPos[i]
		out[p], out[p+1] = hex[x>>4], hex[x&0x0f]
	}
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return append(dst, out[:]...)
}

// idPos is where each byte's two hex digits go in the 36-character form
// (dashes at 8, 13, 18 and 23).
var idPos = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}
