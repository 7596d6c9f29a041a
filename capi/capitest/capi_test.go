package capitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// noLeaks checks, at the end of a test, that no app handle, C app or
// request is left alive.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			h, a, r := Live()
			if h == 0 && a == 0 && r == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("left alive: %d app handles, %d C apps, %d requests", h, a, r)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// newApp makes an app from doc and frees it when the test ends.
func newApp(t testing.TB, doc string) int64 {
	t.Helper()
	app, rc, msg := AppNew(doc)
	if rc != OK {
		t.Fatalf("spikard_app_new: %s: %s", StrError(rc), msg)
	}
	t.Cleanup(func() { AppFree(app) })
	return app
}

func mustOK(t *testing.T, what string, rc int, msg string) {
	t.Helper()
	if rc != OK {
		t.Fatalf("%s: %s: %s", what, StrError(rc), msg)
	}
}

func wantCode(t *testing.T, what string, rc int, msg string, want int, contains string) {
	t.Helper()
	if rc != want {
		t.Fatalf("%s = %s (%s), want %s", what, StrError(rc), msg, StrError(want))
	}
	if !strings.Contains(msg, contains) {
		t.Fatalf("%s: message %q does not contain %q", what, msg, contains)
	}
}

func listen(t *testing.T, app int64) string {
	t.Helper()
	port, rc, msg := Listen(app, "127.0.0.1", 0)
	mustOK(t, "spikard_app_listen", rc, msg)
	if port == 0 {
		t.Fatal("spikard_app_listen gave port 0")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

type answer struct {
	status int
	header http.Header
	body   string
	close  bool // Connection: close
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(t *testing.T, method, url, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b), resp.Close}
}

// getAsync sends a request and returns its answer on a channel.
func getAsync(t *testing.T, method, url, body string, hdr ...string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			ch <- answer{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- answer{resp.StatusCode, resp.Header, string(b), resp.Close}
	}()
	return ch
}

func recv(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		if a.status == -1 {
			t.Fatalf("request failed: %s", a.body)
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10 s")
	}
	return answer{}
}

// nextOne takes exactly one request from the queue.
func nextOne(t *testing.T, app int64) Request {
	t.Helper()
	reqs, rc, msg := Next(app, 5000, 8)
	mustOK(t, "spikard_next", rc, msg)
	if len(reqs) != 1 {
		t.Fatalf("spikard_next gave %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

const itemsDoc = `{
  "version": 1,
  "server": {"handler_timeout_ms": %d},
  "routes": [
    {"method": "GET", "path": "/echo/{id:int}", "handler": "echo",
     "parameters": {"query": {"q": {"type": "string", "default": "none"}}}},
    {"method": "POST", "path": "/items", "handler": "items",
     "body_schema": {"type": "object", "required": ["name"],
                     "properties": {"name": {"type": "string", "minLength": 1}}}},
    {"method": "GET", "path": "/typed", "handler": "typed",
     "response_schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}
  ]
}`

func doc(timeoutMS int) string { return fmt.Sprintf(itemsDoc, timeoutMS) }

func TestVersions(t *testing.T) {
	if ABI() != uint32(ABIVersion) {
		t.Errorf("spikard_abi_version() = %d, header says %d", ABI(), ABIVersion)
	}
	if LibVersion() != Version {
		t.Errorf("spikard_version() = %q, header says %q", LibVersion(), Version)
	}
	if RequestSize != 168 {
		t.Errorf("sizeof(spikard_request) = %d: the layout changed; bump SPIKARD_ABI_VERSION", RequestSize)
	}
	for code := 0; code >= -11; code-- {
		s := StrError(code)
		if !strings.HasPrefix(s, "SPIKARD_") || strings.HasPrefix(s, "SPIKARD_E?") {
			t.Errorf("spikard_strerror(%d) = %q", code, s)
		}
	}
	for _, code := range []int{1, -12, -1000} {
		if s := StrError(code); !strings.HasPrefix(s, "SPIKARD_E?") {
			t.Errorf("spikard_strerror(%d) = %q, want the unknown-code text", code, s)
		}
	}
}

func TestAppNewErrors(t *testing.T) {
	noLeaks(t)
	var app int64
	b := []byte(`{"version":1}`)
	rc, msg := AppNewRaw(nil, 5, &app)
	wantCode(t, "app_new(NULL)", rc, msg, EINVAL, "config_json")
	rc, msg = AppNewRaw(&b[0], uintptr(len(b)), nil)
	wantCode(t, "app_new(out NULL)", rc, msg, EINVAL, "out_app")
	rc, msg = AppNewRaw(&b[0], 0, &app)
	wantCode(t, "app_new(len 0)", rc, msg, EINVAL, "config_len")

	for _, c := range []struct {
		doc, contains string
		want          int
	}{
		{`{"version":1`, "not valid JSON", ECONFIG},
		{`{"version":1} trailing`, "not valid JSON", ECONFIG},
		{`[1,2]`, "must be a JSON object", ECONFIG},
		{`{"routes":[]}`, `no "version"`, ECONFIG},
		{`{"version":"1"}`, `"version" must be a number`, ECONFIG},
		{`{"version":2}`, "version 2 is not supported", EVERSION},
		{`{"version":0}`, "version 0 is not supported", EVERSION},
		{`{"version":1.5}`, "not supported", EVERSION},
		{`{"version":1,"server":[]}`, `config.Server`, ECONFIG},
		{`{"version":1,"server":{"handler_timeout_ms":-1}}`, "handler_timeout_ms", ECONFIG},
		{`{"version":1,"server":{"handler_timeout_ms":"5"}}`, "handler_timeout_ms", ECONFIG},
		{`{"version":1,"routes":[{"method":"GET","path":"/a"}]}`, "names no handler", ECONFIG},
		{`{"version":1,"routes":[{"method":"GET","path":"a","handler":"h"}]}`, "path starting with /", ECONFIG},
		{`{"version":1,"routes":[{"method":"GET","path":"/a","handler":"h","body_schema":{"type":"nope"}}]}`, "body_schema", ECONFIG},
		{`{"version":1,"routes":[{"method":"GET","path":"/a","handler":"h"},{"method":"GET","path":"/a","handler":"g"}]}`, "", ECONFIG},
	} {
		app, rc, msg := AppNew(c.doc)
		if rc != c.want || !strings.Contains(msg, c.contains) {
			t.Errorf("app_new(%s) = %s %q, want %s containing %q", c.doc, StrError(rc), msg, StrError(c.want), c.contains)
		}
		if app != -7 {
			t.Errorf("app_new(%s) wrote out_app on failure: %d", c.doc, app)
		}
	}
}

func TestAppFree(t *testing.T) {
	noLeaks(t)
	for _, h := range []int64{0, -1, 1 << 40} {
		rc, msg := AppFree(h)
		wantCode(t, fmt.Sprintf("app_free(%d)", h), rc, msg, EBADHANDLE, "not a live app handle")
	}
	app, rc, msg := AppNew(doc(1000))
	mustOK(t, "app_new", rc, msg)
	must(t, "handle")(HandleC(app, "echo", CEcho, true))
	must(t, "handle")(HandleC(app, "items", CEcho, true))
	before := Freed()
	must(t, "app_free")(AppFree(app))
	if got := Freed() - before; got != 2 {
		t.Errorf("free_data ran %d times, want 2", got)
	}
	rc, msg = AppFree(app)
	wantCode(t, "app_free twice", rc, msg, EBADHANDLE, "not a live app handle")
	if got := Freed() - before; got != 2 {
		t.Errorf("free_data ran again on a double free: %d", got)
	}
	// Every app function refuses the freed handle.
	_, rc, _ = Listen(app, Nil, 0)
	if rc != EBADHANDLE {
		t.Errorf("listen on a freed app: %s", StrError(rc))
	}
	_, _, rc, _ = AppConfig(app, 0)
	if rc != EBADHANDLE {
		t.Errorf("app_config on a freed app: %s", StrError(rc))
	}
	_, rc, _ = Next(app, 0, 1)
	if rc != EBADHANDLE {
		t.Errorf("next on a freed app: %s", StrError(rc))
	}
}

// must fails the test unless the call it is applied to succeeded:
// must(t, "what")(Call(...)).
func must(t *testing.T, what string) func(int, string) {
	t.Helper()
	return func(rc int, msg string) {
		t.Helper()
		mustOK(t, what, rc, msg)
	}
}

func TestHandleErrors(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(1000))
	rc, msg := HandleC(99999, "echo", CEcho, false)
	wantCode(t, "handle on a bad app", rc, msg, EBADHANDLE, "99999")
	rc, msg = HandleC(app, Nil, CEcho, false)
	wantCode(t, "handle(NULL name)", rc, msg, EINVAL, "name is required")
	rc, msg = HandleC(app, "", CEcho, false)
	wantCode(t, "handle(empty name)", rc, msg, EINVAL, "must not be empty")
	rc, msg = HandleNilFn(app, "echo")
	wantCode(t, "handle(NULL fn)", rc, msg, EINVAL, "fn is required")
	before := Freed()
	// A name the document does not use can be bound (a background task).
	must(t, "handle a task name")(HandleQueued(app, "task", 1))
	must(t, "handle echo")(HandleC(app, "echo", CEcho, true))
	rc, msg = HandleQueued(app, "echo", 1)
	wantCode(t, "handle twice", rc, msg, ESTATE, "already bound")
	rc, msg = HandleC(app, "echo", CEcho, true)
	wantCode(t, "handle twice", rc, msg, ESTATE, "already bound")

	// Listening needs every name bound.
	_, rc, msg = Listen(app, "127.0.0.1", 0)
	wantCode(t, "listen with unbound names", rc, msg, ECONFIG, "no handler registered")
	must(t, "handle items")(HandleQueued(app, "items", 1))
	must(t, "handle typed")(HandleQueued(app, "typed", 2))
	listen(t, app)
	rc, msg = HandleQueued(app, "typed", 3)
	wantCode(t, "handle after listen", rc, msg, ESTATE, "already listening")
	if Freed() != before {
		t.Errorf("free_data ran for failed registrations")
	}
}

func TestAppConfig(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(1000))
	_, need, rc, msg := AppConfig(app, 0)
	wantCode(t, "app_config(cap 0)", rc, msg, ERANGE, "buffer")
	if need < 100 {
		t.Fatalf("app_config needs %d bytes?", need)
	}
	_, need2, rc, msg := AppConfig(app, need-1)
	wantCode(t, "app_config(cap need-1)", rc, msg, ERANGE, "buffer")
	if need2 != need {
		t.Errorf("needed %d then %d", need, need2)
	}
	got, n, rc, msg := AppConfig(app, need)
	mustOK(t, "app_config", rc, msg)
	if n != need || !json.Valid([]byte(got)) || !strings.Contains(got, `"handler":"echo"`) {
		t.Errorf("app_config gave %d bytes: %s", n, got)
	}
	// The document reads back.
	app2, rc, msg := AppNew(got)
	mustOK(t, "app_new(app_config())", rc, msg)
	AppFree(app2)
	rc, msg = AppConfigNilLen(app)
	wantCode(t, "app_config(out_len NULL)", rc, msg, EINVAL, "out_len")
}

func TestListenErrors(t *testing.T) {
	noLeaks(t)
	app := newApp(t, `{"version":1,"server":{"host":"127.0.0.1"},"routes":[{"method":"GET","path":"/","handler":"h"}]}`)
	must(t, "handle")(HandleC(app, "h", CEcho, false))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := uint16(ln.Addr().(*net.TCPAddr).Port)
	_, rc, msg := Listen(app, "127.0.0.1", busy)
	wantCode(t, "listen on a busy port", rc, msg, EIO, "address already in use")
	_, rc, msg = Listen(app, "no-such-host.invalid", 0)
	wantCode(t, "listen on a bad host", rc, msg, EIO, "")
	// NULL host: the document's host.
	port, rc, msg := Listen(app, Nil, 0)
	mustOK(t, "listen(NULL host)", rc, msg)
	if a := get(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), ""); a.status != 200 {
		t.Errorf("GET / = %d %s", a.status, a.body)
	}
	// A second address serves too.
	listen(t, app)
	must(t, "shutdown")(Shutdown(app, 1000))
	must(t, "shutdown again")(Shutdown(app, 1000))
	_, rc, msg = Listen(app, "127.0.0.1", 0)
	wantCode(t, "listen after shutdown", rc, msg, ESTATE, "shut down")
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("the listener still accepts after shutdown")
	}
}

