package app_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/ws"
)

const chatSchema = `{"type":"object","required":["type","text"],"properties":{"type":{"const":"message"},"text":{"type":"string","minLength":1}}}`

type closeLog struct {
	mu    sync.Mutex
	codes []int
}

func (l *closeLog) add(code int) { l.mu.Lock(); l.codes = append(l.codes, code); l.mu.Unlock() }
func (l *closeLog) count(code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.codes {
		if c == code {
			n++
		}
	}
	return n
}

func wsApp(t *testing.T, closes *closeLog) string {
	echo := ws.Handler{
		OnConnect: func(c *ws.Conn) error {
			return c.SendJSON(map[string]any{"hello": c.Subprotocol(), "room": mustParam(c, "path", "room"),
				"v": json.RawMessage(c.Values())})
		},
		OnMessage: func(c *ws.Conn, m ws.Message) error {
			switch {
			case m.Type == ws.Text && m.Text() == "bye":
				return &ws.CloseError{Code: 4001, Reason: "bye"}
			case m.Type == ws.Text && m.Text() == "panic":
				panic("boom")
			}
			return c.Send(m.Type, m.Data)
		},
		OnClose: func(c *ws.Conn, code int, reason string) { closes.add(code) },
	}
	cfg, err := config.Parse([]byte(`{"version":1,"routes":[
	  {"method":"GET","path":"/ws/{room}","handler":"chat","parameters":{"query":{"token":{"type":"string","optional":true}}},
	   "websocket":{"subprotocols":["chat.v2","chat.v1"],"max_message_bytes":1024,"ping_interval_ms":50,"pong_timeout_ms":200}},
	  {"method":"GET","path":"/validated","handler":"chat","websocket":{"message_schema":` + chatSchema + `}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := app.New(*cfg)
	b.SetLogger(discardLogger())
	b.HandleWebSocket("chat", echo)
	return listen(t, b)
}

func mustParam(c *ws.Conn, src, name string) any { v, _ := c.Param(src, name); return v }

func dial(t *testing.T, url string, protos ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protos, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

func TestWebSocketEcho(t *testing.T) {
	closes := &closeLog{}
	addr := wsApp(t, closes)
	c := dial(t, "ws://"+addr+"/ws/lobby?token=abc", "chat.v1", "chat.v2")
	if c.Subprotocol() != "chat.v2" {
		t.Fatalf("subprotocol %q, want the server's preference chat.v2", c.Subprotocol())
	}
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if hello["hello"] != "chat.v2" || hello["room"] != "lobby" {
		t.Fatalf("greeting %v", hello)
	}
	if v := hello["v"].(map[string]any); v["query"].(map[string]any)["token"] != "abc" {
		t.Fatalf("values %v", v)
	}
	c.WriteMessage(websocket.TextMessage, []byte("héllo"))
	if typ, b, err := c.ReadMessage(); err != nil || typ != websocket.TextMessage || string(b) != "héllo" {
		t.Fatalf("text echo: %d %q %v", typ, b, err)
	}
	c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 255})
	if typ, b, err := c.ReadMessage(); err != nil || typ != websocket.BinaryMessage || string(b) != "\x00\x01\x02\xff" {
		t.Fatalf("binary echo: %d %q %v", typ, b, err)
	}
	// The server pings every 50 ms; the client library answers.
	pings := make(chan struct{}, 10)
	c.SetPingHandler(func(s string) error {
		pings <- struct{}{}
		return c.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pings:
	case <-time.After(3 * time.Second):
		t.Fatal("no ping from the server")
	}
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "done"))
	waitFor(t, "OnClose(4000)", 3*time.Second, func() bool { return closes.count(4000) == 1 })
	c.Close()
}

func TestWebSocketCloseCodes(t *testing.T) {
	closes := &closeLog{}
	addr := wsApp(t, closes)
	expectClose := func(c *websocket.Conn, want int) {
		t.Helper()
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != want {
				t.Fatalf("want close %d, got %v", want, err)
			}
			c.Close()
			return
		}
	}
	// Too big: 1009.
	c := dial(t, "ws://"+addr+"/ws/a")
	c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2000)))
	expectClose(c, ws.CloseTooBig)
	// Invalid UTF-8 in a text message: 1007.
	c = dial(t, "ws://"+addr+"/ws/a")
	c.WriteMessage(websocket.TextMessage, []byte{0xff, 0xfe})
	expectClose(c, ws.CloseInvalidPayload)
	// The handler closes with its own code.
	c = dial(t, "ws://"+addr+"/ws/a")
	c.WriteMessage(websocket.TextMessage, []byte("bye"))
	expectClose(c, 4001)
	// A panicking handler: 1011.
	c = dial(t, "ws://"+addr+"/ws/a")
	c.WriteMessage(websocket.TextMessage, []byte("panic"))
	expectClose(c, ws.CloseInternalError)
	waitFor(t, "OnClose(1011)", 3*time.Second, func() bool { return closes.count(ws.CloseInternalError) == 1 })
	// A peer that stops answering pings is dropped (1006 for OnClose).
	raw := dial(t, "ws://"+addr+"/ws/a")
	raw.SetPingHandler(func(string) error { return nil }) // never pong
	go func() {
		for {
			if _, _, err := raw.ReadMessage(); err != nil {
				return
			}
		}
	}()
	waitFor(t, "a silent peer dropped", 5*time.Second, func() bool { return closes.count(ws.CloseAbnormal) == 1 })
	raw.Close()
}

func TestWebSocketValidation(t *testing.T) {
	addr := wsApp(t, &closeLog{})
	c := dial(t, "ws://"+addr+"/validated")
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","text":""}`))
	var p struct {
		Type, Title, Detail string
		Status              int
		Errors              []struct {
			Type string
			Loc  []any
		}
	}
	if err := c.ReadJSON(&p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "https://spikard.dev/errors/validation-error" || p.Status != 422 || len(p.Errors) != 1 ||
		p.Errors[0].Type != "string_too_short" || len(p.Errors[0].Loc) != 2 || p.Errors[0].Loc[0] != "message" {
		t.Fatalf("validation problem: %+v", p)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`not json`))
	if err := c.ReadJSON(&p); err != nil || p.Status != 400 {
		t.Fatalf("malformed JSON: %+v %v", p, err)
	}
	msg := `{"type":"message","text":"hi"}`
	c.WriteMessage(websocket.TextMessage, []byte(msg))
	if _, b, err := c.ReadMessage(); err != nil || string(b) != msg {
		t.Fatalf("valid message after invalid ones: %q %v", b, err)
	}
	c.Close()
}

