// Package apikey is the "api_key_auth" middleware: it authenticates
// requests by a static API key sent in a header or, failing that, a query
// parameter.
//
// # Configuration
//
// The value of the "api_key_auth" key of a "middleware" object (app-wide or
// per route). Unknown members are a build error.
//
//	{
//	  "enabled": true,                 // false: no middleware (default true)
//	  "keys": ["sk_live_a", "sk_b"],   // accepted keys (at least one, unless deprecated_keys has one)
//	  "deprecated_keys": ["sk_old"],   // still accepted, answered with X-API-Key-Deprecated: true
//	  "header_name": "X-API-Key",      // header carrying the key (default X-API-Key; "" disables)
//	  "query_param": "api_key",        // string or list of query parameter names tried when the
//	                                   // header is absent (default "api_key"; "" or [] disables)
//	  "realm": "api"                   // realm of the WWW-Authenticate challenge (optional)
//	}
//
// The header wins over the query parameter. Keys are compared in constant
// time: the presented key's SHA-256 digest is compared with every
// configured key's digest without stopping at a match, so neither the
// position of the matching key nor key lengths leak through timing.
//
// # Responses
//
// Failures are RFC 9457 problem documents, type
// https://spikard.dev/errors/unauthorized, status 401, with a
// WWW-Authenticate: APIKey challenge naming where the key goes:
//
//   - no key: "Missing API key" / "Expected 'X-API-Key' header or 'api_key'
//     query parameter with valid API key" (the names are the configured ones).
//   - unknown key: "Invalid API key" / "The provided API key is not valid".
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strings"

	"github.com/spikard/spikard-go/core/middleware"
	"github.com/spikard/spikard-go/core/middleware/auth/internal/authutil"
	"github.com/valyala/fasthttp"
)

// Key is the middleware's configuration key.
const Key = "api_key_auth"

// Order places the middleware in the chain: right after jwt_auth (40), so
// that when both are configured a bearer token's failure is reported first.
const Order = 41

// DeprecatedHeader is set on responses to requests authenticated by a
// deprecated key.
const DeprecatedHeader = "X-API-Key-Deprecated"

func init() { middleware.Register(Key, Order, New) }

type config struct {
	Enabled        *bool                `json:"enabled"`
	Keys           []string             `json:"keys"`
	DeprecatedKeys []string             `json:"deprecated_keys"`
	HeaderName     *string              `json:"header_name"`
	QueryParam     *authutil.StringList `json:"query_param"`
	Realm          string               `json:"realm"`
}

type checker struct {
	digests    [][sha256.Size]byte
	deprecated []bool
	header     string
	query      []string

	missing, invalid *authutil.Failure
}

// New builds the middleware from its configuration (the registry's factory).
func New(raw json.RawMessage) (middleware.Middleware, error) {
	c, err := build(raw)
	if err != nil || c == nil {
		return nil, err
	}
	return c.wrap, nil
}

func build(raw json.RawMessage) (*checker, error) {
	var cfg config
	if err := authutil.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if cfg.Enabled != nil && !*cfg.Enabled {
		return nil, nil
	}
	c := &checker{header: "X-API-Key", query: []string{"api_key"}}
	if cfg.HeaderName != nil {
		c.header = strings.TrimSpace(*cfg.HeaderName)
	}
	if cfg.QueryParam != nil {
		c.query = c.query[:0]
		for _, q := range *cfg.QueryParam {
			if q != "" {
				c.query = append(c.query, q)
			}
		}
	}
	if c.header == "" && len(c.query) == 0 {
		return nil, errors.New("header_name and query_param are both disabled: the key has nowhere to go")
	}
	add := func(keys []string, deprecated bool) error {
		for _, k := range keys {
			if k == "" {
				return errors.New("keys holds an empty key")
			}
			c.digests = append(c.digests, sha256.Sum256([]byte(k)))
			c.deprecated = append(c.deprecated, deprecated)
		}
		return nil
	}
	if err := add(cfg.Keys, false); err != nil {
		return nil, err
	}
	if err := add(cfg.DeprecatedKeys, true); err != nil {
		return nil, err
	}
	if len(c.digests) == 0 {
		return nil, errors.New("keys is empty: no request could ever be accepted")
	}

	var where []string
	if c.header != "" {
		where = append(where, "'"+c.header+"' header")
	}
	for _, q := range c.query {
		where = append(where, "'"+q+"' query parameter")
	}
	challenge := authutil.Challenge("APIKey", "realm", cfg.Realm, "header", c.header,
		"query", strings.Join(c.query, " "))
	c.missing = (&authutil.Failure{
		Status:    fasthttp.StatusUnauthorized,
		Title:     "Missing API key",
		Detail:    "Expected " + orList(where) + " with valid API key",
		Challenge: challenge,
	}).Prerender()
	c.invalid = (&authutil.Failure{
		Status:    fasthttp.StatusUnauthorized,
		Title:     "Invalid API key",
		Detail:    "The provided API key is not valid",
		Challenge: challenge,
	}).Prerender()
	return c, nil
}

func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func (c *checker) wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		key := c.presented(ctx)
		if len(key) == 0 {
			c.missing.Write(ctx)
			return
		}
		idx := c.match(key)
		if idx < 0 {
			c.invalid.Write(ctx)
			return
		}
		next(ctx)
		if c.deprecated[idx] {
			ctx.Response.Header.Set(DeprecatedHeader, "true")
		}
	}
}

// presented returns the key of the request: the header, else the first
// non-empty configured query parameter.
func (c *checker) presented(ctx *fasthttp.RequestCtx) []byte {
	if c.header != "" {
		if v := ctx.Request.Header.Peek(c.header); len(v) > 0 {
			return v
		}
	}
	if len(c.query) > 0 {
		args := ctx.QueryArgs()
		for _, q := range c.query {
			if v := args.Peek(q); len(v) > 0 {
				return v
			}
		}
	}
	return nil
}

// match returns the index of the configured key equal to key, or -1. Every
// configured digest is compared, whatever matched.
func (c *checker) match(key []byte) int {
	d := sha256.Sum256(key)
	found := -1
	for i := range c.digests {
		eq := subtle.ConstantTimeCompare(d[:], c.digests[i][:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}