func TestCallbackInCallbackAnswer(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(1000))
	must(t, "handle echo")(HandleC(app, "echo", CEcho, false))
	must(t, "handle items")(HandleC(app, "items", CRaise, false))
	must(t, "handle typed")(HandleC(app, "typed", CEcho, false))
	base := listen(t, app)

	a := get(t, "GET", base+"/echo/42?q=hi", "")
	if a.status != 200 || a.body != `{"path":{"id":42},"query":{"q":"hi"}}` || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("echo: %d %q %v", a.status, a.body, a.header)
	}
	a = get(t, "GET", base+"/echo/42", "")
	if a.body != `{"path":{"id":42},"query":{"q":"none"}}` {
		t.Errorf("echo with default: %q", a.body)
	}
	// Invalid input never reaches the host.
	a = get(t, "GET", base+"/echo/x", "")
	if a.status != 422 || !strings.Contains(a.body, "int_parsing") {
		t.Errorf("echo/x: %d %s", a.status, a.body)
	}
	// spikard_respond_error inside the callback: 500 problem, no message leak.
	a = get(t, "POST", base+"/items", `{"name":"x"}`, "Content-Type", "application/json")
	if a.status != 500 || strings.Contains(a.body, "boom") || a.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("raise: %d %s", a.status, a.body)
	}
	// An answer that breaks the response schema is a 500.
	a = get(t, "GET", base+"/typed", "")
	if a.status != 500 || !strings.Contains(a.body, "response") {
		t.Errorf("typed: %d %s", a.status, a.body)
	}
}

