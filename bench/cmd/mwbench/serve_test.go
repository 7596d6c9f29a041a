package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/bench/workload"
)

// pipeConn is a connection that delivers a buffer of pipelined requests,
// then EOF, and counts what the server writes: the whole server path
// (request parsing, middleware, route, response writing) without sockets.
type pipeConn struct {
	r       io.Reader
	written int
}

func (c *pipeConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *pipeConn) Write(b []byte) (int, error) { c.written += len(b); return len(b), nil }
func (c *pipeConn) Close() error                { return nil }

var (
	localAddr  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}
	remoteAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
)

func (c *pipeConn) LocalAddr() net.Addr         { return localAddr }
func (c *pipeConn) RemoteAddr() net.Addr        { return remoteAddr }
func (c *pipeConn) SetDeadline(time.Time) error { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error {
	return nil
}
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// rawRequest is w's request with the variant's headers, as wrk sends it.
func rawRequest(v *variant, w workload.Workload) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: %s\r\nContent-Length: %d\r\n", w.Method, w.Target, w.ContentType, len(w.Body))
	for _, h := range v.headers() {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(w.Body)
	return b.Bytes()
}

// BenchmarkServe is each variant's server CPU per request without the
// network: go test -bench Serve ./bench/cmd/mwbench (add -cpuprofile).
func BenchmarkServe(b *testing.B) {
	const batch = 256
	for _, name := range []string{"json-small", "json-medium"} {
		w, _ := workload.ByName(name)
		for _, v := range variants {
			b.Run(name+"/"+v.name, func(b *testing.B) {
				app, err := v.app()
				if err != nil {
					b.Fatal(err)
				}
				srv, err := app.Core().Server()
				if err != nil {
					b.Fatal(err)
				}
				reqs := bytes.Repeat(rawRequest(v, w), batch)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += batch {
					c := &pipeConn{r: bytes.NewReader(reqs)}
					if err := srv.ServeConn(c); err != nil {
						b.Fatal(err)
					}
					if c.written == 0 {
						b.Fatal("no answer")
					}
				}
			})
		}
	}
}

// TestServeAnswers: the benchmark's pipelined requests are answered 200.
func TestServeAnswers(t *testing.T) {
	for _, v := range variants {
		w, _ := workload.ByName("json-small")
		app, err := v.app()
		if err != nil {
			t.Fatal(err)
		}
		srv, _ := app.Core().Server()
		var out bytes.Buffer
		c := &pipeConn{r: bytes.NewReader(bytes.Repeat(rawRequest(v, w), 3))}
		wc := &teeConn{pipeConn: c, w: &out}
		if err := srv.ServeConn(wc); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), "HTTP/1.1 200 OK"); n != 3 {
			t.Errorf("%s: %d of 3 answered 200: %.400s", v.name, n, out.String())
		}
	}
}

type teeConn struct {
	*pipeConn
	w io.Writer
}

func (c *teeConn) Write(b []byte) (int, error) { c.w.Write(b); return c.pipeConn.Write(b) }
