package body

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/config"
)

const objSchema = `{"type":"object","properties":{"name":{"type":"string"},"value":{"type":"string"}}}`

const (
	pInvalid = `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Invalid request format"}`
	p415     = `{"type":"https://spikard.dev/errors/unsupported-media-type","title":"Unsupported Media Type","status":415,"detail":"Unsupported media type"}`
)

func TestMediaTypes(t *testing.T) {
	d := mustDecoder(t, schemaRoute(objSchema), Limits{})
	str := mustDecoder(t, schemaRoute(`{"type":"string"}`), Limits{})
	undeclared := mustDecoder(t, schemaRoute(""), Limits{})
	textRoute := schemaRoute(`{"type":"string","minLength":1}`)
	textRoute.ContentType = "text/plain"
	text := mustDecoder(t, textRoute, Limits{})
	jsonRoute := schemaRoute(objSchema)
	jsonRoute.ContentType = "application/json"
	onlyJSON := mustDecoder(t, jsonRoute, Limits{})
	wildRoute := schemaRoute("")
	wildRoute.ContentType = "image/*"
	wild := mustDecoder(t, wildRoute, Limits{})

	cases := []struct {
		name string
		d    *Decoder
		ct   string
		body string
		e    expect
	}{
		{"json", d, "application/json", `{"name":"test"}`, expect{v: `{"name":"test"}`}},
		{"json utf-8 charset", d, "application/json; charset=utf-8", `{"name":"café ☕"}`, expect{v: `{"name":"café ☕"}`}},
		{"json UTF-8 quoted charset", d, `application/json; charset="UTF-8"`, `{}`, expect{v: `{}`}},
		{"case-insensitive (content_types/14)", d, "APPLICATION/JSON", `{"name":"test"}`, expect{v: `{"name":"test"}`}},
		{"vendor json (content_types/17)", d, "application/vnd.api+json", `{"data":"value"}`, expect{v: `{"data":"value"}`}},
		{"multiple params (content_types/18)", d, "application/json; charset=utf-8; boundary=something", `{"value":"test"}`, expect{v: `{"value":"test"}`}},
		{"no content type is json (content_types/19)", d, "", `{"name":"test"}`, expect{v: `{"name":"test"}`}},
		{"utf-16 (content_types/13)", d, "application/json; charset=utf-16", `{"value":"test"}`, expect{problem: `{"type":"https://spikard.dev/errors/unsupported-charset","title":"Unsupported Charset","status":415,"detail":"Unsupported charset 'utf-16' for JSON. Only UTF-8 is supported."}`}},
		{"vendor json latin1", d, "application/problem+json;charset=ISO-8859-1", `{}`, expect{problem: `{"type":"https://spikard.dev/errors/unsupported-charset","title":"Unsupported Charset","status":415,"detail":"Unsupported charset 'ISO-8859-1' for JSON. Only UTF-8 is supported."}`}},
		{"text/plain to json route (content_types/16)", d, "text/plain", `{"data": "value"}`, expect{problem: p415}},
		{"xml to string schema (content_types/12)", str, "application/xml", `<?xml version="1.0"?><item/>`, expect{problem: p415}},
		{"415 even without body", d, "text/plain", "", expect{problem: p415}},
		{"garbage content type", d, "json", `{}`, expect{problem: p415}},
		{"malformed (status_codes/09)", str, "application/json", `not valid json`, expect{problem: pInvalid}},
		{"malformed (validation_errors/20)", str, "application/json", `{"name": "Item", "price": }`, expect{problem: pInvalid}},
		{"json string to string schema", str, "application/json", `"hello"`, expect{v: `"hello"`}},
		{"empty body", d, "application/json", "", expect{absent: true}},
		{"empty body no header", d, "", "", expect{absent: true}},
		{"text route", text, "text/plain; charset=utf-8", "héllo", expect{v: `"héllo"`}},
		{"text route, no header", text, "", "hi", expect{v: `"hi"`}},
		{"text route rejects json", text, "application/json", `"hi"`, expect{problem: p415}},
		{"text route bad utf-8", text, "text/plain", "\xff", expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Request body is not valid UTF-8"}`}},
		{"text route other charset", text, "text/plain; charset=windows-1252", "x", expect{problem: `{"type":"https://spikard.dev/errors/unsupported-charset","title":"Unsupported Charset","status":415,"detail":"Unsupported charset 'windows-1252' for text. Only UTF-8 is supported."}`}},
		{"json route takes vendor json", onlyJSON, "application/merge-patch+json", `{"name":"x"}`, expect{v: `{"name":"x"}`}},
		{"json route rejects form", onlyJSON, "application/x-www-form-urlencoded", `name=x`, expect{problem: p415}},
		{"wildcard route", wild, "image/png", "\x89PNG", expect{v: "null"}},
		{"wildcard route rejects", wild, "text/plain", "x", expect{problem: p415}},
		{"undeclared bytes", undeclared, "application/octet-stream", "\x00\x01", expect{v: "null"}},
		{"undeclared no header is bytes", undeclared, "", "{not json", expect{v: "null"}},
		{"undeclared text", undeclared, "text/csv", "a,b\n1,2", expect{v: `"a,b\n1,2"`}},
		{"undeclared json still parsed", undeclared, "application/json", `[1,2]`, expect{v: `[1,2]`}},
		{"undeclared malformed json", undeclared, "application/json", `[1,2`, expect{problem: pInvalid}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.d, newCtx(c.ct, c.body), c.e) })
	}
}

