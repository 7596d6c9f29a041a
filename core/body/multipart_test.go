package body

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/config"
)

const bnd = "XyZbOuNdArY"
const mpCT = "multipart/form-data; boundary=" + bnd

// part is one multipart part: headers in order, then content.
type part struct {
	headers [][2]string
	content string
}

func field(name, value string) part {
	return part{[][2]string{{"Content-Disposition", `form-data; name="` + name + `"`}}, value}
}

func file(name, filename, ctype, content string, extra ...[2]string) part {
	h := [][2]string{{"Content-Disposition", `form-data; name="` + name + `"; filename="` + filename + `"`}}
	if ctype != "" {
		h = append(h, [2]string{"Content-Type", ctype})
	}
	return part{append(h, extra...), content}
}

func mpBody(parts ...part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + bnd + "\r\n")
		for _, h := range p.headers {
			b.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
		b.WriteString("\r\n" + p.content + "\r\n")
	}
	b.WriteString("--" + bnd + "--\r\n")
	return b.String()
}

func TestMultipart(t *testing.T) {
	upload := `{"type":"object","properties":{"test":{"type":"string","format":"binary"}},"additionalProperties":false,"required":["test"]}`
	mixed := `{"type":"object","properties":{
		"files":{"type":"array","items":{"type":"string","format":"binary"}},
		"tags":{"type":"array","items":{"type":"string"}},
		"age":{"type":"integer"},"meta":{"type":"object"},"ids":{"type":"array","items":{"type":"integer"}}}}`
	bad := func(detail string) expect {
		return expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Failed to parse multipart data: ` + detail + `"}`}
	}
	cases := []struct {
		name, schema, ct, body string
		e                      expect
	}{
		{"simple file (multipart/01)", upload, mpCT, mpBody(file("test", "test.txt", "text/plain", "<file content>")),
			expect{v: `{"test":{"filename":"test.txt","size":14,"content":"<file content>","content_type":"text/plain"}}`}},
		{"form data only (multipart/02)", `{"type":"object","properties":{"some":{"type":"string"}}}`, mpCT, mpBody(field("some", "data")),
			expect{v: `{"some":"data"}`}},
		{"custom headers (multipart/05)", upload, mpCT, mpBody(file("test2", "test2.txt", "text/plain", "<file2 content>", [2]string{"X-Custom", "f2"})),
			expect{v: `{"test2":{"filename":"test2.txt","size":15,"content":"<file2 content>","content_type":"text/plain","headers":[["content-disposition","form-data; name=\"test2\"; filename=\"test2.txt\""],["content-type","text/plain"],["x-custom","f2"]]}}`}},
		{"several files and values (multipart/07)", mixed, mpCT, mpBody(
			file("files", "file1.txt", "text/plain", "first file"),
			file("files", "file2.txt", "text/plain", "second file"),
			field("tags", "python"), field("tags", "rust"), field("tags", "web")),
			expect{v: `{"files":[{"filename":"file1.txt","size":10,"content":"first file","content_type":"text/plain"},{"filename":"file2.txt","size":11,"content":"second file","content_type":"text/plain"}],"tags":["python","rust","web"]}`}},
		{"one file for an array field", mixed, mpCT, mpBody(file("files", "a.txt", "text/plain", "a")),
			expect{v: `{"files":[{"filename":"a.txt","size":1,"content":"a","content_type":"text/plain"}]}`}},
		{"json text for array and object fields", mixed, mpCT, mpBody(field("tags", `["a","b"]`), field("meta", `{"k":1}`)),
			expect{v: `{"tags":["a","b"],"meta":{"k":1}}`}},
		{"coercion", mixed, mpCT, mpBody(field("age", "42"), field("ids[]", "1"), field("ids[]", "2")),
			expect{v: `{"age":42,"ids":[1,2]}`}},
		{"coercion error", mixed, mpCT, mpBody(field("age", "old")),
			expect{v: "-", errs: `[{"type":"int_parsing","loc":["body","age"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"old"}]`}},
		{"empty file (multipart/11)", upload, mpCT, mpBody(file("file", "empty.txt", "text/plain", "")),
			expect{v: `{"file":{"filename":"empty.txt","size":0,"content":"","content_type":"text/plain"}}`}},
		{"unselected file input is skipped", upload, mpCT, mpBody(file("file", "", "application/octet-stream", ""), field("a", "1")),
			expect{v: `{"a":"1"}`}},
		{"default file content type", upload, mpCT, mpBody(file("f", "a.bin", "", "abc")),
			expect{v: `{"f":{"filename":"a.bin","size":3,"content":"abc","content_type":"application/octet-stream"}}`}},
		{"binary file is base64", upload, mpCT, mpBody(file("f", "a.png", "image/png", "\x89PNG\r\n\x1a\n\xff")),
			expect{v: `{"f":{"filename":"a.png","size":9,"content":"iVBORw0KGgr/","content_encoding":"base64","content_type":"image/png"}}`}},
		{"filename* wins", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nx\r\n--" + bnd + "--",
			expect{v: `{"f":{"filename":"€ rates.txt","size":1,"content":"x","content_type":"application/octet-stream"}}`}},
		{"windows path filename kept", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"C:\\dir\\a.txt\"\r\n\r\nx\r\n--" + bnd + "--",
			expect{v: `{"f":{"filename":"C:\\dir\\a.txt","size":1,"content":"x","content_type":"application/octet-stream"}}`}},
		{"preamble, epilogue, padding, no final CRLF", upload, mpCT, "preamble\r\n--" + bnd + "  \r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" + bnd + "--epilogue",
			expect{v: `{"a":"v"}`}},
		{"content containing CRLF and dashes", upload, mpCT, mpBody(field("a", "line1\r\n--not-the-boundary\r\nline3")),
			expect{v: `{"a":"line1\r\n--not-the-boundary\r\nline3"}`}},
		{"quoted boundary", upload, `multipart/form-data; boundary="` + bnd + `"`, mpBody(field("a", "1")), expect{v: `{"a":"1"}`}},
		{"boundary required (content_types/15)", upload, "multipart/form-data", "",
			expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"multipart/form-data requires 'boundary' parameter"}`}},
		{"boundary required with body", upload, "multipart/form-data", mpBody(field("a", "1")),
			expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"multipart/form-data requires 'boundary' parameter"}`}},
		{"empty body", upload, mpCT, "", expect{absent: true}},
		{"wrong boundary", upload, "multipart/form-data; boundary=other", mpBody(field("a", "1")), bad("missing opening boundary")},
		{"truncated in content", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue", bad("unexpected end of body (missing closing boundary)")},
		{"truncated in headers", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data; name=a", bad("unexpected end of body in part headers")},
		{"truncated after delimiter", upload, mpCT, "--" + bnd, bad("unexpected end of body (missing closing boundary)")},
		{"garbage after delimiter", upload, mpCT, "--" + bnd + "garbage\r\n", bad("malformed boundary line")},
		{"missing name", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" + bnd + "--", bad("part is missing a name")},
		{"no disposition", upload, mpCT, "--" + bnd + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + bnd + "--", bad("part is missing a name")},
		{"malformed header", upload, mpCT, "--" + bnd + "\r\nno colon here\r\n\r\nx\r\n--" + bnd + "--", bad("malformed part header")},
		{"unterminated quote", upload, mpCT, "--" + bnd + "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--" + bnd + "--", bad("malformed Content-Disposition")},
		{"invalid utf-8 field", upload, mpCT, mpBody(field("a", "\xff")), bad("invalid UTF-8 in field 'a'")},
		{"index hole", upload, mpCT, mpBody(field("x[0]", "a"), field("x[2]", "b")), bad("missing index, expected: 1 got 2")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustDecoder(t, schemaRoute(c.schema), Limits{})
			check(t, d, newCtx(c.ct, c.body), c.e)
		})
	}
}

