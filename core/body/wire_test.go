package body

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// TestWire sends raw HTTP/1.1 requests through fasthttp's parser, so the
// headers Decode sees are the ones a real connection produces.
func TestWire(t *testing.T) {
	d := mustDecoder(t, schemaRoute(`{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"}}}`), Limits{})
	type result struct {
		v       any
		present bool
		p       *problem.Problem
	}
	got := make(chan result, 1)
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	srv := &fasthttp.Server{ReadTimeout: 2 * time.Second, Handler: func(ctx *fasthttp.RequestCtx) {
		v, present, p, _ := d.Decode(ctx)
		got <- result{v, present, p}
	}}
	go func() { _ = srv.Serve(ln) }()

	send := func(headers, body string) result {
		t.Helper()
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: h\r\n"+headers+"\r\n"+body)
		go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(c)) }()
		select {
		case r := <-got:
			return r
		case <-time.After(3 * time.Second):
			t.Fatal("handler not called")
		}
		return result{}
	}

	// content_types/19: no Content-Type → JSON.
	body := `{"name":"test"}`
	r := send("Content-Length: 15\r\n", body)
	if r.p != nil || !r.present || canon(t, r.v) != `{"name":"test"}` {
		t.Fatalf("no content type: %+v %s", r, problemJSON(r.p))
	}
	// Chunked body.
	r = send("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", "f\r\n"+body+"\r\n0\r\n\r\n")
	if r.p != nil || canon(t, r.v) != `{"name":"test"}` {
		t.Fatalf("chunked: %+v %s", r, problemJSON(r.p))
	}
	// Form.
	form := "name=a+b&n=7"
	r = send("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n", form)
	if r.p != nil || canon(t, r.v) != `{"n":7,"name":"a b"}` {
		t.Fatalf("form: %+v %s", r, problemJSON(r.p))
	}
	// Multipart.
	mp := mpBody(field("name", "x"), file("doc", "a.txt", "text/plain", "hi"))
	r = send("Content-Type: "+mpCT+"\r\nContent-Length: "+strconv.Itoa(len(mp))+"\r\n", mp)
	if r.p != nil || !strings.Contains(canon(t, r.v), `"doc":{"content":"hi"`) {
		t.Fatalf("multipart: %+v %s", r, problemJSON(r.p))
	}
	// A GET without body: absent.
	r = send("Content-Type: application/json\r\n", "")
	if r.p != nil || r.present {
		t.Fatalf("empty: %+v", r)
	}
}
