package h2

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serve runs an engine behind a Listener on a free port; HTTP/1.1
// connections go to a fasthttp server with the same handler.
func serve(t *testing.T) string {
	t.Helper()
	h := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("hello " + string(ctx.Path()))
	}
	e := NewEngine(Options{Handler: h})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(ln, e, nil)
	s := &fasthttp.Server{Handler: h, Logger: quiet{}}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() {
		_ = l.Close()
		_ = s.Shutdown()
		// A connection x/net ended with an error lingers for its GOAWAY
		// timer: do not wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return ln.Addr().String()
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// client is a raw HTTP/2 client: frames as the test writes them.
type client struct {
	t   *testing.T
	c   net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
	dec *hpack.Decoder
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cl := &client{t: t, c: c, fr: http2.NewFramer(c, c)}
	cl.enc = hpack.NewEncoder(&cl.hb)
	cl.dec = hpack.NewDecoder(4096, nil)
	if _, err := io.WriteString(c, Preface); err != nil {
		t.Fatal(err)
	}
	if err := cl.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// The server's SETTINGS, and the ACK of ours.
	gotSettings, gotAck := false, false
	for !gotSettings || !gotAck {
		f := cl.read()
		if sf, ok := f.(*http2.SettingsFrame); ok {
			if sf.IsAck() {
				gotAck = true
			} else {
				gotSettings = true
				if v, ok := sf.Value(http2.SettingMaxFrameSize); !ok || v != maxFrameSize {
					t.Fatalf("SETTINGS_MAX_FRAME_SIZE %d (%v), want %d", v, ok, maxFrameSize)
				}
				_ = cl.fr.WriteSettingsAck()
			}
		}
	}
	return cl
}

func (cl *client) read() http2.Frame {
	cl.t.Helper()
	f, err := cl.fr.ReadFrame()
	if err != nil {
		cl.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// block encodes a request's header block (the encoder's dynamic table
// carries over from request to request, as a real client's does).
func (cl *client) block(path string, extra ...string) []byte {
	cl.hb.Reset()
	all := append([]string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", path}, extra...)
	for i := 0; i < len(all); i += 2 {
		_ = cl.enc.WriteField(hpack.HeaderField{Name: all[i], Value: all[i+1]})
	}
	return append([]byte(nil), cl.hb.Bytes()...)
}

// answer reads frames until stream id ends: its status and body, or the
// RST_STREAM code.
func (cl *client) answer(id uint32) (status, body string, rst http2.ErrCode) {
	cl.t.Helper()
	for {
		switch f := cl.read().(type) {
		case *http2.HeadersFrame:
			if f.StreamID != id {
				continue
			}
			fields, err := cl.dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				cl.t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					status = hf.Value
				}
			}
			if f.StreamEnded() {
				return status, body, 0
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body += string(f.Data())
			if f.StreamEnded() {
				return status, body, 0
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return status, body, f.ErrCode
			}
		case *http2.GoAwayFrame:
			cl.t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = cl.fr.WriteSettingsAck()
			}
		}
	}
}

func (cl *client) get(id uint32, path string, extra ...string) (string, string, http2.ErrCode) {
	cl.t.Helper()
	if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.block(path, extra...),
		EndStream: true, EndHeaders: true}); err != nil {
		cl.t.Fatal(err)
	}
	return cl.answer(id)
}

// A malformed request (RFC 9113 8.2.2) is reset with PROTOCOL_ERROR, and
// the connection goes on with its header compression in step: the next
// requests reuse table entries the malformed one added.
func TestConnectionSpecificFieldsResetTheStream(t *testing.T) {
	cl := dial(t, serve(t))
	id := uint32(1)
	for _, tc := range []struct {
		extra []string
		reset bool
	}{
		{[]string{"x-custom", "kept in the table"}, false},
		{[]string{"x-custom", "kept in the table", "connection", "keep-alive"}, true},
		{[]string{"keep-alive", "5"}, true},
		{[]string{"proxy-connection", "close"}, true},
		{[]string{"transfer-encoding", "chunked"}, true},
		{[]string{"upgrade", "websocket"}, true},
		{[]string{"te", "trailers, deflate"}, true},
		{[]string{"te", "trailers", "te", "trailers"}, true},
		{[]string{"te", "trailers"}, false},
		{[]string{"x-custom", "kept in the table", "x-other", "new"}, false},
	} {
		status, body, rst := cl.get(id, "/n", tc.extra...)
		if tc.reset {
			if rst != http2.ErrCodeProtocol || status != "" {
				t.Errorf("%v: status %q, reset %v; want RST_STREAM(PROTOCOL_ERROR)", tc.extra, status, rst)
			}
		} else if rst != 0 || status != "200" || body != "hello /n" {
			t.Errorf("%v: %q %q reset %v; want 200", tc.extra, status, body, rst)
		}
		id += 2
	}
}

