// Package compress compresses response bodies with brotli or gzip, chosen
// by the request's Accept-Encoding.
//
// Configuration key "compression" (order 70), app-wide or per route:
//
//	"middleware": {"compression": {"gzip": true, "brotli": true, "min_size": 1024, "quality": 6}}
//
// Members: gzip, brotli (bool, default true), min_size (bytes, default 1024:
// smaller bodies are sent as they are), quality (0–11; gzip uses 1–9, values
// outside are clamped; default gzip 6, brotli 4), content_types (the media
// types to compress, replacing the default list: "type/subtype", "type/*"
// or "*/*+suffix").
//
// By default text/* (except text/event-stream), JSON, XML, JavaScript,
// SVG, WebAssembly and font types are compressed; images, audio, video and
// archives are not. A response is left alone when it is streamed, already
// has a Content-Encoding, is a 204/304/206 or has a Content-Range, answers a
// HEAD or a Range request, carries Cache-Control: no-transform, or when
// compressing would not make it smaller. Accept-Encoding q-values are
// honoured (q=0 refuses a coding, "*" stands for the codings not listed);
// on a tie brotli wins. A compressible response gets Vary: Accept-Encoding
// whatever the client accepted; a compressed one gets Content-Encoding, its
// new Content-Length, and a strong ETag made weak.
//
// Compression uses fasthttp's pooled gzip (klauspost/compress) and brotli
// writers; the output buffer is swapped into the response, so the hot path
// does not allocate.
package compress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

func init() { middleware.Register("compression", 70, New) }

// Config is the "compression" configuration value.
type Config struct {
	Gzip         *bool    `json:"gzip"`
	Brotli       *bool    `json:"brotli"`
	MinSize      *int     `json:"min_size"`
	Quality      *int     `json:"quality"`
	ContentTypes []string `json:"content_types"`
}

// DefaultMinSize is the smallest body compressed when min_size is not set.
const DefaultMinSize = 1024

// DefaultContentTypes are compressed when content_types is not set.
var DefaultContentTypes = []string{
	"text/*", "application/json", "*/*+json", "application/xml", "*/*+xml",
	"application/javascript", "application/x-javascript", "application/ecmascript",
	"application/x-ndjson", "application/x-www-form-urlencoded", "application/graphql",
	"application/wasm", "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
	"font/ttf", "font/otf", "application/vnd.ms-fontobject", "application/x-font-ttf",
	"application/x-yaml", "application/yaml", "application/toml", "application/x-sh",
}

// never are not compressed even when a pattern matches them: streams.
var never = map[string]bool{"text/event-stream": true}

// New builds the middleware from its raw configuration value.
func New(raw json.RawMessage) (middleware.Middleware, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}
	p, err := compile(c)
	if err != nil {
		return nil, err
	}
	if !p.gzip && !p.br {
		return nil, nil
	}
	return p.wrap, nil
}

type policy struct {
	gzip, br         bool
	gzipLevel, brLvl int
	minSize          int
	exact            map[string]bool
	prefixes         []string // "text/"
	suffixes         []string // "+json"
	any              bool
}

func compile(c Config) (*policy, error) {
	p := &policy{gzip: true, br: true, gzipLevel: 6, brLvl: 4, minSize: DefaultMinSize, exact: map[string]bool{}}
	if c.Gzip != nil {
		p.gzip = *c.Gzip
	}
	if c.Brotli != nil {
		p.br = *c.Brotli
	}
	if c.MinSize != nil {
		if *c.MinSize < 0 {
			return nil, fmt.Errorf("compression: min_size must not be negative")
		}
		p.minSize = *c.MinSize
	}
	if c.Quality != nil {
		q := *c.Quality
		if q < 0 || q > 11 {
			return nil, fmt.Errorf("compression: quality must be between 0 and 11")
		}
		p.brLvl = q
		p.gzipLevel = min(max(q, 1), 9)
	}
	types := DefaultContentTypes
	if c.ContentTypes != nil {
		types = c.ContentTypes
	}
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "*/*" || t == "*":
			p.any = true
		case strings.HasPrefix(t, "*/*+") && len(t) > 4:
			p.suffixes = append(p.suffixes, t[3:])
		case strings.HasSuffix(t, "/*") && len(t) > 2 && !strings.Contains(t[:len(t)-2], "/"):
			p.prefixes = append(p.prefixes, t[:len(t)-1])
		case strings.Count(t, "/") == 1 && !strings.ContainsAny(t, "*; ") && t[0] != '/' && t[len(t)-1] != '/':
			p.exact[t] = true
		default:
			return nil, fmt.Errorf("compression: content type pattern %q: want type/subtype, type/* or */*+suffix", t)
		}
	}
	return p, nil
}

