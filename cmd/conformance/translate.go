package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Setup is the one line sent to a fixture app to start a scenario's app
// (see PROTOCOL.md).
type Setup struct {
	App      AppDoc                 `json:"app"`
	Handlers map[string]HandlerSpec `json:"handlers"`
}

// AppDoc is configuration document version 1 (core/config). It is written
// here rather than through config.App so that the scenario's declarations
// (parameters, schemas, middleware) reach the core byte for byte, member
// order included.
type AppDoc struct {
	Version    int             `json:"version"`
	Server     ServerDoc       `json:"server"`
	Routes     []RouteDoc      `json:"routes"`
	Middleware json.RawMessage `json:"middleware,omitempty"`
	// Dependencies are the app-wide dependencies (extensions.go).
	Dependencies json.RawMessage `json:"dependencies,omitempty"`
}

// ServerDoc holds the server options a scenario may set.
type ServerDoc struct {
	Host         string `json:"host,omitempty"`
	MaxJSONDepth int    `json:"max_json_depth,omitempty"`
}

// RouteDoc is one route of the document.
type RouteDoc struct {
	Method         string          `json:"method"`
	Path           string          `json:"path"`
	Handler        string          `json:"handler"`
	Parameters     json.RawMessage `json:"parameters,omitempty"`
	BodySchema     json.RawMessage `json:"body_schema,omitempty"`
	ResponseSchema json.RawMessage `json:"response_schema,omitempty"`
	ContentType    string          `json:"content_type,omitempty"`
	MaxBodySize    int64           `json:"max_body_size,omitempty"`
	Middleware     json.RawMessage `json:"middleware,omitempty"`
	OperationID    string          `json:"operation_id,omitempty"`
	Security       json.RawMessage `json:"security,omitempty"`
	Summary        string          `json:"summary,omitempty"`
	Description    string          `json:"description,omitempty"`
	Tags           []string        `json:"tags,omitempty"`
	// Dependencies (extensions.go).
	Dependencies        json.RawMessage `json:"dependencies,omitempty"`
	RouteOverrides      json.RawMessage `json:"route_overrides,omitempty"`
	HandlerDependencies []string        `json:"handler_dependencies,omitempty"`
	InjectionStrategy   string          `json:"injection_strategy,omitempty"`
	// Event streams and WebSockets (async.go).
	SSE       json.RawMessage `json:"sse,omitempty"`
	WebSocket json.RawMessage `json:"websocket,omitempty"`
}

