package body

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// fileLeaf is an uploaded file part. Handlers see it as
//
//	{"filename": "a.txt", "content_type": "text/plain", "size": 3, "content": "abc"}
//
// content is the file's text when it is valid UTF-8; otherwise it is the
// standard base64 encoding and the object carries "content_encoding":
// "base64". When the part has headers beyond Content-Disposition and
// Content-Type, "headers" lists all of them as [lower-case name, value] pairs
// in wire order.
type fileLeaf struct {
	field       string // the part's name as sent
	filename    string
	contentType string      // the part's Content-Type value, or application/octet-stream
	data        []byte      // aliases the decoder's copy of the body
	headers     [][2]string // name as sent, value
	extra       bool        // headers beyond Content-Disposition/Content-Type
}

func (f *fileLeaf) value() map[string]any {
	m := make(map[string]any, 6)
	m["filename"] = f.filename
	m["content_type"] = f.contentType
	m["size"] = int64(len(f.data))
	if utf8.Valid(f.data) {
		m["content"] = alias(f.data)
	} else {
		m["content"] = base64.StdEncoding.EncodeToString(f.data)
		m["content_encoding"] = "base64"
	}
	if f.extra {
		hs := make([]any, len(f.headers))
		for i, h := range f.headers {
			hs[i] = []any{strings.ToLower(h[0]), h[1]}
		}
		m["headers"] = hs
	}
	return m
}

// maxPartHeaders bounds the header lines of one part.
const maxPartHeaders = 64

// parseMultipart reads a multipart/form-data body (RFC 7578, RFC 2046 §5.1)
// into the key tree. body must be owned by the caller and never written
// again: names, values and file contents alias it. A part with an empty
// filename and no content is an unselected file input and is skipped.
func parseMultipart(body []byte, boundary string, t *formTree, files *[]*fileLeaf) *formError {
	if len(boundary) == 0 || len(boundary) > 200 {
		return &formError{"invalid boundary"}
	}
	dash := "--" + boundary
	delim := []byte("\r\n--" + boundary)
	var pos int
	if bytes.HasPrefix(body, []byte(dash)) {
		pos = 0
	} else {
		i := bytes.Index(body, delim)
		if i < 0 {
			return &formError{"missing opening boundary"}
		}
		pos = i + 2
	}
	for {
		// body[pos:] starts with the dash-boundary.
		pos += len(dash)
		rest := body[pos:]
		if bytes.HasPrefix(rest, []byte("--")) {
			return nil // close delimiter; the epilogue is ignored
		}
		for len(rest) > 0 && isOWS(rest[0]) {
			rest = rest[1:]
		}
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			rest = rest[2:]
		case len(rest) == 0:
			return &formError{"unexpected end of body (missing closing boundary)"}
		default:
			return &formError{"malformed boundary line"}
		}
		pos = len(body) - len(rest)

		// Part headers.
		var (
			name, filename, ctype string
			hasName, hasFilename  bool
			hasCType, extra       bool
		)
		hdrStart := pos
		for n := 0; ; n++ {
			eol := bytes.Index(body[pos:], []byte("\r\n"))
			if eol < 0 {
				return &formError{"unexpected end of body in part headers"}
			}
			line := body[pos : pos+eol]
			pos += eol + 2
			if len(line) == 0 {
				break
			}
			if n >= maxPartHeaders {
				return &formError{"too many part headers"}
			}
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 {
				return &formError{"malformed part header"}
			}
			hname := trimOWS(line[:colon])
			hval := trimOWS(line[colon+1:])
			if !utf8.Valid(hval) || !isToken(hname) {
				return &formError{"malformed part header"}
			}
			switch {
			case asciiEqualFold(hname, "content-disposition"):
				var ok bool
				name, hasName, filename, hasFilename, ok = parseDisposition(hval)
				if !ok {
					return &formError{"malformed Content-Disposition"}
				}
			case asciiEqualFold(hname, "content-type"):
				ctype, hasCType = alias(hval), true
			default:
				extra = true
			}
		}
		hdrEnd := pos
		if !hasName {
			return &formError{"part is missing a name"}
		}

		// Part content runs to the next delimiter.
		end := bytes.Index(body[pos:], delim)
		if end < 0 {
			return &formError{"unexpected end of body (missing closing boundary)"}
		}
		content := body[pos : pos+end]
		pos += end + 2

		if hasFilename {
			if filename == "" && len(content) == 0 {
				continue
			}
			if !hasCType || ctype == "" {
				ctype = "application/octet-stream"
			}
			fl := &fileLeaf{field: name, filename: filename, contentType: ctype, data: content}
			if extra {
				fl.headers, fl.extra = headerList(body[hdrStart:hdrEnd]), true
			}
			*files = append(*files, fl)
			if err := t.add(name, leafVal{file: fl}); err != nil {
				return err
			}
			continue
		}
		if !utf8.Valid(content) {
			return &formError{"invalid UTF-8 in field '" + truncate(name) + "'"}
		}
		if err := t.add(name, leafVal{s: alias(content)}); err != nil {
			return err
		}
	}
}