// Answers from other threads while the callback runs meet a block that is
// not linked yet (cside.c's lock-free path): they must find it, win or
// lose against the callback's own answer cleanly, and leave nothing behind.
func TestForeignAnswerDuringCallback(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(5000))
	must(t, "handle echo")(HandleC(app, "echo", CForeign, false))
	must(t, "handle items")(HandleC(app, "items", CRace, false))
	must(t, "handle typed")(HandleC(app, "typed", CEcho, false))
	must(t, "handle noop")(HandleC(app, "noop", CEchoBody, false))
	base := listen(t, app)
	for i := 0; i < 20; i++ {
		a := get(t, "GET", base+"/echo/1", "")
		if a.status != 203 || a.body != "foreign" {
			t.Fatalf("answer from another thread during the callback: %d %q", a.status, a.body)
		}
		if ForeignRC() != ESTATE {
			t.Fatalf("the callback's own answer after it = %s, want SPIKARD_ESTATE", StrError(ForeignRC()))
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				a := get(t, "POST", base+"/items", `{"name":"x"}`, "Content-Type", "application/json")
				mu.Lock()
				won[fmt.Sprintf("%d %s", a.status, a.body)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k := range won {
		if k != "200 own" && k != "203 foreign" {
			t.Errorf("raced answers: %v", won)
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for Racers() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := Racers(); n != 0 {
		t.Errorf("%d racing threads never finished", n)
	}
	t.Logf("raced answers: %v", won)
}

func TestAnswerTwice(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(1000))
	must(t, "handle echo")(HandleC(app, "echo", CTwice, false))
	must(t, "handle items")(HandleQueued(app, "items", 1))
	must(t, "handle typed")(HandleQueued(app, "typed", 1))
	base := listen(t, app)
	a := get(t, "GET", base+"/echo/1", "")
	if a.status != 201 || a.body != "a" {
		t.Errorf("first answer should win: %d %q", a.status, a.body)
	}
	if TwiceRC() != ESTATE {
		t.Errorf("second answer inside the callback = %s, want SPIKARD_ESTATE", StrError(TwiceRC()))
	}
	// Queued: answer twice from the host thread.
	ch := getAsync(t, "GET", base+"/typed", "")
	r := nextOne(t, app)
	must(t, "respond")(Answer(r.ID, 200, "Content-Type: application/json", `{"id":1}`))
	rc, msg := Answer(r.ID, 200, "", "again")
	wantCode(t, "respond twice", rc, msg, ESTATE, "already answered")
	if a := recv(t, ch); a.status != 200 || a.body != `{"id":1}` {
		t.Errorf("typed: %d %s", a.status, a.body)
	}
	rc, msg = RespondError(r.ID, "late")
	wantCode(t, "respond_error after answer", rc, msg, ESTATE, "already answered")
}

func TestRespondErrors(t *testing.T) {
	noLeaks(t)
	rc, msg := Answer(0, 200, "", "")
	wantCode(t, "respond(0)", rc, msg, EBADHANDLE, "not a request id")
	rc, msg = Answer(1<<62|5, 200, "", "")
	wantCode(t, "respond(never issued)", rc, msg, EBADHANDLE, "not a request id")
	rc, msg = RespondError(12345, "x")
	wantCode(t, "respond_error(never issued)", rc, msg, EBADHANDLE, "not a request id")

	app := newApp(t, doc(2000))
	must(t, "")(HandleQueued(app, "echo", 1))
	must(t, "")(HandleQueued(app, "items", 2))
	must(t, "")(HandleQueued(app, "typed", 3))
	base := listen(t, app)
	ch := getAsync(t, "GET", base+"/echo/7", "")
	r := nextOne(t, app)
	for _, c := range []struct {
		status   int
		hdr      string
		hlen     int
		body     string
		blen     int
		contains string
	}{
		{99, "", 0, "", 0, "status 99"},
		{600, "", 0, "", 0, "status 600"},
		{200, Nil, 3, "", 0, "NULL buffer"},
		{200, "", 0, Nil, 3, "NULL buffer"},
		{200, "NoColon", 7, "", 0, `line 1: want "Name: value"`},
		{200, ": v", 3, "", 0, "line 1"},
		{200, "A: b\nBad Name: v", 15, "", 0, "line 2"},
		{200, "A: b\x01c", 6, "", 0, "control character"},
		{200, "A: b\rc", 6, "", 0, "control character"},
	} {
		rc, msg := Respond(r.ID, c.status, c.hdr, c.hlen, c.body, c.blen)
		wantCode(t, fmt.Sprintf("respond(%d, %q)", c.status, c.hdr), rc, msg, EINVAL, c.contains)
	}
	// The request is still open after refused answers.
	hdr := "X-One: 1\r\n\nSet-Cookie: a=1\nSet-Cookie: b=2\nX-Two:\t two \nContent-Length: 999\nConnection: close\nContent-Type: text/plain; charset=utf-8"
	must(t, "respond")(Answer(r.ID, 203, hdr, "bytes\x00here"))
	a := recv(t, ch)
	if a.status != 203 || a.body != "bytes\x00here" {
		t.Errorf("answer: %d %q", a.status, a.body)
	}
	if a.header.Get("X-One") != "1" || a.header.Get("X-Two") != "two" || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers: %v", a.header)
	}
	if ck := a.header.Values("Set-Cookie"); len(ck) != 2 {
		t.Errorf("Set-Cookie: %v", ck)
	}
	// No Content-Type given: none sent.
	ch = getAsync(t, "GET", base+"/echo/8", "")
	r = nextOne(t, app)
	must(t, "respond")(Answer(r.ID, 200, "", "raw"))
	if a := recv(t, ch); a.header.Get("Content-Type") != "" || a.body != "raw" {
		t.Errorf("no content type: %v %q", a.header, a.body)
	}
	// 204 without a body, NULL buffers with length 0.
	ch = getAsync(t, "GET", base+"/echo/9", "")
	r = nextOne(t, app)
	must(t, "respond")(Respond(r.ID, 204, Nil, 0, Nil, 0))
	if a := recv(t, ch); a.status != 204 || a.body != "" {
		t.Errorf("204: %d %q", a.status, a.body)
	}
	// respond_error with NULL message.
	ch = getAsync(t, "GET", base+"/echo/10", "")
	r = nextOne(t, app)
	must(t, "respond_error")(RespondError(r.ID, Nil))
	if a := recv(t, ch); a.status != 500 || !strings.Contains(a.body, "internal-server-error") {
		t.Errorf("respond_error: %d %s", a.status, a.body)
	}
}

func TestQueuedRequestView(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(5000))
	must(t, "")(HandleQueued(app, "echo", 11))
	must(t, "")(HandleQueued(app, "items", 22))
	must(t, "")(HandleC(app, "typed", CEcho, false))
	base := listen(t, app)

	_, rc, msg := TryNext(app, 4)
	mustOK(t, "try_next on an empty queue", rc, msg)
	_, rc, msg = Next(app, 0, 4)
	wantCode(t, "next(timeout 0) on an empty queue", rc, msg, ETIMEOUT, "no request queued")
	start := time.Now()
	_, rc, msg = Next(app, 100, 4)
	wantCode(t, "next(timeout 100)", rc, msg, ETIMEOUT, "100 ms")
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Errorf("next(100 ms) took %s", d)
	}
	_, rc, msg = Next(app, 0, 0)
	wantCode(t, "next(NULL, 0)", rc, msg, EINVAL, "cap must not be 0")
	rc, msg = NextNilN(app)
	wantCode(t, "next(out_n NULL)", rc, msg, EINVAL, "out_n")
	_, rc, msg = TryNext(app, 0)
	wantCode(t, "try_next(NULL, 0)", rc, msg, EINVAL, "cap must not be 0")
	_, rc, msg = Next(424242, 0, 1)
	wantCode(t, "next(bad app)", rc, msg, EBADHANDLE, "424242")
	_, rc, msg = TryNext(424242, 1)
	wantCode(t, "try_next(bad app)", rc, msg, EBADHANDLE, "424242")

	ch := getAsync(t, "POST", base+"/items?x=1&y=%20", `{"name":"widget","extra":[1,2]}`,
		"Content-Type", "application/json", "X-Request-ID", "req-123", "X-Thing", "yes")
	r := nextOne(t, app)
	want := Request{Size: uint32(RequestSize), Kind: 0, Tag: 22, App: app, Handler: "items", Method: "POST",
		Path: "/items", Query: "x=1&y=%20", RequestID: "req-123",
		Values: `{"body":{"name":"widget","extra":[1,2]}}`, Body: `{"name":"widget","extra":[1,2]}`}
	got := r
	got.ID, got.Headers = 0, ""
	if got != want {
		t.Errorf("request view:\n got %+v\nwant %+v", got, want)
	}
	if !strings.Contains(r.Headers, "X-Thing: yes") || !strings.Contains(r.Headers, "\r\n") || strings.HasSuffix(r.Headers, "\n") || strings.HasPrefix(r.Headers, "\r") {
		t.Errorf("headers block: %q", r.Headers)
	}
	must(t, "respond")(Answer(r.ID, 201, "Content-Type: application/json", `{"ok":true}`))
	if a := recv(t, ch); a.status != 201 || a.body != `{"ok":true}` {
		t.Errorf("answer: %d %s", a.status, a.body)
	}

	// A batch: several queued requests come out of one call.
	var chans []<-chan answer
	for i := 0; i < 5; i++ {
		chans = append(chans, getAsync(t, "GET", fmt.Sprintf("%s/echo/%d", base, i), ""))
	}
	var all []Request
	deadline := time.Now().Add(5 * time.Second)
	for len(all) < 5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // let them all queue
		reqs, rc, msg := Next(app, 1000, 3)
		mustOK(t, "next", rc, msg)
		if len(reqs) > 3 {
			t.Fatalf("next returned %d > cap 3", len(reqs))
		}
		all = append(all, reqs...)
	}
	if len(all) != 5 {
		t.Fatalf("got %d of 5 requests", len(all))
	}
	for _, r := range all {
		if r.Tag != 11 || r.Handler != "echo" {
			t.Errorf("tag/handler: %+v", r)
		}
		must(t, "respond")(Answer(r.ID, 200, "", r.Values))
	}
	for _, ch := range chans {
		if a := recv(t, ch); a.status != 200 || !strings.HasPrefix(a.body, `{"path":{"id":`) {
			t.Errorf("batch answer: %d %s", a.status, a.body)
		}
	}
}

