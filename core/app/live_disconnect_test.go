package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
)

// A client that disconnects mid-stream frees the handler, whatever the
// stream is doing and however the client leaves: the stream function (or
// the host's producer of a pipe) ends, the pipe's id is released and the
// app stops tracking the stream. Over HTTP/1.1 (the connection closes),
// and over h2c (the stream is reset, or the whole connection drops).
func TestClientDisconnectFreesHandlers(t *testing.T) {
	on := true
	a := liveApp(config.Server{HTTP2: &on})
	ended := make(chan string, 1)
	end := func(route string, err error) { ended <- fmt.Sprintf("%s: %v", route, err) }
	a.Route(config.Route{Method: "GET", Path: "/writing"}, func(c *app.Ctx) error {
		return c.Stream(200, "text/plain", func(w *bufio.Writer) error {
			for {
				w.WriteString(strings.Repeat("x", 999) + "\n")
				if err := w.Flush(); err != nil {
					end("writing", err)
					return err
				}
				time.Sleep(time.Millisecond) // a producer's pace
			}
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/waiting"}, func(c *app.Ctx) error {
		return c.StreamContext(200, "text/plain", func(ctx context.Context, w *bufio.Writer) error {
			w.WriteString("first\n")
			if err := w.Flush(); err != nil {
				end("waiting", err)
				return err
			}
			<-ctx.Done()
			end("waiting", context.Cause(ctx))
			return nil
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/sse", SSE: &config.SSE{KeepAliveMS: -1}}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			if err := s.SendData("first"); err != nil {
				end("sse", err)
				return err
			}
			<-s.Done()
			end("sse", context.Cause(s.Context()))
			return nil
		})
	})
	// Pipes: the host's producer runs on a goroutine of its own and ends
	// the pipe (releasing its id) when it learns the client left — from a
	// failed write, or from the pipe's context while it has nothing to say.
	pipe := func(name string, sseOn, idle bool) app.Handler {
		return func(c *app.Ctx) error {
			id, p := c.OpenPipe(sseOn)
			go func() {
				defer stream.End(id)
				first := []byte("first\n")
				if sseOn {
					first = []byte("data: first\n\n")
				}
				if err := stream.Write(id, first); err != nil {
					end(name, err)
					return
				}
				if idle {
					<-p.Context().Done()
					end(name, context.Cause(p.Context()))
					return
				}
				for {
					if err := stream.Write(id, []byte(strings.Repeat("y", 999)+"\n")); err != nil {
						end(name, err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			return c.SendPipe(200, "text/plain", p)
		}
	}
	a.Route(config.Route{Method: "GET", Path: "/pipe-writing"}, pipe("pipe-writing", false, false))
	a.Route(config.Route{Method: "GET", Path: "/pipe-idle"}, pipe("pipe-idle", false, true))
	a.Route(config.Route{Method: "GET", Path: "/sse-pipe", SSE: &config.SSE{KeepAliveMS: -1}}, pipe("sse-pipe", true, true))
	addr := listen(t, a)
	pipesBefore := stream.OpenCount()

	// An opener starts a request and returns once its first line arrived,
	// with the function that disconnects the client.
	type opener func(t *testing.T, path string) (leave func())
	h1 := func(t *testing.T, path string) func() {
		conn, _, resp := rawGet(t, addr, path)
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		return func() { conn.Close() }
	}
	h2 := func(reset bool) opener {
		return func(t *testing.T, path string) func() {
			var mu sync.Mutex
			var conns []net.Conn
			tr := h2cTransport(func(c net.Conn) {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			})
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			return func() {
				if reset {
					cancel() // RST_STREAM(CANCEL); the connection stays
					resp.Body.Close()
					return
				}
				mu.Lock()
				for _, c := range conns {
					c.Close()
				}
				mu.Unlock()
				cancel()
			}
		}
	}
	for _, proto := range []struct {
		name string
		open opener
	}{{"http1", h1}, {"h2c-reset", h2(true)}, {"h2c-drop", h2(false)}} {
		for _, route := range []string{"writing", "waiting", "sse", "pipe-writing", "pipe-idle", "sse-pipe"} {
			t.Run(proto.name+"/"+route, func(t *testing.T) {
				leave := proto.open(t, "/"+route)
				leave()
				select {
				case got := <-ended:
					if !strings.HasPrefix(got, route+": ") {
						t.Fatalf("ended: %s", got)
					}
					if !strings.Contains(got, stream.ErrGone.Error()) && !strings.Contains(got, context.Canceled.Error()) {
						t.Fatalf("ended with %s; want the client gone", got)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the producer was not freed")
				}
				waitFor(t, "the app to drop the stream", 5*time.Second, func() bool { return app.LiveStreams(a) == 0 })
				waitFor(t, "the pipe id to be released", 5*time.Second, func() bool { return stream.OpenCount() == pipesBefore })
			})
		}
	}
}
