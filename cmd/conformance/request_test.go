package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

func mustRequest(t *testing.T, js string) *HTTPRequest {
	t.Helper()
	var o object
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatal(err)
	}
	r, err := buildRequest(o)
	if err != nil {
		t.Fatalf("buildRequest: %v", err)
	}
	return r
}

func TestQueryParamsEncoding(t *testing.T) {
	r := mustRequest(t, `{"method":"get","path":"/q","query_params":
		{"b":"hello world","a":42,"f":1.50,"t":true,"n":null,"ids":[1,"2",false],"amp":"x&y=z","u":"café"}}`)
	want := "/q?b=hello+world&a=42&f=1.50&t=true&ids=1&ids=2&ids=false&amp=x%26y%3Dz&u=caf%C3%A9"
	if r.Target != want {
		t.Fatalf("target\n got %s\nwant %s", r.Target, want)
	}
	if r.Method != "GET" {
		t.Fatalf("method %q", r.Method)
	}
}

func TestQueryPrecedence(t *testing.T) {
	// query_string is sent verbatim and wins over query_params.
	r := mustRequest(t, `{"method":"GET","path":"/l","query_string":"device_ids=1&device_ids=2","query_params":{"device_ids":[3]}}`)
	if r.Target != "/l?device_ids=1&device_ids=2" {
		t.Fatalf("target %s", r.Target)
	}
	// A query written in the path wins over both.
	r = mustRequest(t, `{"method":"GET","path":"/search?term=hi%20there","query_params":{"term":"hi there"}}`)
	if r.Target != "/search?term=hi%20there" {
		t.Fatalf("target %s", r.Target)
	}
	r = mustRequest(t, `{"method":"GET","path":"/items?tags=a|b","query_params":{"tags":"a|b"}}`)
	if r.Target != "/items?tags=a|b" {
		t.Fatalf("target %s", r.Target)
	}
	// Empty query_params adds nothing; non-ASCII in the path is escaped.
	r = mustRequest(t, `{"method":"GET","path":"/ü x","query_params":{}}`)
	if r.Target != "/%C3%BC%20x" {
		t.Fatalf("target %s", r.Target)
	}
}

func TestBodyEncoding(t *testing.T) {
	// Objects keep member order and number spelling; no Content-Type is added.
	r := mustRequest(t, `{"method":"POST","path":"/d","body":{"z":1.0,"a":{"x":-0.0,"big":1.7976931348623157e+308}}}`)
	if string(r.Body) != `{"z":1.0,"a":{"x":-0.0,"big":1.7976931348623157e+308}}` {
		t.Fatalf("body %s", r.Body)
	}
	if _, ok := r.Header("Content-Type"); ok {
		t.Fatal("Content-Type added for a JSON body the scenario sends without one")
	}
	// A string body is sent raw, whatever the content type.
	r = mustRequest(t, `{"method":"POST","path":"/d","headers":{"Content-Type":"application/json"},"body":"{\"name\": }"}`)
	if string(r.Body) != `{"name": }` {
		t.Fatalf("body %q", r.Body)
	}
	// Arrays and scalars are JSON.
	r = mustRequest(t, `{"method":"POST","path":"/d","body":[1,"a"]}`)
	if string(r.Body) != `[1,"a"]` {
		t.Fatalf("body %q", r.Body)
	}
	r = mustRequest(t, `{"method":"POST","path":"/d","body_raw":"a=b"}`)
	if string(r.Body) != `a=b` {
		t.Fatalf("body %q", r.Body)
	}
}

func TestTemplates(t *testing.T) {
	if got := expandTemplates("a{{ repeat 'xy' 3 times }}b"); got != "axyxyxyb" {
		t.Fatalf("got %q", got)
	}
	if got := expandTemplates(`{{repeat "z" 2 times}}`); got != "zz" {
		t.Fatalf("got %q", got)
	}
	r := mustRequest(t, `{"method":"POST","path":"/u","headers":{"X-Big":"{{ repeat 'x' 10 times }}"},
		"body":{"data":"{{ repeat 'x' 5 times }}","n":1.50,"l":[true,null,{"k":"v"}]}}`)
	if string(r.Body) != `{"data":"xxxxx","n":1.50,"l":[true,null,{"k":"v"}]}` {
		t.Fatalf("body %s", r.Body)
	}
	if v, _ := r.Header("X-Big"); v != strings.Repeat("x", 10) {
		t.Fatalf("header %q", v)
	}
}

func TestCookiesAndContentTypeField(t *testing.T) {
	r := mustRequest(t, `{"method":"GET","path":"/c","cookies":{"b":"2","a":"1"},"cookie_attributes":{"a":{"HttpOnly":true}}}`)
	if v, _ := r.Header("Cookie"); v != "b=2; a=1" {
		t.Fatalf("cookie %q", v)
	}
	r = mustRequest(t, `{"method":"POST","path":"/c","content_type":"text/plain","body":"hi"}`)
	if v, _ := r.Header("Content-Type"); v != "text/plain" {
		t.Fatalf("content-type %q", v)
	}
}

