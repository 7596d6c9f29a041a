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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
	for name, spec := range msg.Handlers {
		app.Handle(name, handler(spec))
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

func handler(s handlerSpec) spikard.Handler {
	return func(c *spikard.Ctx) error {
		if s.SleepMS > 0 {
			time.Sleep(time.Duration(s.SleepMS) * time.Millisecond)
		}
		if s.Raise {
			return errRaised
		}
		for k, v := range s.Headers {
			c.SetHeader(k, v)
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
		status := s.Status
		if status == 0 {
			status = 200
		}
		switch {
		case s.Echo:
			return c.Send(status, "application/json", c.Values())
		case s.BodyRaw != nil:
			return c.Send(status, s.ContentType, []byte(*s.BodyRaw))
		case len(s.Body) > 0 && string(s.Body) != "null":
			ct := s.ContentType
			if ct == "" {
				ct = "application/json"
			}
			return c.Send(status, ct, s.Body)
		default:
			return c.Send(status, s.ContentType, nil)
		}
	}
}
