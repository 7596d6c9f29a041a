package capitest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

const streamDoc = `{
  "version": 1,
  "server": {"handler_timeout_ms": 5000},
  "routes": [
    {"method": "GET", "path": "/s", "handler": "s"},
    {"method": "GET", "path": "/cb", "handler": "cb"},
    {"method": "GET", "path": "/events", "handler": "events",
     "sse": {"keep_alive_ms": -1,
             "event_schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}},
    {"method": "GET", "path": "/ws/{room}", "handler": "ws", "websocket": {"max_message_bytes": 64}},
    {"method": "GET", "path": "/wscb", "handler": "wscb", "websocket": {}}
  ]
}`

// rawGet sends a GET and returns the raw response (status line, headers,
// body as sent, chunk framing decoded by net/http's reader).
func rawGet(t *testing.T, base, path string, hdr ...string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return client.Do(req)
}

// streamApp makes the streamDoc app with every handler queued except the
// bound ones (bind them with bind before it listens).
func streamApp(t *testing.T, bind map[string]func(app int64)) (int64, string) {
	t.Helper()
	noLeaks(t)
	app := newApp(t, streamDoc)
	for _, n := range []string{"s", "cb", "events", "ws", "wscb"} {
		if f := bind[n]; f != nil {
			f(app)
		} else {
			must(t, n)(HandleQueued(app, n, 0))
		}
	}
	return app, listen(t, app)
}

func TestStreamQueued(t *testing.T) {
	app, base := streamApp(t, nil)
	type got struct {
		resp *http.Response
		body string
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		resp, err := rawGet(t, base, "/s")
		if err != nil {
			ch <- got{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- got{resp, string(b), err}
	}()
	r := nextOne(t, app)
	rc, msg := StreamBeginNilOut(r.ID)
	wantCode(t, "begin without out_stream", rc, msg, EINVAL, "out_stream")
	_, rc, msg = StreamBegin(r.ID, 99, "")
	wantCode(t, "begin with status 99", rc, msg, EINVAL, "status 99")
	_, rc, msg = StreamBegin(r.ID, 200, "no colon")
	wantCode(t, "begin with a bad header block", rc, msg, EINVAL, "spikard_stream_begin: headers")
	s, rc, msg := StreamBegin(r.ID, 206, "Content-Type: text/plain\nX-Part: 1\nContent-Length: 99")
	mustOK(t, "spikard_stream_begin", rc, msg)
	_, rc, msg = StreamBegin(r.ID, 200, "")
	wantCode(t, "begin twice", rc, msg, ESTATE, "already answered")
	rc, msg = Answer(r.ID, 200, "", "x")
	wantCode(t, "respond after begin", rc, msg, ESTATE, "already answered")
	for _, c := range []string{"a", "", "b", "c"} {
		must(t, "spikard_stream_write")(StreamWrite(s, c))
	}
	wantRC(t, "write NULL with a length", EINVAL, "NULL")(StreamWriteNil(s, 3))
	must(t, "spikard_stream_end")(StreamEnd(s))
	wantRC(t, "end twice", ESTATE, "already ended")(StreamEnd(s))
	wantRC(t, "write after end", ESTATE, "already ended")(StreamWrite(s, "late"))
	wantRC(t, "unknown stream", EBADHANDLE, "not a stream")(StreamWrite(1<<60, "x"))
	g := <-ch
	if g.err != nil {
		t.Fatal(g.err)
	}
	if g.resp.StatusCode != 206 || g.body != "abc" || g.resp.Header.Get("X-Part") != "1" ||
		g.resp.ContentLength != -1 || len(g.resp.TransferEncoding) == 0 {
		t.Fatalf("stream: %d %q %v (length %d)", g.resp.StatusCode, g.body, g.resp.Header, g.resp.ContentLength)
	}
}

// wantRC is wantCode for a call's two results.
func wantRC(t *testing.T, what string, want int, contains string) func(int, string) {
	return func(rc int, msg string) { t.Helper(); wantCode(t, what, rc, msg, want, contains) }
}

// A callback handler writes its whole body before returning: the response
// only starts after it returned, so the writes must not block.
func TestStreamInCallback(t *testing.T) {
	_, base := streamApp(t, map[string]func(int64){"cb": func(app int64) { must(t, "cb")(HandleGo(app, "cb", onCallbackStream(t))) }})
	a := get(t, "GET", base+"/cb", "")
	if a.status != 200 || strings.Count(a.body, "\n") != 200 || !strings.HasSuffix(a.body, "{\"i\":199}\n") {
		t.Fatalf("callback stream: %d %d lines", a.status, strings.Count(a.body, "\n"))
	}
}

// A stream begun from another thread while the callback still runs (the
// callback waits for it) or just after it returned unanswered (as the Node
// binding does): the C half keeps the waiter reachable through both.
func TestStreamFromAnotherThread(t *testing.T) {
	for _, wait := range []bool{true, false} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) { streamFromAnotherThread(t, wait, 0) })
	}
	// Begun while the library still holds the returned request (lookups
	// ask again until the Go handler has taken it over).
	HoldReturned(3000)
	defer HoldReturned(0)
	t.Run("held", func(t *testing.T) { streamFromAnotherThread(t, false, 500*time.Microsecond) })
}

