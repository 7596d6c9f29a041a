// Command fixtureapp is the Go binding's conformance fixture app: it reads
// scenario apps from stdin, one JSON line each, serves them with the Go API
// on 127.0.0.1, and answers on stdout, as cmd/conformance/PROTOCOL.md says.
//
//	in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
//	out: {"port": N}            or {"error": "..."}
//	in:  {"stop": true}
//	out: {"stopped": true}
//
// Logs go to stderr; stdout carries protocol lines only.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	spikard "github.com/spikard/spikard-go"
	"github.com/valyala/fasthttp"
)

// message is one protocol line from the runner.
type message struct {
	App      json.RawMessage        `json:"app"`
	Handlers map[string]handlerSpec `json:"handlers"`
	Stop     bool                   `json:"stop"`
}

// handlerSpec is what one named handler does (PROTOCOL.md, "handlers").
type handlerSpec struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	SetCookies  []string          `json:"set_cookies"`
	Body        json.RawMessage   `json:"body"`
	BodyRaw     *string           `json:"body_raw"`
	ContentType string            `json:"content_type"`
	Echo        bool              `json:"echo"`
	Raise       bool              `json:"raise"`
	SleepMS     int               `json:"sleep_ms"`

	// Hooks, dependencies and background work.
	Continue      bool              `json:"continue"`
	Require       []string          `json:"require"`
	Record        []record          `json:"record"`
	CleanupRecord []record          `json:"cleanup_record"`
	HeadersFrom   map[string]string `json:"headers_from"`
	Fill          map[string]string `json:"fill"`
	Generate      string            `json:"generate"`
	Background    *struct {
		State string `json:"state"`
		From  string `json:"from"`
	} `json:"background"`
	State string `json:"state"`

	// Streams, event streams and WebSockets (live.go).
	Stream    *streamSpec `json:"stream"`
	SSE       *sseSpec    `json:"sse"`
	WebSocket *wsSpec     `json:"websocket"`
}

// record appends Value, or the invocation's name, to a state list.
type record struct {
	State string          `json:"state"`
	Value json.RawMessage `json:"value"`
}

// states are the running app's named lists (background work, cleanups,
// resolution order), read by "state" handlers.
type states struct {
	mu    sync.Mutex
	lists map[string][]json.RawMessage
}

func (s *states) add(name string, v json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists[name] = append(s.lists[name], append(json.RawMessage(nil), v...))
}

func (s *states) get(name string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage{}, s.lists[name]...)
}

type running struct {
	app  *spikard.App
	done chan error
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	reply := func(v any) {
		b, _ := json.Marshal(v)
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
	}
	var cur *running
	stop := func() {
		if cur == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := cur.app.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "fixtureapp: shutdown:", err)
		}
		cancel()
		select {
		case <-cur.done:
		case <-time.After(5 * time.Second):
		}
		cur = nil
	}
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var msg message
			if jerr := json.Unmarshal(line, &msg); jerr != nil {
				reply(map[string]string{"error": "bad protocol line: " + jerr.Error()})
			} else if msg.Stop {
				stop()
				reply(map[string]bool{"stopped": true})
			} else if len(msg.App) > 0 {
				stop()
				r, port, serr := start(msg)
				if serr != nil {
					reply(map[string]string{"error": serr.Error()})
				} else {
					cur = r
					reply(map[string]int{"port": port})
				}
			} else {
				reply(map[string]string{"error": `unknown message: want {"app":...} or {"stop":true}`})
			}
		}
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "fixtureapp: reading stdin:", err)
			}
			stop()
			return
		}
	}
}