func TestReadyFD(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(5000))
	for _, n := range []string{"echo", "items", "typed"} {
		must(t, "")(HandleQueued(app, n, 1))
	}
	rc, msg := ReadyFDNil(app)
	wantCode(t, "ready_fd(NULL)", rc, msg, EINVAL, "out_fd")
	_, rc, msg = ReadyFD(777777)
	wantCode(t, "ready_fd(bad app)", rc, msg, EBADHANDLE, "777777")
	fd, rc, msg := ReadyFD(app)
	mustOK(t, "ready_fd", rc, msg)
	fd2, _, _ := ReadyFD(app)
	if fd < 0 || fd2 != fd {
		t.Fatalf("ready_fd gave %d then %d", fd, fd2)
	}
	base := listen(t, app)
	if Readable(fd, 50) {
		t.Fatal("readable with an empty queue")
	}
	ch := getAsync(t, "GET", base+"/echo/1", "")
	if !Readable(fd, 5000) {
		t.Fatal("not readable with a queued request")
	}
	reqs, rc, msg := TryNext(app, 8)
	mustOK(t, "try_next", rc, msg)
	if len(reqs) != 1 {
		t.Fatalf("try_next gave %d", len(reqs))
	}
	if Readable(fd, 0) {
		t.Error("still readable after the queue was drained")
	}
	must(t, "respond")(Answer(reqs[0].ID, 200, "", "ok"))
	recv(t, ch)
	// The descriptor wakes event loops at shutdown: try_next says ECLOSED.
	must(t, "shutdown")(Shutdown(app, 1000))
	if !Readable(fd, 1000) {
		t.Error("not readable after shutdown")
	}
	_, rc, msg = TryNext(app, 8)
	wantCode(t, "try_next after shutdown", rc, msg, ECLOSED, "shut down")
	_, rc, msg = Next(app, 1000, 8)
	wantCode(t, "next after shutdown", rc, msg, ECLOSED, "shut down")
}

