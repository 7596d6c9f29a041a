package app_test

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
)

func TestSSEEvents(t *testing.T) {
	a := liveApp(config.Server{})
	var invalid atomic.Value
	a.Route(config.Route{Method: "GET", Path: "/events", SSE: &config.SSE{KeepAliveMS: 40, RetryMS: 2500,
		EventSchema: []byte(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`)}},
		func(c *app.Ctx) error {
			last := c.LastEventID()
			return c.SSE(func(s *sse.Stream) error {
				start := 0
				if s.LastEventID() != last {
					return errors.New("LastEventID differs between Ctx and Stream")
				}
				if last != "" {
					start, _ = strconv.Atoi(last)
					start++
				}
				for i := start; i < start+2; i++ {
					if err := s.Send(sse.Event{ID: strconv.Itoa(i), Event: "tick", Data: `{"n":` + strconv.Itoa(i) + `}`}); err != nil {
						return err
					}
				}
				invalid.Store(s.Send(sse.Event{Data: `{"n":"not a number"}`}))
				time.Sleep(150 * time.Millisecond) // idle: keep-alive comments
				return s.SendJSON("", map[string]any{"n": 99, "text": "line one\nline two"})
			})
		})
	a.Route(config.Route{Method: "GET", Path: "/multiline"}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			return s.Send(sse.Event{Data: "a\nb\r\nc\rd", Comment: "hello"})
		})
	})
	addr := listen(t, a)

	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers:\n%s", header(resp))
	}
	r := sse.NewReader(resp.Body)
	comments := 0
	r.OnComment = func(string) { comments++ }
	var got []sse.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 3 || got[0].ID != "0" || got[0].Event != "tick" || got[0].Data != `{"n":0}` || got[1].ID != "1" ||
		got[2].Event != "message" || got[2].Data != `{"n":99,"text":"line one\nline two"}` {
		t.Fatalf("events: %+v", got)
	}
	if r.Retry != 2500*time.Millisecond {
		t.Fatalf("retry: %v", r.Retry)
	}
	if comments == 0 {
		t.Fatal("no keep-alive comment while the stream was idle")
	}
	var ie *sse.InvalidEventError
	if err, _ := invalid.Load().(error); !errors.As(err, &ie) || ie.Errors[0].Loc[0] != "event" {
		t.Fatalf("an event breaking the event schema: %v", invalid.Load())
	}

	// Reconnecting with Last-Event-ID resumes after it.
	req, _ := http.NewRequest("GET", "http://"+addr+"/events", nil)
	req.Header.Set("Last-Event-ID", "1")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	ev, err := sse.NewReader(resp2.Body).Next()
	if err != nil || ev.ID != "2" {
		t.Fatalf("after Last-Event-ID 1: %+v %v", ev, err)
	}

	resp3, err := http.Get("http://" + addr + "/multiline")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	if string(raw) != ": hello\ndata: a\ndata: b\ndata: c\ndata: d\n\n" {
		t.Fatalf("multi-line encoding: %q", raw)
	}
}

// A client that leaves ends the stream: Done fires (the keep-alive write
// fails, or the watched connection closes).
func TestSSEClientGone(t *testing.T) {
	done := make(chan struct{})
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/events", SSE: &config.SSE{KeepAliveMS: -1}}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			s.SendData("hello")
			<-s.Done()
			close(done)
			return nil
		})
	})
	addr := listen(t, a)
	conn, _, resp := rawGet(t, addr, "/events")
	if _, err := sse.NewReader(resp.Body).Next(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not notice the client leaving")
	}
}
