package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
)

func TestStreamChunked(t *testing.T) {
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/lines"}, func(c *app.Ctx) error {
		c.SetHeader("X-Kind", "lines")
		return c.Stream(200, "application/x-ndjson", func(w *bufio.Writer) error {
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "{\"i\":%d}\n", i)
				if err := w.Flush(); err != nil {
					return err
				}
			}
			return nil
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/reader"}, func(c *app.Ctx) error {
		return c.SendStream(201, "application/octet-stream", io.NopCloser(strings.NewReader("LOG:\x00\x01|TAIL")))
	})
	addr := listen(t, a)

	resp, err := http.Get("http://" + addr + "/lines")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("X-Kind") != "lines" ||
		resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("want a chunked ndjson answer with X-Kind, got %v\n%s", resp.TransferEncoding, header(resp))
	}
	resp, err = http.Get("http://" + addr + "/reader")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "LOG:\x00\x01|TAIL" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// HEAD: the headers of the stream, no body, and the function never runs.
	req, _ := http.NewRequest("HEAD", "http://"+addr+"/lines", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("HEAD: %d\n%s", resp.StatusCode, header(resp))
	}
}

// A client that disconnects mid-stream frees the handler: a producer that
// keeps writing sees its write fail; one that waits for data sees its
// context cancelled (the connection is watched).
func TestStreamClientDisconnect(t *testing.T) {
	for _, mode := range []string{"writing", "waiting"} {
		t.Run(mode, func(t *testing.T) {
			stopped := make(chan error, 1)
			a := liveApp(config.Server{})
			a.Route(config.Route{Method: "GET", Path: "/s"}, func(c *app.Ctx) error {
				return c.StreamContext(200, "text/plain", func(ctx context.Context, w *bufio.Writer) error {
					w.WriteString("first\n")
					if err := w.Flush(); err != nil {
						stopped <- err
						return err
					}
					if mode == "waiting" {
						<-ctx.Done()
						stopped <- context.Cause(ctx)
						return nil
					}
					for {
						w.WriteString(strings.Repeat("x", 1000) + "\n")
						if err := w.Flush(); err != nil {
							stopped <- err
							return err
						}
						time.Sleep(2 * time.Millisecond)
					}
				})
			})
			addr := listen(t, a)
			conn, br, resp := rawGet(t, addr, "/s")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil || line != "first\n" {
				t.Fatalf("first chunk: %q %v", line, err)
			}
			_ = br
			conn.Close()
			select {
			case err := <-stopped:
				if !errors.Is(err, stream.ErrGone) {
					t.Fatalf("the producer stopped with %v, want stream.ErrGone", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the producer did not notice the client leaving")
			}
		})
	}
}

// An error from the stream function cuts the body: the client must not
// see a complete-looking response.
func TestStreamErrorCutsBody(t *testing.T) {
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/s"}, func(c *app.Ctx) error {
		return c.Stream(200, "text/plain", func(w *bufio.Writer) error {
			w.WriteString("partial")
			w.Flush()
			return errors.New("the source failed")
		})
	})
	addr := listen(t, a)
	resp, err := http.Get("http://" + addr + "/s")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || string(body) != "partial" {
		t.Fatalf("want the body cut after %q, got %q, %v", "partial", body, err)
	}
}