func TestWebSocketNotAnUpgrade(t *testing.T) {
	addr := wsApp(t, &closeLog{})
	resp, err := http.Get("http://" + addr + "/ws/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 426 || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("plain GET on a WebSocket route: %d\n%s", resp.StatusCode, header(resp))
	}
	// A foreign Origin is refused by default.
	d := websocket.Dialer{}
	_, resp, err = d.Dial("ws://"+addr+"/ws/a", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin handshake: %v %v", resp, err)
	}
}

// A Conn outlives its connection: hosts (the C ABI) and a shutdown's
// GoAway may still hold it after fasthttp recycled the hijacked socket.
// Every use must then fail cleanly instead of touching the socket.
func TestWebSocketConnAfterItEnded(t *testing.T) {
	var held atomic.Pointer[ws.Conn]
	ended := make(chan struct{})
	cfg, err := config.Parse([]byte(`{"version":1,"routes":[{"method":"GET","path":"/ws","handler":"h","websocket":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := app.New(*cfg)
	b.SetLogger(discardLogger())
	b.HandleWebSocket("h", ws.Handler{
		OnConnect: func(c *ws.Conn) error { held.Store(c); return nil },
		OnClose:   func(c *ws.Conn, code int, reason string) { close(ended) },
	})
	addr := listen(t, b)
	c := dial(t, "ws://"+addr+"/ws")
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	c.Close()
	<-ended
	conn := held.Load()
	waitFor(t, "the connection to leave the registry", 3*time.Second, func() bool { return ws.Get(conn.ID()) == nil })
	if err := conn.SendText("late"); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Send after the end: %v, want ErrClosed", err)
	}
	if err := conn.Close(1000, ""); err != nil {
		t.Fatalf("Close after the end: %v", err)
	}
	if conn.RemoteAddr() == "" {
		t.Fatal("RemoteAddr is kept after the end")
	}
}