// The same through padded HEADERS with priority and CONTINUATION frames,
// a block cut so that the last frame is full (the marker then goes into a
// CONTINUATION of its own).
func TestMalformedRequestAcrossFrames(t *testing.T) {
	cl := dial(t, serve(t))
	write := func(id uint32, block []byte, cut int, padded bool) {
		t.Helper()
		first, rest := block, []byte(nil)
		if cut < 0 {
			cut = len(block) - maxFrameSize // the last frame is full
		}
		if cut > 0 && cut < len(block) {
			first, rest = block[:cut], block[cut:]
		}
		p := http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: true, EndHeaders: rest == nil,
			Priority: http2.PriorityParam{Weight: 15, StreamDep: 0}}
		if padded {
			p.PadLength = 7
		}
		if err := cl.fr.WriteHeaders(p); err != nil {
			t.Fatal(err)
		}
		for len(rest) > 0 {
			n := min(len(rest), maxFrameSize)
			if err := cl.fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
	}
	big := strings.Repeat("v", 3000)
	huge := strings.Repeat("w", 20000)
	id := uint32(1)
	for _, tc := range []struct {
		name   string
		extra  []string
		cut    int
		padded bool
		reset  bool
	}{
		{"padded", []string{"connection", "close"}, 0, true, true},
		{"padded, fine", []string{"x-a", "b"}, 0, true, false},
		{"continuation", []string{"x-big", big, "upgrade", "h2c"}, 100, false, true},
		{"continuation, padded", []string{"x-big", big, "te", "gzip"}, 10, true, true},
		{"continuation, fine", []string{"x-big", big, "x-c", "d"}, 10, true, false},
		{"full last frame", []string{"x-huge", huge, "connection", "close"}, -1, false, true},
		{"full last frame, fine", []string{"x-huge", huge}, -1, false, false},
	} {
		write(id, cl.block("/m", tc.extra...), tc.cut, tc.padded)
		status, body, rst := cl.answer(id)
		if tc.reset {
			if rst != http2.ErrCodeProtocol {
				t.Errorf("%s: status %q, reset %v; want RST_STREAM(PROTOCOL_ERROR)", tc.name, status, rst)
			}
		} else if rst != 0 || status != "200" || body != "hello /m" {
			t.Errorf("%s: %q %q reset %v; want 200", tc.name, status, body, rst)
		}
		id += 2
	}
}

// The marker in a CONTINUATION of its own: the block's last frame is full.
func TestMarkSplitsAFullFrame(t *testing.T) {
	f := newFrameReader(bytes.NewReader(nil), false)
	frag := bytes.Repeat([]byte{0x82}, maxFrameSize) // ":method: GET", indexed
	hdr := appendFrameHeader(nil, len(frag), frameHeaders, flagEndHeaders, 3)
	out := f.mark(hdr, flagEndHeaders, nil, frag)
	fr := http2.NewFramer(io.Discard, bytes.NewReader(out))
	first, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	c1, ok := first.(*http2.HeadersFrame)
	if !ok || c1.HeadersEnded() || len(c1.HeaderBlockFragment()) != maxFrameSize {
		t.Fatalf("first frame: %v", first)
	}
	second, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	c2, ok := second.(*http2.ContinuationFrame)
	if !ok || !c2.HeadersEnded() || c2.StreamID != 3 || !bytes.Equal(c2.HeaderBlockFragment(), malformedField) {
		t.Fatalf("second frame: %v", second)
	}
	fields, err := hpack.NewDecoder(4096, nil).DecodeFull(malformedField)
	if err != nil || len(fields) != 1 || fields[0].Name != "Connection-Specific" {
		t.Fatalf("marker decodes to %v %v", fields, err)
	}
}

// Values repeated in one SETTINGS frame are processed in order (RFC 9113
// 6.5.3): the last INITIAL_WINDOW_SIZE holds, and the frame is acknowledged.
func TestRepeatedSettings(t *testing.T) {
	cl := dial(t, serve(t))
	if err := cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 15},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 3}); err != nil {
		t.Fatal(err)
	}
	for {
		if sf, ok := cl.read().(*http2.SettingsFrame); ok && sf.IsAck() {
			break
		}
	}
	if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.block("/window"),
		EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	for {
		if df, ok := cl.read().(*http2.DataFrame); ok {
			if string(df.Data()) != "hel" {
				t.Fatalf("first DATA %q; want the 3 bytes the window allows", df.Data())
			}
			return
		}
	}
}

