package jwt

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// The fast path verifies the common token without golang-jwt's parser,
// which decodes the header and the claims with encoding/json's reflection
// (about 55 allocations and 4 µs for an HS256 token). It can only accept:
// whatever it does not handle, or would reject, goes to the parser, which
// decides and words the failure. It accepts a token only when the parser
// would accept it with the same claims:
//
//   - The header segment must be one the parser already accepted with a
//     verified signature: the header's outcome (algorithm, key) is a
//     function of its bytes, so it is remembered per exact segment, and
//     only after a success, so that forged tokens cannot fill the cache.
//   - Segments are decoded with the parser's decoder (unpadded base64url).
//   - The signature is checked as golang-jwt checks it (hmac.Equal on a
//     pooled HMAC, or the signing method's Verify for the other families,
//     every key of a key set in turn).
//   - The claims are parsed by parseClaims, which accepts a strict subset
//     of JSON (no string escapes, valid UTF-8, bounded depth, nothing after
//     the object) and builds what encoding/json builds for it:
//     map[string]any, []any, float64, string, bool, nil.
//
// Claims are then checked by checkClaims, as on the parser's path.

// maxHeaders bounds the remembered header segments (a deployment has one
// per algorithm and key id; beyond that tokens take the parser's path).
const maxHeaders = 64

// header is the remembered outcome of a header segment.
type header struct {
	method gojwt.SigningMethod
	key    any        // a key, or a gojwt.VerificationKeySet
	macs   *sync.Pool // HMAC with one key: pooled *macState keyed with it
}

// macState is a keyed HMAC and room for its sum.
type macState struct {
	h   hash.Hash
	sum [64]byte
}

type headerCache struct {
	m  atomic.Pointer[map[string]*header] // copied on write
	mu sync.Mutex
}

func (c *headerCache) get(seg []byte) *header {
	if m := c.m.Load(); m != nil {
		return (*m)[string(seg)] // no allocation
	}
	return nil
}

