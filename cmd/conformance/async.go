package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Streaming responses, Server-Sent Events and WebSockets (PROTOCOL.md,
// "Streams, event streams and WebSockets"). A streaming scenario is an
// HTTP scenario with a "streaming" member; the corpus's sse/ and
// websockets/ files are AsyncAPI message fixtures (a channel, a message
// schema, examples), and our own scenarios extend that shape. Each becomes
// an app with one route and an exchange the runner carries out: read and
// compare the event stream, or send WebSocket messages and compare the
// replies.

// StreamSpec: the handler answers a streamed body.
type StreamSpec struct {
	Chunks  []string `json:"chunks"` // base64
	DelayMS int      `json:"delay_ms,omitempty"`
}

// SSESpec: the handler answers an event stream.
type SSESpec struct {
	Events  []SSEEventSpec `json:"events"`
	DelayMS int            `json:"delay_ms,omitempty"`
	Resume  bool           `json:"resume,omitempty"`
}

// SSEEventSpec is one event the handler sends.
type SSEEventSpec struct {
	Event   string `json:"event,omitempty"`
	ID      string `json:"id,omitempty"`
	RetryMS int    `json:"retry_ms,omitempty"`
	Data    string `json:"data"`
	Comment string `json:"comment,omitempty"`
}

// WSSpec: the handler is a WebSocket handler that echoes.
type WSSpec struct {
	Echo     bool            `json:"echo"`
	Greeting json.RawMessage `json:"greeting,omitempty"`
	CloseOn  *WSCloseOn      `json:"close_on,omitempty"`
}

// WSCloseOn: a text message equal to Text closes with Code and Reason.
type WSCloseOn struct {
	Text   string `json:"text"`
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// ---------------------------------------------------------------- streaming

// applyStreaming makes an HTTP scenario with "streaming" stream its chunks.
// The body compared is the chunks' concatenation (the scenario's
// expected_response.body documents it, escaped where bytes are not text).
func applyStreaming(s *Scenario, plan *Plan, spec *HandlerSpec) error {
	raw, ok := s.Doc.Get("streaming")
	if !ok || isNull(raw) {
		return nil
	}
	var st object
	if err := json.Unmarshal(raw, &st); err != nil || st == nil {
		return shapef("streaming: want an object")
	}
	if err := unknownMembers(st, set("content_type", "chunks"), "streaming"); err != nil {
		return err
	}
	var want []byte
	ss := &StreamSpec{}
	craw, _ := st.Get("chunks")
	var chunks []object
	if err := json.Unmarshal(craw, &chunks); err != nil || len(chunks) == 0 {
		return shapef("streaming.chunks: want a non-empty array of objects")
	}
	for i, c := range chunks {
		if err := unknownMembers(c, set("type", "value", "base64"), fmt.Sprintf("streaming.chunks[%d]", i)); err != nil {
			return err
		}
		traw, _ := c.Get("type")
		typ, _ := asString(traw)
		var b []byte
		switch typ {
		case "text":
			v, ok := c.Get("value")
			str, err := asString(v)
			if !ok || err != nil {
				return shapef("streaming.chunks[%d].value: want a string", i)
			}
			b = []byte(str)
		case "bytes":
			v, ok := c.Get("base64")
			str, err := asString(v)
			if !ok || err != nil {
				return shapef("streaming.chunks[%d].base64: want a string", i)
			}
			if b, err = base64.StdEncoding.DecodeString(str); err != nil {
				return shapef("streaming.chunks[%d].base64: %v", i, err)
			}
		default:
			return shapef("streaming.chunks[%d].type: %q (want text or bytes)", i, typ)
		}
		want = append(want, b...)
		ss.Chunks = append(ss.Chunks, base64.StdEncoding.EncodeToString(b))
	}
	ct := spec.ContentType
	if v, ok := st.Get("content_type"); ok && !isNull(v) {
		var err error
		if ct, err = asString(v); err != nil {
			return shapef("streaming.content_type: %v", err)
		}
	}
	if spec.Raise || string(spec.Body) == neutralBody {
		// The framework answers (validation, limits...) or the handler
		// fails: no stream starts, the expected answer is compared as usual.
		return nil
	}
	spec.Stream = ss
	spec.Body, spec.BodyRaw, spec.Echo = nil, nil, false
	spec.ContentType = ct
	exp, req := plan.Expect, plan.Request
	exp.HasBody, exp.Body = false, nil
	plan.Exchange = func(addr string, timeout time.Duration) ([]string, error) {
		resp, err := send(addr, req, timeout)
		if err != nil {
			return nil, err
		}
		diffs := compare(exp, resp)
		if resp.Header.Get("Content-Length") != "" {
			diffs = append(diffs, "not streamed: the answer has a Content-Length (want chunked transfer coding)")
		}
		if req.Method != "HEAD" && !bytes.Equal(resp.Body, want) {
			diffs = append(diffs, fmt.Sprintf("body: got %s, want the chunks %s", quoteSnippet(string(resp.Body)), quoteSnippet(string(want))))
		}
		if len(diffs) > 0 {
			diffs = append(diffs, fmt.Sprintf("response: %d %s %s", resp.Status, resp.Header.Get("Content-Type"), snippet(resp.Body)))
		}
		return diffs, nil
	}
	return nil
}

// ------------------------------------------------- AsyncAPI message fixtures

// isAsync reports an event-stream or WebSocket scenario: one that names a
// protocol, or has no handler but a channel, schema or examples.
func isAsync(s *Scenario) bool {
	if s.Doc == nil {
		return false
	}
	if _, ok := s.Doc.Get("protocol"); ok {
		return true
	}
	if _, ok := s.Doc.Get("handler"); ok {
		return false
	}
	for _, k := range []string{"channel", "schema", "examples"} {
		if _, ok := s.Doc.Get(k); ok {
			return true
		}
	}
	return false
}

var knownAsync = set("name", "description", "category", "source", "notes", "tags", "skip", "skip_reason",
	"channel", "protocol", "schema", "examples", "operations",
	// our extensions
	"parameters", "request", "handler", "sse", "websocket", "expected_response", "expected_events",
	"expected_retry_ms", "expected_keep_alive", "expected_handshake", "expected_subprotocol", "exchanges")

// asyncScenario is the decoded shape.
type asyncScenario struct {
	protocol string
	channel  string
	schema   json.RawMessage
	examples []json.RawMessage
	doc      object
}

func planAsync(s *Scenario) (*Plan, error) {
	if err := unknownMembers(s.Doc, knownAsync, "scenario"); err != nil {
		return nil, err
	}
	a := asyncScenario{doc: s.Doc}
	if raw, ok := s.Doc.Get("protocol"); ok {
		p, err := asString(raw)
		if err != nil {
			return nil, shapef("protocol: %v", err)
		}
		a.protocol = strings.ToLower(p)
	} else {
		switch s.Category {
		case "sse":
			a.protocol = "sse"
		case "websockets", "websocket":
			a.protocol = "websocket"
		default:
			return nil, shapef("no protocol member, and the category %q does not name one (sse, websockets)", s.Category)
		}
	}
	if a.protocol == "ws" || a.protocol == "wss" {
		a.protocol = "websocket"
	}
	if raw, ok := s.Doc.Get("channel"); ok {
		c, err := asString(raw)
		if err != nil || !strings.HasPrefix(c, "/") {
			return nil, shapef("channel: want a path starting with /")
		}
		a.channel = c
	} else {
		// A message fixture without a channel is exchanged on /<name>.
		name := s.Name
		if raw, ok := s.Doc.Get("name"); ok {
			name, _ = asString(raw)
		}
		if name == "" || strings.ContainsAny(name, "/{}? ") {
			return nil, shapef("no channel, and no usable name to make one from")
		}
		a.channel = "/" + name
	}
	if raw, ok := s.Doc.Get("schema"); ok && !isNull(raw) {
		if kind(raw) != "object" && kind(raw) != "boolean" {
			return nil, shapef("schema: want a JSON Schema")
		}
		a.schema = compact(raw)
	}
	if raw, ok := s.Doc.Get("examples"); ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &a.examples); err != nil {
			return nil, shapef("examples: want an array")
		}
		for i := range a.examples {
			a.examples[i] = compact(a.examples[i])
		}
	}
	route := RouteDoc{Method: "GET", Path: a.channel, Handler: "h0"}
	if raw, ok := s.Doc.Get("parameters"); ok && !isNull(raw) {
		route.Parameters = compact(raw)
	}
	target, headers, err := asyncRequest(s.Doc, a.channel)
	if err != nil {
		return nil, err
	}
	plan := &Plan{}
	var spec HandlerSpec
	switch a.protocol {
	case "sse":
		if route.SSE, err = routeOptions(s.Doc, "sse", "event_schema", a.schema); err != nil {
			return nil, err
		}
		var x *sseExchange
		if spec, x, err = planSSE(a); err != nil {
			return nil, err
		}
		x.target, x.headers = target, headers
		plan.Exchange = x.run
	case "websocket":
		if route.WebSocket, err = routeOptions(s.Doc, "websocket", "message_schema", a.schema); err != nil {
			return nil, err
		}
		var x *wsExchange
		if spec, x, err = planWS(a); err != nil {
			return nil, err
		}
		x.target, x.headers = target, headers
		plan.Exchange = x.run
	default:
		return nil, shapef("protocol %q: the runner speaks sse and websocket", a.protocol)
	}
	plan.Setup = Setup{App: AppDoc{Version: 1, Server: ServerDoc{Host: "127.0.0.1"}, Routes: []RouteDoc{route}},
		Handlers: map[string]HandlerSpec{"h0": spec}}
	return plan, nil
}