// A pipe fed from another goroutine (what the C ABI does).
func TestSendPipe(t *testing.T) {
	writerDone := make(chan error, 1)
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/p"}, func(c *app.Ctx) error {
		id, p := stream.Open(stream.PipeOptions{Queue: 2})
		go func() {
			for i := 0; i < 5; i++ {
				if err := stream.Write(id, []byte(fmt.Sprintf("chunk %d;", i))); err != nil {
					writerDone <- err
					return
				}
			}
			writerDone <- stream.End(id)
		}()
		return c.SendPipe(200, "text/plain", p)
	})
	a.Route(config.Route{Method: "GET", Path: "/events", SSE: &config.SSE{KeepAliveMS: 20,
		EventSchema: []byte(`{"type":"integer"}`)}}, func(c *app.Ctx) error {
		id, p := c.OpenPipe(true)
		go func() {
			time.Sleep(60 * time.Millisecond) // idle: keep-alives
			if err := stream.WriteEvent(id, sse.Event{Data: `"not an integer"`}); err == nil {
				writerDone <- errors.New("the event schema let a string through")
				return
			}
			stream.WriteEvent(id, sse.Event{ID: "1", Data: "42"})
			writerDone <- stream.End(id)
		}()
		return c.SendPipe(200, "text/event-stream", p)
	})
	a.Route(config.Route{Method: "GET", Path: "/forever"}, func(c *app.Ctx) error {
		id, p := c.OpenPipe(false)
		go func() {
			for {
				if err := stream.Write(id, []byte("tick\n")); err != nil {
					stream.End(id)
					writerDone <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		return c.SendPipe(200, "text/plain", p)
	})
	addr := listen(t, a)
	resp, err := http.Get("http://" + addr + "/p")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;" {
		t.Fatalf("got %q", body)
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), ": keep-alive\n\n") || !strings.HasSuffix(string(body), "id: 1\ndata: 42\n\n") ||
		resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("event-stream pipe: %q\n%s", body, header(resp))
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	conn, _, resp := rawGet(t, addr, "/forever")
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case err := <-writerDone:
		if !errors.Is(err, stream.ErrGone) {
			t.Fatalf("write after the client left: %v, want ErrGone", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer was not told the client left")
	}
	waitFor(t, "the pipe ids to be released", 2*time.Second, func() bool { return stream.OpenCount() == 0 })
}

// Routes with stream_request_body read uploads as they arrive, within the
// route's limit; the other routes of the same server keep whole bodies.
func TestStreamRequestBody(t *testing.T) {
	a := liveApp(config.Server{MaxBodyBytes: 1 << 10})
	var got atomic.Int64
	a.Route(config.Route{Method: "POST", Path: "/upload", StreamRequestBody: true, MaxBodyBytes: 64 << 20},
		func(c *app.Ctx) error {
			n, err := io.Copy(io.Discard, c.BodyStream())
			if err != nil {
				return err
			}
			got.Store(n)
			return c.JSON(200, map[string]int64{"bytes": n})
		})
	a.Route(config.Route{Method: "POST", Path: "/small", BodySchema: []byte(`{"type":"object"}`)},
		func(c *app.Ctx) error { return c.Send(200, "application/json", c.RawBody()) })
	addr := listen(t, a)

	big := make([]byte, 20<<20)
	rand.Read(big)
	resp, err := http.Post("http://"+addr+"/upload", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Load() != int64(len(big)) {
		t.Fatalf("upload: %d %s (handler read %d bytes)", resp.StatusCode, body, got.Load())
	}
	// Chunked upload (no Content-Length).
	resp, err = http.Post("http://"+addr+"/upload", "application/octet-stream", io.MultiReader(bytes.NewReader(big[:3<<20])))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Load() != 3<<20 {
		t.Fatalf("chunked upload: %d, handler read %d", resp.StatusCode, got.Load())
	}
	resp, err = http.Post("http://"+addr+"/small", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"a":1}` {
		t.Fatalf("small: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post("http://"+addr+"/small", "application/json", bytes.NewReader(big[:4<<10]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("over the server limit on a whole-body route: %d, want 413", resp.StatusCode)
	}
}

func TestStreamRequestBodyLimit(t *testing.T) {
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "POST", Path: "/upload", StreamRequestBody: true, MaxBodyBytes: 1 << 20},
		func(c *app.Ctx) error {
			if _, err := io.Copy(io.Discard, c.BodyStream()); err != nil {
				return err
			}
			return c.NoContent(204)
		})
	addr := listen(t, a)
	// Announced too large: refused before the handler, before the body is
	// sent (a client still writing it would see its connection reset).
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2<<20)
	conn.Write(make([]byte, 8<<10)) // fasthttp reads the first 8 KiB before calling the handler
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 413 {
		t.Fatalf("announced 2 MiB: %d, want 413", resp.StatusCode)
	}
	// Chunked: the handler's read fails at the limit, and its error is the 413.
	resp, err = http.Post("http://"+addr+"/upload", "application/octet-stream", io.LimitReader(zeroReader{}, 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked 2 MiB: %d, want 413", resp.StatusCode)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
