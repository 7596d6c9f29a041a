package body

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/spikard/spikard-go/core/config"
)

// FuzzJSON checks the JSON decoder against encoding/json: on UTF-8 input the
// two must agree on validity and on the decoded value (numbers as
// json.Number, duplicate keys last-wins, lone surrogates as U+FFFD).
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","price":1.5,"tags":["a"],"ok":true,"n":null}`, `[]`, `{}`, `0`, `-0.0e+10`, `"\ud83d\ude00"`,
		`"\ud83d"`, `{"a":1,"a":2}`, `[[[[]]]]`, `{"a":`, `1.`, `"\u00"`, "\"\xff\"", `[1,]`, `123456789012345678901234567890`,
		" \t\n\r[ 1 , \"x\" ] ", `{"a":"b\"c\\d\/e\bf\fg\nh\ri\tj"}`,
	} {
		f.Add([]byte(s))
	}
	d := mustDecoder(f, schemaRoute(`{}`), Limits{MaxDepth: 1 << 30, MaxBytes: -1})
	shallow := mustDecoder(f, schemaRoute(`{}`), Limits{MaxDepth: 3, MaxBytes: -1})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := newCtx("application/json", "")
		ctx.Request.SetBody(data)
		v, present, p, errs := d.Decode(ctx)
		if errs != nil {
			t.Fatalf("errs for JSON: %v", errs)
		}
		_, _, _, _ = shallow.Decode(ctx) // must not panic either
		// The check-only scan (lazy bodies) judges exactly as decoding does.
		for _, depth := range []int{3, 1 << 30} {
			_, want := decodeJSON(data, depth)
			if got := checkJSON(data, depth); got != want {
				t.Fatalf("checkJSON(%q, %d) = %d, decodeJSON says %d", data, depth, got, want)
			}
		}
		if len(data) == 0 {
			if present || p != nil {
				t.Fatal("empty body")
			}
			return
		}
		if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
			return // encoding/json replaces invalid UTF-8; we reject it. BOM: we skip it.
		}
		valid := json.Valid(data)
		if valid != (p == nil) {
			t.Fatalf("validity differs on %q: encoding/json %v, ours %s", data, valid, problemJSON(p))
		}
		if !valid {
			return
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !deepEqual(v, want) {
			t.Fatalf("value differs on %q:\n got %#v\nwant %#v", data, v, want)
		}
		// The raw text stands for the value wherever RawJSON allows it.
		if raw, ok := RawJSON(data); ok {
			var again any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&again); err != nil || !deepEqual(v, again) {
				t.Fatalf("RawJSON(%q) = %q does not decode to the value (%v)", data, raw, err)
			}
		}
	})
}

// FuzzForm decodes arbitrary urlencoded bodies against a typed schema: never
// a panic, and the result is always JSON-marshalable.
func FuzzForm(f *testing.F) {
	for _, s := range []string{
		"a=1&b=2", "tags[]=a&tags[]=b", "items[0][name]=x&items[1][qty]=2", "items[0]=a&items[2]=b",
		"a=%zz", "a[b][c][d]=1", "a=1&a[b]=2", "a[]=1&a[x]=2", "age=&price=1.5&active=yes", "=&&=",
		"x[0][0][0]=1&x[0][0][1]=2", "a[=1&a]=2", "n=99999999999999999999999", "codes=%7B%22a%22%3A1%7D",
	} {
		f.Add([]byte(s))
	}
	schema := `{"type":"object","properties":{"a":{"type":"integer"},"age":{"type":"integer"},"price":{"type":"number"},
		"active":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}},"n":{"type":"integer"},
		"items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer"}}}},
		"codes":{"type":"object"},"x":{"type":"array","items":{"type":"array","items":{"type":"array","items":{"type":"number"}}}}}}`
	d := mustDecoder(f, schemaRoute(schema), Limits{MaxDepth: 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := newCtx(formCT, "")
		ctx.Request.SetBody(data)
		v, _, p, errs := d.Decode(ctx)
		if p != nil && (p.Status != 400 || v != nil || errs != nil) {
			t.Fatalf("bad problem %s", p.Bytes())
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("unmarshalable value %#v: %v", v, err)
		}
		for _, e := range errs {
			if len(e.Loc) < 2 || e.Loc[0] != "body" {
				t.Fatalf("bad loc %v", e.Loc)
			}
		}
	})
}

// FuzzMultipart decodes arbitrary multipart bodies (boundary fixed) with
// declared file checks: never a panic, problems are 400s, results marshal.
func FuzzMultipart(f *testing.F) {
	for _, s := range []string{
		mpBody(field("a", "1")),
		mpBody(file("image", "a.png", "image/png", "\x89PNG\r\n\x1a\n"), field("tags", "x"), field("tags", "y")),
		mpBody(file("image", "a.png", "image/png", "\xff\xd8\xff\xe0", [2]string{"X-A", "b"})),
		"--" + bnd + "\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC\r\n\r\nx\r\n--" + bnd + "--",
		"--" + bnd + "\r\n\r\n--" + bnd + "--", "--" + bnd, "", "--" + bnd + "--",
		mpBody(field("x[0]", "a"), field("x[1][y]", "b")),
	} {
		f.Add([]byte(s))
	}
	schema := `{"type":"object","properties":{"a":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},
		"image":{"type":"string","format":"binary"}}}`
	r := schemaRoute(schema)
	r.Parameters.Files = []config.FileParam{{Name: "image", Required: true, ContentTypes: []string{"image/png"}, ValidateMagicNumbers: true, MaxSize: 64}}
	d := mustDecoder(f, r, Limits{MaxDepth: 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := newCtx(mpCT, "")
		ctx.Request.SetBody(data)
		v, _, p, errs := d.Decode(ctx)
		if p != nil && (p.Status != 400 || v != nil || errs != nil) {
			t.Fatalf("bad problem %s", p.Bytes())
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("unmarshalable value %#v: %v", v, err)
		}
		if _, err := json.Marshal(errs); err != nil {
			t.Fatalf("unmarshalable errs: %v", err)
		}
	})
}