// start builds the app from the document, binds the handlers and serves on
// a free port of 127.0.0.1.
func start(msg message) (*running, int, error) {
	app, err := spikard.ParseConfig(msg.App)
	if err != nil {
		return nil, 0, err
	}
	st := &states{lists: map[string][]json.RawMessage{}}
	for name, spec := range msg.Handlers {
		if spec.WebSocket != nil { // live.go
			app.HandleWebSocket(name, wsHandler(*spec.WebSocket))
			continue
		}
		app.Handle(name, handler(spec, st))
	}
	if err := app.Build(); err != nil {
		return nil, 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	r := &running{app: app, done: make(chan error, 1)}
	go func() { r.done <- app.Serve(ln) }()
	return r, ln.Addr().(*net.TCPAddr).Port, nil
}

var errRaised = errors.New("fixtureapp: the handler raised, as the scenario asks")

func handler(s handlerSpec, st *states) spikard.Handler {
	return func(c *spikard.Ctx) error {
		if s.SleepMS > 0 {
			time.Sleep(time.Duration(s.SleepMS) * time.Millisecond)
		}
		if c.Call().Kind == "cleanup" {
			for _, r := range s.CleanupRecord {
				st.add(r.State, r.Value)
			}
			return nil
		}
		var values any // the values document, decoded when a member needs it
		if len(s.Require)+len(s.Fill)+len(s.HeadersFrom) > 0 || s.Background != nil {
			values = decode(c.Values())
		}
		for _, p := range s.Require {
			if _, ok := pointer(values, p); !ok {
				return fmt.Errorf("fixtureapp: required %s is not in the values document %s", p, c.Values())
			}
		}
		for _, r := range s.Record {
			v := r.Value
			if len(v) == 0 {
				v, _ = json.Marshal(c.Call().Name)
			}
			st.add(r.State, v)
		}
		if s.Raise {
			return errRaised
		}
		for k, v := range s.Headers {
			c.SetHeader(k, v)
		}
		for k, p := range s.HeadersFrom {
			v, ok := pointer(values, p)
			if !ok {
				return fmt.Errorf("fixtureapp: headers_from %s: no %s in the values document", k, p)
			}
			if str, isStr := v.(string); isStr {
				c.SetHeader(k, str)
			} else {
				b, _ := json.Marshal(v)
				c.SetHeader(k, string(b))
			}
		}
		for _, sc := range s.SetCookies {
			ck := fasthttp.AcquireCookie()
			if err := ck.Parse(sc); err != nil {
				fasthttp.ReleaseCookie(ck)
				return fmt.Errorf("fixtureapp: set_cookies %q: %w", sc, err)
			}
			c.SetCookie(ck)
			fasthttp.ReleaseCookie(ck)
		}
		if bg := s.Background; bg != nil {
			v, ok := pointer(values, bg.From)
			if !ok {
				return fmt.Errorf("fixtureapp: background: no %s in the values document", bg.From)
			}
			b, _ := json.Marshal(v)
			if err := c.Background(func() { st.add(bg.State, b) }); err != nil {
				return err
			}
		}
		if s.Continue {
			return nil
		}
		status := s.Status
		if status == 0 {
			status = 200
		}
		switch {
		case s.Stream != nil: // live.go
			return streamAnswer(c, status, s.ContentType, s.Stream)
		case s.SSE != nil:
			return sseAnswer(c, s.SSE)
		case s.State != "":
			return c.JSON(status, map[string]any{s.State: st.get(s.State)})
		case s.Generate == "uuid":
			return c.JSON(status, newUUID())
		case s.Generate != "":
			return fmt.Errorf("fixtureapp: unknown generate %q", s.Generate)
		case s.Echo:
			return c.Send(status, "application/json", c.Values())
		case s.BodyRaw != nil:
			return c.Send(status, s.ContentType, []byte(*s.BodyRaw))
		case len(s.Body) > 0 && string(s.Body) != "null":
			ct := s.ContentType
			if ct == "" {
				ct = "application/json"
			}
			body := s.Body
			if len(s.Fill) > 0 {
				var err error
				if body, err = fill(body, s.Fill, values); err != nil {
					return err
				}
			}
			return c.Send(status, ct, body)
		default:
			return c.Send(status, s.ContentType, nil)
		}
	}
}

// decode reads a JSON document (numbers kept as written).
func decode(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// pointer resolves a JSON pointer (RFC 6901) in a decoded document.
func pointer(doc any, p string) (any, bool) {
	if p == "" {
		return doc, true
	}
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(p[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := cur.(type) {
		case map[string]any:
			v, ok := t[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			cur = t[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// fill sets members of the body (target pointers, "" for the whole body)
// to values of the values document (source pointers).
func fill(body json.RawMessage, f map[string]string, values any) (json.RawMessage, error) {
	doc := decode(body)
	for target, source := range f {
		v, ok := pointer(values, source)
		if !ok {
			return nil, fmt.Errorf("fixtureapp: fill %q: no %s in the values document", target, source)
		}
		if target == "" {
			doc = v
			continue
		}
		i := strings.LastIndexByte(target, '/')
		parent, ok := pointer(doc, target[:i])
		obj, isObj := parent.(map[string]any)
		if !ok || !isObj {
			return nil, fmt.Errorf("fixtureapp: fill %q: the body has no object there", target)
		}
		obj[strings.ReplaceAll(strings.ReplaceAll(target[i+1:], "~1", "/"), "~0", "~")] = v
	}
	return json.Marshal(doc)
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
