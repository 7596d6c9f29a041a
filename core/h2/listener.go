package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
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

// sort reads the first bytes of c and hands it to the right server.
func (l *Listener) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(l.SniffTimeout))
	pc := &Conn{Conn: c}
	first := make([]byte, 1, len(Preface))
	if _, err := io.ReadFull(c, first); err != nil {
		_ = c.Close()
		return
	}
	pc.buf = first
	if l.tls != nil && first[0] == 0x16 {
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
	if l.engine != nil && first[0] == Preface[0] {
		// Read while the bytes are a prefix of the preface: an HTTP/1.1
		// request line ("POST", "PUT", "PATCH") differs by its 2nd byte.
		buf := pc.buf
		for len(buf) < len(Preface) && bytes.HasPrefix([]byte(Preface), buf) {
			n, err := c.Read(buf[len(buf):cap(buf)])
			if err != nil {
				_ = c.Close()
				return
			}
			buf = buf[:len(buf)+n]
		}
		pc.buf = buf
		if len(buf) >= len(Preface) && string(buf[:len(Preface)]) == Preface {
			_ = c.SetReadDeadline(time.Time{})
			l.engine.ServeConn(pc, nil, nil)
			return
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	l.handOff(pc)
}

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
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(b)
}