// compressible reports whether a Content-Type is in the allow list.
func (p *policy) compressible(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	if len(ct) == 0 {
		return false
	}
	var lower [128]byte
	if len(ct) > len(lower) {
		return false
	}
	for i, c := range ct {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	mt := lower[:len(ct)]
	if never[string(mt)] {
		return false
	}
	if p.any || p.exact[string(mt)] {
		return true
	}
	for _, pre := range p.prefixes {
		if bytes.HasPrefix(mt, []byte(pre)) {
			return true
		}
	}
	for _, suf := range p.suffixes {
		if bytes.HasSuffix(mt, []byte(suf)) {
			return true
		}
	}
	return false
}

// Codings chosen by Negotiate.
const (
	None = iota
	Gzip
	Brotli
)

// Negotiate picks the coding for an Accept-Encoding value among the allowed
// ones: the highest q-value wins, brotli on a tie; q=0 refuses a coding and
// "*" stands for the codings not named.
func Negotiate(ae []byte, allowGzip, allowBr bool) int {
	qBr, qGz, qAny := -1, -1, -1
	for len(ae) > 0 {
		var item []byte
		if i := bytes.IndexByte(ae, ','); i >= 0 {
			item, ae = ae[:i], ae[i+1:]
		} else {
			item, ae = ae, nil
		}
		coding, params := item, []byte(nil)
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			coding, params = item[:i], item[i+1:]
		}
		coding = bytes.TrimSpace(coding)
		q := parseQ(params)
		switch {
		case bytes.EqualFold(coding, []byte("br")):
			qBr = q
		case bytes.EqualFold(coding, []byte("gzip")), bytes.EqualFold(coding, []byte("x-gzip")):
			qGz = max(qGz, q)
		case len(coding) == 1 && coding[0] == '*':
			qAny = q
		}
	}
	if qBr < 0 {
		qBr = qAny
	}
	if qGz < 0 {
		qGz = qAny
	}
	if !allowBr {
		qBr = 0
	}
	if !allowGzip {
		qGz = 0
	}
	switch {
	case qBr > 0 && qBr >= qGz:
		return Brotli
	case qGz > 0:
		return Gzip
	}
	return None
}

// parseQ reads "q=0.5" among parameters, in thousandths (1000 when absent,
// 0 when malformed so that a broken value never selects a coding).
func parseQ(params []byte) int {
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := bytes.TrimSpace(p[2:])
		if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
			return 0
		}
		q := int(v[0]-'0') * 1000
		if len(v) > 1 {
			if v[1] != '.' {
				return 0
			}
			scale := 100
			for _, c := range v[2:] {
				if c < '0' || c > '9' {
					return 0
				}
				q += int(c-'0') * scale
				scale /= 10
			}
		}
		if q > 1000 {
			return 0
		}
		return q
	}
	return 1000
}

// Request header names in canonical form, looked up without normalizing
// them again on every request.
var (
	hRange          = fasthttp.AppendNormalizedHeaderKey(nil, fasthttp.HeaderRange)
	hAcceptEncoding = fasthttp.AppendNormalizedHeaderKey(nil, fasthttp.HeaderAcceptEncoding)
)

type buffer struct{ b []byte }

var buffers = sync.Pool{New: func() any { return new(buffer) }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 1 << 20

func (p *policy) wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		resp := &ctx.Response
		switch sc := resp.StatusCode(); {
		case sc < 200, sc == fasthttp.StatusNoContent, sc == fasthttp.StatusNotModified, sc == fasthttp.StatusPartialContent:
			return
		}
		if resp.IsBodyStream() || ctx.IsHead() {
			return
		}
		// The size first: most small answers stop here, before any
		// header lookup.
		body := resp.Body()
		if len(body) < p.minSize || len(body) == 0 {
			return
		}
		h := &resp.Header
		if len(h.ContentEncoding()) > 0 || h.Peek(fasthttp.HeaderContentRange) != nil ||
			ctx.Request.Header.PeekCanonical(hRange) != nil || !p.compressible(h.ContentType()) {
			return
		}
		if cc := h.Peek(fasthttp.HeaderCacheControl); cc != nil && containsFold(cc, "no-transform") {
			return
		}
		addVary(h, "Accept-Encoding")
		coding := Negotiate(ctx.Request.Header.PeekCanonical(hAcceptEncoding), p.gzip, p.br)
		if coding == None {
			return
		}
		buf := buffers.Get().(*buffer)
		var out []byte
		if coding == Brotli {
			out = fasthttp.AppendBrotliBytesLevel(buf.b[:0], body, p.brLvl)
		} else {
			out = fasthttp.AppendGzipBytesLevel(buf.b[:0], body, p.gzipLevel)
		}
		if len(out) >= len(body) {
			buf.b = out[:0]
			buffers.Put(buf)
			return
		}
		old := resp.SwapBody(out)
		if cap(old) <= maxPooled {
			buf.b = old[:0]
		} else {
			buf.b = nil
		}
		buffers.Put(buf)
		if coding == Brotli {
			h.SetContentEncoding("br")
		} else {
			h.SetContentEncoding("gzip")
		}
		if et := h.Peek(fasthttp.HeaderETag); len(et) > 0 && et[0] == '"' {
			var tmp [256]byte
			h.SetBytesV(fasthttp.HeaderETag, append(append(tmp[:0], "W/"...), et...))
		}
	}
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return true
		}
	}
	return false
}

// addVary adds token to the response's Vary header unless it is there.
func addVary(h *fasthttp.ResponseHeader, token string) {
	for _, v := range h.PeekAll(fasthttp.HeaderVary) {
		for len(v) > 0 {
			var t []byte
			if i := bytes.IndexByte(v, ','); i >= 0 {
				t, v = v[:i], v[i+1:]
			} else {
				t, v = v, nil
			}
			t = bytes.TrimSpace(t)
			if (len(t) == 1 && t[0] == '*') || bytes.EqualFold(t, []byte(token)) {
				return
			}
		}
	}
	h.Add(fasthttp.HeaderVary, token)
}
