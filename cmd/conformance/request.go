package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// HTTPRequest is the exact request the runner writes on the socket. It is
// written by hand (not through net/http) so that what the scenario says is
// what goes out: header spelling, a Content-Length that disagrees with the
// body, a raw query string, no User-Agent unless the scenario sends one.
type HTTPRequest struct {
	Method string
	Target string // path and query, as sent on the request line
	// Headers in order. Host and Content-Length are added when absent.
	Headers [][2]string
	Body    []byte
	// ContentLengthGiven is set when the scenario sets Content-Length
	// itself; the runner then half-closes the connection after the body so
	// a server waiting for more bytes sees the end of the request.
	ContentLengthGiven bool
}

// Header returns the first value of a header (case-insensitive).
func (r *HTTPRequest) Header(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

func (r *HTTPRequest) setHeader(name, value string) {
	for i, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			r.Headers[i][1] = value
			return
		}
	}
	r.Headers = append(r.Headers, [2]string{name, value})
}

// multipartBoundary is fixed so requests are reproducible.
const multipartBoundary = "spikardConformanceBoundary7MA4YWxkTrZu0gW"

// buildRequest turns a scenario's request into the bytes to send.
func buildRequest(o object) (*HTTPRequest, error) {
	r := &HTTPRequest{}
	var err error
	raw, ok := o.Get("method")
	if !ok {
		return nil, shapef("request.method missing")
	}
	if r.Method, err = asString(raw); err != nil || r.Method == "" {
		return nil, shapef("request.method: must be a non-empty string")
	}
	r.Method = strings.ToUpper(r.Method)
	raw, ok = o.Get("path")
	if !ok {
		return nil, shapef("request.path missing")
	}
	path, err := asString(raw)
	if err != nil || path == "" {
		return nil, shapef("request.path: must be a non-empty string")
	}
	path = expandTemplates(path)

	// Query: a query already in the path wins (the scenario wrote the exact
	// bytes), then query_string (raw), then query_params (encoded).
	target := escapePath(path)
	if !strings.Contains(path, "?") {
		if raw, ok := o.Get("query_string"); ok && !isNull(raw) {
			qs, err := asString(raw)
			if err != nil {
				return nil, shapef("request.query_string: %v", err)
			}
			if qs = strings.TrimPrefix(expandTemplates(qs), "?"); qs != "" {
				target += "?" + qs
			}
		} else if raw, ok := o.Get("query_params"); ok && !isNull(raw) {
			qs, err := encodeQuery(raw)
			if err != nil {
				return nil, shapef("request.query_params: %v", err)
			}
			if qs != "" {
				target += "?" + qs
			}
		}
	}
	r.Target = target

	if raw, ok := o.Get("headers"); ok && !isNull(raw) {
		var hs object
		if err := json.Unmarshal(raw, &hs); err != nil {
			return nil, shapef("request.headers: %v", err)
		}
		for _, m := range hs {
			v, err := scalarString(m.Val)
			if err != nil {
				return nil, shapef("request.headers.%s: %v", m.Key, err)
			}
			r.Headers = append(r.Headers, [2]string{m.Key, expandTemplates(v)})
		}
	}
	if raw, ok := o.Get("cookies"); ok && !isNull(raw) {
		var cs object
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, shapef("request.cookies: %v", err)
		}
		var parts []string
		for _, m := range cs {
			v, err := scalarString(m.Val)
			if err != nil {
				return nil, shapef("request.cookies.%s: %v", m.Key, err)
			}
			parts = append(parts, m.Key+"="+expandTemplates(v))
		}
		if len(parts) > 0 {
			cookie := strings.Join(parts, "; ")
			if prev, ok := r.Header("Cookie"); ok && prev != "" {
				cookie = prev + "; " + cookie
			}
			r.setHeader("Cookie", cookie)
		}
	}
	// request.content_type is a convenience for the Content-Type header.
	if raw, ok := o.Get("content_type"); ok && !isNull(raw) {
		ct, err := asString(raw)
		if err != nil {
			return nil, shapef("request.content_type: %v", err)
		}
		if _, has := r.Header("Content-Type"); !has && ct != "" {
			r.Headers = append(r.Headers, [2]string{"Content-Type", ct})
		}
	}

	if err := buildBody(o, r); err != nil {
		return nil, err
	}
	if _, ok := r.Header("Content-Length"); ok {
		r.ContentLengthGiven = true
	}
	return r, nil
}

