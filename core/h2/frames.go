package h2

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"

	"golang.org/x/net/http2/hpack"
)

// The incoming side of every HTTP/2 connection passes through frameReader
// before golang.org/x/net/http2 reads it. x/net/http2 departs from RFC 9113
// in two places on purpose (golang/go#26321 and the "settings_big_or_dups"
// check in its server.go); the reader rewrites the few frames concerned so
// that x/net's own, conforming paths handle them, and passes every other
// byte through untouched:
//
//   - A SETTINGS frame that repeats a parameter (RFC 9113 6.5.3: values are
//     processed in order; x/net closes the connection instead). The frame
//     is reduced to one value per parameter, in order of first appearance:
//     the last value, which is what processing them in order leaves —
//     except SETTINGS_HEADER_TABLE_SIZE, which keeps the smallest (RFC 7541
//     4.2: the smallest size of the interval must be signalled; an encoder
//     may always use a smaller table), and a value invalid on its own
//     (ENABLE_PUSH > 1, INITIAL_WINDOW_SIZE > 2^31-1, MAX_FRAME_SIZE out of
//     range), which is kept so that x/net answers it with its connection
//     error. Not reproduced: an INITIAL_WINDOW_SIZE in the middle of the
//     list that would overflow a stream's window while the last one does
//     not (x/net would see only the last).
//
//   - A request whose header block carries a connection-specific field
//     (connection, keep-alive, proxy-connection, transfer-encoding,
//     upgrade) or a TE other than "trailers" is malformed (RFC 9113 8.2.2):
//     a stream error of type PROTOCOL_ERROR. x/net answers 400 instead
//     (which 8.1.1 allows only "prior to closing or resetting the stream";
//     it never resets). The reader decodes every header block with an HPACK
//     decoder of its own, kept in step with x/net's (same table size, same
//     blocks in the same order), and appends to a malformed request's block
//     a literal field without indexing whose name is not lower-case: x/net
//     then rejects the stream with RST_STREAM(PROTOCOL_ERROR), its own
//     answer to a malformed field, and the dynamic table is left as the
//     client's encoder expects.
//
// Anything the reader does not understand (a frame over the size limit, a
// header block that does not decode, frames out of order) turns it off for
// the rest of the connection: it passes the bytes on and x/net reports the
// connection error, as it would have without it.

// maxFrameSize is the SETTINGS_MAX_FRAME_SIZE the server advertises: the
// protocol's initial value (x/net would advertise 1 MiB; RFC 9113 4.2 has
// every frame carrying a header block over the peer's limit answered with
// FRAME_SIZE_ERROR, which clients that assume 16 KiB expect).
const maxFrameSize = 16384

// headerTableSize is the HPACK table size x/net's decoder is made with
// (SETTINGS_HEADER_TABLE_SIZE's initial value; the server does not change
// it).
const headerTableSize = 4096

const (
	frameHeaders      = 0x1
	frameSettings     = 0x4
	frameContinuation = 0x9

	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
	flagAck        = 0x1
)

// frameReader is the filter described above. Only x/net's frame reading
// goroutine calls Read.
type frameReader struct {
	br *bufio.Reader

	out  []byte // bytes ready for the next Read
	pass int    // bytes to pass on as they are: the client preface, a frame's payload
	off  bool   // stopped: everything passes through

	buf []byte // the frame being examined

	dec       *hpack.Decoder
	inBlock   uint32 // stream of the header block in progress (0: none)
	isRequest bool   // the block in progress opens a stream
	bad       bool   // the request's block has a connection-specific field
	teSeen    int
	maxStream uint32 // highest stream a client opened
}

func newFrameReader(r io.Reader, upgraded bool) *frameReader {
	f := &frameReader{br: bufio.NewReaderSize(r, 4096), pass: len(Preface)}
	f.dec = hpack.NewDecoder(headerTableSize, f.field)
	// x/net's limit is the header list size (1 MiB by default): a longer
	// string ends the connection there; here it turns the reader off.
	f.dec.SetMaxStringLength(1 << 20)
	if upgraded {
		f.maxStream = 1 // the upgraded request is stream 1
	}
	return f
}

