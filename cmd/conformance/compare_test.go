package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func expectation(t *testing.T, js string) *Expectation {
	t.Helper()
	var o object
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatal(err)
	}
	e, err := parseExpectation(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func response(status int, body string, headers ...string) *Response {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Add(headers[i], headers[i+1])
	}
	return &Response{Status: status, Header: h, Body: []byte(body)}
}

func oneDiff(t *testing.T, diffs []string, want string) {
	t.Helper()
	if len(diffs) != 1 || !strings.Contains(diffs[0], want) {
		t.Fatalf("diffs %q, want one containing %q", diffs, want)
	}
}

func TestCompareJSONBody(t *testing.T) {
	e := expectation(t, `{"status_code":200,"body":{"price":42.0,"n":[1,2],"s":"x","z":null,"big":9007199254740991,"e":1e-10}}`)
	if d := compare(e, response(200, `{"s":"x","n":[1.0,2],"price":42,"z":null,"big":9007199254740991,"e":0.0000000001}`)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	oneDiff(t, compare(e, response(201, `{"s":"x","n":[1,2],"price":42,"z":null,"big":9007199254740991,"e":1e-10}`)), "status: got 201, want 200")
	oneDiff(t, compare(e, response(200, `{"s":"x","n":[1,3],"price":42,"z":null,"big":9007199254740991,"e":1e-10}`)), "body.n[1]: got 3, want 2")
	oneDiff(t, compare(e, response(200, `{"s":"x","n":[1,2],"price":42,"z":null,"e":1e-10}`)), `body: missing member "big"`)
	oneDiff(t, compare(e, response(200, `{"s":"x","n":[1,2],"price":42,"z":null,"big":9007199254740991,"e":1e-10,"extra":1}`)), `unexpected member "extra"`)
	oneDiff(t, compare(e, response(200, `{"s":"x","n":[1,2,3],"price":42,"z":null,"big":9007199254740991,"e":1e-10}`)), "body.n: got 3 items, want 2")
	oneDiff(t, compare(e, response(200, `<html>`)), "body: not JSON")
	oneDiff(t, compare(e, response(200, ``)), "body: got no body")
	// Big integers are not rounded through float64.
	e = expectation(t, `{"status_code":200,"body":{"id":9007199254740993}}`)
	oneDiff(t, compare(e, response(200, `{"id":9007199254740992}`)), "body.id")
}

func TestCompareProblemErrors(t *testing.T) {
	e := expectation(t, `{"status_code":422,"body":{"type":"t","errors":[{"loc":["query","q"],"msg":"Field required","input":null}]}}`)
	oneDiff(t, compare(e, response(422, `{"type":"t","errors":[{"loc":["query","q"],"msg":"field required","input":null}]}`)),
		`body.errors[0].msg: got "field required", want "Field required"`)
}

func TestCompareTextBody(t *testing.T) {
	e := expectation(t, `{"status_code":200,"body":"foo bar 42"}`)
	for _, body := range []string{`"foo bar 42"`, `foo bar 42`} {
		if d := compare(e, response(200, body)); len(d) != 0 {
			t.Fatalf("%s: diffs %q", body, d)
		}
	}
	oneDiff(t, compare(e, response(200, `foo bar`)), `body: got "foo bar", want "foo bar 42"`)
	e = expectation(t, `{"status_code":200,"body":"123"}`)
	if d := compare(e, response(200, `123`)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	// No body member: the body is not compared. body null: no body is fine.
	e = expectation(t, `{"status_code":204}`)
	if d := compare(e, response(204, `anything`)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	e = expectation(t, `{"status_code":200,"body":null}`)
	if d := compare(e, response(200, ``)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
}

func TestComparePartialAndValidationErrors(t *testing.T) {
	e := expectation(t, `{"status_code":200,"body_partial":{"a":1,"o":{"x":true}}}`)
	if d := compare(e, response(200, `{"a":1.0,"b":2,"o":{"x":true,"y":1}}`)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	oneDiff(t, compare(e, response(200, `{"b":2,"o":{"x":true}}`)), `missing member "a"`)
	e = expectation(t, `{"status_code":422,"validation_errors":[{"loc":["body","a"],"msg":"m","type":"missing"}]}`)
	if d := compare(e, response(422, `{"errors":[{"loc":["body","a"],"msg":"m","type":"missing"}]}`)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	oneDiff(t, compare(e, response(422, `{"errors":[]}`)), "body.errors: got 0 items, want 1")
}

func TestCompareHeaders(t *testing.T) {
	e := expectation(t, `{"status_code":200,"headers":{
		"content-type":"application/json",
		"X-Request-ID":"<<uuid>>",
		"x-present":"<<present>>",
		"content-encoding":"<<absent>>",
		"X-Response-Time":".*ms",
		"Location":"/new",
		"Vary":"Origin"}}`)
	r := response(200, ``,
		"Content-Type", "application/json; charset=utf-8",
		"X-Request-Id", "0b7f3c52-6f7e-4c36-9a55-4f6f1d1b0a7e",
		"X-Present", "",
		"X-Response-Time", "12ms",
		"Location", "/new",
		"Vary", "Accept-Encoding", "Vary", "Origin")
	if d := compare(e, r); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	r.Header.Set("Location", "/old")
	oneDiff(t, compare(e, r), `header Location: got "/old", want "/new"`)
	r.Header.Set("Location", "/new")
	r.Header.Set("Content-Encoding", "gzip")
	oneDiff(t, compare(e, r), "want it absent")
	r.Header.Del("Content-Encoding")
	r.Header.Set("X-Request-Id", "nope")
	oneDiff(t, compare(e, r), "header X-Request-ID")
	r.Header.Del("X-Request-Id")
	oneDiff(t, compare(e, r), "header X-Request-ID: missing")

	// Parameters of an expected content-type must match exactly.
	e = expectation(t, `{"status_code":200,"headers":{"Content-Type":"application/json; charset=utf-8"}}`)
	oneDiff(t, compare(e, response(200, ``, "Content-Type", "application/json")), "header Content-Type")
}

func TestCompareCookies(t *testing.T) {
	e := expectation(t, `{"status_code":200,"cookies":{
		"user":{"value":"john","max_age":3600},
		"session":{"value":"s1","max_age":7200,"httponly":true,"path":"/api","domain":".example.com","samesite":"strict","secure":true},
		"gone":{"value":"","max_age":0}}}`)
	r := response(200, ``,
		"Set-Cookie", "user=john; max-age=3600",
		"Set-Cookie", "session=s1; Max-Age=7200; Path=/api; Domain=example.com; HttpOnly; Secure; SameSite=Strict",
		"Set-Cookie", "gone=; expires=Tue, 10 Nov 2009 23:00:00 GMT")
	if d := compare(e, r); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
	r = response(200, ``,
		"Set-Cookie", "user=john; max-age=60",
		"Set-Cookie", "session=s1; Max-Age=7200; Path=/api; Domain=example.com; Secure; SameSite=Lax",
		"Set-Cookie", "gone=x; Max-Age=0")
	d := compare(e, r)
	want := []string{"cookie user: Max-Age", "cookie session: HttpOnly", "cookie session: SameSite", "cookie gone: value"}
	if len(d) != len(want) {
		t.Fatalf("diffs %q", d)
	}
	for i := range want {
		if !strings.Contains(d[i], want[i]) {
			t.Errorf("diff %d: %q, want %q", i, d[i], want[i])
		}
	}
	oneDiff(t, compare(expectation(t, `{"status_code":200,"cookies":{"a":{"value":"1"}}}`), response(200, ``)), "cookie a: no Set-Cookie")
}

func TestSetCookieRendering(t *testing.T) {
	e := expectation(t, `{"status_code":200,"cookies":{"s":{"value":"v","max_age":0,"path":"/","domain":"example.com","secure":true,"httponly":true,"samesite":"none"}}}`)
	got := e.Cookies[0].setCookie()
	want := "s=v; Max-Age=0; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=None"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// What a handler sends from the expectation satisfies it.
	if d := compare(e, response(200, ``, "Set-Cookie", got)); len(d) != 0 {
		t.Fatalf("diffs %q", d)
	}
}
