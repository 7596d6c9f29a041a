package sse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/validate"
)

func TestAppendEvent(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Data: "hello"}, "data: hello\n\n"},
		{Event{Data: "a\nb\r\nc\rd"}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{Event{Data: "trailing\n"}, "data: trailing\ndata:\n\n"},
		{Event{ID: "4\n2", Event: "up\rdate", Data: "x", Retry: 1500 * time.Millisecond},
			"event: update\nid: 42\nretry: 1500\ndata: x\n\n"},
		{Event{Comment: "c1\nc2"}, ": c1\n: c2\n\n"},
		{Event{ID: "7"}, "id: 7\n\n"},
		{Event{}, ":\n\n"},
	} {
		if got := string(AppendEvent(nil, c.e)); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.e, got, c.want)
		}
	}
}

func TestReader(t *testing.T) {
	in := "\ufeff: comment\r\nretry: 2500\r\nid: 1\r\nevent: a\r\ndata: x\r\ndata:y\r\n\r\n" +
		"data: z\r\r" + // CR line ends
		"id: 9\nevent: ignored-no-data\n\n" +
		"data:  two spaces\n\n" +
		"retry: 12x\n" + // not digits: ignored
		"data: cut"
	r := NewReader(strings.NewReader(strings.TrimPrefix(in, "\ufeff")))
	var comments []string
	r.OnComment = func(c string) { comments = append(comments, c) }
	var got []Event
	for {
		e, err := r.Next()
		if err != nil {
			if err != io.ErrUnexpectedEOF && err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, e)
	}
	want := []Event{{ID: "1", Event: "a", Data: "x\ny"}, {ID: "1", Event: "message", Data: "z"}, {ID: "9", Event: "message", Data: " two spaces"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if r.Retry != 2500*time.Millisecond || len(comments) != 1 || comments[0] != "comment" {
		t.Errorf("retry %v comments %q", r.Retry, comments)
	}
}

// Whatever the text, an encoded event reads back as sent (data line ends
// normalised to LF).
func FuzzRoundTrip(f *testing.F) {
	f.Add("id", "type", "multi\nline\r\ndata")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, id, typ, data string) {
		b := AppendEvent(nil, Event{ID: id, Event: typ, Data: data})
		e, err := NewReader(bytes.NewReader(b)).Next()
		if data == "" {
			if err != io.EOF {
				t.Fatalf("an event without data is not dispatched: %+v %v", e, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		norm := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		if e.Data != norm {
			t.Fatalf("data %q became %q", norm, e.Data)
		}
		wantType := strings.NewReplacer("\r", "", "\n", "").Replace(typ)
		if wantType == "" {
			wantType = "message"
		}
		wantID := strings.NewReplacer("\r", "", "\n", "", "\x00", "").Replace(id)
		if e.Event != wantType || e.ID != wantID {
			t.Fatalf("type %q id %q became %q %q", wantType, wantID, e.Event, e.ID)
		}
	})
}

type chunks struct {
	mu   sync.Mutex
	list []string
	fail bool
}

func (c *chunks) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return 0, errors.New("broken pipe")
	}
	c.list = append(c.list, string(p))
	return len(p), nil
}

func TestStream(t *testing.T) {
	schema, err := validate.Compile([]byte(`{"type":"object","required":["n"]}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &chunks{}
	var gone error
	s := NewStream(ctx, w, Options{LastEventID: "5", Schema: schema, KeepAlive: 20 * time.Millisecond,
		Retry: time.Second, OnWriteError: func(err error) { gone = err }})
	if s.LastEventID() != "5" {
		t.Fatal(s.LastEventID())
	}
	if err := s.SendJSON("x", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	var inv *InvalidEventError
	if err := s.SendData(`{"m":1}`); !errors.As(err, &inv) {
		t.Fatalf("invalid event: %v", err)
	}
	time.Sleep(70 * time.Millisecond)
	w.mu.Lock()
	got := append([]string(nil), w.list...)
	w.mu.Unlock()
	if len(got) < 3 || got[0] != "retry: 1000\n\n" || got[1] != "event: x\ndata: {\"n\":1}\n\n" || got[2] != string(KeepAliveComment) {
		t.Fatalf("chunks %q", got)
	}
	w.mu.Lock()
	w.fail = true
	w.mu.Unlock()
	if err := s.SendData(`{"n":2}`); err == nil || gone == nil {
		t.Fatal("a failing write must fail the send and be reported")
	}
	cancel()
	s.Close()
	if err := s.Comment("x"); err == nil {
		t.Fatal("send after close")
	}
}