// routeOptions is the route's "sse" / "websocket" declaration: the
// scenario's own member, with the message schema when it does not set one.
func routeOptions(doc object, key, schemaKey string, schema json.RawMessage) (json.RawMessage, error) {
	opts := map[string]json.RawMessage{}
	if raw, ok := doc.Get(key); ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, shapef("%s: want an object", key)
		}
	}
	if _, ok := opts[schemaKey]; !ok && schema != nil {
		opts[schemaKey] = schema
	}
	b, _ := json.Marshal(opts)
	return b, nil
}

// asyncRequest reads request.path (default: the channel) and request.headers.
func asyncRequest(doc object, channel string) (string, [][2]string, error) {
	target := channel
	var headers [][2]string
	raw, ok := doc.Get("request")
	if !ok || isNull(raw) {
		return target, nil, nil
	}
	var r object
	if err := json.Unmarshal(raw, &r); err != nil || r == nil {
		return "", nil, shapef("request: want an object")
	}
	if err := unknownMembers(r, set("path", "headers"), "request"); err != nil {
		return "", nil, err
	}
	if p, ok := r.Get("path"); ok {
		s, err := asString(p)
		if err != nil || !strings.HasPrefix(s, "/") {
			return "", nil, shapef("request.path: want a path")
		}
		target = s
	}
	if h, ok := r.Get("headers"); ok && !isNull(h) {
		var hs object
		if err := json.Unmarshal(h, &hs); err != nil {
			return "", nil, shapef("request.headers: %v", err)
		}
		for _, m := range hs {
			v, err := scalarString(m.Val)
			if err != nil {
				return "", nil, shapef("request.headers.%s: %v", m.Key, err)
			}
			headers = append(headers, [2]string{m.Key, v})
		}
	}
	return target, headers, nil
}