func TestHandlerTimeout(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(150))
	must(t, "")(HandleQueued(app, "echo", 1))
	must(t, "")(HandleC(app, "items", CLater, false))
	must(t, "")(HandleQueued(app, "typed", 1))
	base := listen(t, app)

	// Delivered, never answered: 504, then the late answer is refused.
	ch := getAsync(t, "GET", base+"/echo/1", "")
	r := nextOne(t, app)
	a := recv(t, ch)
	if a.status != 504 || !strings.Contains(a.body, "handler-timeout") {
		t.Fatalf("unanswered: %d %s", a.status, a.body)
	}
	if _, _, n := Live(); n != 1 {
		t.Errorf("the timed-out request should be held for the host: %d alive", n)
	}
	if r.Path != "/echo/1" { // the view is still readable until answered
		t.Errorf("view after the timeout: %+v", r)
	}
	rc, msg := Answer(r.ID, 200, "", "late")
	wantCode(t, "late respond", rc, msg, ETIMEOUT, "after the handler timeout")
	rc, msg = Answer(r.ID, 200, "", "later")
	wantCode(t, "respond after the late one", rc, msg, ESTATE, "")

	// Queued and never taken: 504, and the queue forgets it.
	a = get(t, "GET", base+"/echo/2", "")
	if a.status != 504 {
		t.Errorf("never taken: %d %s", a.status, a.body)
	}
	if reqs, rc, _ := TryNext(app, 8); rc != OK || len(reqs) != 0 {
		t.Errorf("the timed-out request is still queued: %d %v", rc, reqs)
	}

	// Callback that never answers; a late respond_error is refused.
	a = get(t, "POST", base+"/items", `{"name":"x"}`, "Content-Type", "application/json")
	if a.status != 504 {
		t.Errorf("callback without answer: %d %s", a.status, a.body)
	}
	rc, msg = RespondError(LastID(), "late")
	wantCode(t, "late respond_error", rc, msg, ETIMEOUT, "")
}

