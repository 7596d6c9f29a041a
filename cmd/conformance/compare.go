package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Expectation is a scenario's expected_response.
type Expectation struct {
	Status int
	// Body is the expected body; HasBody is false when the scenario does
	// not say (then the body is not compared).
	Body    json.RawMessage
	HasBody bool
	// BodyPartial lists members the body must have, with these values.
	BodyPartial      json.RawMessage
	Headers          []expectedHeader
	Cookies          []expectedCookie
	ValidationErrors json.RawMessage
	// ResolutionOrder is dependency_resolution_order (extensions.go).
	ResolutionOrder json.RawMessage
}

type expectedHeader struct{ Name, Value string }

// expectedCookie is one member of expected_response.cookies: a Set-Cookie
// the response must carry. Nil fields are not checked.
type expectedCookie struct {
	Name     string
	Value    *string `json:"value"`
	MaxAge   *int    `json:"max_age"`
	Path     *string `json:"path"`
	Domain   *string `json:"domain"`
	Secure   *bool   `json:"secure"`
	HTTPOnly *bool   `json:"httponly"`
	SameSite *string `json:"samesite"`
}

// setCookie renders the cookie as a Set-Cookie value, for a handler that
// must send it.
func (c expectedCookie) setCookie() string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('=')
	if c.Value != nil {
		b.WriteString(*c.Value)
	}
	if c.MaxAge != nil {
		fmt.Fprintf(&b, "; Max-Age=%d", *c.MaxAge)
	}
	if c.Path != nil {
		b.WriteString("; Path=" + *c.Path)
	}
	if c.Domain != nil {
		b.WriteString("; Domain=" + *c.Domain)
	}
	if c.Secure != nil && *c.Secure {
		b.WriteString("; Secure")
	}
	if c.HTTPOnly != nil && *c.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if c.SameSite != nil {
		v := strings.ToLower(*c.SameSite)
		if v != "" {
			v = strings.ToUpper(v[:1]) + v[1:]
		}
		b.WriteString("; SameSite=" + v)
	}
	return b.String()
}

func parseExpectation(o object) (*Expectation, error) {
	e := &Expectation{}
	raw, ok := o.Get("status_code")
	if !ok {
		return nil, shapef("expected_response.status_code missing")
	}
	if err := json.Unmarshal(raw, &e.Status); err != nil || e.Status < 100 || e.Status > 599 {
		return nil, shapef("expected_response.status_code must be an HTTP status (got %s)", compact(raw))
	}
	if raw, ok := o.Get("body"); ok {
		e.Body, e.HasBody = compact(raw), true
	}
	if raw, ok := o.Get("body_partial"); ok && !isNull(raw) {
		if kind(raw) != "object" {
			return nil, shapef("expected_response.body_partial must be an object")
		}
		e.BodyPartial = compact(raw)
	}
	if raw, ok := o.Get("validation_errors"); ok && !isNull(raw) {
		e.ValidationErrors = compact(raw)
	}
	if raw, ok := o.Get("dependency_resolution_order"); ok && !isNull(raw) {
		e.ResolutionOrder = compact(raw)
	}
	if raw, ok := o.Get("headers"); ok && !isNull(raw) {
		var hs object
		if err := json.Unmarshal(raw, &hs); err != nil {
			return nil, shapef("expected_response.headers: %v", err)
		}
		for _, m := range hs {
			v, err := asString(m.Val)
			if err != nil {
				return nil, shapef("expected_response.headers.%s: %v", m.Key, err)
			}
			e.Headers = append(e.Headers, expectedHeader{m.Key, v})
		}
	}
	if raw, ok := o.Get("cookies"); ok && !isNull(raw) {
		var cs object
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, shapef("expected_response.cookies: %v", err)
		}
		for _, m := range cs {
			c := expectedCookie{Name: m.Key}
			if kind(m.Val) == "string" {
				v, _ := asString(m.Val)
				c.Value = &v
			} else if err := json.Unmarshal(m.Val, &c); err != nil {
				return nil, shapef("expected_response.cookies.%s: %v", m.Key, err)
			}
			e.Cookies = append(e.Cookies, c)
		}
	}
	return e, nil
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// compare checks a response against the expectation and lists the
// differences (empty when it matches). Body differences stop at the first.
func compare(e *Expectation, r *Response) []string {
	var diffs []string
	if r.Status != e.Status {
		diffs = append(diffs, fmt.Sprintf("status: got %d, want %d", r.Status, e.Status))
	}
	for _, h := range e.Headers {
		if d := compareHeader(h, r.Header); d != "" {
			diffs = append(diffs, d)
		}
	}
	if len(e.Cookies) > 0 {
		diffs = append(diffs, compareCookies(e.Cookies, r.Header.Values("Set-Cookie"))...)
	}
	if e.HasBody {
		if d := compareBody(e.Body, r); d != "" {
			diffs = append(diffs, d)
		}
	}
	if e.BodyPartial != nil || e.ValidationErrors != nil {
		got, err := decodeAny(r.Body)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("body: not JSON (%v): %s", err, snippet(r.Body)))
		} else {
			if e.BodyPartial != nil {
				want, _ := decodeAny(e.BodyPartial)
				want = resolveSameAs(want, got)
				if d := diffPartial("body", want, got); d != "" {
					diffs = append(diffs, d)
				}
			}
			if e.ValidationErrors != nil {
				want, _ := decodeAny(e.ValidationErrors)
				var errs any
				if m, ok := got.(map[string]any); ok {
					errs = m["errors"]
				}
				if d := diffJSON("body.errors", want, errs); d != "" {
					diffs = append(diffs, d)
				}
			}
		}
	}
	return diffs
}

