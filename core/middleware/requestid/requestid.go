// Package requestid gives every request an ID: the client's X-Request-ID when
// it is sane (1–128 characters of [A-Za-z0-9._~:/+=@-]), otherwise a fresh
// UUID v4. Handlers and logs get it with FromCtx (the request holds it under
// the user value "spikard.request_id"; read it only through FromCtx), and it
// is sent back in the X-Request-ID response header (unless the handler
// already set that header). It is made on first use: a request whose ID
// nobody reads gets it written straight into the response header.
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
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"unsafe"

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
	// The server stores header names canonically, so the canonical form
	// is looked up and set as it is, without normalising it per request.
	pol := &policy{key: fasthttp.AppendNormalizedHeaderKey(nil, header), trust: trust}
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			// The ID is made when first asked for (FromCtx) or, when nobody
			// asked, written straight into the response header: most
			// requests never need it as a string. Until then the request
			// holds the policy that makes it (a pointer: no allocation).
			if ctx.UserValue(Key) == nil {
				ctx.SetUserValue(Key, pol)
			}
			next(ctx)
			// Answer with the ID still in the request: a disabled inner
			// request_id removed it. A handler's own header wins.
			cur := ctx.UserValue(Key)
			if cur == nil || len(ctx.Response.Header.PeekCanonical(pol.key)) > 0 {
				return
			}
			if cur == any(pol) {
				pol.answer(ctx) // nobody read it: no need to store it
				return
			}
			if st, ok := cur.(Store); ok {
				ctx.Response.Header.SetCanonical(pol.key, st.IDBuf()[:])
				return
			}
			// Stored, or an outer request_id's policy (FromCtx makes the ID
			// now, so that both headers carry the same one).
			if id := FromCtx(ctx); id != "" {
				ctx.Response.Header.SetCanonical(pol.key, unsafe.Slice(unsafe.StringData(id), len(id)))
			}
		}
	}, nil
}

// policy is how one request_id middleware finds a request's ID: the
// client's, in its header when trusted and sane, or a fresh UUID.
type policy struct {
	key   []byte // canonical header name
	trust bool
}

// incoming is the client's ID when it may be propagated, else nil.
func (p *policy) incoming(ctx *fasthttp.RequestCtx) []byte {
	if v := ctx.Request.Header.PeekCanonical(p.key); p.trust && Valid(v) {
		return v
	}
	return nil
}

// make stores the request's ID (FromCtx asked for it) and returns it.
func (p *policy) make(ctx *fasthttp.RequestCtx) string {
	if v := p.incoming(ctx); v != nil {
		id := &idString{s: string(v)}
		ctx.SetUserValue(Key, id)
		return id.s
	}
	id := newIDValue()
	AppendID(id.b[:0])
	ctx.SetUserValue(Key, id)
	return id.String()
}

// answer writes an ID nobody asked for into the response header, without
// storing it.
func (p *policy) answer(ctx *fasthttp.RequestCtx) {
	if v := p.incoming(ctx); v != nil {
		ctx.Response.Header.SetCanonical(p.key, v)
		return
	}
	var b [36]byte
	ctx.Response.Header.SetCanonical(p.key, AppendID(b[:0]))
}

// idValue is a generated ID as stored in the request: its text only, no
// pointer, so that the slabs it comes from are never scanned by the GC. An
// interface holds a pointer to it without boxing it again.
type idValue struct{ b [36]byte }

func (v *idValue) String() string { return unsafe.String(&v.b[0], len(v.b)) }

// idString is a client's ID as stored in the request (up to MaxLen bytes).
type idString struct{ s string }

// idSlab hands idValues out 64 at a time: one allocation (2.3 KiB, no
// pointers) per 64 requests instead of one per request. A slab lives as long
// as any of its IDs is referenced; IDs die with their requests, so that is
// about as long as one request.
type idSlab struct {
	vals [64]idValue
	next int
}

var slabs = sync.Pool{New: func() any { return new(idSlab) }}

func newIDValue() *idValue {
	sl := slabs.Get().(*idSlab)
	v := &sl.vals[sl.next]
	if sl.next++; sl.next < len(sl.vals) {
		slabs.Put(sl)
	}
	return v
}

// A Store is memory for one request's ID that lives until the request
// ends: the request holds it as a user value, and fasthttp closes the user
// values that are io.Closers when it resets the request (after that the
// store may be reused).
type Store interface {
	io.Closer
	IDBuf() *[36]byte
}

// AppendFromCtx appends the request's ID to dst; ok: a request_id
// middleware gave the request one. An ID not made yet is made into st,
// which the request then holds (stored): no allocation, for callers that
// want the ID as bytes.
func AppendFromCtx(ctx *fasthttp.RequestCtx, dst []byte, st Store) (out []byte, ok, stored bool) {
	switch v := ctx.UserValue(Key).(type) {
	case *policy:
		if v.incoming(ctx) != nil {
			return append(dst, v.make(ctx)...), true, false
		}
		b := st.IDBuf()
		AppendID(b[:0])
		ctx.SetUserValue(Key, st)
		return append(dst, b[:]...), true, true
	case Store:
		return append(dst, v.IDBuf()[:]...), true, false
	}
	id := FromCtx(ctx)
	return append(dst, id...), id != "", false
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
	switch v := ctx.UserValue(Key).(type) {
	case *policy:
		return v.make(ctx)
	case *idValue:
		return v.String()
	case Store: // reused once the request ends: a copy
		return string(v.IDBuf()[:])
	case *idString:
		return v.s
	case string: // stored by code outside this package
		return v
	}
	return ""
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
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4 (byte 6, high nibble)
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10 (byte 8, top bits)
	var out [36]byte
	putHex(out[0:8], hi>>32, 4)
	out[8] = '-'
	putHex(out[9:13], hi>>16, 2)
	out[13] = '-'
	putHex(out[14:18], hi, 2)
	out[18] = '-'
	putHex(out[19:23], lo>>48, 2)
	out[23] = '-'
	putHex(out[24:36], lo, 6)
	return append(dst, out[:]...)
}

// putHex writes the low n bytes of x, most significant first, as 2n
// lower-case hex digits, a byte pair per table lookup.
func putHex(dst []byte, x uint64, n int) {
	_ = dst[2*n-1]
	for i := n - 1; i >= 0; i-- {
		p := hexPairs[x&0xff]
		dst[2*i], dst[2*i+1] = byte(p>>8), byte(p)
		x >>= 8
	}
}

var hexPairs = func() (t [256]uint16) {
	const hex = "0123456789abcdef"
	for i := range t {
		t[i] = uint16(hex[i>>4])<<8 | uint16(hex[i&0xf])
	}
	return t
}()
