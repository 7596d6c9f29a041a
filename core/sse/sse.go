// Package sse writes and reads Server-Sent Events (the text/event-stream
// format of the HTML Living Standard, "Server-sent events").
//
// Writing: AppendEvent encodes one event; Stream is the server side of one
// event stream (whole events per write, keep-alive comments when idle, an
// optional JSON Schema every event's data must match, the client's
// Last-Event-ID). The app package connects a Stream to a response
// (Ctx.SSE); any io.Writer whose Write sends and flushes one chunk works.
//
// Reading: Reader parses a stream as a browser's EventSource does (CRLF, LF
// or CR line ends, multi-line data, id, retry, comments), for Go clients
// and tests.
package sse

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of an event stream.
const ContentType = "text/event-stream"

// Event is one event. Data may span lines: each line becomes a data field
// and the client joins them with "\n". An event with empty Data is not
// dispatched by clients (it can still set the ID or the retry delay).
type Event struct {
	// ID, when set, becomes the client's last event ID (sent back in the
	// Last-Event-ID header when it reconnects). CR, LF and NUL are removed.
	ID string
	// Event is the event type ("message" when empty). CR and LF are removed.
	Event string
	Data  string
	// Retry, when positive, sets the client's reconnection delay.
	Retry time.Duration
	// Comment lines go first; clients ignore them.
	Comment string
}

// AppendEvent appends the encoding of e, terminated by a blank line, to dst.
func AppendEvent(dst []byte, e Event) []byte {
	start := len(dst)
	if e.Comment != "" {
		dst = appendLines(dst, ":", e.Comment)
	}
	if e.Event != "" {
		dst = append(dst, "event: "...)
		dst = appendClean(dst, e.Event, false)
		dst = append(dst, '\n')
	}
	if e.ID != "" {
		dst = append(dst, "id: "...)
		dst = appendClean(dst, e.ID, true)
		dst = append(dst, '\n')
	}
	if e.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, e.Retry.Milliseconds(), 10)
		dst = append(dst, '\n')
	}
	if e.Data != "" {
		dst = appendLines(dst, "data:", e.Data)
	}
	if len(dst) == start {
		// Nothing at all: a lone comment keeps the framing valid.
		dst = append(dst, ':', '\n')
	}
	return append(dst, '\n')
}

// appendLines writes one field per line of s (CRLF, CR and LF all end a
// line, as clients read them).
func appendLines(dst []byte, field, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		line := s
		if i >= 0 {
			line = s[:i]
		}
		dst = append(dst, field...)
		if line != "" {
			dst = append(dst, ' ')
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if i < 0 {
			return dst
		}
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

func appendClean(dst []byte, s string, noNUL bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || (noNUL && c == 0) {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// KeepAliveComment is written when a stream has been idle for its
// keep-alive interval.
var KeepAliveComment = []byte(": keep-alive\n\n")

// Reader parses an event stream.
type Reader struct {
	br *bufio.Reader
	// LastEventID is the last ID the stream set (as EventSource keeps it).
	LastEventID string
	// Retry is the last reconnection delay the stream asked for.
	Retry time.Duration
	// OnComment, when set, receives every comment line (without the colon
	// and one leading space).
	OnComment func(text string)
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Reader{br: br}
}

// Next returns the next dispatched event: its Event is the type ("message"
// when the stream named none) and its ID the last event ID at that point.
// At the end of the stream it returns io.EOF; an event not terminated by a
// blank line is discarded, as clients do.
func (r *Reader) Next() (Event, error) {
	var data bytes.Buffer
	var typ string
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if !hasData {
				typ = ""
				continue
			}
			d := data.Bytes()
			d = d[:len(d)-1] // the last "\n"
			if typ == "" {
				typ = "message"
			}
			return Event{ID: r.LastEventID, Event: typ, Data: string(d)}, nil
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "":
			if r.OnComment != nil {
				r.OnComment(string(value))
			}
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.LastEventID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 63); err == nil && len(value) > 0 && allDigits(value) {
				r.Retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// readLine returns one line without its end (CRLF, LF or CR).
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch b {
		case '\n':
			return line, nil
		case '\r':
			if nb, err := r.br.Peek(1); err == nil && nb[0] == '\n' {
				_, _ = r.br.ReadByte()
			}
			return line, nil
		}
		line = append(line, b)
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
