// Package config is the one declarative description of an app: routes with
// their parameter, body and response schemas, server options and (in later
// packages) middleware, hooks and dependencies. The Go API builds it; the C ABI
// receives it as one versioned JSON document; every binding only translates
// its native declarations into it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is the configuration document version this core understands.
const Version = 1

// App is the whole application.
type App struct {
	Version    int             `json:"version"`
	Server     Server          `json:"server"`
	Routes     []Route         `json:"routes"`
	Middleware json.RawMessage `json:"middleware,omitempty"`
}

// Server holds listener and limit options. Zero values mean defaults.
type Server struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// MaxBodyBytes caps every request body (default 10 MiB). A route may lower
	// or raise it with Route.MaxBodyBytes.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// MaxJSONDepth caps nesting of JSON bodies (default 64).
	MaxJSONDepth int `json:"max_json_depth,omitempty"`
	// TrailingSlash is "strict" (default: /a and /a/ are different routes,
	// the other form is a 404) or "redirect" (301/308 to the registered form).
	TrailingSlash string `json:"trailing_slash,omitempty"`
	// ValidateResponses checks handler answers against the route's
	// response_schema; a breach is a 500 problem. Default true.
	ValidateResponses *bool `json:"validate_responses,omitempty"`
}

// Route is one endpoint.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Handler names the host handler that answers this route.
	Handler        string          `json:"handler,omitempty"`
	Parameters     Parameters      `json:"parameters,omitempty"`
	BodySchema     json.RawMessage `json:"body_schema,omitempty"`
	ResponseSchema json.RawMessage `json:"response_schema,omitempty"`
	// ContentType, when set, is the only request media type accepted.
	ContentType  string          `json:"content_type,omitempty"`
	MaxBodyBytes int64           `json:"max_body_size,omitempty"`
	Middleware   json.RawMessage `json:"middleware,omitempty"`
	// Security documents how clients authenticate (an OpenAPI security
	// requirement or scheme); the auth middleware enforces it.
	Security    json.RawMessage `json:"security,omitempty"`
	OperationID string          `json:"operation_id,omitempty"`
	Summary     string          `json:"summary,omitempty"`
	Description string          `json:"description,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
}

// Source is where a parameter comes from.
type Source string

const (
	Path   Source = "path"
	Query  Source = "query"
	Header Source = "headers"
	Cookie Source = "cookie"
)

// Param is one declared parameter. Schema is plain JSON Schema 2020-12; the
// declaration keywords that are not JSON Schema (required, optional,
// annotation) are taken out of it when the document is read.
type Param struct {
	Name       string
	Schema     json.RawMessage
	Required   bool
	HasDefault bool
	Default    any
	// Separator splits one raw value into array items ("," "|" ";").
	Separator string
}

// Parameters keeps declaration order: errors are reported in that order.
type Parameters struct {
	Path    []Param
	Query   []Param
	Headers []Param
	Cookies []Param
	// Files declares multipart file parts with checks beyond JSON Schema.
	Files []FileParam
}

// FileParam declares an uploaded file part.
type FileParam struct {
	Name                 string   `json:"name"`
	Required             bool     `json:"required"`
	ContentTypes         []string `json:"content_type,omitempty"`
	ValidateMagicNumbers bool     `json:"validate_magic_numbers,omitempty"`
	MaxSize              int64    `json:"max_size,omitempty"`
}

// Empty reports whether no parameter is declared.
func (p Parameters) Empty() bool {
	return len(p.Path)+len(p.Query)+len(p.Headers)+len(p.Cookies)+len(p.Files) == 0
}

// UnmarshalJSON reads {"path": {name: schema}, "query": ..., "headers" | "header": ...,
// "cookies" | "cookie": ..., "files": ...} keeping member order.
func (p *Parameters) UnmarshalJSON(b []byte) error {
	var groups orderedObject
	if err := json.Unmarshal(b, &groups); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	for _, g := range groups {
		if g.key == "files" {
			var files orderedObject
			if err := json.Unmarshal(g.val, &files); err != nil {
				return fmt.Errorf("parameters.files: %w", err)
			}
			for _, f := range files {
				fp := FileParam{Name: f.key}
				if err := json.Unmarshal(f.val, &fp); err != nil {
					return fmt.Errorf("parameters.files.%s: %w", f.key, err)
				}
				fp.Name = f.key
				p.Files = append(p.Files, fp)
			}
			continue
		}
		var dst *[]Param
		switch g.key {
		case "path":
			dst = &p.Path
		case "query":
			dst = &p.Query
		case "headers", "header":
			dst = &p.Headers
		case "cookies", "cookie":
			dst = &p.Cookies
		default:
			return fmt.Errorf("parameters: unknown source %q (want path, query, headers, cookies or files)", g.key)
		}
		var members orderedObject
		if err := json.Unmarshal(g.val, &members); err != nil {
			return fmt.Errorf("parameters.%s: %w", g.key, err)
		}
		for _, m := range members {
			prm, err := parseParam(m.key, m.val, g.key == "path")
			if err != nil {
				return fmt.Errorf("parameters.%s.%s: %w", g.key, m.key, err)
			}
			*dst = append(*dst, prm)
		}
	}
	return nil
}

// MarshalJSON writes the same form UnmarshalJSON reads.
func (p Parameters) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	group := func(name string, ps []Param) {
		if len(ps) == 0 {
			return
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&buf, "%q:{", name)
		for i, prm := range ps {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(prm.Name)
			buf.Write(k)
			buf.WriteByte(':')
			buf.Write(prm.declaration())
		}
		buf.WriteByte('}')
	}
	group("path", p.Path)
	group("query", p.Query)
	group("headers", p.Headers)
	group("cookies", p.Cookies)
	if len(p.Files) > 0 {
		if !first {
			buf.WriteByte(',')
		}
		buf.WriteString(`"files":{`)
		for i, f := range p.Files {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			v, _ := json.Marshal(f)
			buf.Write(k)
			buf.WriteByte(':')
			buf.Write(v)
		}
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (p Param) declaration() []byte {
	var m map[string]any
	if len(p.Schema) > 0 {
		_ = json.Unmarshal(p.Schema, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	m["required"] = p.Required
	if p.Separator != "" {
		m["separator"] = p.Separator
	}
	b, _ := json.Marshal(m)
	return b
}

// declarationKeys are accepted in a parameter declaration but are not JSON Schema.
var declarationKeys = []string{"required", "optional", "annotation", "source", "alias", "separator"}

func parseParam(name string, raw json.RawMessage, isPath bool) (Param, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Param{}, errors.New("a parameter is declared by a JSON Schema object")
	}
	prm := Param{Name: name, Required: true}
	if v, ok := m["optional"]; ok && string(v) == "true" {
		prm.Required = false
	}
	if v, ok := m["required"]; ok {
		switch string(v) {
		case "true":
			prm.Required = true
		case "false":
			prm.Required = false
		}
	}
	if v, ok := m["default"]; ok {
		prm.HasDefault = true
		prm.Required = false
		if err := json.Unmarshal(v, &prm.Default); err != nil {
			return Param{}, err
		}
	}
	if v, ok := m["separator"]; ok {
		_ = json.Unmarshal(v, &prm.Separator)
	}
	if isPath {
		prm.Required = true
	}
	for _, k := range declarationKeys {
		// "required" as an array is a real JSON Schema keyword (object params).
		if k == "required" && len(m[k]) > 0 && m[k][0] == '[' {
			continue
		}
		delete(m, k)
	}
	schema, err := json.Marshal(m)
	if err != nil {
		return Param{}, err
	}
	prm.Schema = schema
	return prm, nil
}

type member struct {
	key string
	val json.RawMessage
}

// orderedObject decodes a JSON object keeping member order.
type orderedObject []member

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if tok == nil {
			return nil
		}
		return errors.New("expected an object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, member{key: kt.(string), val: v})
	}
	return nil
}

// Parse reads and checks a configuration document.
func Parse(doc []byte) (*App, error) {
	var app App
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&app); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if app.Version != Version {
		return nil, fmt.Errorf("config: unsupported document version %d (this library reads version %d)", app.Version, Version)
	}
	for i := range app.Routes {
		r := &app.Routes[i]
		r.Method = strings.ToUpper(r.Method)
		if r.Method == "" || r.Path == "" || r.Path[0] != '/' {
			return nil, fmt.Errorf("config: routes[%d]: method and a path starting with / are required", i)
		}
	}
	return &app, nil
}