func streamFromAnotherThread(t *testing.T, wait bool, after time.Duration) {
	handler := func(r Request) {
		began := make(chan struct{})
		go func() {
			time.Sleep(after)
			onCallbackStream(t)(Request{ID: r.ID})
			close(began)
		}()
		if wait {
			<-began
		}
	}
	_, base := streamApp(t, map[string]func(int64){"cb": func(app int64) { must(t, "cb")(HandleGo(app, "cb", handler)) }})
	for i := 0; i < 20; i++ {
		a := get(t, "GET", base+"/cb", "")
		if a.status != 200 || strings.Count(a.body, "\n") != 200 || !strings.HasSuffix(a.body, "{\"i\":199}\n") {
			t.Fatalf("stream: %d %d lines", a.status, strings.Count(a.body, "\n"))
		}
	}
}

func onCallbackStream(t *testing.T) func(Request) {
	return func(r Request) {
		s, rc, msg := StreamBegin(r.ID, 200, "Content-Type: application/x-ndjson")
		if rc != OK {
			t.Errorf("begin: %s", msg)
			return
		}
		for i := 0; i < 200; i++ {
			if rc, msg := StreamWrite(s, fmt.Sprintf("{\"i\":%d}\n", i)); rc != OK {
				t.Errorf("write %d: %s", i, msg)
			}
		}
		StreamEnd(s)
	}
}

func TestStreamClientGoneAndFail(t *testing.T) {
	app, base := streamApp(t, nil)
	addr := strings.TrimPrefix(base, "http://")

	// The client reads the first chunk and leaves: writes fail with
	// SPIKARD_ECLOSED.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	r := nextOne(t, app)
	s, rc, msg := StreamBegin(r.ID, 200, "Content-Type: application/octet-stream")
	mustOK(t, "begin", rc, msg)
	must(t, "write")(StreamWrite(s, "first"))
	br := bufio.NewReader(conn)
	line, _ := br.ReadString('\n')
	if !strings.Contains(line, "200") {
		t.Fatalf("status line %q", line)
	}
	conn.Close()
	big := strings.Repeat("x", 64<<10)
	var last int
	for i := 0; i < 100000; i++ {
		if last, msg = StreamWrite(s, big); last != OK {
			break
		}
	}
	wantCode(t, "write after the client left", last, msg, ECLOSED, "client went away")
	must(t, "end after the client left")(StreamEnd(s))

	// A producer that fails midway: the body is cut off, never complete.
	ch := make(chan error, 1)
	go func() {
		resp, err := rawGet(t, base, "/s")
		if err != nil {
			ch <- err
			return
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- err
	}()
	r = nextOne(t, app)
	s, rc, msg = StreamBegin(r.ID, 200, "Content-Type: text/plain")
	mustOK(t, "begin", rc, msg)
	must(t, "write")(StreamWrite(s, "partial"))
	must(t, "fail")(StreamFail(s, "ValueError: boom"))
	wantRC(t, "fail twice", ESTATE, "already ended")(StreamFail(s, ""))
	if err := <-ch; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a failed stream must end as an incomplete body, got %v", err)
	}
}

