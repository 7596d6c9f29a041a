// Package cors implements Cross-Origin Resource Sharing.
//
// Configuration key "cors" (order 20), app-wide or per route:
//
//	"middleware": {"cors": {
//	    "allowed_origins": ["https://app.example.com", "https://*.example.org"],  // or ["*"]
//	    "allowed_methods": ["GET", "POST"],         // default GET, HEAD, POST; "*" = any
//	    "allowed_headers": ["Content-Type"],        // default none; "*" = any
//	    "expose_headers": ["X-Total-Count"],
//	    "allow_credentials": true,
//	    "max_age": 3600,                            // seconds, sent on preflights
//	    "allow_private_network": false
//	}}
//
// Preflights (OPTIONS with Origin and Access-Control-Request-Method) are
// answered by the middleware: 204 with Access-Control-Allow-Origin, -Methods
// (the configured list), -Headers (the configured list), -Max-Age and
// -Credentials, or a 403 problem when the origin, the method or one of the
// requested headers is not allowed. Other requests with an Origin that is
// not allowed get a 403 problem ("CORS request from origin '…' not
// allowed"); same-origin requests (Origin equal to the request's own
// scheme://host) and requests without Origin pass. Allowed requests get
// Access-Control-Allow-Origin (the origin, or "*" for a wildcard
// configuration without credentials), -Credentials and -Expose-Headers.
// Vary: Origin is added whenever the answer depends on the Origin.
//
// Preflights to a path registered only for GET reach the router's automatic
// OPTIONS answer, not the route: configure cors app-wide (the app-level chain
// wraps the router and sees every request) for preflights to work.
package cors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

func init() { middleware.Register("cors", 20, New) }

// Config is the "cors" configuration value.
type Config struct {
	AllowedOrigins      []string `json:"allowed_origins"`
	AllowedMethods      []string `json:"allowed_methods"`
	AllowedHeaders      []string `json:"allowed_headers"`
	ExposeHeaders       []string `json:"expose_headers"`
	AllowCredentials    bool     `json:"allow_credentials"`
	MaxAge              *int     `json:"max_age"`
	AllowPrivateNetwork bool     `json:"allow_private_network"`
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
		return nil, fmt.Errorf("cors: %w", err)
	}
	p, err := compile(c)
	if err != nil {
		return nil, err
	}
	return p.wrap, nil
}

type wildcard struct{ prefix, suffix string } // "https://" + "*" + ".example.com"

type policy struct {
	anyOrigin    bool
	origins      map[string]bool
	wildcards    []wildcard
	anyMethod    bool
	methods      []string
	anyHeader    bool
	headers      map[string]bool // lower-case
	credentials  bool
	privateNet   bool
	varyOrigin   bool
	allowMethods []byte // "GET, POST"
	allowHeaders []byte
	expose       []byte
	maxAge       []byte
}

// Safelisted request headers a preflight may list without configuration.
var safelisted = []string{"accept", "accept-language", "content-language"}