// buildBody fills the body from body / body_raw / form_data / data / files.
func buildBody(o object, r *HTTPRequest) error {
	_, hasFiles := o.Get("files")
	formRaw, hasForm := o.Get("form_data")
	if !hasForm {
		formRaw, hasForm = o.Get("data")
	}
	bodyRaw, hasBody := o.Get("body")
	rawStr, hasRaw := o.Get("body_raw")
	ct, _ := r.Header("Content-Type")
	mediaType := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))

	switch {
	case hasRaw && !isNull(rawStr):
		s, err := asString(rawStr)
		if err != nil {
			return shapef("request.body_raw: %v", err)
		}
		r.Body = []byte(expandTemplates(s))
	case hasFiles || (hasForm && mediaType == "multipart/form-data"):
		body, err := buildMultipart(o)
		if err != nil {
			return err
		}
		r.Body = body
		if mediaType == "" || (mediaType == "multipart/form-data" && !strings.Contains(ct, "boundary=")) {
			r.setHeader("Content-Type", "multipart/form-data; boundary="+multipartBoundary)
		}
	case hasForm && !isNull(formRaw):
		fields, err := formFields(formRaw)
		if err != nil {
			return shapef("request.form_data: %v", err)
		}
		vals := make([]string, 0, len(fields))
		for _, f := range fields {
			vals = append(vals, url.QueryEscape(f[0])+"="+url.QueryEscape(f[1]))
		}
		r.Body = []byte(strings.Join(vals, "&"))
		if mediaType == "" {
			r.setHeader("Content-Type", "application/x-www-form-urlencoded")
		}
	case hasBody:
		b, err := encodeBody(bodyRaw)
		if err != nil {
			return shapef("request.body: %v", err)
		}
		r.Body = b
	}
	return nil
}

// encodeBody encodes request.body. A string is sent as it is: the corpus
// uses string bodies for raw payloads (malformed JSON, XML, url-encoded
// text), never for a JSON string. Anything else is sent as JSON text with
// the scenario's member order and number spelling. No Content-Type is
// added: the request carries exactly the headers the scenario lists (the
// corpus has a scenario for the JSON default of a body without one).
func encodeBody(raw json.RawMessage) ([]byte, error) {
	switch kind(raw) {
	case "string":
		s, err := asString(raw)
		if err != nil {
			return nil, err
		}
		return []byte(expandTemplates(s)), nil
	case "null", "absent":
		return nil, nil
	}
	return expandTemplatesJSON(compact(raw)), nil
}

// encodeQuery encodes query_params: arrays repeat the key; booleans are
// "true"/"false" (as the corpus writes them in query strings), numbers keep
// their JSON spelling, null leaves the key out; keys and values are
// form-encoded (space as +).
func encodeQuery(raw json.RawMessage) (string, error) {
	fields, err := formFields(raw)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, url.QueryEscape(f[0])+"="+url.QueryEscape(f[1]))
	}
	return strings.Join(parts, "&"), nil
}

// formFields flattens an object of scalars and arrays into ordered
// (key, value) pairs.
func formFields(raw json.RawMessage) ([][2]string, error) {
	if kind(raw) == "string" {
		return nil, fmt.Errorf("want an object (a raw string belongs in body or query_string)")
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	var out [][2]string
	for _, m := range o {
		if kind(m.Val) == "array" {
			var items []json.RawMessage
			if err := json.Unmarshal(m.Val, &items); err != nil {
				return nil, fmt.Errorf("%s: %v", m.Key, err)
			}
			for _, it := range items {
				if isNull(it) {
					continue
				}
				v, err := scalarString(it)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", m.Key, err)
				}
				out = append(out, [2]string{m.Key, expandTemplates(v)})
			}
			continue
		}
		if isNull(m.Val) {
			continue
		}
		v, err := scalarString(m.Val)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", m.Key, err)
		}
		out = append(out, [2]string{m.Key, expandTemplates(v)})
	}
	return out, nil
}