func TestSSE(t *testing.T) {
	app, base := streamApp(t, nil)
	type got struct {
		resp *http.Response
		body string
	}
	ch := make(chan got, 1)
	go func() {
		resp, err := rawGet(t, base, "/events", "Last-Event-ID", "41")
		if err != nil {
			ch <- got{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- got{resp, string(b)}
	}()
	r := nextOne(t, app)
	if !strings.Contains(r.Headers, "Last-Event-Id: 41") && !strings.Contains(r.Headers, "Last-Event-ID: 41") {
		t.Errorf("headers %q lack Last-Event-ID", r.Headers)
	}
	// The route declares "sse": an event stream without a Content-Type.
	s, rc, msg := StreamBegin(r.ID, 200, "")
	mustOK(t, "begin", rc, msg)
	must(t, "event")(SSESend(s, "tick", `{"n":42}`, "42", "", 3000))
	wantRC(t, "event against the schema", EINVAL, "event_schema")(SSESend(s, "tick", `{"n":"x"}`, "43", "", 0))
	must(t, "multi-line event")(SSESend(s, "", "{\"n\":\n44}", "", "note\nsecond", 0))
	must(t, "end")(StreamEnd(s))
	g := <-ch
	if g.resp == nil {
		t.Fatal("no response")
	}
	want := "event: tick\nid: 42\nretry: 3000\ndata: {\"n\":42}\n\n" + ": note\n: second\ndata: {\"n\":\ndata: 44}\n\n"
	if g.resp.Header.Get("Content-Type") != "text/event-stream" || g.resp.Header.Get("Cache-Control") != "no-cache" || g.body != want {
		t.Fatalf("event stream: %v\n%q\nwant\n%q", g.resp.Header, g.body, want)
	}
}

func TestWebSocketQueued(t *testing.T) {
	app, base := streamApp(t, map[string]func(int64){"ws": func(app int64) { must(t, "ws")(HandleQueued(app, "ws", 7)) }})

	type event struct {
		Request
		closeCode int
	}
	events := make(chan event, 16)
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		for {
			reqs, rc, _ := Next(app, 5000, 8)
			if rc != OK {
				return
			}
			for _, r := range reqs {
				e := event{Request: r}
				switch r.Kind {
				case KindWSOpen:
					WSSend(r.Conn, 1, `{"hello":"`+r.Path+`"}`)
					Continue(r.ID, "", 0)
				case KindWSMessage:
					switch {
					case r.Body == "bye":
						WSClose(r.Conn, 4001, "bye")
						Continue(r.ID, "", 0)
					case r.Body == "fail":
						RespondError(r.ID, "RuntimeError: fail")
					case r.Method == "BINARY":
						Answer(r.ID, 200, "Content-Type: application/octet-stream", r.Body)
					default:
						Answer(r.ID, 200, "", r.Body)
					}
				case KindWSClose:
					e.closeCode = int(binary.BigEndian.Uint16([]byte(r.Body)))
					Continue(r.ID, "", 0)
				default:
					Answer(r.ID, 500, "", "")
				}
				events <- e
				if r.Kind == KindWSClose && e.closeCode == 4001 {
					return
				}
			}
		}
	}()

	url := "ws" + strings.TrimPrefix(base, "http") + "/ws/lobby"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, b, err := c.ReadMessage(); err != nil || string(b) != `{"hello":"/ws/lobby"}` {
		t.Fatalf("greeting %q %v", b, err)
	}
	open := <-events
	if open.Kind != KindWSOpen || open.Conn == 0 || open.Tag != 7 || open.Method != "GET" ||
		!strings.Contains(open.Values, `"room":"lobby"`) || !strings.Contains(open.Headers, "Upgrade: websocket") {
		t.Fatalf("open event %+v", open.Request)
	}
	conn := open.Conn
	// An event is not an HTTP request: no stream.
	_ = c.WriteMessage(websocket.TextMessage, []byte("héllo"))
	if typ, b, err := c.ReadMessage(); err != nil || typ != websocket.TextMessage || string(b) != "héllo" {
		t.Fatalf("text echo %d %q %v", typ, b, err)
	}
	msg := <-events
	if msg.Kind != KindWSMessage || msg.Conn != conn || msg.Method != "TEXT" {
		t.Fatalf("message event %+v", msg.Request)
	}
	_ = c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 0xff})
	if typ, b, err := c.ReadMessage(); err != nil || typ != websocket.BinaryMessage || string(b) != "\x00\x01\xff" {
		t.Fatalf("binary echo %d %q %v", typ, b, err)
	}
	<-events
	rc, m := WSSend(conn, 3, "x")
	wantCode(t, "opcode 3", rc, m, EINVAL, "opcode 3")
	rc, m = WSSend(conn, 1, "\xff\xfe")
	wantCode(t, "text that is not UTF-8", rc, m, EINVAL, "UTF-8")
	rc, m = WSClose(conn, 1005, "")
	wantCode(t, "close code 1005", rc, m, EINVAL, "1005")
	rc, m = WSSend(1<<60, 1, "x")
	wantCode(t, "unknown connection", rc, m, EBADHANDLE, "not a WebSocket connection")

	_ = c.WriteMessage(websocket.TextMessage, []byte("bye"))
	<-events
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "bye" {
		t.Fatalf("close: %v", err)
	}
	closed := <-events
	if closed.Kind != KindWSClose || closed.Conn != conn || closed.closeCode != 4001 || closed.Method != "CLOSE" {
		t.Fatalf("close event %+v code %d", closed.Request, closed.closeCode)
	}
	<-hostDone
	rc, m = WSSend(conn, 1, "late")
	wantCode(t, "send after the close", rc, m, ECLOSED, "clos")
	rc, m = WSClose(conn, 1000, "")
	wantCode(t, "close after the close", rc, m, ECLOSED, "closed")
}