// invalidVariant derives a message the schema rejects from an example: the
// example without its first required member. ok is false when the schema
// requires nothing the example has.
func invalidVariant(schema, example json.RawMessage) (json.RawMessage, string, bool) {
	var sch struct {
		Type     any      `json:"type"`
		Required []string `json:"required"`
	}
	if json.Unmarshal(schema, &sch) != nil || len(sch.Required) == 0 || kind(example) != "object" {
		return nil, "", false
	}
	var ex object
	if json.Unmarshal(example, &ex) != nil {
		return nil, "", false
	}
	for _, req := range sch.Required {
		if _, has := ex.Get(req); !has {
			continue
		}
		var out bytes.Buffer
		out.WriteByte('{')
		first := true
		for _, m := range ex {
			if m.Key == req {
				continue
			}
			if !first {
				out.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(m.Key)
			out.Write(k)
			out.WriteByte(':')
			out.Write(compact(m.Val))
		}
		out.WriteByte('}')
		return out.Bytes(), req, true
	}
	return nil, "", false
}

// ------------------------------------------------------------------- SSE

type expectedEvent struct {
	event, id *string
	text      *string // data compared as text
	json      any     // data compared as JSON (when text is nil)
	hasJSON   bool
}

type sseExchange struct {
	target    string
	headers   [][2]string
	status    int
	expHdrs   []expectedHeader
	events    []expectedEvent
	retryMS   int // -1: not checked
	keepAlive bool
}

func planSSE(a asyncScenario) (HandlerSpec, *sseExchange, error) {
	x := &sseExchange{status: 200, retryMS: -1}
	spec := HandlerSpec{SSE: &SSESpec{}}
	if raw, ok := a.doc.Get("handler"); ok && !isNull(raw) {
		if err := strictDecode(raw, spec.SSE); err != nil {
			return spec, nil, shapef("handler: %v", err)
		}
	} else {
		// The examples, in order, with a message the schema rejects second:
		// the core must not send it.
		for i, ex := range a.examples {
			spec.SSE.Events = append(spec.SSE.Events, SSEEventSpec{Data: string(ex)})
			if i == 0 && a.schema != nil {
				if bad, _, ok := invalidVariant(a.schema, ex); ok {
					spec.SSE.Events = append(spec.SSE.Events, SSEEventSpec{Data: string(bad)})
				}
			}
		}
	}
	if raw, ok := a.doc.Get("expected_events"); ok && !isNull(raw) {
		var evs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &evs); err != nil {
			return spec, nil, shapef("expected_events: want an array of objects")
		}
		for i, e := range evs {
			var ee expectedEvent
			for k, v := range e {
				switch k {
				case "event", "id":
					s, err := asString(v)
					if err != nil {
						return spec, nil, shapef("expected_events[%d].%s: %v", i, k, err)
					}
					if k == "event" {
						ee.event = &s
					} else {
						ee.id = &s
					}
				case "data":
					s, err := asString(v)
					if err != nil {
						return spec, nil, shapef("expected_events[%d].data: a string (data_json for JSON)", i)
					}
					ee.text = &s
				case "data_json":
					d, err := decodeAny(v)
					if err != nil {
						return spec, nil, shapef("expected_events[%d].data_json: %v", i, err)
					}
					ee.json, ee.hasJSON = d, true
				default:
					return spec, nil, shapef("expected_events[%d].%s not supported", i, k)
				}
			}
			x.events = append(x.events, ee)
		}
	} else {
		for _, ex := range a.examples {
			d, _ := decodeAny(ex)
			x.events = append(x.events, expectedEvent{json: d, hasJSON: true})
		}
	}
	if raw, ok := a.doc.Get("expected_retry_ms"); ok {
		if err := json.Unmarshal(raw, &x.retryMS); err != nil {
			return spec, nil, shapef("expected_retry_ms: %v", err)
		}
	}
	if raw, ok := a.doc.Get("expected_keep_alive"); ok {
		x.keepAlive = string(compact(raw)) == "true"
	}
	if raw, ok := a.doc.Get("expected_response"); ok && !isNull(raw) {
		var o object
		if err := json.Unmarshal(raw, &o); err != nil {
			return spec, nil, shapef("expected_response: %v", err)
		}
		if err := unknownMembers(o, set("status_code", "headers"), "expected_response"); err != nil {
			return spec, nil, err
		}
		exp, err := parseExpectation(o)
		if err != nil {
			return spec, nil, err
		}
		x.status, x.expHdrs = exp.Status, exp.Headers
	}
	return spec, x, nil
}