// scalarString renders a JSON scalar as the text a client sends: strings
// as they are, numbers in their JSON spelling, booleans as true/false.
// Objects are sent as JSON text.
func scalarString(raw json.RawMessage) (string, error) {
	switch kind(raw) {
	case "string":
		return asString(raw)
	case "number", "boolean", "object", "array":
		return string(compact(raw)), nil
	case "null":
		return "", nil
	}
	return "", fmt.Errorf("unexpected value")
}

// fileSpec is one member of request.files.
type fileSpec struct {
	FieldName       string            `json:"field_name"`
	Filename        *string           `json:"filename"`
	Content         *string           `json:"content"`
	ContentEncoding string            `json:"content_encoding"`
	ContentType     string            `json:"content_type"`
	MagicBytes      *string           `json:"magic_bytes"`
	Headers         map[string]string `json:"headers"`
}

// buildMultipart writes form fields first, then files, as a browser or
// Python's requests does.
func buildMultipart(o object) ([]byte, error) {
	var buf bytes.Buffer
	part := func(headers [][2]string, content []byte) {
		buf.WriteString("--" + multipartBoundary + "\r\n")
		for _, h := range headers {
			buf.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
		buf.WriteString("\r\n")
		buf.Write(content)
		buf.WriteString("\r\n")
	}
	formRaw, ok := o.Get("form_data")
	if !ok {
		formRaw, ok = o.Get("data")
	}
	if ok && !isNull(formRaw) {
		fields, err := formFields(formRaw)
		if err != nil {
			return nil, shapef("request.form_data: %v", err)
		}
		for _, f := range fields {
			part([][2]string{{"Content-Disposition", `form-data; name="` + escapeQuotes(f[0]) + `"`}}, []byte(f[1]))
		}
	}
	if raw, ok := o.Get("files"); ok && !isNull(raw) {
		var files []json.RawMessage
		if err := json.Unmarshal(raw, &files); err != nil {
			return nil, shapef("request.files: want an array: %v", err)
		}
		for i, fr := range files {
			var f fileSpec
			if err := json.Unmarshal(fr, &f); err != nil {
				return nil, shapef("request.files[%d]: %v", i, err)
			}
			if f.FieldName == "" {
				return nil, shapef("request.files[%d]: field_name missing", i)
			}
			var content []byte
			if f.MagicBytes != nil {
				b, err := hex.DecodeString(strings.ReplaceAll(*f.MagicBytes, " ", ""))
				if err != nil {
					return nil, shapef("request.files[%d].magic_bytes: %v", i, err)
				}
				content = append(content, b...)
			}
			if f.Content != nil {
				c := expandTemplates(*f.Content)
				switch strings.ToLower(f.ContentEncoding) {
				case "", "text", "utf-8", "utf8":
					content = append(content, c...)
				case "base64":
					b, err := base64.StdEncoding.DecodeString(c)
					if err != nil {
						return nil, shapef("request.files[%d].content: %v", i, err)
					}
					content = append(content, b...)
				case "hex":
					b, err := hex.DecodeString(c)
					if err != nil {
						return nil, shapef("request.files[%d].content: %v", i, err)
					}
					content = append(content, b...)
				default:
					return nil, shapef("request.files[%d].content_encoding %q not supported", i, f.ContentEncoding)
				}
			}
			disp := `form-data; name="` + escapeQuotes(f.FieldName) + `"`
			if f.Filename != nil {
				disp += `; filename="` + escapeQuotes(*f.Filename) + `"`
			}
			hs := [][2]string{{"Content-Disposition", disp}}
			if f.ContentType != "" {
				hs = append(hs, [2]string{"Content-Type", f.ContentType})
			}
			for _, k := range sortedKeysS(f.Headers) {
				if strings.EqualFold(k, "content-disposition") || strings.EqualFold(k, "content-type") {
					continue
				}
				hs = append(hs, [2]string{k, f.Headers[k]})
			}
			part(hs, content)
		}
	}
	buf.WriteString("--" + multipartBoundary + "--\r\n")
	return buf.Bytes(), nil
}

func escapeQuotes(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }

// Templates: "{{ repeat 'x' 2000 times }}" stands for 2000 x's.
var repeatRE = regexp.MustCompile(`\{\{\s*repeat\s+(?:'([^']*)'|"([^"]*)")\s+(\d+)\s+times?\s*\}\}`)

func expandTemplates(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		g := repeatRE.FindStringSubmatch(m)
		unit := g[1] + g[2]
		n, err := strconv.Atoi(g[3])
		if err != nil || n > 64<<20 {
			return m
		}
		return strings.Repeat(unit, n)
	})
}