// Callback mode: events arrive on library threads; a failing handler
// closes the connection with 1011; a stream cannot begin on an event.
func TestWebSocketCallback(t *testing.T) {
	streamRC := make(chan int, 1)
	_, base := streamApp(t, map[string]func(int64){"wscb": func(app int64) { must(t, "wscb")(HandleGo(app, "wscb", onEvent(streamRC))) }})
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/wscb", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_ = c.WriteMessage(websocket.TextMessage, []byte("stream"))
	if rc := <-streamRC; rc != EINVAL {
		t.Fatalf("stream_begin on an event = %s, want EINVAL", StrError(rc))
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("hi"))
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "echo:hi" {
		t.Fatalf("echo %q %v", b, err)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("fail"))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1011 {
		t.Fatalf("a failing handler must close with 1011, got %v", err)
	}
}

func onEvent(streamRC chan<- int) func(Request) {
	return func(r Request) {
		switch {
		case r.Kind == KindWSMessage && r.Body == "stream":
			_, rc, _ := StreamBegin(r.ID, 200, "")
			streamRC <- rc
			Continue(r.ID, "", 0)
		case r.Kind == KindWSMessage && r.Body == "fail":
			RespondError(r.ID, "boom")
		case r.Kind == KindWSMessage:
			Answer(r.ID, 200, "", "echo:"+r.Body)
		default:
			Continue(r.ID, "", 0)
		}
	}
}

// A client that never answers the shutdown's 1001: the connection is cut
// at the deadline, and its close event still reaches the host.
func TestWebSocketCloseEventAtShutdown(t *testing.T) {
	app, base := streamApp(t, nil)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // the client reads nothing: it never answers the close frame
	kinds := make(chan uint32, 8)
	go func() {
		for {
			reqs, rc, _ := Next(app, 5000, 8)
			if rc != OK {
				close(kinds)
				return
			}
			for _, r := range reqs {
				Continue(r.ID, "", 0)
				kinds <- r.Kind
			}
		}
	}()
	if k := <-kinds; k != KindWSOpen {
		t.Fatalf("first event kind %d", k)
	}
	rc, msg := Shutdown(app, 200)
	if rc != OK && rc != ETIMEOUT {
		t.Fatalf("shutdown: %s %s", StrError(rc), msg)
	}
	if k, ok := <-kinds; !ok || k != KindWSClose {
		t.Fatalf("after the shutdown: kind %d (queue open %v), want the close event", k, ok)
	}
}