// TestMultipartStdlibWriter decodes what mime/multipart writes.
func TestMultipartStdlibWriter(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("name", "Zoë")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="doc"; filename="r\"q.txt"`)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	fw, _ := w.CreatePart(h)
	_, _ = fw.Write([]byte("hello\r\n--"))
	_ = w.Close()
	d := mustDecoder(t, schemaRoute(`{"type":"object"}`), Limits{})
	check(t, d, newCtx(w.FormDataContentType(), buf.String()),
		expect{v: `{"name":"Zoë","doc":{"filename":"r\"q.txt","size":9,"content":"hello\r\n--","content_type":"text/plain; charset=utf-8"}}`})
}

func TestFileParams(t *testing.T) {
	route := func(fp ...config.FileParam) config.Route {
		return config.Route{Method: "POST", Path: "/upload", Parameters: config.Parameters{Files: fp}}
	}
	png := config.FileParam{Name: "image", Required: true, ContentTypes: []string{"image/png"}, ValidateMagicNumbers: true}
	cases := []struct {
		name  string
		route config.Route
		ct    string
		body  string
		errs  string
	}{
		{"png ok (multipart/17)", route(png), mpCT, mpBody(file("image", "test.png", "image/png", "\x89PNG\r\n\x1a\n")), ""},
		{"jpeg ok (multipart/18)", route(config.FileParam{Name: "image", Required: true, ContentTypes: []string{"image/jpeg"}, ValidateMagicNumbers: true}),
			mpCT, mpBody(file("image", "test.jpg", "image/jpeg", "\xff\xd8\xff\xe0")), ""},
		{"pdf ok (multipart/21)", route(config.FileParam{Name: "document", Required: true, ContentTypes: []string{"application/pdf"}, ValidateMagicNumbers: true}),
			mpCT, mpBody(file("document", "test.pdf", "application/pdf", "%PDF")), ""},
		{"spoofed jpeg (multipart/20)", route(png), mpCT, mpBody(file("image", "fake.png", "image/png", "\xff\xd8\xff\xe0")),
			`[{"type":"validation_error","loc":["files","image"],"msg":"File type mismatch: MIME type is image/png but magic numbers indicate image/jpeg","ctx":{"declared_mime":"image/png","detected_type":"image/jpeg","magic_bytes":"ffd8ffe0"}}]`},
		{"empty buffer (multipart/22)", route(config.FileParam{Name: "file", Required: true, ValidateMagicNumbers: true}), mpCT, mpBody(file("file", "empty.txt", "text/plain", "")),
			`[{"type":"validation_error","loc":["files","file"],"msg":"File buffer is empty","ctx":{"buffer_size":0}}]`},
		{"content type not allowed", route(png), mpCT, mpBody(file("image", "a.gif", "image/gif", "GIF89a...")),
			`[{"type":"validation_error","loc":["files","image"],"msg":"Invalid content type 'image/gif'. Allowed types: image/png","ctx":{"allowed_types":["image/png"],"provided_type":"image/gif"}}]`},
		{"allow-list is case-insensitive and ignores parameters", route(config.FileParam{Name: "t", ContentTypes: []string{"Text/Plain"}}), mpCT, mpBody(file("t", "a.txt", "text/plain; charset=utf-8", "x")), ""},
		{"allow-list wildcard", route(config.FileParam{Name: "i", ContentTypes: []string{"image/*"}, ValidateMagicNumbers: true}), mpCT, mpBody(file("i", "a.webp", "image/webp", "RIFF\x00\x00\x00\x00WEBPVP8 ")), ""},
		{"docx is a zip", route(config.FileParam{Name: "d", ValidateMagicNumbers: true}), mpCT, mpBody(file("d", "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "PK\x03\x04rest")), ""},
		{"octet-stream declares nothing", route(config.FileParam{Name: "d", ValidateMagicNumbers: true}), mpCT, mpBody(file("d", "a.bin", "", "\x89PNG\r\n\x1a\n")), ""},
		{"unknown magic passes", route(config.FileParam{Name: "d", ValidateMagicNumbers: true}), mpCT, mpBody(file("d", "a.txt", "text/plain", "hello")), ""},
		{"gif declared as png", route(config.FileParam{Name: "d", ValidateMagicNumbers: true}), mpCT, mpBody(file("d", "a.png", "image/png", "GIF87a0123456789")),
			`[{"type":"validation_error","loc":["files","d"],"msg":"File type mismatch: MIME type is image/png but magic numbers indicate image/gif","ctx":{"declared_mime":"image/png","detected_type":"image/gif","magic_bytes":"4749463837613031"}}]`},
		{"too large", route(config.FileParam{Name: "f", MaxSize: 3}), mpCT, mpBody(file("f", "a.txt", "text/plain", "abcd")),
			`[{"type":"validation_error","loc":["files","f"],"msg":"File too large. Maximum size is 3 bytes","ctx":{"file_size":4,"max_size":3}}]`},
		{"required missing", route(png), mpCT, mpBody(field("other", "x")),
			`[{"type":"missing","loc":["files","image"],"msg":"Field required"}]`},
		{"required missing, no body", route(png), "", "",
			`[{"type":"missing","loc":["files","image"],"msg":"Field required"}]`},
		{"required missing, json body", route(png), "application/json", `{}`,
			`[{"type":"missing","loc":["files","image"],"msg":"Field required"}]`},
		{"a field is not a file", route(png), mpCT, mpBody(field("image", "x")),
			`[{"type":"missing","loc":["files","image"],"msg":"Field required"}]`},
		{"several files indexed", route(config.FileParam{Name: "docs", MaxSize: 1}), mpCT, mpBody(file("docs[]", "a", "text/plain", "a"), file("docs[]", "b", "text/plain", "bb")),
			`[{"type":"validation_error","loc":["files","docs",1],"msg":"File too large. Maximum size is 1 bytes","ctx":{"file_size":2,"max_size":1}}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustDecoder(t, c.route, Limits{})
			_, _, p, errs := d.Decode(newCtx(c.ct, c.body))
			if p != nil {
				t.Fatalf("problem %s", p.Bytes())
			}
			if got := errsJSON(t, errs); got != c.errs {
				t.Fatalf("errs:\n got %s\nwant %s", got, c.errs)
			}
		})
	}
}