// compareBody compares the body as JSON, or as text when the expected body
// is a string and the response is not JSON.
func compareBody(want json.RawMessage, r *Response) string {
	wantV, err := decodeAny(want)
	if err != nil {
		return fmt.Sprintf("body: the scenario's expected body is not JSON: %v", err)
	}
	if len(r.Body) == 0 {
		if wantV == nil {
			return "" // "body": null and no body
		}
		return fmt.Sprintf("body: got no body, want %s", snippet(want))
	}
	gotV, err := decodeAny(r.Body)
	if err != nil {
		if ws, ok := wantV.(string); ok {
			if string(r.Body) == ws {
				return ""
			}
			return fmt.Sprintf("body: got %s, want %s", quoteSnippet(string(r.Body)), quoteSnippet(ws))
		}
		return fmt.Sprintf("body: not JSON (%v): %s; want %s", err, snippet(r.Body), snippet(want))
	}
	if ws, ok := wantV.(string); ok && string(r.Body) == ws {
		return "" // a text body that happens to parse as JSON ("123")
	}
	return diffJSON("body", resolveSameAs(wantV, gotV), gotV)
}

// diffJSON returns the first difference between two decoded JSON values,
// as "path: got X, want Y". Numbers compare by value (1 == 1.0).
func diffJSON(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object", path, describe(got))
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing member %q (want %s)", path, k, describe(w[k]))
			}
			if d := diffJSON(path+"."+k, w[k], gv); d != "" {
				return d
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s: unexpected member %q = %s", path, k, describe(g[k]))
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an array", path, describe(got))
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			if d := diffJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		if len(w) != len(g) {
			return fmt.Sprintf("%s: got %d items, want %d", path, len(g), len(w))
		}
		return ""
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || !numbersEqual(w, g) {
			return fmt.Sprintf("%s: got %s, want %s", path, describe(got), w)
		}
		return ""
	default:
		if ws, ok := want.(string); ok && want != got {
			if d, handled := bodyToken(path, ws, got); handled {
				return d
			}
		}
		if want != got {
			return fmt.Sprintf("%s: got %s, want %s", path, describe(got), describe(want))
		}
		return ""
	}
}