func TestAsyncCompletion(t *testing.T) {
	t.Run("later", func(t *testing.T) { asyncCompletion(t, 20*time.Millisecond) })
	// The answer comes while the library still holds the request that
	// returned unanswered: it waits in the block until the Go handler has
	// taken the request over, then goes to the collector.
	HoldReturned(20000)
	defer HoldReturned(0)
	t.Run("held", func(t *testing.T) { asyncCompletion(t, time.Millisecond) })
}

func asyncCompletion(t *testing.T, after time.Duration) {
	noLeaks(t)
	app := newApp(t, doc(5000))
	var wg sync.WaitGroup
	// The Go handler answers from another thread, after returning.
	must(t, "")(HandleGo(app, "echo", func(r Request) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(after)
			Answer(r.ID, 200, "Content-Type: application/json\nX-Thread: other", r.Values)
		}()
	}))
	must(t, "")(HandleGo(app, "items", func(r Request) {
		// answered inside the callback, but through Go
		Answer(r.ID, 202, "", r.Body)
	}))
	must(t, "")(HandleQueued(app, "typed", 1))
	base := listen(t, app)
	var chans []<-chan answer
	for i := 0; i < 20; i++ {
		chans = append(chans, getAsync(t, "GET", fmt.Sprintf("%s/echo/%d", base, i), ""))
	}
	for i, ch := range chans {
		a := recv(t, ch)
		if a.status != 200 || a.body != fmt.Sprintf(`{"path":{"id":%d},"query":{"q":"none"}}`, i) || a.header.Get("X-Thread") != "other" {
			t.Errorf("async %d: %d %s", i, a.status, a.body)
		}
	}
	a := get(t, "POST", base+"/items", `{"name":"n"}`, "Content-Type", "application/json")
	if a.status != 202 || a.body != `{"name":"n"}` {
		t.Errorf("items: %d %s", a.status, a.body)
	}
	wg.Wait()
}

func TestShutdownCutsOff(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(0)) // no handler timeout
	must(t, "")(HandleQueued(app, "echo", 1))
	must(t, "")(HandleC(app, "items", CLater, false))
	must(t, "")(HandleQueued(app, "typed", 1))
	base := listen(t, app)

	ch1 := getAsync(t, "GET", base+"/echo/1", "")
	r := nextOne(t, app)
	before := LastID()
	ch2 := getAsync(t, "POST", base+"/items", `{"name":"x"}`, "Content-Type", "application/json")
	for deadline := time.Now().Add(5 * time.Second); LastID() == before && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	// A thread blocked in next is woken by the end of the shutdown.
	woken := make(chan int, 1)
	go func() {
		_, rc, _ := Next(app, -1, 4)
		woken <- rc
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	rc, msg := Shutdown(app, 300)
	wantCode(t, "shutdown with unanswered requests", rc, msg, ETIMEOUT, "2 request(s)")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("shutdown returned after %s, before its grace period", d)
	}
	for i, ch := range []<-chan answer{ch1, ch2} {
		if a := recv(t, ch); a.status != 503 || !a.close {
			t.Errorf("request %d: %d close=%v %s", i+1, a.status, a.close, a.body)
		}
	}
	select {
	case rc := <-woken:
		if rc != ECLOSED {
			t.Errorf("blocked next = %s, want SPIKARD_ECLOSED", StrError(rc))
		}
	case <-time.After(5 * time.Second):
		t.Error("blocked next was not woken")
	}
	rc, msg = Answer(r.ID, 200, "", "late")
	wantCode(t, "answer after shutdown", rc, msg, ECLOSED, "shutdown")
	rc, msg = RespondError(LastID(), "late")
	wantCode(t, "callback answer after shutdown", rc, msg, ECLOSED, "shutdown")
}

