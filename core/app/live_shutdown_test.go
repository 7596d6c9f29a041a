package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/ws"
)

// Shutting down under load loses no accepted request: every request whose
// handler ran gets its whole answer — plain requests their body, finite
// streams every chunk and a clean end, event streams a clean end at an
// event boundary (a shutdown ends them) — over HTTP/1.1 and over h2c
// (GOAWAY). Requests the server never accepted fail on the client (the
// listener is closed, or a GOAWAY refused their stream); none of those
// reached a handler.
func TestShutdownUnderLoad(t *testing.T) {
	for _, proto := range []string{"http1", "h2c"} {
		t.Run(proto, func(t *testing.T) { shutdownUnderLoad(t, proto == "h2c") })
	}
}

func shutdownUnderLoad(t *testing.T, h2c bool) {
	const chunks = 5
	var entered sync.Map // id → kind
	var nEntered atomic.Int64
	enter := func(c *app.Ctx) string {
		id := c.Path("id").String()
		entered.Store(id, true)
		nEntered.Add(1)
		return id
	}
	srv := config.Server{}
	if h2c {
		on := true
		srv.HTTP2 = &on
	}
	a := liveApp(srv)
	a.Route(config.Route{Method: "GET", Path: "/work/{id}"}, func(c *app.Ctx) error {
		id := enter(c)
		n, _ := strconv.Atoi(id)
		time.Sleep(time.Duration(n%10) * time.Millisecond) // the work
		return c.Text(200, id)
	})
	a.Route(config.Route{Method: "GET", Path: "/stream/{id}"}, func(c *app.Ctx) error {
		id := enter(c)
		return c.Stream(200, "text/plain", func(w *bufio.Writer) error {
			for i := 0; i < chunks; i++ {
				fmt.Fprintf(w, "%s:%d\n", id, i)
				if err := w.Flush(); err != nil {
					return err
				}
				time.Sleep(3 * time.Millisecond) // the producer's pace
			}
			return nil
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/events/{id}"}, func(c *app.Ctx) error {
		id := enter(c)
		return c.SSE(func(s *sse.Stream) error {
			for {
				if err := s.SendData(id); err != nil {
					return err
				}
				select {
				case <-s.Done():
					return nil
				case <-time.After(3 * time.Millisecond):
				}
			}
		})
	})
	if _, err := a.Build(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	base := "http://" + ln.Addr().String()

	var rt http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: 64}
	if h2c {
		rt = h2cTransport(nil)
	}
	cl := &http.Client{Transport: rt, Timeout: 10 * time.Second}
	defer cl.CloseIdleConnections()

	// check reads an answer whole: "" when it is the right one, else what
	// is wrong with it.
	check := map[string]func(id string, body io.Reader) string{
		"work": func(id string, body io.Reader) string {
			b, err := io.ReadAll(body)
			if err != nil || string(b) != id {
				return fmt.Sprintf("%q %v", b, err)
			}
			return ""
		},
		"stream": func(id string, body io.Reader) string {
			b, err := io.ReadAll(body)
			var want strings.Builder
			for i := 0; i < chunks; i++ {
				fmt.Fprintf(&want, "%s:%d\n", id, i)
			}
			if err != nil || string(b) != want.String() {
				return fmt.Sprintf("%q %v", b, err)
			}
			return ""
		},
		// An event stream ends cleanly at an event boundary; one accepted
		// as the shutdown began ends at once, without events.
		"events": func(id string, body io.Reader) string {
			r := sse.NewReader(body)
			for n := 0; ; n++ {
				ev, err := r.Next()
				if err == io.EOF {
					return ""
				}
				if err != nil || ev.Data != id {
					return fmt.Sprintf("after %d events: %q %v", n, ev.Data, err)
				}
			}
		},
	}
	var answered, why sync.Map
	var sent, nAnswered, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := 0; w < 32; w++ {
		kind := "work"
		switch {
		case w%8 == 1:
			kind = "stream"
		case w%8 == 2:
			kind = "events"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := strconv.FormatInt(seq.Add(1), 10)
				sent.Add(1)
				resp, err := cl.Get(base + "/" + kind + "/" + id)
				if err != nil {
					why.Store(id, kind+": "+err.Error())
					failed.Add(1)
					// Refused: the server is going away; do not spin.
					select {
					case <-stop:
					case <-time.After(time.Millisecond):
					}
					continue
				}
				wrong := check[kind](id, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && wrong == "" {
					answered.Store(id, true)
					nAnswered.Add(1)
				} else {
					why.Store(id, fmt.Sprintf("%s: status %d, %s", kind, resp.StatusCode, wrong))
					failed.Add(1)
				}
			}
		}()
	}
	waitFor(t, "the load to run", 10*time.Second, func() bool { return nAnswered.Load() >= 300 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	lost := 0
	entered.Range(func(k, _ any) bool {
		if _, ok := answered.Load(k); !ok {
			lost++
			reason, _ := why.Load(k)
			t.Errorf("request %s reached its handler but its answer was lost or incomplete: %v", k, reason)
		}
		return true
	})
	t.Logf("sent %d, accepted (handler ran) %d, answered %d, refused before a handler %d, lost %d; shutdown took %v",
		sent.Load(), nEntered.Load(), nAnswered.Load(), failed.Load(), lost, took.Round(time.Millisecond))
	if sent.Load() != nAnswered.Load()+failed.Load() {
		t.Errorf("sent %d != answered %d + failed %d", sent.Load(), nAnswered.Load(), failed.Load())
	}
}

// A shutdown ends event streams cleanly, lets other streams finish, closes
// WebSockets with 1001 after the callback in progress answered.
func TestShutdownStreamsAndWebSockets(t *testing.T) {
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/events"}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			for i := 0; ; i++ {
				if err := s.SendData(strconv.Itoa(i)); err != nil {
					return err
				}
				select {
				case <-s.Done():
					return nil
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/download"}, func(c *app.Ctx) error {
		return c.Stream(200, "text/plain", func(w *bufio.Writer) error {
			for i := 0; i < 20; i++ {
				fmt.Fprintf(w, "part %d\n", i)
				if err := w.Flush(); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond)
			}
			return nil
		})
	})
	inHandler := make(chan struct{}, 1)
	a.Route(config.Route{Method: "GET", Path: "/ws", WebSocket: &config.WebSocket{}}, a.WebSocketHandler(ws.Handler{
		OnMessage: func(c *ws.Conn, m ws.Message) error {
			inHandler <- struct{}{}
			time.Sleep(200 * time.Millisecond)
			return c.SendText("answer to " + m.Text())
		},
	}))
	addr := listen(t, a)

	_, _, sseResp := rawGet(t, addr, "/events")
	sseR := sse.NewReader(sseResp.Body)
	if _, err := sseR.Next(); err != nil {
		t.Fatal(err)
	}
	_, _, dl := rawGet(t, addr, "/download")
	dlR := bufio.NewReader(dl.Body)
	if _, err := dlR.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	wc, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	wc.WriteMessage(websocket.TextMessage, []byte("q"))
	<-inHandler

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- a.Shutdown(ctx) }()

	// The WebSocket: the answer in progress, then 1001.
	wc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, b, err := wc.ReadMessage(); err != nil || string(b) != "answer to q" {
		t.Fatalf("the answer in progress: %q %v", b, err)
	}
	_, _, err = wc.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway {
		t.Fatalf("want close 1001, got %v", err)
	}
	wc.Close()
	// The event stream ends at an event boundary, cleanly.
	for {
		_, err := sseR.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("event stream end: %v", err)
		}
	}
	// The download runs to its end.
	rest, err := io.ReadAll(dlR)
	if err != nil {
		t.Fatalf("download cut: %v", err)
	}
	if n := 1 + countLines(rest); n != 20 {
		t.Fatalf("download: %d parts, want 20", n)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not return")
	}
}

// At the deadline, a stream that would never end is cut.
func TestShutdownDeadline(t *testing.T) {
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/endless"}, func(c *app.Ctx) error {
		return c.Stream(200, "text/plain", func(w *bufio.Writer) error {
			for {
				w.WriteString("x\n")
				if err := w.Flush(); err != nil {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	})
	addr := listen(t, a)
	_, _, resp := rawGet(t, addr, "/endless")
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Shutdown(ctx)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("shutdown with an endless stream: %v after %v", err, time.Since(start))
	}
	if _, err := io.ReadAll(br); err == nil {
		t.Fatal("the endless stream ended cleanly; want it cut")
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