// bodyToken compares a body value with an expected token: <<present>> (any
// value), <<uuid>> (a UUID string), or a string with a wildcard (".*",
// ".+": a regular expression the whole string must match). handled is
// false for an ordinary string.
func bodyToken(path, want string, got any) (diff string, handled bool) {
	switch strings.ToLower(want) {
	case "<<present>>":
		return "", true
	case "<<uuid>>":
		if s, ok := got.(string); ok && uuidRE.MatchString(s) {
			return "", true
		}
		return fmt.Sprintf("%s: got %s, want a UUID", path, describe(got)), true
	}
	if strings.Contains(want, ".*") || strings.Contains(want, ".+") {
		re, err := regexp.Compile(`^(?:` + want + `)$`)
		if err != nil {
			return "", false
		}
		if s, ok := got.(string); ok && re.MatchString(s) {
			return "", true
		}
		return fmt.Sprintf("%s: got %s, want a string matching %s", path, describe(got), want), true
	}
	return "", false
}

// resolveSameAs replaces "<<same_as:m>>" members of expected objects by the
// response's member m of the same object, so that the two must be equal.
func resolveSameAs(want, got any) any {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		out := make(map[string]any, len(w))
		for k, v := range w {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "<<same_as:") && strings.HasSuffix(s, ">>") {
				ref := strings.TrimSuffix(strings.TrimPrefix(s, "<<same_as:"), ">>")
				if gv, ok := g[ref]; ok {
					out[k] = gv
					continue
				}
				out[k] = "<<same_as " + ref + ": the answer has no member " + ref + ">>"
				continue
			}
			out[k] = resolveSameAs(v, g[k])
		}
		return out
	case []any:
		g, _ := got.([]any)
		out := make([]any, len(w))
		for i, v := range w {
			var gv any
			if i < len(g) {
				gv = g[i]
			}
			out[i] = resolveSameAs(v, gv)
		}
		return out
	}
	return want
}

// diffPartial checks that every member of want is in got with an equal
// value; nested objects are partial too.
func diffPartial(path string, want, got any) string {
	w, ok := want.(map[string]any)
	if !ok {
		return diffJSON(path, want, got)
	}
	g, ok := got.(map[string]any)
	if !ok {
		return fmt.Sprintf("%s: got %s, want an object", path, describe(got))
	}
	for _, k := range sortedKeys(w) {
		gv, ok := g[k]
		if !ok {
			return fmt.Sprintf("%s: missing member %q", path, k)
		}
		if d := diffPartial(path+"."+k, w[k], gv); d != "" {
			return d
		}
	}
	return ""
}

func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	return ok1 && ok2 && x.Cmp(y) == 0
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func describe(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return snippet(b)
}

