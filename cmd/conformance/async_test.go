package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func TestParseEventStream(t *testing.T) {
	got := parseEventStream(": hi\r\nretry: 300\r\nid: 1\r\nevent: a\r\ndata: x\r\ndata:y\r\n\r\n" +
		"data: z\r\r" + "id: 5\n\n" + "data: w\n\n" + "data: cut")
	want := []sseEvent{{ID: "1", Event: "a", Data: "x\ny"}, {ID: "1", Event: "message", Data: "z"}, {ID: "5", Event: "message", Data: "w"}}
	if len(got.events) != len(want) {
		t.Fatalf("%+v", got.events)
	}
	for i := range want {
		if got.events[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got.events[i], want[i])
		}
	}
	if !got.trailing || got.retryMS != 300 || len(got.comments) != 1 {
		t.Errorf("trailing %v retry %d comments %q", got.trailing, got.retryMS, got.comments)
	}
	if p := parseEventStream("data: a\n\n"); p.trailing || len(p.events) != 1 {
		t.Errorf("a complete stream: %+v", p)
	}
}

func TestInvalidVariant(t *testing.T) {
	bad, member, ok := invalidVariant(json.RawMessage(`{"type":"object","required":["x","type"]}`),
		json.RawMessage(`{"type":"m","user":"u"}`))
	if !ok || member != "type" || string(bad) != `{"user":"u"}` {
		t.Fatalf("%s %s %v", bad, member, ok)
	}
	if _, _, ok := invalidVariant(json.RawMessage(`{"type":"object"}`), json.RawMessage(`{"a":1}`)); ok {
		t.Fatal("nothing required: no variant")
	}
}

func TestPlanAsyncFromMessageFixture(t *testing.T) {
	s := scenario(t, "websockets/chat.json", `{"name":"chat","channel":"/chat","protocol":"websocket",
		"schema":{"type":"object","required":["type","text"]},
		"examples":[{"type":"m","text":"hi"}],"operations":[{"action":"send"}]}`)
	if !isAsync(s) {
		t.Fatal("not recognised")
	}
	p, err := planScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Setup.App.Routes[0]
	if r.Method != "GET" || r.Path != "/chat" || string(r.WebSocket) != `{"message_schema":{"type":"object","required":["type","text"]}}` {
		t.Fatalf("route %+v %s", r, r.WebSocket)
	}
	if h := p.Setup.Handlers["h0"]; h.WebSocket == nil || !h.WebSocket.Echo {
		t.Fatalf("handler %+v", h)
	}
	// An SSE fixture without a channel or protocol takes them from its name and folder.
	s = scenario(t, "sse/note.json", `{"name":"note","schema":{"type":"object","required":["a"]},"examples":[{"a":1,"b":2}]}`)
	p, err = planScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Setup.App.Routes[0]; r.Path != "/note" || !strings.Contains(string(r.SSE), "event_schema") {
		t.Fatalf("route %+v", r)
	}
	ev := p.Setup.Handlers["h0"].SSE.Events
	if len(ev) != 2 || ev[0].Data != `{"a":1,"b":2}` || ev[1].Data != `{"b":2}` {
		t.Fatalf("events %+v", ev)
	}
	if _, err := planScenario(scenario(t, "sse/x.json", `{"protocol":"sse","channel":"/a","bogus":1}`)); err == nil ||
		!strings.Contains(err.Error(), "scenario.bogus") {
		t.Fatalf("unknown member: %v", err)
	}
}

func TestApplyStreaming(t *testing.T) {
	p := mustPlan(t, `{"name":"n","description":"d","handler":{"route":"/s","method":"GET"},
		"request":{"method":"GET","path":"/s"},
		"expected_response":{"status_code":200,"body":"a\\u0000","headers":{"content-type":"text/plain"}},
		"streaming":{"content_type":"text/csv","chunks":[{"type":"text","value":"a"},{"type":"bytes","base64":"AA=="}]}}`)
	h := p.Setup.Handlers["h0"]
	if h.Stream == nil || len(h.Stream.Chunks) != 2 || h.ContentType != "text/csv" || h.BodyRaw != nil || p.Exchange == nil {
		t.Fatalf("%+v", h)
	}
	// The framework answers: nothing streams.
	p = mustPlan(t, `{"name":"n","description":"d","handler":{"route":"/s","method":"GET"},
		"request":{"method":"GET","path":"/s"},"expected_response":{"status_code":422},
		"streaming":{"chunks":[{"type":"text","value":"a"}]}}`)
	if h := p.Setup.Handlers["h0"]; h.Stream != nil || p.Exchange != nil {
		t.Fatalf("a framework answer streamed: %+v", h)
	}
}

// The runner's WebSocket client against an independent server.
func TestWSClient(t *testing.T) {
	up := websocket.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			if string(b) == "frag" { // a fragmented answer
				w, _ := c.NextWriter(websocket.TextMessage)
				w.Write([]byte(strings.Repeat("y", 5000)))
				w.Close()
				continue
			}
			c.WriteMessage(typ, b)
		}
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	c, resp, err := wsDial(ln.Addr().String(), "/", nil, time.Now().Add(5*time.Second))
	if err != nil || c == nil {
		t.Fatalf("dial: %v %v", resp, err)
	}
	defer c.close()
	big := strings.Repeat("x", 70000) // 64-bit length
	for _, m := range []string{"a", strings.Repeat("z", 300), big} {
		c.write(opText, []byte(m))
		got, err := c.read()
		if err != nil || got.op != opText || string(got.payload) != m {
			t.Fatalf("echo of %d bytes: %v %v", len(m), got.describe(), err)
		}
	}
	c.write(opText, []byte("frag"))
	if got, err := c.read(); err != nil || len(got.payload) != 5000 {
		t.Fatalf("fragmented: %d %v", len(got.payload), err)
	}
	c.write(opPing, []byte("p"))
	if got, err := c.read(); err != nil || got.op != opPong || string(got.payload) != "p" {
		t.Fatalf("pong: %v %v", got.describe(), err)
	}
	c.write(opClose, binary16(4001, "bye"))
	if got, err := c.read(); err != nil || got.op != opClose {
		t.Fatalf("close: %v %v", got.describe(), err)
	} else if code, _ := closePayload(got.payload); code != 4001 {
		t.Fatalf("close code %d", code)
	}
}