func TestShutdownGraceAndQueued(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(0))
	must(t, "")(HandleQueued(app, "echo", 1))
	must(t, "")(HandleQueued(app, "items", 1))
	must(t, "")(HandleQueued(app, "typed", 1))
	base := listen(t, app)

	// Answered during the grace period: served normally, shutdown is clean.
	ch := getAsync(t, "GET", base+"/echo/1", "")
	r := nextOne(t, app)
	go func() {
		time.Sleep(100 * time.Millisecond)
		Answer(r.ID, 200, "", "in time")
	}()
	must(t, "graceful shutdown")(Shutdown(app, 5000))
	if a := recv(t, ch); a.status != 200 || a.body != "in time" {
		t.Errorf("answered in the grace period: %d %s", a.status, a.body)
	}

	// A queued request nobody takes is cut off by a shutdown without grace.
	app2 := newApp(t, doc(0))
	must(t, "")(HandleQueued(app2, "echo", 1))
	must(t, "")(HandleQueued(app2, "items", 1))
	must(t, "")(HandleQueued(app2, "typed", 1))
	base = listen(t, app2)
	ch = getAsync(t, "GET", base+"/echo/2", "")
	fd, _, _ := ReadyFD(app2)
	if !Readable(fd, 5000) {
		t.Fatal("not queued")
	}
	rc, msg := Shutdown(app2, 0)
	wantCode(t, "shutdown(0)", rc, msg, ETIMEOUT, "1 request(s)")
	if a := recv(t, ch); a.status != 503 {
		t.Errorf("queued request at shutdown: %d", a.status)
	}
	_, rc, msg = TryNext(app2, 4)
	wantCode(t, "try_next after shutdown", rc, msg, ECLOSED, "")
}

func TestFreeWakesWaitersAndReleases(t *testing.T) {
	noLeaks(t)
	app, rc, msg := AppNew(doc(0))
	mustOK(t, "app_new", rc, msg)
	must(t, "")(HandleQueued(app, "echo", 1))
	must(t, "")(HandleQueued(app, "items", 1))
	must(t, "")(HandleQueued(app, "typed", 1))
	base := listen(t, app)
	ch := getAsync(t, "GET", base+"/echo/1", "")
	r := nextOne(t, app)
	woken := make(chan int, 1)
	go func() {
		_, rc, _ := Next(app, -1, 4)
		woken <- rc
	}()
	time.Sleep(50 * time.Millisecond)
	must(t, "app_free")(AppFree(app))
	if a := recv(t, ch); a.status != 503 {
		t.Errorf("cut off by free: %d", a.status)
	}
	select {
	case rc := <-woken:
		if rc != ECLOSED {
			t.Errorf("next blocked across free = %s", StrError(rc))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("next not woken by app_free")
	}
	// The held request was released by the free.
	rc, msg = Answer(r.ID, 200, "", "x")
	wantCode(t, "answer after free", rc, msg, ESTATE, "")
}

func TestOpenAPI(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(1000))
	_, need, rc, msg := OpenAPI(app, 0)
	wantCode(t, "openapi(cap 0)", rc, msg, ERANGE, "buffer")
	got, _, rc, msg := OpenAPI(app, need)
	mustOK(t, "openapi", rc, msg)
	var d struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(got), &d); err != nil || !strings.HasPrefix(d.OpenAPI, "3.1") || d.Paths["/items"] == nil {
		t.Errorf("openapi: %v %.200s", err, got)
	}
}