func snippet(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func quoteSnippet(s string) string { return strconv.Quote(snippet([]byte(s))) }

// Header values: "<<absent>>", "<<present>>", "<<uuid>>" are tokens; a value
// that looks like a regular expression must match the whole header value;
// anything else is compared exactly (content-type: parameters are ignored
// when the expected value has none).
var uuidRE = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func isPattern(v string) bool {
	if strings.HasPrefix(v, "<<") && strings.HasSuffix(v, ">>") {
		return true
	}
	return strings.Contains(v, ".*") || strings.Contains(v, ".+") || strings.HasPrefix(v, "^") ||
		strings.HasSuffix(v, "$") || strings.Contains(v, "[") || strings.Contains(v, `\d`) ||
		strings.Contains(v, `\w`) || strings.Contains(v, `\s`)
}

func compareHeader(h expectedHeader, hdr http.Header) string {
	vals, present := hdr[http.CanonicalHeaderKey(h.Name)]
	if !present {
		// Header names are case-insensitive; http.Header is canonical, but
		// be safe with non-canonical keys.
		for k, v := range hdr {
			if strings.EqualFold(k, h.Name) {
				vals, present = v, true
				break
			}
		}
	}
	switch strings.ToLower(h.Value) {
	case "<<absent>>":
		if present {
			return fmt.Sprintf("header %s: got %q, want it absent", h.Name, strings.Join(vals, ", "))
		}
		return ""
	case "<<present>>":
		if !present {
			return fmt.Sprintf("header %s: missing, want it present", h.Name)
		}
		return ""
	}
	if !present {
		return fmt.Sprintf("header %s: missing, want %q", h.Name, h.Value)
	}
	candidates := append([]string{strings.Join(vals, ", ")}, vals...)
	for _, got := range candidates {
		if headerValueMatches(h.Name, h.Value, got) {
			return ""
		}
	}
	return fmt.Sprintf("header %s: got %q, want %q", h.Name, strings.Join(vals, ", "), h.Value)
}

func headerValueMatches(name, want, got string) bool {
	if got == want {
		return true
	}
	if strings.EqualFold(want, "<<uuid>>") {
		return uuidRE.MatchString(got)
	}
	if strings.EqualFold(name, "content-type") && !strings.Contains(want, ";") {
		mt, _, _ := strings.Cut(got, ";")
		if strings.EqualFold(strings.TrimSpace(mt), want) {
			return true
		}
	}
	if isPattern(want) {
		re, err := regexp.Compile(`^(?:` + want + `)$`)
		if err == nil && re.MatchString(got) {
			return true
		}
	}
	return false
}

// setCookie is a parsed Set-Cookie header.
type setCookie struct {
	name, value string
	attrs       map[string]string // lower-case attribute name → value ("" for flags)
}

func parseSetCookie(line string) setCookie {
	parts := strings.Split(line, ";")
	name, value, _ := strings.Cut(parts[0], "=")
	c := setCookie{name: strings.TrimSpace(name), value: strings.TrimSpace(value), attrs: map[string]string{}}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		c.attrs[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return c
}

func compareCookies(want []expectedCookie, lines []string) []string {
	got := map[string]setCookie{}
	for _, l := range lines {
		c := parseSetCookie(l)
		got[c.name] = c
	}
	var diffs []string
	for _, w := range want {
		c, ok := got[w.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("cookie %s: no Set-Cookie for it (got %q)", w.Name, lines))
			continue
		}
		attr := func(name, gotV, wantV string) {
			if !strings.EqualFold(gotV, wantV) {
				diffs = append(diffs, fmt.Sprintf("cookie %s: %s got %q, want %q", w.Name, name, gotV, wantV))
			}
		}
		if w.Value != nil && c.value != *w.Value {
			diffs = append(diffs, fmt.Sprintf("cookie %s: value got %q, want %q", w.Name, c.value, *w.Value))
		}
		if w.MaxAge != nil {
			ma, hasMA := c.attrs["max-age"]
			switch {
			case *w.MaxAge <= 0:
				// Deleting: Max-Age <= 0, or an Expires in the past.
				n, err := strconv.Atoi(ma)
				exp, expErr := http.ParseTime(c.attrs["expires"])
				if !(hasMA && err == nil && n <= 0) && !(expErr == nil && exp.Before(time.Now())) {
					diffs = append(diffs, fmt.Sprintf("cookie %s: want it deleted (Max-Age=0), got %q", w.Name, joinAttrs(c)))
				}
			default:
				attr("Max-Age", ma, strconv.Itoa(*w.MaxAge))
			}
		}
		if w.Path != nil {
			attr("Path", c.attrs["path"], *w.Path)
		}
		if w.Domain != nil {
			// A leading dot is not significant (RFC 6265 §5.2.3).
			gd, wd := strings.TrimPrefix(c.attrs["domain"], "."), strings.TrimPrefix(*w.Domain, ".")
			attr("Domain", gd, wd)
		}
		flag := func(name string, want *bool) {
			if want == nil {
				return
			}
			_, has := c.attrs[strings.ToLower(name)]
			if has != *want {
				diffs = append(diffs, fmt.Sprintf("cookie %s: %s flag got %v, want %v", w.Name, name, has, *want))
			}
		}
		flag("Secure", w.Secure)
		flag("HttpOnly", w.HTTPOnly)
		if w.SameSite != nil {
			attr("SameSite", c.attrs["samesite"], *w.SameSite)
		}
	}
	return diffs
}

func joinAttrs(c setCookie) string {
	var b strings.Builder
	b.WriteString(c.name + "=" + c.value)
	for _, k := range sortedKeysS(c.attrs) {
		b.WriteString("; " + k)
		if c.attrs[k] != "" {
			b.WriteString("=" + c.attrs[k])
		}
	}
	return b.String()
}

func sortedKeysS(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