// HandlerSpec is what a named handler of the fixture app does.
type HandlerSpec struct {
	Status      int               `json:"status,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	SetCookies  []string          `json:"set_cookies,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
	BodyRaw     *string           `json:"body_raw,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Echo        bool              `json:"echo,omitempty"`
	Raise       bool              `json:"raise,omitempty"`
	SleepMS     int               `json:"sleep_ms,omitempty"`

	// Hooks, dependencies and background work (extensions.go, PROTOCOL.md).
	Continue      bool              `json:"continue,omitempty"`
	Require       []string          `json:"require,omitempty"`
	Record        []Record          `json:"record,omitempty"`
	CleanupRecord []Record          `json:"cleanup_record,omitempty"`
	HeadersFrom   map[string]string `json:"headers_from,omitempty"`
	Fill          map[string]string `json:"fill,omitempty"`
	Generate      string            `json:"generate,omitempty"`
	Background    *BackgroundSpec   `json:"background,omitempty"`
	State         string            `json:"state,omitempty"`

	// Streams, event streams and WebSockets (async.go, PROTOCOL.md).
	Stream    *StreamSpec `json:"stream,omitempty"`
	SSE       *SSESpec    `json:"sse,omitempty"`
	WebSocket *WSSpec     `json:"websocket,omitempty"`
}

// Record appends Value (or, without one, the invocation's name) to the
// app's state list State.
type Record struct {
	State string          `json:"state"`
	Value json.RawMessage `json:"value,omitempty"`
}

// BackgroundSpec queues a background task that appends the value at From
// (a JSON pointer into the handler's values document) to state list State.
type BackgroundSpec struct {
	State string `json:"state"`
	From  string `json:"from"`
}

// Plan is everything needed to run one scenario.
type Plan struct {
	Setup   Setup
	Request *HTTPRequest
	Expect  *Expectation
	// Warmup requests go out before the asserted one (rate-limit scenarios).
	Warmup Warmup
	// Checks are GETs of state routes after the request (extensions.go).
	Checks []StateCheck
	// Exchange, when set, replaces sending Request and comparing the answer
	// with Expect: streams, event streams, WebSockets (async.go).
	Exchange func(addr string, timeout time.Duration) ([]string, error)
}

// Warmup is the corpus's rate_limit test directive: Count copies of the
// request, each expected to answer ExpectStatus, SleepMS apart.
type Warmup struct {
	Count        int `json:"warmup_requests"`
	ExpectStatus int `json:"warmup_expect_status"`
	SleepMS      int `json:"sleep_ms_between"`
}

// shapeError is a scenario the runner cannot run: reported as a failure
// whose reason starts with "unsupported scenario shape".
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return "unsupported scenario shape: " + e.msg }

func shapef(format string, a ...any) error { return &shapeError{fmt.Sprintf(format, a...)} }

// Known members. A member outside these lists means the scenario needs
// something the runner does not translate yet; running it anyway would test
// less than the scenario says, so it is reported instead.
var (
	knownTopLevel = set("name", "description", "category", "source", "notes", "tags",
		"skip", "skip_reason", "handler", "request", "expected_response", "background", "streaming")
	// handler members and where they go in the configuration document.
	knownHandler = set("route", "method", "parameters", "body_schema", "response_schema",
		"content_type", "max_body_size", "middleware", "max_nesting_depth", "echo", "raise",
		"operation_id", "summary", "description", "tags", "cors", "security",
		"dependencies", "route_overrides", "handler_dependencies", "injection_strategy")
	knownRequest = set("method", "path", "query_params", "query_string", "headers", "cookies",
		"body", "body_raw", "content_type", "form_data", "data", "files", "cookie_attributes")
	knownExpected = set("status_code", "body", "body_partial", "headers", "cookies", "validation_errors",
		"dependency_resolution_order")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func unknownMembers(o object, known map[string]bool, where string) error {
	var bad []string
	for _, m := range o {
		if !known[m.Key] {
			bad = append(bad, where+"."+m.Key)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return shapef("%s not supported by the runner (no translation to configuration document v1)", strings.Join(bad, ", "))
}

// planScenario translates a scenario into the app setup, the request and
// the expectation.
func planScenario(s *Scenario) (*Plan, error) {
	if s.LoadErr != nil {
		return nil, shapef("%v", s.LoadErr)
	}
	if isAsync(s) { // event streams and WebSockets (async.go)
		return planAsync(s)
	}
	if !s.IsHTTP() {
		return nil, shapef("not an HTTP scenario (needs handler.route and request)")
	}
	if s.Expected == nil {
		return nil, shapef("expected_response missing")
	}
	for _, check := range []struct {
		o     object
		known map[string]bool
		where string
	}{
		{s.Doc, knownTopLevel, "scenario"},
		{s.Handler, knownHandler, "handler"},
		{s.Request, knownRequest, "request"},
		{s.Expected, knownExpected, "expected_response"},
	} {
		if err := unknownMembers(check.o, check.known, check.where); err != nil {
			return nil, err
		}
	}
	exp, err := parseExpectation(s.Expected)
	if err != nil {
		return nil, err
	}
	handler := s.Handler
	if s.ResponseOnly() {
		if handler, err = responseOnlyHandler(s.Request); err != nil {
			return nil, err
		}
	}
	route, server, err := translateRoute(handler)
	if err != nil {
		return nil, err
	}
	route.Handler = "h0"
	var spec HandlerSpec
	if s.ResponseOnly() {
		spec, err = answerExpected(exp)
		// No framework feature is configured: every header the scenario
		// expects is the application's own answer.
		for _, hd := range exp.Headers {
			n := strings.ToLower(hd.Name)
			if isPattern(hd.Value) || n == "content-type" || n == "content-length" || n == "transfer-encoding" ||
				n == "connection" || n == "date" || n == "server" {
				continue
			}
			if spec.Headers == nil {
				spec.Headers = map[string]string{}
			}
			spec.Headers[hd.Name] = hd.Value
		}
	} else {
		spec, err = handlerBehaviour(handler, exp)
	}
	if err != nil {
		return nil, err
	}
	if route.Method == "HEAD" {
		// A HEAD answer has no body, so its Content-Length is the handler's
		// to state (the length a GET would send), not the HTTP layer's.
		for _, hd := range exp.Headers {
			if strings.EqualFold(hd.Name, "content-length") && !isPattern(hd.Value) {
				if spec.Headers == nil {
					spec.Headers = map[string]string{}
				}
				spec.Headers[hd.Name] = hd.Value
			}
		}
	}
	req, err := buildRequest(s.Request)
	if err != nil {
		return nil, err
	}
	// An X-Request-ID the request did not carry is the handler's own.
	for _, hd := range exp.Headers {
		if strings.EqualFold(hd.Name, "x-request-id") && !isPattern(hd.Value) && func() bool { v, _ := req.Header("X-Request-ID"); return v != hd.Value }() {
			if spec.Headers == nil {
				spec.Headers = map[string]string{}
			}
			spec.Headers[hd.Name] = hd.Value
		}
	}
	server.Host = "127.0.0.1"
	appMW := map[string]json.RawMessage{}
	if raw, ok := s.Handler.Get("cors"); ok && !isNull(raw) {
		appMW["cors"] = compact(raw)
	}
	if len(route.Middleware) > 0 {
		var rm map[string]json.RawMessage
		if json.Unmarshal(route.Middleware, &rm) == nil {
			if sf, ok := rm["static_files"]; ok {
				appMW["static_files"] = sf
				delete(rm, "static_files")
				if len(rm) == 0 {
					route.Middleware = nil
				} else {
					route.Middleware, _ = json.Marshal(rm)
				}
			}
		}
	}
	var warm Warmup
	if len(route.Middleware) > 0 {
		var mw struct {
			RateLimit *Warmup `json:"rate_limit"`
		}
		if json.Unmarshal(route.Middleware, &mw) == nil && mw.RateLimit != nil {
			warm = *mw.RateLimit
			if warm.ExpectStatus == 0 {
				warm.ExpectStatus = 200
			}
		}
	}
	var appMWRaw json.RawMessage
	if len(appMW) > 0 {
		appMWRaw, _ = json.Marshal(appMW)
	}
	doc := AppDoc{Version: 1, Server: server, Middleware: appMWRaw}
	handlers := map[string]HandlerSpec{}
	var checks []StateCheck
	// Lifecycle hooks, dependencies, background state (extensions.go).
	ext, err := planExtensions(s, &route, &doc, &spec, exp)
	if err != nil {
		return nil, err
	}
	doc.Routes = []RouteDoc{route}
	if ext != nil {
		doc.Routes = append(doc.Routes, ext.routes...)
		for k, v := range ext.handlers {
			handlers[k] = v
		}
		checks = ext.checks
	}
	plan := &Plan{
		Request: req,
		Expect:  exp,
		Warmup:  warm,
		Checks:  checks,
	}
	if err := applyStreaming(s, plan, &spec); err != nil { // async.go
		return nil, err
	}
	handlers["h0"] = spec
	plan.Setup = Setup{App: doc, Handlers: handlers}
	return plan, nil
}

// translateRoute maps the handler declaration onto a route of the document.
func translateRoute(h object) (RouteDoc, ServerDoc, error) {
	var r RouteDoc
	var srv ServerDoc
	for _, m := range h {
		var err error
		switch m.Key {
		case "route":
			r.Path, err = asString(m.Val)
		case "method":
			r.Method, err = asString(m.Val)
			r.Method = strings.ToUpper(r.Method)
		case "parameters":
			if kind(m.Val) != "object" {
				err = fmt.Errorf("want an object")
			}
			r.Parameters = compact(m.Val)
		case "body_schema":
			if !isNull(m.Val) {
				r.BodySchema = compact(m.Val)
			}
		case "response_schema":
			if !isNull(m.Val) {
				r.ResponseSchema = compact(m.Val)
			}
		case "middleware":
			if !isNull(m.Val) {
				r.Middleware = compact(m.Val)
			}
		case "content_type":
			r.ContentType, err = asString(m.Val)
		case "max_body_size":
			err = json.Unmarshal(m.Val, &r.MaxBodySize)
		case "max_nesting_depth":
			// One route per app: the route's limit is the server's.
			err = json.Unmarshal(m.Val, &srv.MaxJSONDepth)
		case "security":
			if !isNull(m.Val) {
				r.Security = compact(m.Val)
			}
		case "operation_id":
			r.OperationID, err = asString(m.Val)
		case "summary":
			r.Summary, err = asString(m.Val)
		case "description":
			r.Description, err = asString(m.Val)
		case "tags":
			err = json.Unmarshal(m.Val, &r.Tags)
		}
		if err != nil {
			return r, srv, shapef("handler.%s: %v", m.Key, err)
		}
	}
	if r.Path == "" || r.Path[0] != '/' {
		return r, srv, shapef("handler.route must be a path starting with /")
	}
	if r.Method == "" {
		return r, srv, shapef("handler.method missing")
	}
	return r, srv, nil
}

// Statuses the framework answers by itself from the request's content
// (malformed input, limits, validation, media type, auth, rate limits). When
// a scenario expects one of them, its handler must not produce it: a
// handler that did would make a core without the check pass. 404 and 405 are
// not here: when the router answers them the handler cannot be reached, and
// when the handler is reached the scenario means the handler to answer.
var frameworkStatuses = map[int]bool{400: true, 401: true, 403: true, 406: true, 411: true,
	413: true, 414: true, 415: true, 422: true, 429: true, 431: true}

// neutralBody is what a handler answers when the scenario expects the
// framework to answer before it: reaching it is the failure.
const neutralBody = `{"conformance":"the handler was reached, but this scenario expects the framework to answer before the handler runs"}`

// Response headers the handler does not set: the framework or the HTTP
// layer owns them (content-type is passed as the handler's content type).
var frameworkHeaders = set("content-length", "content-type", "transfer-encoding", "connection",
	"keep-alive", "date", "server", "content-encoding", "vary", "allow", "x-request-id",
	"www-authenticate", "set-cookie")

func isFrameworkHeader(name string) bool {
	n := strings.ToLower(name)
	return frameworkHeaders[n] || strings.HasPrefix(n, "access-control-")
}

// handlerBehaviour decides what the scenario's handler does.
func handlerBehaviour(h object, exp *Expectation) (HandlerSpec, error) {
	var spec HandlerSpec
	if raw, ok := h.Get("middleware"); ok && kind(raw) == "object" {
		var mw struct {
			RequestTimeout struct {
				SleepMS int `json:"sleep_ms"`
			} `json:"request_timeout"`
		}
		if json.Unmarshal(raw, &mw) == nil {
			spec.SleepMS = mw.RequestTimeout.SleepMS
		}
	}
	if raw, ok := h.Get("raise"); ok && string(compact(raw)) == "true" {
		spec.Raise = true
		return spec, nil
	}
	if raw, ok := h.Get("echo"); ok && string(compact(raw)) == "true" {
		spec.Echo = true
		spec.Status = 200
		if exp.Status < 400 {
			spec.Status = exp.Status
		}
		return spec, nil
	}
	switch {
	case exp.Status == 500:
		// An unhandled failure in the handler: the core renders it.
		spec.Raise = true
		return spec, nil
	case frameworkStatuses[exp.Status] || isProblemDocument(exp.Body):
		spec.Status = 200
		spec.Body = json.RawMessage(neutralBody)
		return spec, nil
	}

	answer, err := answerExpected(exp)
	answer.SleepMS = spec.SleepMS
	return answer, err
}

// responseOnlyHandler declares the route of a scenario without a handler:
// the request's method at the request's path (query removed).
func responseOnlyHandler(req object) (object, error) {
	rawPath, _ := req.Get("path")
	rawMethod, _ := req.Get("method")
	path, err := asString(rawPath)
	if err != nil {
		return nil, shapef("request.path: %v", err)
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	route, _ := json.Marshal(path)
	return object{{Key: "route", Val: route}, {Key: "method", Val: rawMethod}}, nil
}

// answerExpected makes the handler answer the expected response itself.
func answerExpected(exp *Expectation) (HandlerSpec, error) {
	var spec HandlerSpec
	if exp.Status == 500 && isProblemDocument(exp.Body) {
		// The core renders unhandled failures: the handler fails.
		spec.Raise = true
		return spec, nil
	}
	spec.Status = exp.Status
	for _, hd := range exp.Headers {
		if strings.EqualFold(hd.Name, "content-type") {
			if !isPattern(hd.Value) {
				spec.ContentType = hd.Value
			}
			continue
		}
		if isFrameworkHeader(hd.Name) || isPattern(hd.Value) {
			continue
		}
		if spec.Headers == nil {
			spec.Headers = map[string]string{}
		}
		spec.Headers[hd.Name] = hd.Value
	}
	for _, c := range exp.Cookies {
		spec.SetCookies = append(spec.SetCookies, c.setCookie())
	}
	if exp.HasBody && !isNull(exp.Body) {
		if kind(exp.Body) == "string" && spec.ContentType != "" && !isJSONMedia(spec.ContentType) {
			s, _ := asString(exp.Body)
			spec.BodyRaw = &s
		} else {
			spec.Body = compact(exp.Body)
		}
	} else if exp.BodyPartial != nil {
		spec.Body = compact(exp.BodyPartial)
	}
	return spec, nil
}

// isProblemDocument reports whether a body is an RFC 9457 problem document
// (type, title, status): the framework's own error shape.
func isProblemDocument(raw json.RawMessage) bool {
	if kind(raw) != "object" {
		return false
	}
	var p struct {
		Type   *string      `json:"type"`
		Title  *string      `json:"title"`
		Status *json.Number `json:"status"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return false
	}
	return p.Type != nil && p.Title != nil && p.Status != nil
}

// isJSONMedia reports whether a media type is JSON (application/json or a
// +json suffix type).
func isJSONMedia(ct string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