func TestContentLengthMismatch(t *testing.T) {
	d := mustDecoder(t, schemaRoute(objSchema), Limits{})
	want := `{"type":"https://spikard.dev/errors/content-length-mismatch","title":"Content-Length header mismatch","status":400,"detail":"Content-Length header does not match actual body size"}`
	// content_types/20: declared 100, sent 17.
	check(t, d, newCtx("application/json", `{"value":"short"}`, "Content-Length", "100"), expect{problem: want})
	check(t, d, newCtx("application/json", `{"value":"short"}`, "Content-Length", "3"), expect{problem: want})
	check(t, d, newCtx("application/json", "", "Content-Length", "10"), expect{problem: want})
	check(t, d, newCtx("application/json", `{"value":"short"}`, "Content-Length", "17"), expect{v: `{"value":"short"}`})
}

func TestPayloadTooLarge(t *testing.T) {
	r := schemaRoute(objSchema)
	r.MaxBodyBytes = 1024 // status_codes/19
	d := mustDecoder(t, r, Limits{MaxBytes: 1 << 20})
	big := `{"data":"` + strings.Repeat("x", 2000) + `"}`
	check(t, d, newCtx("", big), expect{problem: `{"type":"https://spikard.dev/errors/payload-too-large","title":"Payload Too Large","status":413,"detail":"Request body size exceeds maximum allowed size of 1024 bytes"}`})
	check(t, d, newCtx("", `{"data":"x"}`), expect{v: `{"data":"x"}`})

	d = mustDecoder(t, schemaRoute(objSchema), Limits{MaxBytes: 10})
	check(t, d, newCtx("application/json", `{"data":"xx"}`), expect{problem: `{"type":"https://spikard.dev/errors/payload-too-large","title":"Payload Too Large","status":413,"detail":"Request body size exceeds maximum allowed size of 10 bytes"}`})
	d = mustDecoder(t, schemaRoute(objSchema), Limits{MaxBytes: -1})
	check(t, d, newCtx("application/json", big), expect{v: "-"})
}

func nested(n int) string {
	return strings.Repeat(`{"nested":`, n-1) + `{"value":"deep"}` + strings.Repeat("}", n-1)
}