func compile(c Config) (*policy, error) {
	p := &policy{origins: map[string]bool{}, headers: map[string]bool{}, credentials: c.AllowCredentials, privateNet: c.AllowPrivateNetwork}
	if len(c.AllowedOrigins) == 0 {
		return nil, fmt.Errorf("cors: allowed_origins is empty")
	}
	for _, o := range c.AllowedOrigins {
		switch {
		case o == "*":
			p.anyOrigin = true
		case o == "":
			return nil, fmt.Errorf("cors: empty origin in allowed_origins")
		case strings.Count(o, "*") == 1:
			i := strings.IndexByte(o, '*')
			if !strings.Contains(o[:i], "://") {
				return nil, fmt.Errorf("cors: origin pattern %q: the wildcard must be in the host", o)
			}
			p.wildcards = append(p.wildcards, wildcard{o[:i], strings.ToLower(o[i+1:])})
		case strings.Contains(o, "*"):
			return nil, fmt.Errorf("cors: origin pattern %q has more than one wildcard", o)
		default:
			p.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
		}
	}
	if p.anyOrigin && p.credentials {
		return nil, fmt.Errorf(`cors: allow_credentials cannot be combined with allowed_origins "*" (list the origins)`)
	}
	p.varyOrigin = !p.anyOrigin || p.credentials

	methods := c.AllowedMethods
	if methods == nil {
		methods = []string{"GET", "HEAD", "POST"}
	}
	for _, m := range methods {
		if m == "*" {
			p.anyMethod = true
			continue
		}
		if m == "" || !isToken(m) {
			return nil, fmt.Errorf("cors: invalid method %q", m)
		}
		p.methods = append(p.methods, m)
	}
	if !p.anyMethod {
		p.allowMethods = []byte(strings.Join(methods, ", "))
	}
	var hs []string
	for _, h := range c.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		if h == "" || !isToken(h) {
			return nil, fmt.Errorf("cors: invalid header name %q in allowed_headers", h)
		}
		p.headers[strings.ToLower(h)] = true
		hs = append(hs, h)
	}
	for _, h := range safelisted {
		p.headers[h] = true
	}
	if !p.anyHeader && len(hs) > 0 {
		p.allowHeaders = []byte(strings.Join(hs, ", "))
	}
	for _, h := range c.ExposeHeaders {
		if h == "" || (h != "*" && !isToken(h)) {
			return nil, fmt.Errorf("cors: invalid header name %q in expose_headers", h)
		}
	}
	if len(c.ExposeHeaders) > 0 {
		p.expose = []byte(strings.Join(c.ExposeHeaders, ", "))
	}
	if c.MaxAge != nil {
		if *c.MaxAge < 0 {
			return nil, fmt.Errorf("cors: max_age must not be negative")
		}
		p.maxAge = strconv.AppendInt(nil, int64(*c.MaxAge), 10)
	}
	return p, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (p *policy) originAllowed(o []byte) bool {
	if len(o) == 0 {
		return false
	}
	if p.anyOrigin {
		return true
	}
	if p.origins[string(o)] { // no allocation: map lookup with string(bytes)
		return true
	}
	if p.hasUpper(o) {
		if p.origins[strings.ToLower(string(o))] {
			return true
		}
	}
	for _, w := range p.wildcards {
		if len(o) > len(w.prefix)+len(w.suffix) && bytes.HasPrefix(o, []byte(w.prefix)) &&
			hasSuffixFold(o, w.suffix) {
			host := o[len(w.prefix) : len(o)-len(w.suffix)]
			if bytes.IndexAny(host, "/:@?#") < 0 { // the wildcard covers host labels only
				return true
			}
		}
	}
	return false
}

func (p *policy) hasUpper(b []byte) bool {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

func hasSuffixFold(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && strings.EqualFold(string(b[len(b)-len(suffix):]), suffix)
}

func (p *policy) methodAllowed(m []byte) bool {
	if p.anyMethod {
		return true
	}
	for _, x := range p.methods {
		if strings.EqualFold(x, string(m)) {
			return true
		}
	}
	return false
}

// headersAllowed checks a comma-separated Access-Control-Request-Headers.
func (p *policy) headersAllowed(list []byte) bool {
	if p.anyHeader {
		return true
	}
	var lower [64]byte
	for len(list) > 0 {
		var h []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			h, list = list[:i], list[i+1:]
		} else {
			h, list = list, nil
		}
		h = bytes.TrimSpace(h)
		if len(h) == 0 {
			continue
		}
		if len(h) > len(lower) {
			return false
		}
		for i, c := range h {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		if !p.headers[string(lower[:len(h)])] {
			return false
		}
	}
	return true
}

// sameOrigin reports whether Origin names the server itself (scheme://Host).
func sameOrigin(ctx *fasthttp.RequestCtx, origin []byte) bool {
	host := ctx.Host()
	if len(host) == 0 {
		return false
	}
	scheme := "http://"
	if ctx.IsTLS() {
		scheme = "https://"
	}
	return len(origin) == len(scheme)+len(host) && bytes.HasPrefix(origin, []byte(scheme)) &&
		bytes.EqualFold(origin[len(scheme):], host)
}

// Header names in canonical form, used without normalizing them again on
// every request.
var (
	hOrigin        = fasthttp.AppendNormalizedHeaderKey(nil, fasthttp.HeaderOrigin)
	hRequestMethod = fasthttp.AppendNormalizedHeaderKey(nil, fasthttp.HeaderAccessControlRequestMethod)
	hAllowOrigin   = fasthttp.AppendNormalizedHeaderKey(nil, fasthttp.HeaderAccessControlAllowOrigin)
	star           = []byte("*")
)

func (p *policy) wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		origin := ctx.Request.Header.PeekCanonical(hOrigin)
		if len(origin) == 0 {
			next(ctx)
			if p.varyOrigin {
				addVary(&ctx.Response.Header, "Origin")
			}
			return
		}
		if ctx.IsOptions() {
			if reqMethod := ctx.Request.Header.PeekCanonical(hRequestMethod); len(reqMethod) > 0 {
				p.preflight(ctx, origin, reqMethod)
				return
			}
		}
		if !p.originAllowed(origin) {
			if sameOrigin(ctx, origin) {
				next(ctx)
				if p.varyOrigin {
					addVary(&ctx.Response.Header, "Origin")
				}
				return
			}
			p.reject(ctx, "CORS request from origin '"+string(origin)+"' not allowed")
			return
		}
		next(ctx)
		h := &ctx.Response.Header
		p.setOrigin(h, origin)
		if len(p.expose) > 0 {
			h.SetBytesV(fasthttp.HeaderAccessControlExposeHeaders, p.expose)
		}
	}
}