// remember records the outcome of a header segment the parser accepted
// with a verified signature.
func (c *headerCache) remember(seg string, t *gojwt.Token, key any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil && ((*old)[seg] != nil || len(*old) >= maxHeaders) {
		return
	}
	h := &header{method: t.Method, key: key}
	if m, ok := t.Method.(*gojwt.SigningMethodHMAC); ok && m.Hash.Available() {
		if k, ok := key.([]byte); ok {
			k = append([]byte(nil), k...)
			h.macs = &sync.Pool{New: func() any { return &macState{h: hmac.New(m.Hash.New, k)} }}
		}
	}
	next := make(map[string]*header, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[seg] = h
	c.m.Store(&next)
}

// fast verifies tok (three segments) and returns its claims, or false when
// the parser must decide.
func (v *verifier) fast(tok []byte) (map[string]any, bool) {
	d1 := indexDot(tok, 0)
	d2 := indexDot(tok, d1+1)
	h := v.headers.get(tok[:d1])
	if h == nil {
		return nil, false
	}
	if !h.verify(tok[:d2], tok[d2+1:]) {
		return nil, false
	}
	// The claims' strings alias the decoded payload: one allocation for
	// all of them. Nothing writes to it afterwards.
	payload, ok := decodeSegment(nil, tok[d1+1:d2])
	if !ok {
		return nil, false
	}
	return parseClaims(payload)
}

func indexDot(b []byte, from int) int {
	if i := bytes.IndexByte(b[from:], '.'); i >= 0 {
		return from + i
	}
	return len(b)
}

// decodeSegment decodes unpadded base64url as golang-jwt's parser does,
// into buf when it is large enough.
func decodeSegment(buf, seg []byte) ([]byte, bool) {
	enc := base64.RawURLEncoding
	if n := enc.DecodedLen(len(seg)); n > cap(buf) {
		buf = make([]byte, n)
	} else {
		buf = buf[:n]
	}
	n, err := enc.Decode(buf, seg)
	return buf[:n], err == nil
}

// verify checks the signature segment of the signed bytes.
func (h *header) verify(signed, sigSeg []byte) bool {
	if h.macs != nil {
		return h.verifyMAC(signed, sigSeg)
	}
	sig, ok := decodeSegment(nil, sigSeg)
	if !ok {
		return false
	}
	text := string(signed)
	if set, ok := h.key.(gojwt.VerificationKeySet); ok {
		for _, k := range set.Keys {
			if h.method.Verify(text, sig, k) == nil {
				return true
			}
		}
		return false
	}
	return h.method.Verify(text, sig, h.key) == nil
}

// verifyMAC is the HMAC check on stack buffers (a separate function so that
// the interface calls of verify do not move them to the heap).
func (h *header) verifyMAC(signed, sigSeg []byte) bool {
	var sigBuf [64]byte
	if base64.RawURLEncoding.DecodedLen(len(sigSeg)) > len(sigBuf) {
		return false // longer than any HMAC: the parser words the failure
	}
	sig, ok := decodeSegment(sigBuf[:0], sigSeg)
	if !ok {
		return false
	}
	st := h.macs.Get().(*macState)
	st.h.Reset()
	st.h.Write(signed)
	ok = hmac.Equal(sig, st.h.Sum(st.sum[:0]))
	h.macs.Put(st)
	return ok
}

// maxClaimsDepth bounds the nesting parseClaims follows (deeper: parser).
const maxClaimsDepth = 16

// parseClaims parses a JSON object of claims; false means the input is not
// in the subset it handles (the parser then decides). The strings alias b,
// which must not change afterwards.
func parseClaims(b []byte) (map[string]any, bool) {
	p := claimsParser{b: b}
	p.ws()
	if p.i >= len(b) || b[p.i] != '{' {
		return nil, false
	}
	v, ok := p.object(0)
	if !ok {
		return nil, false
	}
	p.ws()
	if p.i != len(b) {
		return nil, false
	}
	return v, true
}

type claimsParser struct {
	b []byte
	i int
}

func (p *claimsParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *claimsParser) value(depth int) (any, bool) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		m, ok := p.object(depth + 1)
		return m, ok
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return alias(s), true
	case c == 't':
		return true, p.word("true")
	case c == 'f':
		return false, p.word("false")
	case c == 'n':
		return nil, p.word("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *claimsParser) word(w string) bool {
	if len(p.b)-p.i < len(w) || string(p.b[p.i:p.i+len(w)]) != w {
		return false
	}
	p.i += len(w)
	return true
}

// object parses {...} at p.i (which holds '{').
func (p *claimsParser) object(depth int) (map[string]any, bool) {
	if depth > maxClaimsDepth {
		return nil, false
	}
	p.i++
	m := make(map[string]any, 8)
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[claimName(k)] = v // a repeated name: the last wins, as in encoding/json
		if end, ok := p.next('}'); !ok || end {
			return m, ok
		}
	}
}

// next reads the separator after a member or element: ',' (more follow) or
// the closing byte (end).
func (p *claimsParser) next(closing byte) (end, ok bool) {
	p.ws()
	if p.i >= len(p.b) || (p.b[p.i] != ',' && p.b[p.i] != closing) {
		return false, false
	}
	p.i++
	return p.b[p.i-1] == closing, true
}

func (p *claimsParser) array(depth int) (any, bool) {
	if depth > maxClaimsDepth {
		return nil, false
	}
	p.i++
	a := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := p.next(']'); !ok || end {
			return a, ok
		}
	}
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (encoding/json keeps such a string as it is), at p.i (a '"').
func (p *claimsParser) str() ([]byte, bool) {
	start := p.i + 1
	ascii := true
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// number reads a JSON number (RFC 8259 grammar) as encoding/json does for
// an interface value: strconv.ParseFloat, out of range refused.
func (p *claimsParser) number() (any, bool) {
	b, start, i := p.b, p.i, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64) // no allocation
	if err != nil {
		return nil, false
	}
	p.i = i
	return f, true
}

// claimName returns the registered claim names without allocating.
func claimName(k []byte) string {
	switch string(k) {
	case "iss":
		return "iss"
	case "sub":
		return "sub"
	case "aud":
		return "aud"
	case "exp":
		return "exp"
	case "nbf":
		return "nbf"
	case "iat":
		return "iat"
	case "jti":
		return "jti"
	case "scope":
		return "scope"
	case "role":
		return "role"
	case "roles":
		return "roles"
	}
	return alias(k)
}

// alias is b as a string without a copy (b is never written again).
func alias(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
