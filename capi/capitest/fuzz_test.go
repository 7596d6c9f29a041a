package capitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// FuzzAppNew feeds spikard_app_new arbitrary documents: it answers OK,
// SPIKARD_ECONFIG or SPIKARD_EVERSION (never an internal error, never a
// crash), writes out_app only on success, and what it accepts reads back
// through spikard_app_config.
func FuzzAppNew(f *testing.F) {
	for _, s := range []string{
		`{"version":1}`,
		`{"version":1,"routes":[{"method":"get","path":"/a/{id:int}","handler":"h","parameters":{"query":{"q":{"type":"integer","minimum":1}}}}]}`,
		`{"version":1,"server":{"handler_timeout_ms":5,"max_body_bytes":10},"routes":[{"method":"POST","path":"/b","handler":"h","body_schema":{"type":"object"}}]}`,
		`{"version":2}`, `{"version":"1"}`, `{"version":1,"routes":[{"method":"GET","path":"/x","handler":"h","body_schema":{"$ref":"#/nope"}}]}`,
		`[]`, `null`, `{`, "", "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) == 0 {
			return // EINVAL by contract, checked in TestAppNewErrors
		}
		app, rc, msg := AppNew(string(doc))
		switch rc {
		case OK:
		case ECONFIG, EVERSION:
			if app != -7 {
				t.Fatalf("out_app written on failure: %d", app)
			}
			if msg == "" {
				t.Fatal("failure without a message")
			}
			return
		default:
			t.Fatalf("spikard_app_new(%q) = %s: %s", doc, StrError(rc), msg)
		}
		defer AppFree(app)
		_, need, rc, msg := AppConfig(app, 0)
		if rc != ERANGE && rc != OK {
			t.Fatalf("app_config(cap 0) = %s: %s", StrError(rc), msg)
		}
		got, _, rc, msg := AppConfig(app, need)
		if rc != OK {
			t.Fatalf("app_config = %s: %s", StrError(rc), msg)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("app_config gave invalid JSON: %s", got)
		}
	})
}

// FuzzRoundTrip sends arbitrary requests through a queued handler in
// process and answers them with arbitrary answers: the host sees the
// request's bytes exactly, and an answer spikard_respond accepts is the
// answer the client gets; a refused one leaves the request open.
func FuzzRoundTrip(f *testing.F) {
	f.Add("a=1&b=%20", "v", []byte(`{"k":[1,2]}`), 200, "Content-Type: application/json\nX-A: 1", []byte(`{"ok":true}`))
	f.Add("", "", []byte{}, 204, "", []byte{})
	f.Add("x", "é", []byte("\x00\xff"), 418, "Set-Cookie: a=b\r\nSet-Cookie: c=d\r\n", []byte("teapot"))
	f.Add("q", "v", []byte("body"), 99, "Bad Header: x", []byte("x"))
	f.Add("q", "v", []byte("body"), 500, "X: a\x01b", []byte("x"))

	app, rc, msg := AppNew(`{"version":1,"server":{"handler_timeout_ms":5000},"routes":[{"method":"POST","path":"/fz","handler":"h"}]}`)
	if rc != OK {
		f.Fatalf("app_new: %s", msg)
	}
	defer AppFree(app)
	if rc, msg := HandleQueued(app, "h", 7); rc != OK {
		f.Fatalf("handle: %s", msg)
	}
	handler, err := Serve(app)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, query, hval string, body []byte, status int, hdr string, rbody []byte) {
		wire := fmt.Sprintf("POST /fz?%s HTTP/1.1\r\nHost: fuzz\r\nX-F: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
			query, hval, len(body))
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(wire + string(body)))); err != nil {
			return // not a request fasthttp reads
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		done := make(chan struct{})
		go func() { handler(&ctx); close(done) }()

		var r Request
		for deadline := time.Now().Add(5 * time.Second); ; {
			reqs, rc, msg := TryNext(app, 1)
			if rc != OK {
				t.Fatalf("try_next: %s", msg)
			}
			if len(reqs) == 1 {
				r = reqs[0]
				break
			}
			select {
			case <-done: // the core answered by itself (a bad request)
				if ctx.Response.StatusCode() < 400 {
					t.Fatalf("the core answered %d without the host", ctx.Response.StatusCode())
				}
				return
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the request never reached the queue")
			}
			time.Sleep(100 * time.Microsecond)
		}
		if r.Method != "POST" || r.Path != "/fz" || r.Body != string(req.Body()) || r.Query != string(req.URI().QueryString()) ||
			r.Tag != 7 || r.Handler != "h" || !json.Valid([]byte(r.Values)) {
			t.Fatalf("request view %+v for %q", r, wire)
		}
		if !strings.Contains(r.Headers, "X-F:") {
			t.Fatalf("headers %q", r.Headers)
		}

		rc, _ := Answer(r.ID, status, hdr, string(rbody))
		if rc != OK {
			if rc != EINVAL {
				t.Fatalf("respond = %s", StrError(rc))
			}
			status, hdr, rbody = 200, "", []byte("fallback")
			if rc, msg := Answer(r.ID, status, hdr, string(rbody)); rc != OK {
				t.Fatalf("respond after a refused answer: %s", msg)
			}
		}
		<-done
		resp := &ctx.Response
		if resp.StatusCode() != status {
			t.Fatalf("status %d, want %d", resp.StatusCode(), status)
		}
		if status >= 200 && status != 204 && status != 304 && !bytes.Equal(resp.Body(), rbody) {
			t.Fatalf("body %q, want %q", resp.Body(), rbody)
		}
		for _, line := range strings.Split(hdr, "\n") {
			line = strings.TrimSuffix(line, "\r")
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			value = strings.Trim(value, " \t")
			switch strings.ToLower(name) {
			case "content-length", "connection", "transfer-encoding", "date", "set-cookie":
				continue
			}
			found := false
			for _, v := range resp.Header.PeekAll(name) {
				if string(v) == value {
					found = true
				}
			}
			if !found && !(strings.EqualFold(name, "content-type") && value == "") {
				t.Fatalf("header %q: %q not in %q", name, value, resp.Header.String())
			}
		}
	})
}