func (x *sseExchange) run(addr string, timeout time.Duration) ([]string, error) {
	req := &HTTPRequest{Method: "GET", Target: escapePath(x.target), Headers: [][2]string{{"Accept", "text/event-stream"}}}
	req.Headers = append(req.Headers, x.headers...)
	resp, err := send(addr, req, timeout)
	if err != nil {
		return nil, err
	}
	var diffs []string
	if resp.Status != x.status {
		diffs = append(diffs, fmt.Sprintf("status: got %d, want %d", resp.Status, x.status))
	}
	for _, h := range x.expHdrs {
		if d := compareHeader(h, resp.Header); d != "" {
			diffs = append(diffs, d)
		}
	}
	if x.status != 200 {
		return withResponse(diffs, resp), nil
	}
	if d := compareHeader(expectedHeader{"content-type", "text/event-stream"}, resp.Header); d != "" {
		diffs = append(diffs, d)
	}
	if resp.Header.Get("Content-Length") != "" {
		diffs = append(diffs, "not streamed: the event stream has a Content-Length")
	}
	got := parseEventStream(string(resp.Body))
	if got.trailing {
		diffs = append(diffs, "the stream ends inside an event (no blank line after it)")
	}
	n := max(len(got.events), len(x.events))
	for i := 0; i < n; i++ {
		if i >= len(got.events) {
			diffs = append(diffs, fmt.Sprintf("events: got %d, want %d (missing %s)", len(got.events), len(x.events), x.events[i].describe()))
			break
		}
		if i >= len(x.events) {
			diffs = append(diffs, fmt.Sprintf("events: got %d, want %d (unexpected event %d: %s)", len(got.events), len(x.events), i, quoteSnippet(got.events[i].Data)))
			break
		}
		if d := x.events[i].diff(fmt.Sprintf("events[%d]", i), got.events[i]); d != "" {
			diffs = append(diffs, d)
		}
	}
	if x.retryMS >= 0 && got.retryMS != x.retryMS {
		diffs = append(diffs, fmt.Sprintf("retry: got %d ms, want %d ms", got.retryMS, x.retryMS))
	}
	if x.keepAlive && len(got.comments) == 0 {
		diffs = append(diffs, "no keep-alive comment while the stream was idle")
	}
	return withResponse(diffs, resp), nil
}

