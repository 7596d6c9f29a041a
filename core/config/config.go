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
	// Dependencies are the app-wide named dependencies (see Dependency);
	// routes and lifecycle hooks use them by key.
	Dependencies Dependencies `json:"dependencies,omitempty"`
	// OpenAPI serves the generated document and the docs pages: see
	// openapi.ParseOptions. Absent means not served.
	OpenAPI json.RawMessage `json:"openapi,omitempty"`
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
	// ReusePort sets SO_REUSEPORT on the listener, so that several worker
	// processes (each with its own library instance) share one port and
	// the kernel spreads connections over them.
	ReusePort bool `json:"reuse_port,omitempty"`
	// BackgroundQueueSize bounds the background tasks waiting to run
	// (handlers' Background calls and dependency cleanups); default 1024.
	BackgroundQueueSize int `json:"background_queue_size,omitempty"`
	// BackgroundWorkers is how many background tasks run at once; default 4.
	BackgroundWorkers int `json:"background_workers,omitempty"`
	// TLS serves HTTPS on the listener (HTTP/1.1 and, by ALPN, HTTP/2).
	// Plain HTTP keeps working on the same port: the first bytes of each
	// connection tell a TLS ClientHello from a plain request.
	TLS *TLS `json:"tls,omitempty"`
	// HTTP2 enables HTTP/2: h2c (prior knowledge and the HTTP/1.1 Upgrade)
	// on plain connections and ALPN "h2" under TLS. Default: on when TLS is
	// configured, off otherwise.
	HTTP2 *bool `json:"http2,omitempty"`
	// ShutdownTimeoutMS bounds a graceful shutdown started by a signal
	// (default 10000): in-flight requests, streams and WebSockets get this
	// long to finish before their connections are closed.
	ShutdownTimeoutMS int `json:"shutdown_timeout_ms,omitempty"`
	// HandlerTimeoutMS is how long a request may wait for a handler written
	// in another language (through the C ABI) before the core answers 504
	// (default 30000; 0: wait forever). Go handlers run in the server's own
	// goroutine and use the request_timeout middleware instead.
	HandlerTimeoutMS *int64 `json:"handler_timeout_ms,omitempty"`
}

// TLS names the certificate and key (PEM files) of an HTTPS listener.
type TLS struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `json:"min_version,omitempty"`
}

// HTTP2Enabled reports whether the server speaks HTTP/2 (see Server.HTTP2).
func (s Server) HTTP2Enabled() bool {
	if s.HTTP2 != nil {
		return *s.HTTP2
	}
	return s.TLS != nil
}

// WebSocket makes a route a WebSocket endpoint: a GET that upgrades, then
// messages both ways. The route's handler is a WebSocket handler (on
// connect, on message, on close); its parameters and middleware apply to
// the upgrade request.
type WebSocket struct {
	// MessageSchema, when set, is the JSON Schema every incoming message
	// (text or binary, parsed as JSON) must match. A message that does not
	// is answered with a validation problem document (a text frame) and
	// never reaches the handler; OnInvalid "close" closes with 1007 instead.
	MessageSchema json.RawMessage `json:"message_schema,omitempty"`
	OnInvalid     string          `json:"on_invalid,omitempty"`
	// Subprotocols the server speaks, in order of preference; the first one
	// the client offers is selected (Sec-WebSocket-Protocol).
	Subprotocols []string `json:"subprotocols,omitempty"`
	// MaxMessageBytes caps an incoming message (default 1 MiB); a larger one
	// closes the connection with 1009.
	MaxMessageBytes int64 `json:"max_message_bytes,omitempty"`
	// PingIntervalMS is how often the server pings (default 30000, negative:
	// never); a peer that sends nothing, not even a pong, for an interval
	// plus PongTimeoutMS (default 10000) is dropped.
	PingIntervalMS int `json:"ping_interval_ms,omitempty"`
	PongTimeoutMS  int `json:"pong_timeout_ms,omitempty"`
	// AllowedOrigins lists the Origin values accepted ("*" for any). Empty:
	// a browser Origin must match the Host (same origin).
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Compression negotiates permessage-deflate when the client offers it.
	Compression bool `json:"compression,omitempty"`
}