func (f *frameReader) Read(p []byte) (int, error) {
	if len(f.out) > 0 {
		n := copy(p, f.out)
		f.out = f.out[n:]
		return n, nil
	}
	if f.off {
		return f.br.Read(p)
	}
	if f.pass > 0 {
		if len(p) > f.pass {
			p = p[:f.pass]
		}
		n, err := f.br.Read(p)
		f.pass -= n
		return n, err
	}
	if err := f.next(); err != nil {
		return 0, err
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// next reads the next frame's header and decides what to do with it; it
// leaves the bytes to hand out in f.out (and f.pass).
func (f *frameReader) next() error {
	if cap(f.buf) > 4096 {
		f.buf = nil // a large header block was the exception: let it go
	}
	if cap(f.buf) < 9 {
		f.buf = make([]byte, 9, 512)
	}
	hdr := f.buf[:9]
	if n, err := io.ReadFull(f.br, hdr); err != nil {
		if n > 0 {
			f.out, f.off = hdr[:n], true
			return nil
		}
		return err
	}
	length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	typ, flags := hdr[3], hdr[4]
	stream := binary.BigEndian.Uint32(hdr[5:9]) & (1<<31 - 1)

	if (f.inBlock != 0) != (typ == frameContinuation) || (typ == frameContinuation && stream != f.inBlock) {
		return f.stop(hdr) // a frame out of order: x/net's connection error
	}
	examine := length <= maxFrameSize &&
		(typ == frameHeaders || typ == frameContinuation ||
			(typ == frameSettings && flags&flagAck == 0 && stream == 0 && length%6 == 0))
	if !examine {
		if length > maxFrameSize {
			return f.stop(hdr)
		}
		f.out, f.pass = hdr, length
		return nil
	}
	if cap(f.buf) < 9+length {
		f.buf = append(f.buf[:9], make([]byte, length)...)
		hdr = f.buf[:9]
	}
	frame := f.buf[:9+length]
	if n, err := io.ReadFull(f.br, frame[9:]); err != nil {
		f.out, f.off = frame[:9+n], true
		return nil
	}
	switch typ {
	case frameSettings:
		f.out = dedupSettings(frame)
	case frameHeaders:
		f.out = f.headers(frame, flags, stream)
	default:
		f.out = f.continuation(frame, flags)
	}
	return nil
}

// stop hands out hdr and turns the reader off: the payload and everything
// after it are read from br directly.
func (f *frameReader) stop(hdr []byte) error {
	f.out, f.off = hdr, true
	return nil
}

func (f *frameReader) headers(frame []byte, flags byte, stream uint32) []byte {
	payload := frame[9:]
	frag := payload
	pad := 0
	if flags&flagPadded != 0 {
		if len(frag) < 1 {
			f.off = true
			return frame
		}
		pad = int(frag[0])
		frag = frag[1:]
	}
	prio := 0
	if flags&flagPriority != 0 {
		prio = 5
	}
	if len(frag) < prio+pad || stream == 0 {
		f.off = true
		return frame
	}
	frag = frag[prio : len(frag)-pad]
	f.isRequest = stream > f.maxStream && stream%2 == 1
	if f.isRequest {
		f.maxStream = stream
	}
	f.bad, f.teSeen = false, 0
	f.inBlock = stream
	f.dec.SetEmitEnabled(f.isRequest)
	if !f.decode(frag, flags) {
		return frame
	}
	if flags&flagEndHeaders == 0 || !f.bad {
		return frame
	}
	// Rebuild without padding: priority fields, the block, the marker.
	var prioBytes []byte
	if prio > 0 {
		start := 0
		if flags&flagPadded != 0 {
			start = 1
		}
		prioBytes = payload[start : start+5]
	}
	return f.mark(frame[:9], flags&^flagPadded, prioBytes, frag)
}

func (f *frameReader) continuation(frame []byte, flags byte) []byte {
	if !f.decode(frame[9:], flags) {
		return frame
	}
	if flags&flagEndHeaders == 0 || !f.bad {
		return frame
	}
	return f.mark(frame[:9], flags, nil, frame[9:])
}

// decode feeds a block fragment to the decoder; it reports false (and
// turns the reader off) when the block does not decode.
func (f *frameReader) decode(frag []byte, flags byte) bool {
	if _, err := f.dec.Write(frag); err != nil {
		f.off = true
		return false
	}
	if flags&flagEndHeaders != 0 {
		f.inBlock = 0
		if err := f.dec.Close(); err != nil {
			f.off = true
			return false
		}
	}
	return true
}

// field checks one decoded field of the block in progress.
func (f *frameReader) field(hf hpack.HeaderField) {
	if !f.isRequest {
		return
	}
	switch hf.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		f.bad = true
	case "te":
		f.teSeen++
		if f.teSeen > 1 || (hf.Value != "trailers" && hf.Value != "") {
			f.bad = true
		}
	}
}

// malformedField is an HPACK literal header field without indexing, new
// name (RFC 7541 6.2.2), whose name has upper-case letters: x/net rejects
// a block holding it with RST_STREAM(PROTOCOL_ERROR), and it leaves the
// dynamic table alone.
var malformedField = func() []byte {
	name, value := "Connection-Specific", "1"
	b := []byte{0x00, byte(len(name))}
	b = append(b, name...)
	b = append(b, byte(len(value)))
	return append(b, value...)
}()

// mark returns the last frame of a malformed request's block with the
// malformed field appended (in a CONTINUATION of its own when the frame is
// full).
func (f *frameReader) mark(hdr []byte, flags byte, prio, frag []byte) []byte {
	typ := hdr[3]
	stream := binary.BigEndian.Uint32(hdr[5:9]) & (1<<31 - 1)
	out := make([]byte, 0, 9+len(prio)+len(frag)+9+len(malformedField))
	if len(prio)+len(frag)+len(malformedField) <= maxFrameSize {
		out = appendFrameHeader(out, len(prio)+len(frag)+len(malformedField), typ, flags, stream)
		out = append(out, prio...)
		out = append(out, frag...)
		return append(out, malformedField...)
	}
	out = appendFrameHeader(out, len(prio)+len(frag), typ, flags&^flagEndHeaders, stream)
	out = append(out, prio...)
	out = append(out, frag...)
	out = appendFrameHeader(out, len(malformedField), frameContinuation, flagEndHeaders, stream)
	return append(out, malformedField...)
}

func appendFrameHeader(b []byte, length int, typ, flags byte, stream uint32) []byte {
	b = append(b, byte(length>>16), byte(length>>8), byte(length), typ, flags)
	return binary.BigEndian.AppendUint32(b, stream)
}

const (
	settingHeaderTableSize   = 0x1
	settingEnablePush        = 0x2
	settingInitialWindowSize = 0x4
	settingMaxFrameSize      = 0x5
	settingNoRFC7540Prio     = 0x9
)

// settingValid is x/net's check of one value on its own (Setting.Valid,
// plus its SETTINGS_NO_RFC7540_PRIORITIES check).
func settingValid(id uint16, v uint32) bool {
	switch id {
	case settingEnablePush, settingNoRFC7540Prio:
		return v <= 1
	case settingInitialWindowSize:
		return v <= 1<<31-1
	case settingMaxFrameSize:
		return v >= 1<<14 && v <= 1<<24-1
	}
	return true
}

// maxSettings is x/net's limit on the parameters of one SETTINGS frame (a
// connection error over it, against floods): frames over it are left to
// x/net as they are, which also bounds the work here.
const maxSettings = 100

// dedupSettings returns a SETTINGS frame with each parameter once (see the
// top of the file), or frame itself when no parameter repeats.
func dedupSettings(frame []byte) []byte {
	payload := frame[9:]
	n := len(payload) / 6
	if n > maxSettings {
		return frame // x/net hangs up on it, as on any SETTINGS this large
	}
	dup := false
	for i := 0; i < n && !dup; i++ {
		id := binary.BigEndian.Uint16(payload[i*6:])
		for j := 0; j < i; j++ {
			if binary.BigEndian.Uint16(payload[j*6:]) == id {
				dup = true
				break
			}
		}
	}
	if !dup {
		return frame
	}
	type entry struct {
		id      uint16
		v       uint32
		invalid bool
	}
	var list []entry
	at := map[uint16]int{}
	for i := 0; i < n; i++ {
		id := binary.BigEndian.Uint16(payload[i*6:])
		v := binary.BigEndian.Uint32(payload[i*6+2:])
		k, seen := at[id]
		if !seen {
			at[id] = len(list)
			list = append(list, entry{id, v, !settingValid(id, v)})
			continue
		}
		e := &list[k]
		switch {
		case e.invalid:
		case !settingValid(id, v):
			e.v, e.invalid = v, true
		case id == settingHeaderTableSize:
			e.v = min(e.v, v)
		default:
			e.v = v
		}
	}
	out := appendFrameHeader(make([]byte, 0, 9+6*len(list)), 6*len(list), frameSettings, frame[4], 0)
	for _, e := range list {
		out = binary.BigEndian.AppendUint16(out, e.id)
		out = binary.BigEndian.AppendUint32(out, e.v)
	}
	return out
}

// filteredConn is a connection whose reads go through a frameReader.
type filteredConn struct {
	net.Conn
	r *frameReader
}

func (c *filteredConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// filteredTLSConn keeps the TLS state visible to x/net (r.TLS).
type filteredTLSConn struct {
	filteredConn
	state func() tls.ConnectionState
}

func (c *filteredTLSConn) ConnectionState() tls.ConnectionState { return c.state() }

// filter wraps c for x/net (see frameReader).
func filter(c net.Conn, upgraded bool) net.Conn {
	fc := filteredConn{Conn: c, r: newFrameReader(c, upgraded)}
	if cs, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return &filteredTLSConn{fc, cs.ConnectionState}
	}
	return &fc
}