func TestDetectFileType(t *testing.T) {
	cases := map[string]string{
		"\x89PNG\r\n\x1a\nxxxx":        "image/png",
		"\xff\xd8\xff\xdb":             "image/jpeg",
		"GIF89a":                       "image/gif",
		"RIFF\x10\x00\x00\x00WEBPVP8 ": "image/webp",
		"RIFF\x10\x00\x00\x00WAVEfmt ": "",
		"%PDF-1.7":                     "application/pdf",
		"PK\x03\x04":                   "application/zip",
		"\x1f\x8b\x08":                 "application/gzip",
		"hello":                        "",
		"\x89PN":                       "",
	}
	for in, want := range cases {
		if got := detectFileType([]byte(in)); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func TestValidationSchema(t *testing.T) {
	plain := `{"type":"object","properties":{"a":{"type":"string"}}}`
	d := mustDecoder(t, schemaRoute(plain), Limits{})
	if string(d.ValidationSchema()) != plain {
		t.Fatalf("unchanged schema rewritten: %s", d.ValidationSchema())
	}
	src := `{"type":"object","properties":{
		"file":{"type":"string","format":"binary"},
		"files":{"type":"array","items":{"type":"string","format":"binary"}},
		"maybe":{"type":["string","null"],"format":"binary"},
		"enum":{"enum":[{"type":"string","format":"binary"}]},
		"name":{"type":"string","format":"email"}},
		"$defs":{"up":{"type":"string","format":"binary"}}}`
	d = mustDecoder(t, schemaRoute(src), Limits{})
	var got map[string]any
	if err := json.Unmarshal(d.ValidationSchema(), &got); err != nil {
		t.Fatal(err)
	}
	props := got["properties"].(map[string]any)
	want := map[string]string{
		"file":  `["string","object"]`,
		"maybe": `["string","null","object"]`,
		"name":  `"string"`,
	}
	for k, w := range want {
		b, _ := json.Marshal(props[k].(map[string]any)["type"])
		if string(b) != w {
			t.Errorf("%s: type %s want %s", k, b, w)
		}
	}
	b, _ := json.Marshal(props["files"].(map[string]any)["items"].(map[string]any)["type"])
	if string(b) != `["string","object"]` {
		t.Errorf("files.items type %s", b)
	}
	b, _ = json.Marshal(props["enum"])
	if string(b) != `{"enum":[{"format":"binary","type":"string"}]}` {
		t.Errorf("enum values rewritten: %s", b)
	}
	b, _ = json.Marshal(got["$defs"])
	if string(b) != `{"up":{"format":"binary","type":["string","object"]}}` {
		t.Errorf("$defs: %s", b)
	}
}