func (p *policy) setOrigin(h *fasthttp.ResponseHeader, origin []byte) {
	if p.anyOrigin && !p.credentials {
		h.SetCanonical(hAllowOrigin, star)
	} else {
		h.SetCanonical(hAllowOrigin, origin)
	}
	if p.credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
	if p.varyOrigin {
		addVary(h, "Origin")
	}
}

func (p *policy) preflight(ctx *fasthttp.RequestCtx, origin, reqMethod []byte) {
	if !p.originAllowed(origin) {
		p.reject(ctx, "CORS request from origin '"+string(origin)+"' not allowed")
		return
	}
	if !p.methodAllowed(reqMethod) {
		p.reject(ctx, "CORS preflight: method '"+string(reqMethod)+"' not allowed")
		return
	}
	reqHeaders := ctx.Request.Header.Peek(fasthttp.HeaderAccessControlRequestHeaders)
	if !p.headersAllowed(reqHeaders) {
		p.reject(ctx, "CORS preflight: request headers '"+string(reqHeaders)+"' not allowed")
		return
	}
	ctx.Response.ResetBody()
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	h := &ctx.Response.Header
	p.setOrigin(h, origin)
	if p.anyMethod {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowMethods, reqMethod)
	} else {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowMethods, p.allowMethods)
	}
	switch {
	case p.anyHeader && len(reqHeaders) > 0:
		h.SetBytesV(fasthttp.HeaderAccessControlAllowHeaders, reqHeaders)
	case len(p.allowHeaders) > 0:
		h.SetBytesV(fasthttp.HeaderAccessControlAllowHeaders, p.allowHeaders)
	}
	if p.maxAge != nil {
		h.SetBytesV(fasthttp.HeaderAccessControlMaxAge, p.maxAge)
	}
	if p.privateNet && string(ctx.Request.Header.Peek("Access-Control-Request-Private-Network")) == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
}

// reject answers 403 with a problem document.
func (p *policy) reject(ctx *fasthttp.RequestCtx, detail string) {
	pr := problem.New(fasthttp.StatusForbidden, "forbidden", "Forbidden", detail)
	ctx.Response.ResetBody()
	ctx.SetStatusCode(pr.Status)
	ctx.SetContentType(problem.ContentType)
	ctx.SetBody(pr.Bytes())
	if p.varyOrigin {
		addVary(&ctx.Response.Header, "Origin")
	}
}

// addVary adds token to the response's Vary header unless it is there.
func addVary(h *fasthttp.ResponseHeader, token string) {
	for _, v := range h.PeekAll(fasthttp.HeaderVary) {
		if hasToken(v, token) {
			return
		}
	}
	h.Add(fasthttp.HeaderVary, token)
}

func hasToken(list []byte, token string) bool {
	for len(list) > 0 {
		var t []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			t, list = list[:i], list[i+1:]
		} else {
			t, list = list, nil
		}
		t = bytes.TrimSpace(t)
		if string(t) == "*" || strings.EqualFold(string(t), token) {
			return true
		}
	}
	return false
}