// expandTemplatesJSON expands templates inside the strings of a JSON text
// (decoded, so a template written with escaped quotes works too).
func expandTemplatesJSON(b []byte) []byte {
	if !bytes.Contains(b, []byte("{{")) {
		return b
	}
	// Rewrite only string tokens, keeping member order and number spelling.
	var out bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := rewriteStrings(dec, &out); err != nil {
		return b
	}
	return out.Bytes()
}

// rewriteStrings re-emits a JSON text token by token, expanding templates
// in strings.
func rewriteStrings(dec *json.Decoder, out *bytes.Buffer) error {
	type frame struct {
		obj   bool
		count int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		// Separators.
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			isClose := false
			if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
				isClose = true
			}
			if !isClose {
				if top.obj {
					if top.count%2 == 0 && top.count > 0 {
						out.WriteByte(',')
					} else if top.count%2 == 1 {
						out.WriteByte(':')
					}
				} else if top.count > 0 {
					out.WriteByte(',')
				}
				top.count++
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(t))
			switch t {
			case '{':
				stack = append(stack, frame{obj: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			enc, _ := json.Marshal(expandTemplates(t))
			out.Write(enc)
		case json.Number:
			out.WriteString(string(t))
		case bool:
			out.WriteString(strconv.FormatBool(t))
		case nil:
			out.WriteString("null")
		}
	}
}

// escapePath percent-encodes what cannot appear raw on a request line
// (spaces, controls, non-ASCII) and keeps everything else, existing %XX
// escapes included.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= 0x20 || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// write serialises the request for host.
func (r *HTTPRequest) write(w io.Writer, host string) error {
	var b bytes.Buffer
	b.WriteString(r.Method + " " + r.Target + " HTTP/1.1\r\n")
	if _, ok := r.Header("Host"); !ok {
		b.WriteString("Host: " + host + "\r\n")
	}
	for _, h := range r.Headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if _, ok := r.Header("Content-Length"); !ok {
		if _, chunked := r.Header("Transfer-Encoding"); !chunked {
			if len(r.Body) > 0 || methodHasBody(r.Method) {
				b.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n")
			}
		}
	}
	if _, ok := r.Header("Connection"); !ok {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	_, err := w.Write(b.Bytes())
	return err
}

func methodHasBody(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" }

// send writes the request to addr over a new TCP connection and reads the
// response.
func send(addr string, r *HTTPRequest, timeout time.Duration) (*Response, error) {
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if err := r.write(conn, addr); err != nil {
		return nil, fmt.Errorf("writing the request: %w", err)
	}
	if r.ContentLengthGiven {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.Method})
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	h := resp.Header.Clone()
	// net/http drops "Connection: close" from the header it parses and
	// reports it as resp.Close: put it back so scenarios can expect it.
	if resp.Close && h.Get("Connection") == "" {
		h.Set("Connection", "close")
	}
	if h.Get("Content-Length") == "" && resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	return &Response{Status: resp.StatusCode, Header: h, Body: body}, nil
}