// headerList splits an already checked header block into name/value pairs.
func headerList(block []byte) [][2]string {
	var out [][2]string
	for len(block) > 0 {
		eol := bytes.Index(block, []byte("\r\n"))
		if eol < 0 {
			eol = len(block)
		}
		line := block[:eol]
		block = block[min(eol+2, len(block)):]
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			out = append(out, [2]string{alias(trimOWS(line[:colon])), alias(trimOWS(line[colon+1:]))})
		}
	}
	return out
}

// parseDisposition reads `form-data; name="x"; filename="y"` (filename*
// with RFC 8187 UTF-8 encoding takes precedence over filename).
func parseDisposition(v []byte) (name string, hasName bool, filename string, hasFilename bool, ok bool) {
	semi := bytes.IndexByte(v, ';')
	if semi < 0 {
		semi = len(v)
	}
	if len(trimOWS(v[:semi])) == 0 {
		return "", false, "", false, false
	}
	rest := v[semi:]
	extFilename := false
	for len(rest) > 0 {
		rest = trimLeftOWS(rest[1:])
		eq := bytes.IndexAny(rest, "=;")
		if eq < 0 {
			return name, hasName, filename, hasFilename, true
		}
		if rest[eq] == ';' {
			rest = rest[eq:]
			continue
		}
		key := trimOWS(rest[:eq])
		rest = trimLeftOWS(rest[eq+1:])
		var val string
		if len(rest) > 0 && rest[0] == '"' {
			s, n, good := unquoteLenient(rest)
			if !good {
				return "", false, "", false, false
			}
			val = s
			rest = trimLeftOWS(rest[n:])
			if len(rest) > 0 && rest[0] != ';' {
				return "", false, "", false, false
			}
		} else {
			semi := bytes.IndexByte(rest, ';')
			if semi < 0 {
				semi = len(rest)
			}
			val = alias(trimOWS(rest[:semi]))
			rest = rest[semi:]
		}
		switch {
		case asciiEqualFold(key, "name"):
			name, hasName = val, true
		case asciiEqualFold(key, "filename"):
			if !extFilename {
				filename, hasFilename = val, true
			}
		case asciiEqualFold(key, "filename*"):
			if s, good := decodeExtValue(val); good {
				filename, hasFilename, extFilename = s, true, true
			}
		}
	}
	return name, hasName, filename, hasFilename, true
}

// unquoteLenient reads a quoted-string. Browsers do not escape backslashes in
// file names (C:\dir\a.txt), so a backslash only escapes '"' and '\'.
func unquoteLenient(b []byte) (string, int, bool) {
	// Fast path: no escapes, the value aliases b (owned by the caller).
	for i := 1; i < len(b); i++ {
		if b[i] == '\\' {
			break
		}
		if b[i] == '"' {
			return alias(b[1:i]), i + 1, true
		}
	}
	var out []byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return string(out), i + 1, true
		case c == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\'):
			i++
			out = append(out, b[i])
		default:
			out = append(out, c)
		}
	}
	return "", 0, false
}

// decodeExtValue decodes an RFC 8187 ext-value: charset'lang'pct-encoded.
// Only UTF-8 (and its ASCII subset) is accepted.
func decodeExtValue(v string) (string, bool) {
	q1 := strings.IndexByte(v, '\'')
	if q1 < 0 {
		return "", false
	}
	q2 := strings.IndexByte(v[q1+1:], '\'')
	if q2 < 0 {
		return "", false
	}
	if !isUTF8Charset(v[:q1]) {
		return "", false
	}
	enc := v[q1+1+q2+1:]
	out := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(enc) {
			return "", false
		}
		h, ok1 := unhex(enc[i+1])
		l, ok2 := unhex(enc[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		out = append(out, h<<4|l)
		i += 2
	}
	if !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