func withResponse(diffs []string, resp *Response) []string {
	if len(diffs) > 0 {
		diffs = append(diffs, fmt.Sprintf("response: %d %s %s", resp.Status, resp.Header.Get("Content-Type"), snippet(resp.Body)))
	}
	return diffs
}

func (e expectedEvent) describe() string {
	if e.text != nil {
		return quoteSnippet(*e.text)
	}
	return describe(e.json)
}

func (e expectedEvent) diff(path string, got sseEvent) string {
	if e.event != nil && got.Event != *e.event {
		return fmt.Sprintf("%s.event: got %q, want %q", path, got.Event, *e.event)
	}
	if e.id != nil && got.ID != *e.id {
		return fmt.Sprintf("%s.id: got %q, want %q", path, got.ID, *e.id)
	}
	if e.text != nil {
		if got.Data != *e.text {
			return fmt.Sprintf("%s.data: got %s, want %s", path, quoteSnippet(got.Data), quoteSnippet(*e.text))
		}
		return ""
	}
	d, err := decodeAny([]byte(got.Data))
	if err != nil {
		return fmt.Sprintf("%s.data: not JSON (%v): %s", path, err, quoteSnippet(got.Data))
	}
	return diffJSON(path+".data", e.json, d)
}

// -------------------------------------------------------------- WebSocket

