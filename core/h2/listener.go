package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// Preface is the HTTP/2 client connection preface (RFC 9113 section 3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Listener accepts connections on one socket and sorts them: HTTP/2
// (h2c prior knowledge, or TLS with ALPN "h2") goes to the Engine; HTTP/1.1
// (plain, or TLS with "http/1.1") comes out of Accept, for fasthttp.
type Listener struct {
	ln     net.Listener
	engine *Engine // nil: no HTTP/2
	tls    *tls.Config
	// SniffTimeout bounds the wait for a connection's first bytes and the
	// TLS handshake (default 10 s).
	SniffTimeout time.Duration

	http1  chan net.Conn
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	accErr error
}

// Listen starts sorting the connections of ln. tlsConf, when not nil, is
// cloned and its NextProtos set ("h2" first when engine is not nil).
func Listen(ln net.Listener, engine *Engine, tlsConf *tls.Config) *Listener {
	l := &Listener{ln: ln, engine: engine, SniffTimeout: 10 * time.Second,
		http1: make(chan net.Conn), done: make(chan struct{})}
	if tlsConf != nil {
		l.tls = tlsConf.Clone()
		l.tls.NextProtos = []string{"http/1.1"}
		if engine != nil {
			l.tls.NextProtos = []string{"h2", "http/1.1"}
		}
		if l.tls.MinVersion == 0 {
			l.tls.MinVersion = tls.VersionTLS12
		}
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay *= 2; delay > time.Second {
					delay = time.Second
				}
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					return
				}
			}
			select {
			case <-l.done: // closed by Close
			default:
				l.mu.Lock()
				l.accErr = err
				l.mu.Unlock()
				l.Close()
			}
			return
		}
		delay = 0
		go l.sort(c)
	}
}

// sniffSize bounds what sort reads of a connection before handing it on:
// a TLS record header, the HTTP/2 preface, or an HTTP/1.1 request line.
const sniffSize = 1024

// sort reads the first bytes of c and hands it to the right server.
func (l *Listener) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(l.SniffTimeout))
	pc := &Conn{Conn: c}
	buf := make([]byte, 0, sniffSize)
	n, err := c.Read(buf[:cap(buf)])
	if n == 0 {
		_ = c.Close()
		return
	}
	buf = buf[:n]
	if l.tls != nil && buf[0] == 0x16 {
		pc.buf = buf
		tc := tls.Server(pc, l.tls)
		ctx, cancel := context.WithTimeout(context.Background(), l.SniffTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			_ = c.Close()
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		if l.engine != nil && tc.ConnectionState().NegotiatedProtocol == "h2" {
			l.engine.ServeConn(tc, nil, nil)
			return
		}
		l.handOff(tc)
		return
	}
	if l.engine != nil {
		// Read while the bytes are a prefix of the preface (an HTTP/1.1
		// request line, "POST" or "PUT", differs by its 2nd byte), then up
		// to the end of the request line.
		for err == nil && len(buf) < cap(buf) && needMore(buf) {
			n, err = c.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
		}
		if len(buf) >= len(Preface) && string(buf[:len(Preface)]) == Preface {
			pc.buf = buf
			_ = c.SetReadDeadline(time.Time{})
			l.engine.ServeConn(pc, nil, nil)
			return
		}
		if bytes.HasPrefix(buf, []byte("PRI ")) || !maybeHTTP1(buf) {
			// Neither the HTTP/2 preface nor an HTTP/1.x request line (PRI
			// is reserved for the preface, RFC 9113 3.4 and 11.6 of RFC
			// 7540): an invalid connection preface, which ends the
			// connection without an answer in either protocol.
			_ = c.Close()
			return
		}
		if err != nil && len(buf) < cap(buf) && needMore(buf) {
			_ = c.Close() // gone or silent before its request line ended
			return
		}
	}
	pc.buf = buf
	_ = c.SetReadDeadline(time.Time{})
	l.handOff(pc)
}

// needMore reports whether buf could still become the HTTP/2 preface, or
// does not hold a whole request line yet.
func needMore(buf []byte) bool {
	if len(buf) < len(Preface) && bytes.HasPrefix([]byte(Preface), buf) {
		return true
	}
	if bytes.HasPrefix(buf, []byte(Preface)) {
		return false
	}
	return bytes.IndexByte(bytes.TrimLeft(buf, "\r\n"), '\n') < 0
}

// maybeHTTP1 reports whether buf may start an HTTP/1.x request: its first
// line (after empty lines, which RFC 9112 2.2 lets a server skip) ends in
// an HTTP version, or is not complete in buf.
func maybeHTTP1(buf []byte) bool {
	buf = bytes.TrimLeft(buf, "\r\n")
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return true // a long request line: fasthttp judges it
	}
	line := bytes.TrimSuffix(buf[:i], []byte("\r"))
	const v = " HTTP/1.1"
	if len(line) <= len(v) {
		return false
	}
	ver := line[len(line)-len(v):]
	return bytes.HasPrefix(ver, []byte(" HTTP/")) && isDigit(ver[6]) && ver[7] == '.' && isDigit(ver[8])
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func (l *Listener) handOff(c net.Conn) {
	select {
	case l.http1 <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next HTTP/1.1 connection (for fasthttp.Server.Serve).
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.http1:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		err := l.accErr
		l.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already sorted keep being served.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.ln.Close()
	})
	return err
}

// Addr is the socket's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Conn is a connection whose first bytes were read to sort it; they are
// read again first.
type Conn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (c *Conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if len(c.buf) > 0 {
		n := copy(b, c.buf)
		c.buf = c.buf[n:]
		if len(c.buf) == 0 {
			c.buf = nil // let the sniffed bytes go
		}
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(b)
}