func TestURLEncodedForm(t *testing.T) {
	r := mustRequest(t, `{"method":"POST","path":"/f","form_data":{"name":"John Doe","d":"A & B","tags":["x","y"],"n":30}}`)
	if string(r.Body) != "name=John+Doe&d=A+%26+B&tags=x&tags=y&n=30" {
		t.Fatalf("body %q", r.Body)
	}
	if v, _ := r.Header("Content-Type"); v != "application/x-www-form-urlencoded" {
		t.Fatalf("content-type %q", v)
	}
}

func TestMultipart(t *testing.T) {
	r := mustRequest(t, `{"method":"POST","path":"/up","content_type":"multipart/form-data",
		"data":{"tags":["a","b"]},
		"files":[
			{"field_name":"f","filename":"t.txt","content":"hello","content_type":"text/plain","headers":{"x-custom":"1"}},
			{"field_name":"img","filename":"i.png","content_type":"image/png","magic_bytes":"89504e47"},
			{"field_name":"b64","filename":"b.bin","content":"AAEC","content_encoding":"base64"}
		]}`)
	ct, _ := r.Header("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("content-type %q", ct)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	type part struct{ name, file, ctype, custom, content string }
	var got []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got = append(got, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), p.Header.Get("X-Custom"), string(b)})
	}
	want := []part{
		{"tags", "", "", "", "a"},
		{"tags", "", "", "", "b"},
		{"f", "t.txt", "text/plain", "1", "hello"},
		{"img", "i.png", "image/png", "", "\x89PNG"},
		{"b64", "b.bin", "", "", "\x00\x01\x02"},
	}
	if len(got) != len(want) {
		t.Fatalf("parts %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("part %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// An empty file list is still a multipart request, with no parts.
	r = mustRequest(t, `{"method":"POST","path":"/up","files":[],"form_data":{}}`)
	ct, _ = r.Header("Content-Type")
	if !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
		t.Fatalf("content-type %q", ct)
	}
	_, params, _ = mime.ParseMediaType(ct)
	if _, err := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"]).NextPart(); err != io.EOF {
		t.Fatalf("want no parts, got err=%v", err)
	}

	// A Content-Type header without a body to build is left alone.
	r = mustRequest(t, `{"method":"POST","path":"/up","headers":{"Content-Type":"multipart/form-data"}}`)
	if ct, _ := r.Header("Content-Type"); ct != "multipart/form-data" || len(r.Body) != 0 {
		t.Fatalf("content-type %q body %q", ct, r.Body)
	}
}

func TestWireFormat(t *testing.T) {
	r := mustRequest(t, `{"method":"POST","path":"/p","headers":{"X-A":"1"},"body":{"a":1}}`)
	var buf bytes.Buffer
	if err := r.write(&buf, "127.0.0.1:9"); err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.Host != "127.0.0.1:9" || req.Header.Get("X-A") != "1" || string(body) != `{"a":1}` ||
		req.ContentLength != 7 || !req.Close || req.Header.Get("User-Agent") != "" {
		t.Fatalf("request %+v body %q", req, body)
	}

	// The scenario's own Host and Content-Length are kept as given.
	r = mustRequest(t, `{"method":"POST","path":"/p","headers":{"Host":"example.com:8080","Content-Length":"100"},"body":{"v":"s"}}`)
	buf.Reset()
	_ = r.write(&buf, "127.0.0.1:9")
	s := buf.String()
	if !strings.Contains(s, "Host: example.com:8080\r\n") || strings.Count(s, "Host:") != 1 ||
		!strings.Contains(s, "Content-Length: 100\r\n") || strings.Count(s, "Content-Length") != 1 || !r.ContentLengthGiven {
		t.Fatalf("request:\n%s", s)
	}

	// GET without a body has no Content-Length; POST with none has 0.
	r = mustRequest(t, `{"method":"GET","path":"/p"}`)
	buf.Reset()
	_ = r.write(&buf, "h")
	if strings.Contains(buf.String(), "Content-Length") {
		t.Fatalf("request:\n%s", buf.String())
	}
	r = mustRequest(t, `{"method":"DELETE","path":"/p"}`)
	r.Method = "POST"
	buf.Reset()
	_ = r.write(&buf, "h")
	if !strings.Contains(buf.String(), "Content-Length: 0\r\n") {
		t.Fatalf("request:\n%s", buf.String())
	}
}

func TestRequestShapeErrors(t *testing.T) {
	for _, js := range []string{
		`{"path":"/x"}`,
		`{"method":"GET"}`,
		`{"method":"GET","path":"/x","query_params":"a=b"}`,
		`{"method":"POST","path":"/x","files":[{"filename":"a"}]}`,
		`{"method":"POST","path":"/x","files":[{"field_name":"a","content":"x","content_encoding":"rot13"}]}`,
	} {
		var o object
		_ = json.Unmarshal([]byte(js), &o)
		if _, err := buildRequest(o); err == nil {
			t.Errorf("%s: want an error", js)
		} else if !strings.HasPrefix(err.Error(), "unsupported scenario shape") {
			t.Errorf("%s: error %q", js, err)
		}
	}
}