// SSE declares a route that answers with a Server-Sent Events stream.
type SSE struct {
	// EventSchema, when set, is the JSON Schema the data of every event
	// must match (the data parsed as JSON); an event that does not is not
	// sent and the send fails (a server bug, like a response_schema breach).
	EventSchema json.RawMessage `json:"event_schema,omitempty"`
	// KeepAliveMS is the idle time after which a comment line keeps the
	// connection alive (default 15000, negative: never).
	KeepAliveMS int `json:"keep_alive_ms,omitempty"`
	// RetryMS, when positive, is sent first as the client's reconnection delay.
	RetryMS int `json:"retry_ms,omitempty"`
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
	// Dependencies declares route-level dependencies: they join the app's
	// for this route, replacing an app dependency of the same key.
	Dependencies Dependencies `json:"dependencies,omitempty"`
	// RouteOverrides replaces dependencies of the same key (app- or
	// route-level) for this route only.
	RouteOverrides Dependencies `json:"route_overrides,omitempty"`
	// HandlerDependencies are the keys the handler receives (Ctx.Dep, and
	// "dependencies" in Ctx.Values), resolved right before it runs.
	HandlerDependencies []string `json:"handler_dependencies,omitempty"`
	// InjectionStrategy is a hint for language bindings (name, type,
	// destructure, keyword_args): how a binding hands the dependencies to
	// its handler. The core passes them by key whatever it says.
	InjectionStrategy string `json:"injection_strategy,omitempty"`
	// WebSocket makes the route a WebSocket endpoint (method GET).
	WebSocket *WebSocket `json:"websocket,omitempty"`
	// SSE declares an event-stream route (options and event schema).
	SSE *SSE `json:"sse,omitempty"`
	// StreamRequestBody hands the handler the request body as a stream
	// (Ctx.BodyStream) instead of reading it first, for large uploads; the
	// route's body limit still applies while it is read. A body_schema is
	// not checked on such a route.
	StreamRequestBody bool `json:"stream_request_body,omitempty"`
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
		if r.WebSocket != nil && r.Method != "GET" {
			return nil, fmt.Errorf("config: routes[%d]: a websocket route has method GET", i)
		}
	}
	return &app, nil
}

// Dependency is one named dependency: a constant value, or a factory (a
// host handler, registered by name like route handlers) that produces the
// value from the values of the dependencies it depends on. See
// core/di for the resolution rules.
type Dependency struct {
	// Key names the dependency (the member name in the document).
	Key string `json:"-"`
	// Type is "value", "factory" or "async_factory" (a factory the host
	// may answer asynchronously; the core treats both alike).
	Type string `json:"type"`
	// Value is the constant of a value dependency (any JSON).
	Value json.RawMessage `json:"value,omitempty"`
	// ValueType, when set, is the JSON type Value must have (string,
	// number, integer, boolean, object, array, null).
	ValueType string `json:"value_type,omitempty"`
	// Factory names the host handler of a factory dependency.
	Factory string `json:"factory,omitempty"`
	// DependsOn lists the keys resolved before this one and handed to its
	// factory.
	DependsOn []string `json:"depends_on,omitempty"`
	// Singleton: created once per app (lazily, by the first request that
	// needs it) and shared by every request.
	Singleton bool `json:"singleton,omitempty"`
	// Cacheable: created once per request and shared by everything in the
	// request that needs it. Neither flag: created for every use.
	Cacheable bool `json:"cacheable,omitempty"`
	// Cleanup: the factory is called again after the response is sent, to
	// release what it created (reverse order of creation).
	Cleanup bool `json:"cleanup,omitempty"`
	// Scope is "app" (default) or "route": where the declaration belongs.
	// Informational: the position in the document decides.
	Scope string `json:"scope,omitempty"`
	// PythonType is a hint for the Python binding (type-based injection).
	PythonType string `json:"python_type,omitempty"`
}

// Dependencies keeps declaration order: within one level of the resolution
// order, dependencies resolve in the order they are declared.
type Dependencies []Dependency

// UnmarshalJSON reads {"key": {dependency}, ...} keeping member order.
// Unknown members of a dependency are errors.
func (d *Dependencies) UnmarshalJSON(b []byte) error {
	var members orderedObject
	if err := json.Unmarshal(b, &members); err != nil {
		return fmt.Errorf("dependencies: %w", err)
	}
	out := Dependencies{}
	for _, m := range members {
		var dep Dependency
		dec := json.NewDecoder(bytes.NewReader(m.val))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&dep); err != nil {
			return fmt.Errorf("dependencies.%s: %w", m.key, err)
		}
		dep.Key = m.key
		out = append(out, dep)
	}
	*d = out
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (d Dependencies) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, dep := range d {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(dep.Key)
		v, err := json.Marshal(dep)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