// Hooks and factories are handlers too: a hook continues (with changes) or
// short-circuits, a factory answers its value, through every mode.
func TestHooksAndFactories(t *testing.T) {
	noLeaks(t)
	app := newApp(t, `{"version":1,"server":{"handler_timeout_ms":5000},
	  "dependencies":{"db":{"type":"factory","factory":"open_db"}},
	  "middleware":{"lifecycle_hooks":{"on_request":[{"name":"tag","handler":"tagger","config":{"v":1}}]}},
	  "routes":[{"method":"GET","path":"/r/{id:int}","handler":"show","handler_dependencies":["db"],
	    "middleware":{"lifecycle_hooks":{"pre_handler":[{"name":"auth","handler":"auth"}]}}}]}`)
	// Every name the document uses must be bound.
	must(t, "auth")(HandleQueued(app, "auth", 2))
	_, rc, msg := Listen(app, "127.0.0.1", 0)
	wantCode(t, "listen without the factory and hooks", rc, msg, ECONFIG, "no handler registered")
	must(t, "tagger")(HandleGo(app, "tagger", func(r Request) {
		if !strings.Contains(r.Values, `"call":{"kind":"hook","phase":"on_request","name":"tag","handler":"tagger","config":{"v":1}}`) {
			RespondError(r.ID, "tagger: values "+r.Values)
			return
		}
		ch := `{"request_headers":{"X-Tag":"t1"},"headers":{"X-Tagged":"yes"}}`
		Continue(r.ID, ch, len(ch))
	}))
	must(t, "open_db")(HandleGo(app, "open_db", func(r Request) {
		Answer(r.ID, 200, "Content-Type: application/json", `{"conn":7}`)
	}))
	must(t, "show")(HandleQueued(app, "show", 3))
	must(t, "audit")(HandleQueued(app, "audit", 4))
	audits := make(chan string, 4)
	base := listen(t, app)

	// The host thread answers the queued auth hook and route handler.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			reqs, rc, _ := Next(app, 50, 8)
			if rc != OK {
				continue
			}
			for _, r := range reqs {
				switch r.Tag {
				case 2: // auth: the request header the on_request hook set decides
					if strings.Contains(r.Headers, "X-Tag: t1") && strings.Contains(r.Path, "/r/1") {
						Continue(r.ID, `{"state":{"user":"ada"}}`, len(`{"state":{"user":"ada"}}`))
					} else {
						Answer(r.ID, 403, "Content-Type: application/json", `{"denied":true}`)
					}
				case 3:
					if rc, msg := Background(r.ID, "audit", `{"id":`+r.Path[len("/r/"):]+`}`); rc != OK {
						t.Errorf("background: %s", msg)
					}
					Answer(r.ID, 200, "Content-Type: application/json", r.Values)
					if rc, _ := Background(r.ID, "audit", "1"); rc != ESTATE {
						t.Errorf("background after the answer = %s", StrError(rc))
					}
				case 4: // the task
					audits <- r.Values
					Continue(r.ID, Nil, 0)
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	a := get(t, "GET", base+"/r/1", "")
	if a.status != 200 || a.header.Get("X-Tagged") != "yes" ||
		!strings.Contains(a.body, `"state":{"user":"ada"}`) || !strings.Contains(a.body, `"dependencies":{"db":{"conn":7}}`) {
		t.Errorf("through the hooks: %d %v %s", a.status, a.header, a.body)
	}
	select {
	case v := <-audits:
		if !strings.Contains(v, `"call":{"kind":"task"`) || !strings.Contains(v, `"payload":{"id":1}`) {
			t.Errorf("task values: %s", v)
		}
	case <-time.After(5 * time.Second):
		t.Error("the background task did not run")
	}
	a = get(t, "GET", base+"/r/2", "")
	if a.status != 403 || a.body != `{"denied":true}` || a.header.Get("X-Tagged") != "yes" {
		t.Errorf("short-circuit: %d %s", a.status, a.body)
	}
	// Malformed changes are the host's failure: 500.
	rc, msg = Continue(1, Nil, 3)
	wantCode(t, "continue(NULL, 3)", rc, msg, EINVAL, "NULL buffer")
}

func TestReserved(t *testing.T) {
	for fn, rc := range Reserved(1) {
		if rc != ENOTIMPL {
			t.Errorf("%s = %s, want SPIKARD_ENOTIMPL", fn, StrError(rc))
		}
	}
}

func TestLastErrorIsPerThread(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_, rc, msg := AppNew(fmt.Sprintf(`{"version":%d}`, 100+i))
				if rc != EVERSION || !strings.Contains(msg, fmt.Sprintf("version %d ", 100+i)) {
					t.Errorf("thread %d: %s %q", i, StrError(rc), msg)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestLoad(t *testing.T) {
	noLeaks(t)
	app := newApp(t, doc(5000))
	must(t, "")(HandleC(app, "echo", CEcho, false))
	must(t, "")(HandleQueued(app, "items", 9))
	must(t, "")(HandleQueued(app, "typed", 9))
	base := listen(t, app)
	stop := make(chan struct{})
	var hosts sync.WaitGroup
	for i := 0; i < 2; i++ {
		hosts.Add(1)
		go func() {
			defer hosts.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				reqs, rc, _ := Next(app, 50, 16)
				if rc != OK {
					continue
				}
				for _, r := range reqs {
					Answer(r.ID, 200, "Content-Type: application/json", r.Body)
				}
			}
		}()
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				var resp *http.Response
				var err error
				want := ""
				if i%2 == 0 {
					resp, err = c.Get(fmt.Sprintf("%s/echo/%d", base, i))
					want = fmt.Sprintf(`{"path":{"id":%d},"query":{"q":"none"}}`, i)
				} else {
					want = fmt.Sprintf(`{"name":"w%d-%d"}`, w, i)
					resp, err = c.Post(base+"/items", "application/json", strings.NewReader(want))
				}
				if err != nil {
					mu.Lock()
					bad++
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != want {
					mu.Lock()
					bad++
					if bad < 5 {
						t.Errorf("load: %d %s, want %s", resp.StatusCode, b, want)
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	hosts.Wait()
	tr.CloseIdleConnections()
	if bad > 0 {
		t.Errorf("%d of 1600 requests failed", bad)
	}
}
