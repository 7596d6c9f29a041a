// Package router turns Spikard route patterns into fasthttp/router patterns
// and knows the implicit schema each typed segment carries.
//
// Accepted segment forms: {id}, {id:int}, {id:uuid}, {d:date}, {rest:path}
// and the Express/Sinatra form :id. Trailing slashes are significant: /a and
// /a/ are different routes (see config.Server.TrailingSlash).
package router

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Segment is one path parameter found in a pattern.
type Segment struct {
	Name string
	// Schema is the implicit JSON Schema of a typed segment ({id:int}), nil
	// for an untyped one.
	Schema json.RawMessage
	// CatchAll is set for {rest:path}: it matches the rest of the path.
	CatchAll bool
}

var typeSchemas = map[string]string{
	"int":      `{"type":"integer"}`,
	"integer":  `{"type":"integer"}`,
	"float":    `{"type":"number"}`,
	"number":   `{"type":"number"}`,
	"bool":     `{"type":"boolean"}`,
	"str":      `{"type":"string"}`,
	"string":   `{"type":"string"}`,
	"uuid":     `{"type":"string","format":"uuid"}`,
	"date":     `{"type":"string","format":"date"}`,
	"datetime": `{"type":"string","format":"date-time"}`,
	"time":     `{"type":"string","format":"time"}`,
	"path":     `{"type":"string"}`,
}

// Translate converts a Spikard pattern into a fasthttp/router pattern and
// lists its parameters in order.
func Translate(pattern string) (string, []Segment, error) {
	if pattern == "" || pattern[0] != '/' {
		return "", nil, fmt.Errorf("route %q: a path starts with /", pattern)
	}
	parts := strings.Split(pattern[1:], "/")
	var segs []Segment
	seen := map[string]bool{}
	for i, part := range parts {
		var name, typ string
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			inner := part[1 : len(part)-1]
			name, typ, _ = strings.Cut(inner, ":")
		case strings.HasPrefix(part, ":") && len(part) > 1:
			name = part[1:]
		case strings.ContainsAny(part, "{}"):
			return "", nil, fmt.Errorf("route %q: a parameter must fill a whole segment: %q", pattern, part)
		default:
			continue
		}
		if name == "" || !validName(name) {
			return "", nil, fmt.Errorf("route %q: bad parameter name %q", pattern, name)
		}
		if seen[name] {
			return "", nil, fmt.Errorf("route %q: parameter %q appears twice", pattern, name)
		}
		seen[name] = true
		seg := Segment{Name: name}
		if typ != "" {
			sch, ok := typeSchemas[typ]
			if !ok {
				return "", nil, fmt.Errorf("route %q: unknown parameter type %q (int, float, bool, str, uuid, date, datetime, time, path)", pattern, typ)
			}
			seg.Schema = json.RawMessage(sch)
		}
		if typ == "path" {
			if i != len(parts)-1 {
				return "", nil, fmt.Errorf("route %q: {%s:path} must be the last segment", pattern, name)
			}
			seg.CatchAll = true
			parts[i] = "{" + name + ":*}"
		} else {
			parts[i] = "{" + name + "}"
		}
		segs = append(segs, seg)
	}
	return "/" + strings.Join(parts, "/"), segs, nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// OpenAPIPath renders a pattern in OpenAPI's {name} templating.
func OpenAPIPath(pattern string) string {
	out, segs, err := Translate(pattern)
	if err != nil {
		return pattern
	}
	for _, s := range segs {
		if s.CatchAll {
			out = strings.Replace(out, "{"+s.Name+":*}", "{"+s.Name+"}", 1)
		}
	}
	return out
}