func TestJSONDepth(t *testing.T) {
	d := mustDecoder(t, schemaRoute(`{"type":"object"}`), Limits{MaxDepth: 32})
	want := `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Request body exceeds maximum nesting depth of 32"}`
	check(t, d, newCtx("", nested(50)), expect{problem: want}) // edge_cases/23
	check(t, d, newCtx("", nested(33)), expect{problem: want})
	check(t, d, newCtx("", nested(32)), expect{v: "-"})
	check(t, d, newCtx("", strings.Repeat("[", 32)+strings.Repeat("]", 32)), expect{v: "-"})
	check(t, d, newCtx("", strings.Repeat("[", 33)+strings.Repeat("]", 33)), expect{problem: want})
	// Brackets inside strings do not count.
	check(t, d, newCtx("", `{"a":"`+strings.Repeat("[{", 100)+`"}`), expect{v: "-"})
	// Default limit is 64.
	d = mustDecoder(t, schemaRoute(`{"type":"object"}`), Limits{})
	check(t, d, newCtx("", nested(64)), expect{v: "-"})
	check(t, d, newCtx("", nested(65)), expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Request body exceeds maximum nesting depth of 64"}`})
	// A malicious depth far beyond the limit fails fast without recursion.
	check(t, d, newCtx("", strings.Repeat("[", 1<<20)), expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Request body exceeds maximum nesting depth of 64"}`})
}

func TestJSONValues(t *testing.T) {
	d := mustDecoder(t, schemaRoute(`{}`), Limits{})
	type tc struct {
		body string
		want any
	}
	cases := []tc{
		{`{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}}, // last wins
		{`123456789012345678901234567890`, json.Number("123456789012345678901234567890")},
		{`1.7976931348623157e+308`, json.Number("1.7976931348623157e+308")},
		{`-0.0`, json.Number("-0.0")},
		{`1E-10`, json.Number("1E-10")},
		{` [ true , false , null ] `, []any{true, false, nil}},
		{`"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"`, "é😀/\b\f\n\r\t\"\\"},
		{`"\ud83d"`, "\uFFFD"},        // lone high surrogate
		{`"\ude00x"`, "\uFFFDx"},      // lone low surrogate
		{`"\ud83d\u0041"`, "\uFFFDA"}, // high surrogate + non-surrogate
		{`"file\u0000.txt"`, "file\x00.txt"},
		{"\xEF\xBB\xBF{}", map[string]any{}}, // BOM tolerated
		{`{"":{}}`, map[string]any{"": map[string]any{}}},
		{`"Coffee ☕ 🇩🇪"`, "Coffee ☕ 🇩🇪"},
	}
	for _, c := range cases {
		v, present, p, errs := d.Decode(newCtx("application/json", c.body))
		if p != nil || errs != nil || !present {
			t.Fatalf("%q: problem %v errs %v", c.body, p, errs)
		}
		if !deepEqual(v, c.want) {
			t.Fatalf("%q: got %#v want %#v", c.body, v, c.want)
		}
	}
	bad := []string{
		`{} x`, `{}{}`, `{"a":`, `{"a"}`, `{"a":1,}`, `[1,]`, `[1 2]`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
		`"abc`, "\"a\x01\"", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", `"\x"`, `"\u12"`, `"\u12g4"`,
		`tru`, `nul`, `True`, ` `, "\t\n", `'a'`, `{a:1}`, `NaN`, `Infinity`, `[`, `]`, `}`, `{"a" 1}`,
		"{\"a\":1}\x00",
	}
	for _, b := range bad {
		_, _, p, _ := d.Decode(newCtx("application/json", b))
		if problemJSON(p) != pInvalid {
			t.Fatalf("%q: got %s", b, problemJSON(p))
		}
	}
}

// TestJSONStrings checks that decoded strings do not alias the request
// buffer (fasthttp reuses it after the handler returns).
func TestJSONStrings(t *testing.T) {
	d := mustDecoder(t, schemaRoute(`{}`), Limits{})
	ctx := newCtx("application/json", `{"k":"value","n":12}`)
	v, _, _, _ := d.Decode(ctx)
	ctx.Request.SetBodyString(`{"k":"XXXXX","n":99}`)
	copy(ctx.Request.Body(), "################")
	m := v.(map[string]any)
	if m["k"] != "value" || m["n"] != json.Number("12") {
		t.Fatalf("value changed with the request buffer: %#v", m)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(config.Route{Method: "POST", Path: "/", ContentType: "json"}, Limits{}); err == nil {
		t.Fatal("want error for content_type without subtype")
	}
	if _, err := New(config.Route{Method: "POST", Path: "/", ContentType: "*/*"}, Limits{}); err != nil {
		t.Fatal(err)
	}
}

func TestMediaTypeParsing(t *testing.T) {
	cases := []struct {
		in       string
		class    class
		charset  string
		boundary string
	}{
		{"application/json", classJSON, "", ""},
		{" Application/JSON ; Charset = \"utf-8\" ", classJSON, "utf-8", ""},
		{`multipart/form-data; boundary="a;b=c"; charset=utf-8`, classMultipart, "utf-8", "a;b=c"},
		{`multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxk`, classMultipart, "", "----WebKitFormBoundary7MA4YWxk"},
		{`multipart/form-data; foo; boundary=x`, classMultipart, "", "x"},
		{`multipart/form-data; boundary="unterminated`, classOther, "", ""},
		{"text/html;charset=utf-8", classText, "utf-8", ""},
		{"application/x-www-form-urlencoded", classForm, "", ""},
		{"application/json/x", classOther, "", ""},
		{"/json", classOther, "", ""},
		{"", classNone, "", ""},
		{"application/+json", classJSON, "", ""},
	}
	for _, c := range cases {
		mt := parseMediaType([]byte(c.in))
		if mt.class != c.class || mt.charset != c.charset || mt.boundary != c.boundary {
			t.Errorf("%q: got class %d charset %q boundary %q", c.in, mt.class, mt.charset, mt.boundary)
		}
	}
}
