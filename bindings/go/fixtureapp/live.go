package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	spikard "github.com/spikard/spikard-go"
	"github.com/spikard/spikard-go/core/sse"
)

// Streams, event streams and WebSockets (PROTOCOL.md, handler members
// "stream", "sse" and "websocket").

type streamSpec struct {
	Chunks  []string `json:"chunks"` // base64
	DelayMS int      `json:"delay_ms"`
}

type sseSpec struct {
	Events []struct {
		Event   string `json:"event"`
		ID      string `json:"id"`
		RetryMS int    `json:"retry_ms"`
		Data    string `json:"data"`
		Comment string `json:"comment"`
	} `json:"events"`
	DelayMS int  `json:"delay_ms"`
	Resume  bool `json:"resume"`
}

type wsSpec struct {
	Echo     bool            `json:"echo"`
	Greeting json.RawMessage `json:"greeting"`
	CloseOn  *struct {
		Text   string `json:"text"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"close_on"`
}

// streamAnswer writes each chunk and flushes it.
func streamAnswer(c *spikard.Ctx, status int, contentType string, s *streamSpec) error {
	chunks := make([][]byte, len(s.Chunks))
	for i, b64 := range s.Chunks {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return fmt.Errorf("fixtureapp: stream.chunks[%d]: %w", i, err)
		}
		chunks[i] = b
	}
	return c.Stream(status, contentType, func(w *bufio.Writer) error {
		for _, b := range chunks {
			if s.DelayMS > 0 {
				time.Sleep(time.Duration(s.DelayMS) * time.Millisecond)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
		return nil
	})
}

// sseAnswer sends the events; one the route's event schema rejects is
// skipped. With resume, events whose numeric id is not above the client's
// Last-Event-ID are skipped too.
func sseAnswer(c *spikard.Ctx, s *sseSpec) error {
	return c.SSE(func(st *spikard.SSEStream) error {
		last, resume := -1, false
		if s.Resume && st.LastEventID() != "" {
			if n, err := strconv.Atoi(st.LastEventID()); err == nil {
				last, resume = n, true
			}
		}
		for _, e := range s.Events {
			if resume {
				if n, err := strconv.Atoi(e.ID); err == nil && n <= last {
					continue
				}
			}
			if s.DelayMS > 0 {
				select {
				case <-st.Done():
					return nil
				case <-time.After(time.Duration(s.DelayMS) * time.Millisecond):
				}
			}
			err := st.Send(spikard.SSEEvent{Event: e.Event, ID: e.ID, Data: e.Data, Comment: e.Comment,
				Retry: time.Duration(e.RetryMS) * time.Millisecond})
			var invalid *sse.InvalidEventError
			if errors.As(err, &invalid) {
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// wsHandler echoes every message as it came.
func wsHandler(s wsSpec) spikard.WebSocket {
	return spikard.WebSocket{
		OnConnect: func(c *spikard.WSConn) error {
			if len(s.Greeting) > 0 {
				return c.SendText(string(s.Greeting))
			}
			return nil
		},
		OnMessage: func(c *spikard.WSConn, m spikard.WSMessage) error {
			if s.CloseOn != nil && m.Type == spikard.WSText && m.Text() == s.CloseOn.Text {
				return &spikard.WSCloseError{Code: s.CloseOn.Code, Reason: s.CloseOn.Reason}
			}
			if !s.Echo {
				return nil
			}
			return c.Send(m.Type, m.Data)
		},
	}
}