// wsStep is one step of a WebSocket exchange.
type wsStep struct {
	Send          json.RawMessage `json:"send,omitempty"`
	SendText      *string         `json:"send_text,omitempty"`
	SendBinary    *string         `json:"send_binary,omitempty"`
	SendTextHex   *string         `json:"send_text_hex,omitempty"`
	Expect        json.RawMessage `json:"expect,omitempty"`
	ExpectText    *string         `json:"expect_text,omitempty"`
	ExpectBinary  *string         `json:"expect_binary,omitempty"`
	ExpectPartial json.RawMessage `json:"expect_partial,omitempty"`
	ExpectClose   *int            `json:"expect_close,omitempty"`
	Ping          *string         `json:"ping,omitempty"`
	Close         *int            `json:"close,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	SleepMS       int             `json:"sleep_ms,omitempty"`
}

type wsExchange struct {
	target      string
	headers     [][2]string
	steps       []wsStep
	handshake   *Expectation
	subprotocol *string
}

func planWS(a asyncScenario) (HandlerSpec, *wsExchange, error) {
	x := &wsExchange{}
	spec := HandlerSpec{WebSocket: &WSSpec{Echo: true}}
	if raw, ok := a.doc.Get("handler"); ok && !isNull(raw) {
		if err := strictDecode(raw, spec.WebSocket); err != nil {
			return spec, nil, shapef("handler: %v", err)
		}
	}
	if raw, ok := a.doc.Get("exchanges"); ok && !isNull(raw) {
		var steps []json.RawMessage
		if err := json.Unmarshal(raw, &steps); err != nil {
			return spec, nil, shapef("exchanges: want an array")
		}
		for i, s := range steps {
			var st wsStep
			if err := strictDecode(s, &st); err != nil {
				return spec, nil, shapef("exchanges[%d]: %v", i, err)
			}
			x.steps = append(x.steps, st)
		}
	} else {
		// Every example comes back as sent; one the schema rejects gets a
		// validation problem and the connection carries on; then a normal
		// close.
		for _, ex := range a.examples {
			x.steps = append(x.steps, wsStep{Send: ex, Expect: ex})
		}
		if len(a.examples) > 0 && a.schema != nil {
			if bad, member, ok := invalidVariant(a.schema, a.examples[0]); ok {
				partial, _ := json.Marshal(map[string]any{"type": "https://spikard.dev/errors/validation-error",
					"errors": []any{map[string]any{"type": "missing", "loc": []string{"message", member}}}})
				x.steps = append(x.steps, wsStep{Send: bad, ExpectPartial: partial},
					wsStep{Send: a.examples[0], Expect: a.examples[0]})
			}
		}
		code := 1000
		x.steps = append(x.steps, wsStep{Close: &code})
	}
	if raw, ok := a.doc.Get("expected_handshake"); ok && !isNull(raw) {
		var o object
		if err := json.Unmarshal(raw, &o); err != nil {
			return spec, nil, shapef("expected_handshake: %v", err)
		}
		if err := unknownMembers(o, set("status_code", "headers", "body_partial"), "expected_handshake"); err != nil {
			return spec, nil, err
		}
		exp, err := parseExpectation(o)
		if err != nil {
			return spec, nil, err
		}
		x.handshake = exp
	}
	if raw, ok := a.doc.Get("expected_subprotocol"); ok {
		s, err := asString(raw)
		if err != nil && !isNull(raw) {
			return spec, nil, shapef("expected_subprotocol: %v", err)
		}
		x.subprotocol = &s
	}
	return spec, x, nil
}

func (x *wsExchange) run(addr string, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	c, resp, err := wsDial(addr, x.target, x.headers, deadline)
	if err != nil {
		return nil, err
	}
	if c == nil {
		// The server refused the handshake.
		body, _ := readAllString(resp)
		r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(body)}
		if x.handshake == nil || x.handshake.Status == 101 {
			return withResponse([]string{fmt.Sprintf("handshake: got %d, want 101 Switching Protocols", resp.StatusCode)}, r), nil
		}
		return withResponse(compare(x.handshake, r), r), nil
	}
	defer c.close()
	var diffs []string
	if x.handshake != nil {
		if x.handshake.Status != 101 {
			return []string{fmt.Sprintf("handshake: got 101, want %d", x.handshake.Status)}, nil
		}
		for _, h := range x.handshake.Headers {
			if d := compareHeader(h, resp.Header); d != "" {
				diffs = append(diffs, d)
			}
		}
	}
	if x.subprotocol != nil {
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != *x.subprotocol {
			diffs = append(diffs, fmt.Sprintf("subprotocol: got %q, want %q", got, *x.subprotocol))
		}
	}
	for i, st := range x.steps {
		if d, stop := x.step(c, i, st); d != "" {
			diffs = append(diffs, d)
			if stop {
				break
			}
		}
	}
	return diffs, nil
}

// step runs one step; stop reports that the connection cannot go on.
func (x *wsExchange) step(c *wsClient, i int, st wsStep) (string, bool) {
	at := fmt.Sprintf("exchanges[%d]", i)
	if st.SleepMS > 0 {
		time.Sleep(time.Duration(st.SleepMS) * time.Millisecond)
	}
	var err error
	switch {
	case len(st.Send) > 0:
		err = c.write(opText, compact(st.Send))
	case st.SendText != nil:
		err = c.write(opText, []byte(*st.SendText))
	case st.SendTextHex != nil:
		var b []byte
		if b, err = hex.DecodeString(*st.SendTextHex); err == nil {
			err = c.write(opText, b)
		}
	case st.SendBinary != nil:
		var b []byte
		if b, err = base64.StdEncoding.DecodeString(*st.SendBinary); err == nil {
			err = c.write(opBinary, b)
		}
	case st.Ping != nil:
		if err = c.write(opPing, []byte(*st.Ping)); err == nil {
			m, rerr := c.read()
			if rerr != nil {
				return fmt.Sprintf("%s: waiting for the pong: %v", at, rerr), true
			}
			if m.op != opPong || string(m.payload) != *st.Ping {
				return fmt.Sprintf("%s: got %s, want pong %q", at, m.describe(), *st.Ping), true
			}
		}
	case st.Close != nil:
		payload := binary16(*st.Close, st.Reason)
		if err = c.write(opClose, payload); err == nil {
			m, rerr := c.read()
			for rerr == nil && m.op != opClose {
				m, rerr = c.read() // data the server sent before it saw the close
			}
			if rerr != nil {
				return fmt.Sprintf("%s: waiting for the close reply: %v", at, rerr), true
			}
			if code, _ := closePayload(m.payload); code != *st.Close {
				return fmt.Sprintf("%s: close reply %d, want %d", at, code, *st.Close), true
			}
		}
	}
	if err != nil {
		return fmt.Sprintf("%s: sending: %v", at, err), true
	}
	expecting := len(st.Expect) > 0 || st.ExpectText != nil || st.ExpectBinary != nil || len(st.ExpectPartial) > 0 || st.ExpectClose != nil
	if !expecting {
		return "", false
	}
	m, err := c.read()
	if err != nil {
		return fmt.Sprintf("%s: waiting for a message: %v", at, err), true
	}
	switch {
	case st.ExpectClose != nil:
		if m.op != opClose {
			return fmt.Sprintf("%s: got %s, want close %d", at, m.describe(), *st.ExpectClose), true
		}
		if code, _ := closePayload(m.payload); code != *st.ExpectClose {
			return fmt.Sprintf("%s: got %s, want close %d", at, m.describe(), *st.ExpectClose), true
		}
		_ = c.write(opClose, m.payload[:min(2, len(m.payload))])
		return "", true
	case st.ExpectBinary != nil:
		want, _ := base64.StdEncoding.DecodeString(*st.ExpectBinary)
		if m.op != opBinary || !bytes.Equal(m.payload, want) {
			return fmt.Sprintf("%s: got %s, want binary %s", at, m.describe(), *st.ExpectBinary), m.op == opClose
		}
	case st.ExpectText != nil:
		if m.op != opText || string(m.payload) != *st.ExpectText {
			return fmt.Sprintf("%s: got %s, want text %q", at, m.describe(), *st.ExpectText), m.op == opClose
		}
	default:
		if m.op != opText {
			return fmt.Sprintf("%s: got %s, want a JSON text message", at, m.describe()), m.op == opClose
		}
		got, err := decodeAny(m.payload)
		if err != nil {
			return fmt.Sprintf("%s: got %s, not JSON: %v", at, m.describe(), err), false
		}
		if len(st.Expect) > 0 {
			want, _ := decodeAny(st.Expect)
			if d := diffJSON(at, want, got); d != "" {
				return d + " (message " + quoteSnippet(string(m.payload)) + ")", false
			}
		} else {
			want, _ := decodeAny(st.ExpectPartial)
			if d := diffPartialArrays(at, want, got); d != "" {
				return d + " (message " + quoteSnippet(string(m.payload)) + ")", false
			}
		}
	}
	return "", false
}

// diffPartialArrays is diffPartial where an expected array matches when
// each of its items (partially) matches some item of the answer's array.
func diffPartialArrays(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object", path, describe(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing member %q", path, k)
			}
			if d := diffPartialArrays(path+"."+k, w[k], gv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an array", path, describe(got))
		}
	next:
		for i, wi := range w {
			for _, gi := range g {
				if diffPartialArrays("", wi, gi) == "" {
					continue next
				}
			}
			return fmt.Sprintf("%s: no item matches %s (want item %d)", path, describe(wi), i)
		}
		return ""
	}
	return diffJSON(path, want, got)
}

func binary16(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

func readAllString(resp *http.Response) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(resp.Body)
	return b.String(), err
}

// strictDecode decodes raw into v, refusing unknown members.
func strictDecode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