func TestDedupSettings(t *testing.T) {
	frame := func(kv ...uint32) []byte {
		b := appendFrameHeader(nil, 6*len(kv)/2, frameSettings, 0, 0)
		for i := 0; i < len(kv); i += 2 {
			b = binary.BigEndian.AppendUint16(b, uint16(kv[i]))
			b = binary.BigEndian.AppendUint32(b, kv[i+1])
		}
		return b
	}
	var many []uint32
	for i := 0; i <= maxSettings; i++ {
		many = append(many, 4, uint32(i))
	}
	for _, tc := range []struct {
		in, want []uint32
	}{
		{[]uint32{4, 100, 3, 10}, []uint32{4, 100, 3, 10}},                          // no repeat: untouched
		{[]uint32{4, 100, 3, 10, 4, 1}, []uint32{4, 1, 3, 10}},                      // the last value
		{[]uint32{1, 0, 1, 4096}, []uint32{1, 0}},                                   // header table: the smallest
		{[]uint32{2, 7, 2, 0}, []uint32{2, 7}},                                      // an invalid value stays
		{[]uint32{4, 1 << 31, 4, 5}, []uint32{4, 1 << 31}},                          // FLOW_CONTROL_ERROR then
		{[]uint32{5, 100, 5, 1 << 14, 0x99, 1, 0x99, 2}, []uint32{5, 100, 0x99, 2}}, // unknown ids too
		{many, many}, // over x/net's limit: left for x/net to refuse
	} {
		got := dedupSettings(frame(tc.in...))
		if want := frame(tc.want...); !bytes.Equal(got, want) {
			t.Errorf("%v: got % x, want % x", tc.in, got, want)
		}
	}
}

// A HEADERS frame over SETTINGS_MAX_FRAME_SIZE is a connection error of
// type FRAME_SIZE_ERROR (RFC 9113 4.2).
func TestHeadersOverTheFrameSize(t *testing.T) {
	cl := dial(t, serve(t))
	block := cl.block("/big", "x-big", strings.Repeat("a", 2*maxFrameSize))
	if len(block) <= maxFrameSize {
		t.Fatalf("the block is %d bytes", len(block))
	}
	if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block,
		EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if code := cl.goAway(); code != http2.ErrCodeFrameSize {
		t.Fatalf("GOAWAY %v; want FRAME_SIZE_ERROR", code)
	}
}

// goAway reads frames until the server's GOAWAY and returns its code.
func (cl *client) goAway() http2.ErrCode {
	cl.t.Helper()
	for {
		f, err := cl.fr.ReadFrame()
		if err != nil {
			cl.t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g.ErrCode
		}
	}
}

// Frames out of order around a header block stay x/net's connection
// errors: the reader steps aside.
func TestHeaderBlockOutOfOrder(t *testing.T) {
	for name, send := range map[string]func(cl *client) error{
		"stray CONTINUATION": func(cl *client) error {
			return cl.fr.WriteContinuation(1, true, cl.block("/x"))
		},
		"DATA inside a block": func(cl *client) error {
			b := cl.block("/x")
			if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:2]}); err != nil {
				return err
			}
			return cl.fr.WriteData(1, true, []byte("x"))
		},
		"CONTINUATION of another stream": func(cl *client) error {
			b := cl.block("/x")
			if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:2]}); err != nil {
				return err
			}
			return cl.fr.WriteContinuation(3, true, b[2:])
		},
	} {
		t.Run(name, func(t *testing.T) {
			cl := dial(t, serve(t))
			if err := send(cl); err != nil {
				t.Fatal(err)
			}
			if code := cl.goAway(); code != http2.ErrCodeProtocol {
				t.Fatalf("GOAWAY %v; want PROTOCOL_ERROR", code)
			}
		})
	}
}

// Bytes that are neither the HTTP/2 preface nor an HTTP/1.x request line
// end the connection without an answer (RFC 9113 3.4); HTTP/1.1 requests,
// even sent a byte at a time, still reach fasthttp.
func TestSniffer(t *testing.T) {
	addr := serve(t)
	exchange := func(parts ...string) (string, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		for _, p := range parts {
			if _, err := io.WriteString(c, p); err != nil {
				return "", err
			}
		}
		b, err := io.ReadAll(c)
		return string(b), err
	}
	for _, bad := range []string{"INVALID CONNECTION PREFACE\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", "\x00\x01\x02\n", "GET /\r\n\r\n"} {
		if got, err := exchange(bad); got != "" || err != nil {
			t.Errorf("%q: answered %q (%v); want the connection closed", bad, got, err)
		}
	}
	req := "GET /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	var parts []string
	for i := range req {
		parts = append(parts, req[i:i+1])
	}
	long := "GET /one?q=" + strings.Repeat("z", 2*sniffSize) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for _, ps := range [][]string{{req}, parts, {"\r\n" + req}, {"PUT /one HTTP/1.0\r\nContent-Length: 0\r\n\r\n"}, {long}} {
		got, err := exchange(ps...)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "hello /one") {
			t.Errorf("%q: %q", strings.Join(ps, ""), got)
		}
	}
	// An HTTP/1.1 request line with a bad target is fasthttp's to answer.
	if got, _ := exchange("GET  HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("a malformed HTTP/1.1 request: %q; want fasthttp's 400", got)
	}
}
