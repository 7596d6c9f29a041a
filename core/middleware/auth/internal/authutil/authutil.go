// Package authutil holds what the authentication middleware packages share:
// strict configuration decoding, RFC 9457 problem responses and RFC 9110 /
// RFC 6750 challenge headers.
package authutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// Slugs of the problem types the authentication middleware answers with.
const (
	SlugUnauthorized = "unauthorized"
	SlugForbidden    = "forbidden"
)

// Decode decodes a middleware configuration object strictly: it must be a
// JSON object and every member must be known, so that a misspelt option
// ("audiance") is a build error instead of a silently weaker check.
func Decode(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("configuration must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after configuration object")
	}
	return nil
}

// StringList is a JSON string or array of strings ("a" or ["a", "b"]).
type StringList []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("want a string or an array of strings")
	}
	*l = ss
	return nil
}

// Failure is a rejected request: the problem document and the challenge.
type Failure struct {
	Status int
	Title  string
	Detail string
	// Challenge is the WWW-Authenticate value ("" for none).
	Challenge string
	// body is the rendered problem document, cached by Prerender.
	body []byte
}

// Prerender renders the problem document once, for failures that do not
// depend on the request.
func (f *Failure) Prerender() *Failure {
	f.body = f.problem().Bytes()
	return f
}

func (f *Failure) problem() *problem.Problem {
	slug := SlugUnauthorized
	if f.Status == fasthttp.StatusForbidden {
		slug = SlugForbidden
	}
	return problem.New(f.Status, slug, f.Title, f.Detail)
}

// Write answers the request with the failure.
func (f *Failure) Write(ctx *fasthttp.RequestCtx) {
	body := f.body
	if body == nil {
		body = f.problem().Bytes()
	}
	ctx.Response.ResetBody()
	ctx.SetStatusCode(f.Status)
	ctx.SetContentType(problem.ContentType)
	if f.Challenge != "" {
		ctx.Response.Header.Set("WWW-Authenticate", f.Challenge)
	}
	ctx.SetBody(body)
}

// Challenge builds a WWW-Authenticate value: scheme followed by auth-params
// given as name, value pairs; empty values are left out.
func Challenge(scheme string, params ...string) string {
	var b strings.Builder
	b.WriteString(scheme)
	first := true
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] == "" {
			continue
		}
		if first {
			b.WriteByte(' ')
			first = false
		} else {
			b.WriteString(", ")
		}
		b.WriteString(params[i])
		b.WriteString(`="`)
		b.WriteString(sanitize(params[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

// sanitize keeps a parameter value inside the character set RFC 6750
// allows for error_description (%x20-21 / %x23-5B / %x5D-7E): quotes and
// backslashes become apostrophes and slashes, other bytes are dropped.
func sanitize(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			b = append(b, '\'')
		case c == '\\':
			b = append(b, '/')
		case c >= 0x20 && c <= 0x7e:
			b = append(b, c)
		}
	}
	return string(b)
}

// QuoteList renders names as 'a', 'a' and 'b', or 'a', 'b' and 'c'.
func QuoteList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteByte('\'')
		b.WriteString(n)
		b.WriteByte('\'')
	}
	return b.String()
}
