// Package servetest runs a benchmark server's fasthttp.Server in-process for
// go test -bench (kept apart from servekit so servers do not link testing).
package servetest

import (
	"bytes"
	"fmt"

	"github.com/spikard/spikard-go/bench/workload"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// ServeLoop measures a server's whole per-request cost without the kernel:
// s reads one keep-alive connection on which req arrives b.N times, one
// request per read as wrk sends them, and whose answers are counted and
// dropped. Header parsing, routing, the handler and the response writer all
// run exactly as on a socket, so profiles of it (go test -bench -cpuprofile)
// show what a wrk run shows minus the syscalls.
func ServeLoop(b *testing.B, s *fasthttp.Server, req []byte) {
	b.Helper()
	b.ReportAllocs()
	c := &loopConn{req: req, left: b.N}
	b.ResetTimer()
	if err := s.ServeConn(c); err != nil && err != io.EOF {
		b.Fatal(err)
	}
	b.StopTimer()
	if c.writes == 0 {
		b.Fatal("the server wrote no answer")
	}
}

// loopConn hands out req left times, then EOF.
type loopConn struct {
	req    []byte
	left   int
	writes int
}

func (c *loopConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	c.left--
	return copy(p, c.req), nil
}

func (c *loopConn) Write(p []byte) (int, error)      { c.writes++; return len(p), nil }
func (c *loopConn) Close() error                     { return nil }
func (c *loopConn) LocalAddr() net.Addr              { return loopAddr }
func (c *loopConn) RemoteAddr() net.Addr             { return loopAddr }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }

var loopAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}

// Wire is w as wrk sends it: request line, Host, and for a body its
// Content-Type and Content-Length.
func Wire(w workload.Workload) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n", w.Method, w.Target)
	if w.Body != nil {
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", w.ContentType, len(w.Body))
	}
	b.WriteString("\r\n")
	b.Write(w.Body)
	return b.Bytes()
}

// Workloads runs ServeLoop for every workload as a sub-benchmark named after
// it: go test ./bench/servers/spikardgo -bench 'Serve/path-int$'.
func Workloads(b *testing.B, s *fasthttp.Server) {
	for _, w := range workload.All {
		b.Run(w.Name, func(b *testing.B) { ServeLoop(b, s, Wire(w)) })
	}
}

// ServeParallel is ServeLoop on one connection per goroutine of
// b.RunParallel (GOMAXPROCS of them by default): the same work with the
// server's shared state (pools, locks, counters) contended as under load.
func ServeParallel(b *testing.B, s *fasthttp.Server, req []byte) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n++
		}
		c := &loopConn{req: req, left: n}
		if err := s.ServeConn(c); err != nil && err != io.EOF {
			b.Error(err)
		}
	})
}
