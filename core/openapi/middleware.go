package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Middleware configuration keys this package reads (see core/middleware).
const (
	keyJWT       = "jwt_auth"
	keyAPIKey    = "api_key_auth"
	keyRateLimit = "rate_limit"
	keyTimeout   = "request_timeout"
	keyBodyLimit = "body_limit"
)

// effects is what a route's middleware (app-wide and its own) adds to the
// operation: security requirements and framework answers.
type effects struct {
	// auth lists every authentication middleware instance; each instance is
	// a list of alternative schemes (one must be satisfied), and every
	// instance must be satisfied.
	auth      [][]schemeDef
	forbidden bool // jwt_auth with required_claims answers 403
	rateLimit bool
	rl503     bool // rate_limit with fail_open false answers 503 when its store fails
	timeout   bool
	bodyLimit bool
}

// schemeDef is a security scheme, identified by its content.
type schemeDef struct {
	kind string // "bearer" or "apiKey"
	in   string // apiKey: "header" or "query"
	name string // apiKey: the header or query parameter name
}

func (s schemeDef) key() string { return s.kind + "\x00" + s.in + "\x00" + s.name }

// readMiddleware reads a "middleware" object. Values this package does not
// understand are left to the middleware factories, which reject bad
// configurations when the app is built.
func readMiddleware(raw json.RawMessage, into *effects) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	for k, v := range m {
		switch k {
		case keyJWT:
			var c struct {
				Enabled        *bool    `json:"enabled"`
				RequiredClaims []string `json:"required_claims"`
			}
			_ = json.Unmarshal(v, &c)
			if c.Enabled != nil && !*c.Enabled {
				continue
			}
			into.auth = append(into.auth, []schemeDef{{kind: "bearer"}})
			into.forbidden = into.forbidden || len(c.RequiredClaims) > 0
		case keyAPIKey:
			var c struct {
				Enabled    *bool           `json:"enabled"`
				HeaderName *string         `json:"header_name"`
				QueryParam json.RawMessage `json:"query_param"`
			}
			_ = json.Unmarshal(v, &c)
			if c.Enabled != nil && !*c.Enabled {
				continue
			}
			header := "X-API-Key"
			if c.HeaderName != nil {
				header = strings.TrimSpace(*c.HeaderName)
			}
			query := []string{"api_key"}
			if len(c.QueryParam) > 0 {
				query = nil
				var one string
				var many []string
				if json.Unmarshal(c.QueryParam, &one) == nil {
					many = []string{one}
				} else {
					_ = json.Unmarshal(c.QueryParam, &many)
				}
				for _, q := range many {
					if q != "" {
						query = append(query, q)
					}
				}
			}
			var alts []schemeDef
			if header != "" {
				alts = append(alts, schemeDef{kind: "apiKey", in: "header", name: header})
			}
			for _, q := range query {
				alts = append(alts, schemeDef{kind: "apiKey", in: "query", name: q})
			}
			if len(alts) > 0 {
				into.auth = append(into.auth, alts)
			}
		case keyRateLimit:
			var c struct {
				Enabled  *bool `json:"enabled"`
				FailOpen *bool `json:"fail_open"`
			}
			_ = json.Unmarshal(v, &c)
			if c.Enabled != nil && !*c.Enabled {
				continue
			}
			into.rateLimit = true
			into.rl503 = into.rl503 || (c.FailOpen != nil && !*c.FailOpen)
		case keyTimeout:
			if s := bytes.TrimSpace(v); len(s) > 0 && string(s) != "null" {
				into.timeout = true
			}
		case keyBodyLimit:
			var c struct {
				MaxBytes *int64 `json:"max_bytes"`
			}
			_ = json.Unmarshal(v, &c)
			if c.MaxBytes != nil && *c.MaxBytes > 0 {
				into.bodyLimit = true
			}
		}
	}
	// Map iteration order must not leak into the output.
	sort.Slice(into.auth, func(i, j int) bool { return altsKey(into.auth[i]) < altsKey(into.auth[j]) })
	return nil
}

func altsKey(alts []schemeDef) string {
	var b strings.Builder
	for _, a := range alts {
		b.WriteString(a.key())
		b.WriteByte('\x01')
	}
	return b.String()
}

// schemeNames gives every scheme used by the app a stable component name:
// bearerAuth for JWT; apiKeyHeader / apiKeyQuery when the app uses one
// header (or one query parameter) name, else apiKeyHeader_<name>.
func schemeNames(all map[string]schemeDef) map[string]string {
	byBase := map[string][]schemeDef{}
	for _, s := range all {
		base := "bearerAuth"
		if s.kind == "apiKey" {
			base = "apiKey" + strings.ToUpper(s.in[:1]) + s.in[1:]
		}
		byBase[base] = append(byBase[base], s)
	}
	names := map[string]string{}
	taken := map[string]bool{}
	bases := make([]string, 0, len(byBase))
	for b := range byBase {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, base := range bases {
		list := byBase[base]
		sort.Slice(list, func(i, j int) bool { return list[i].key() < list[j].key() })
		for _, s := range list {
			n := base
			if len(list) > 1 {
				n = base + "_" + componentName(s.name)
			}
			n = uniqueName(n, taken)
			taken[n] = true
			names[s.key()] = n
		}
	}
	return names
}

func (s schemeDef) object() securityScheme {
	if s.kind == "bearer" {
		return securityScheme{
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "JSON Web Token sent as `Authorization: Bearer <token>`.",
		}
	}
	where := "header"
	if s.in == "query" {
		where = "query parameter"
	}
	return securityScheme{
		Type: "apiKey", In: s.in, Name: s.name,
		Description: "API key sent in the `" + s.name + "` " + where + ".",
	}
}

// requirements expands the instances (all required) of their alternatives
// (one required) into OpenAPI's list of alternative requirement objects.
func requirements(auth [][]schemeDef, names map[string]string) []map[string][]string {
	if len(auth) == 0 {
		return nil
	}
	combos := [][]string{{}}
	for _, alts := range auth {
		var next [][]string
		for _, c := range combos {
			for _, a := range alts {
				n := append(append([]string(nil), c...), names[a.key()])
				next = append(next, n)
			}
		}
		combos = next
	}
	var out []map[string][]string
	seen := map[string]bool{}
	for _, c := range combos {
		req := map[string][]string{}
		for _, n := range c {
			req[n] = []string{}
		}
		keys := make([]string, 0, len(req))
		for k := range req {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		id := strings.Join(keys, "\x00")
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, req)
	}
	return out
}
