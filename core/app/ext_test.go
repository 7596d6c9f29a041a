package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/hooks"
)

// Socket-level tests of lifecycle hooks, dependency injection and
// background work: real requests to a served app.

// journal records what ran, in order, across goroutines.
type journal struct {
	mu  sync.Mutex
	log []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.log = append(j.log, s)
	j.mu.Unlock()
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.log...)
}

func (j *journal) reset() {
	j.mu.Lock()
	j.log = nil
	j.mu.Unlock()
}

// waitFor polls until the journal has n entries.
func (j *journal) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got := j.get(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("journal has %v, want %d entries", j.get(), n)
	return nil
}

type served struct {
	app  *app.App
	base string
	logs *bytes.Buffer
}

var logMu sync.Mutex

type syncBuf struct{ b *bytes.Buffer }

func (w syncBuf) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return w.b.Write(p)
}

func (s *served) logText() string {
	logMu.Lock()
	defer logMu.Unlock()
	return s.logs.String()
}

func serveDoc(t *testing.T, doc string, handlers map[string]app.Handler, setup ...func(*app.App)) *served {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(*cfg)
	logs := &bytes.Buffer{}
	a.SetLogger(slog.New(slog.NewTextHandler(syncBuf{logs}, nil)))
	for name, h := range handlers {
		a.Handle(name, h)
	}
	for _, f := range setup {
		f(a)
	}
	if _, err := a.Build(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return &served{app: a, base: "http://" + ln.Addr().String(), logs: logs}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (s *served) send(t *testing.T, method, path, body string, hdr ...string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, string(b)}
}

// tracer is a hook that records its call and continues.
func tracer(j *journal) app.Handler {
	return func(c *app.Ctx) error {
		k := c.Call()
		j.add(k.Phase + ":" + k.Name)
		return nil
	}
}

const hooksDoc = `{
  "version": 1,
  "middleware": {"lifecycle_hooks": {
    "on_request":  [{"name": "app_req", "handler": "trace"}],
    "on_response": [{"name": "app_resp", "handler": "trace"}]
  }},
  "routes": [
    {"method": "POST", "path": "/items", "handler": "handler",
     "parameters": {"headers": {"x_tenant": {"type": "string", "pattern": "^[a-z]+$"}}},
     "body_schema": {"type": "object", "required": ["name"]},
     "middleware": {"lifecycle_hooks": {
       "on_request":     [{"name": "r1", "handler": "trace"}, {"name": "r2", "handler": "stash", "config": {"who": "r2"}}],
       "pre_validation": [{"name": "pv", "handler": "tenant"}],
       "pre_handler":    [{"name": "ph1", "handler": "trace"}, {"name": "ph2", "handler": "guard"}],
       "on_response":    [{"name": "headers", "handler": "secure"}, {"name": "last", "handler": "trace"}],
       "on_error":       [{"name": "err1", "handler": "trace"}, {"name": "err2", "handler": "format_error"}]
     }}},
    {"method": "GET", "path": "/fail", "handler": "fail",
     "middleware": {"lifecycle_hooks": {"on_error": [{"name": "err", "handler": "format_error"}]}}},
    {"method": "GET", "path": "/panic", "handler": "panic",
     "middleware": {"lifecycle_hooks": {"on_error": [{"name": "err", "handler": "format_error"}]}}},
    {"method": "GET", "path": "/hook-fails", "handler": "handler",
     "middleware": {"lifecycle_hooks": {"pre_handler": [{"name": "broken", "handler": "fail"}],
                                        "on_error": [{"name": "err", "handler": "trace"}]}}},
    {"method": "GET", "path": "/replace", "handler": "handler",
     "middleware": {"lifecycle_hooks": {"on_response": [{"name": "replace", "handler": "replace"}, {"name": "after", "handler": "trace"}]}}},
    {"method": "GET", "path": "/plain", "handler": "plain"}
  ]
}`

func hookHandlers(j *journal) map[string]app.Handler {
	return map[string]app.Handler{
		"trace": tracer(j),
		"stash": func(c *app.Ctx) error {
			j.add("on_request:r2")
			var cfg struct{ Who string }
			_ = json.Unmarshal(c.Call().Config, &cfg)
			c.Set("stashed_by", cfg.Who)
			return nil
		},
		// pre_validation: fills in a header the route validates.
		"tenant": func(c *app.Ctx) error {
			j.add("pre_validation:pv")
			if c.RawHeader("X-Tenant") == "" {
				c.SetRequestHeader("X-Tenant", "acme")
			}
			return nil
		},
		"guard": func(c *app.Ctx) error {
			j.add("pre_handler:ph2")
			if c.RawHeader("Authorization") != "Bearer ok" {
				return c.JSON(401, map[string]string{"error": "Unauthorized"})
			}
			c.Set("user", map[string]any{"id": 7})
			return nil
		},
		"handler": func(c *app.Ctx) error {
			j.add("handler")
			return c.Send(201, "application/json", c.Values())
		},
		"secure": func(c *app.Ctx) error {
			j.add(fmt.Sprintf("on_response:headers(%d)", c.ResponseStatus()))
			c.SetHeader("X-Frame-Options", "DENY")
			return nil
		},
		"format_error": func(c *app.Ctx) error {
			j.add("on_error:format(" + c.ResponseHeader("Content-Type") + ")")
			return c.JSON(500, map[string]string{"error": "Internal Server Error", "message": "An unexpected error occurred"})
		},
		"replace": func(c *app.Ctx) error {
			return c.Text(203, "replaced")
		},
		"fail":  func(c *app.Ctx) error { return errors.New("database is down") },
		"panic": func(c *app.Ctx) error { panic("kaboom") },
		"plain": func(c *app.Ctx) error { return c.Send(200, "application/json", c.Values()) },
	}
}

func TestHooksOrderStateAndValues(t *testing.T) {
	j := &journal{}
	s := serveDoc(t, hooksDoc, hookHandlers(j))
	r := s.send(t, "POST", "/items", `{"name":"x"}`, "Authorization", "Bearer ok")
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := []string{"on_request:app_req", "on_request:r1", "on_request:r2", "pre_validation:pv",
		"pre_handler:ph1", "pre_handler:ph2", "handler", "on_response:app_resp", "on_response:headers(201)", "on_response:last"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %v\nwant %v", got, want)
	}
	// The pre_validation hook's header was validated and reached the
	// handler; the state set by hooks is in the values document.
	wantBody := `{"headers":{"x_tenant":"acme"},"body":{"name":"x"},"state":{"stashed_by":"r2","user":{"id":7}}}`
	if r.body != wantBody {
		t.Fatalf("values %s\nwant   %s", r.body, wantBody)
	}
	if r.header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("on_response header missing")
	}
}

func TestHooksShortCircuit(t *testing.T) {
	j := &journal{}
	s := serveDoc(t, hooksDoc, hookHandlers(j))
	r := s.send(t, "POST", "/items", `{"name":"x"}`)
	if r.status != 401 || r.body != `{"error":"Unauthorized"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := []string{"on_request:app_req", "on_request:r1", "on_request:r2", "pre_validation:pv",
		"pre_handler:ph1", "pre_handler:ph2", "on_response:app_resp", "on_response:headers(401)", "on_response:last"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %v\nwant %v (no handler; on_response still runs)", got, want)
	}
	if r.header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("on_response runs on a short-circuit answer too")
	}
	// A validation failure is the framework's answer: no pre_handler, no
	// handler, no on_error; on_response runs.
	j.reset()
	r = s.send(t, "POST", "/items", `{"nom":"x"}`, "Authorization", "Bearer ok")
	if r.status != 422 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want = []string{"on_request:app_req", "on_request:r1", "on_request:r2", "pre_validation:pv",
		"on_response:app_resp", "on_response:headers(422)", "on_response:last"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %v\nwant %v", got, want)
	}
}

func TestOnErrorReplacesTheProblem(t *testing.T) {
	j := &journal{}
	s := serveDoc(t, hooksDoc, hookHandlers(j))
	for _, path := range []string{"/fail", "/panic"} {
		j.reset()
		r := s.send(t, "GET", path, "")
		if r.status != 500 || r.body != `{"error":"Internal Server Error","message":"An unexpected error occurred"}` ||
			r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", path, r.status, r.header.Get("Content-Type"), r.body)
		}
		// The hook saw the core's problem answer first; app-wide hooks ran
		// around it.
		if got := j.get(); !reflect.DeepEqual(got, []string{"on_request:app_req", "on_error:format(application/problem+json)", "on_response:app_resp"}) {
			t.Fatalf("%s: ran %v", path, got)
		}
	}
	// A failing hook fails the request like a failing handler: 500 problem,
	// on_error runs, the handler does not.
	j.reset()
	r := s.send(t, "GET", "/hook-fails", "")
	if r.status != 500 || !strings.Contains(r.body, "internal-server-error") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := j.get(); !reflect.DeepEqual(got, []string{"on_request:app_req", "on_error:err", "on_response:app_resp"}) {
		t.Fatalf("ran %v", got)
	}
}

func TestOnResponseReplaces(t *testing.T) {
	j := &journal{}
	s := serveDoc(t, hooksDoc, hookHandlers(j))
	r := s.send(t, "GET", "/replace", "")
	if r.status != 203 || r.body != "replaced" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := j.get(); !reflect.DeepEqual(got, []string{"on_request:app_req", "handler", "on_response:app_resp"}) {
		t.Fatalf("ran %v: app-wide on_response first, then the route's; a replacing hook ends the phase", got)
	}
	// Routes without hooks of their own still get the app-wide ones...
	j.reset()
	if r := s.send(t, "GET", "/plain", ""); r.status != 200 || r.body != `{}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := j.get(); !reflect.DeepEqual(got, []string{"on_request:app_req", "on_response:app_resp"}) {
		t.Fatalf("ran %v", got)
	}
}

func TestContinueChanges(t *testing.T) {
	doc := `{"version": 1, "routes": [{"method": "GET", "path": "/c", "handler": "h",
	  "parameters": {"headers": {"x_user": {"type": "string"}}},
	  "middleware": {"lifecycle_hooks": {"on_request": [{"handler": "host"}]}}}]}`
	s := serveDoc(t, doc, map[string]app.Handler{
		// What a binding behind the C ABI hands back to continue.
		"host": func(c *app.Ctx) error {
			return c.Continue([]byte(`{"status": 202, "headers": {"X-Hook": "1", "Set-Cookie": ["a=1", "b=2"]}, "request_headers": {"X-User": "u1"}, "state": {"n": 3}}`))
		},
		"h": func(c *app.Ctx) error {
			c.SetHeader("X-N", c.Get("n").String())
			return c.Send(c.ResponseStatus(), "application/json", c.Values())
		},
	})
	r := s.send(t, "GET", "/c", "")
	if r.status != 202 || r.header.Get("X-Hook") != "1" || r.header.Get("X-N") != "3" ||
		!reflect.DeepEqual(r.header.Values("Set-Cookie"), []string{"a=1", "b=2"}) ||
		r.body != `{"headers":{"x_user":"u1"},"state":{"n":3}}` {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	// Continue rejects unknown members: the hook fails.
	s2 := serveDoc(t, doc, map[string]app.Handler{
		"host": func(c *app.Ctx) error {
			if c.Continue([]byte(`{"headers": {"X-A": 1}}`)) == nil {
				t.Error("a number as a header value must be refused")
			}
			return c.Continue([]byte(`{"header": {}}`))
		},
		"h": func(c *app.Ctx) error { return c.NoContent(204) },
	})
	if r := s2.send(t, "GET", "/c", "", "X-User", "x"); r.status != 500 {
		t.Fatalf("bad changes: %d", r.status)
	}
}

const diDoc = `{
  "version": 1,
  "dependencies": {
    "config":  {"type": "value", "value": {"db_url": "postgresql://localhost/app"}},
    "pool":    {"type": "factory", "factory": "make_pool", "depends_on": ["config"], "singleton": true},
    "db":      {"type": "async_factory", "factory": "open_db", "depends_on": ["pool"], "cacheable": true, "cleanup": true},
    "cache":   {"type": "factory", "factory": "open_cache", "cacheable": true, "cleanup": true},
    "session": {"type": "factory", "factory": "open_session", "depends_on": ["db", "cache"], "cleanup": true},
    "stamp":   {"type": "factory", "factory": "stamp"},
    "auth":    {"type": "factory", "factory": "auth"},
    "broken":  {"type": "factory", "factory": "fail"},
    "loop_a":  {"type": "factory", "factory": "stamp", "depends_on": ["loop_b"]},
    "loop_b":  {"type": "factory", "factory": "stamp", "depends_on": ["loop_a"]}
  },
  "routes": [
    {"method": "GET", "path": "/session", "handler": "show", "handler_dependencies": ["session", "config"],
     "middleware": {"lifecycle_hooks": {"on_request": [{"name": "peek", "handler": "peek", "dependencies": ["db", "stamp"]}]}}},
    {"method": "GET", "path": "/stamps", "handler": "show", "handler_dependencies": ["stamp"],
     "middleware": {"lifecycle_hooks": {"pre_handler": [{"name": "peek", "handler": "peek2", "dependencies": ["stamp"]}]}}},
    {"method": "GET", "path": "/pool", "handler": "show", "handler_dependencies": ["pool"]},
    {"method": "GET", "path": "/override", "handler": "show", "handler_dependencies": ["config"],
     "dependencies": {"config": {"type": "value", "value": {"db_url": "sqlite://route"}, "scope": "route"}},
     "route_overrides": {"config": {"type": "value", "value": {"db_url": "sqlite://override"}}}},
    {"method": "GET", "path": "/auth", "handler": "show", "handler_dependencies": ["auth"]},
    {"method": "GET", "path": "/broken", "handler": "show", "handler_dependencies": ["broken"]},
    {"method": "GET", "path": "/circular", "handler": "show", "handler_dependencies": ["loop_a"]},
    {"method": "GET", "path": "/lazy", "handler": "lazy"}
  ]
}`

func diHandlers(j *journal, poolCalls *atomic.Int32) map[string]app.Handler {
	var seq atomic.Int32
	return map[string]app.Handler{
		"make_pool": func(c *app.Ctx) error {
			n := poolCalls.Add(1)
			time.Sleep(5 * time.Millisecond) // widen the race window
			return c.JSON(200, map[string]any{"pool": n, "url": c.Dep("config").Any().(map[string]any)["db_url"]})
		},
		"open_db": func(c *app.Ctx) error {
			if k := c.Call(); k.Kind == "cleanup" {
				j.add("close db " + string(k.Value))
				return nil
			}
			j.add("open db")
			return c.JSON(200, "db-"+c.Dep("pool").String())
		},
		"open_cache": func(c *app.Ctx) error {
			if k := c.Call(); k.Kind == "cleanup" {
				j.add("close cache " + string(k.Value))
				return nil
			}
			j.add("open cache")
			return c.JSON(200, "cache")
		},
		"open_session": func(c *app.Ctx) error {
			if k := c.Call(); k.Kind == "cleanup" {
				j.add("close session")
				return nil
			}
			j.add("open session")
			var db string
			if err := c.BindDep("db", &db); err != nil {
				return err
			}
			return c.JSON(200, map[string]string{"db": db, "cache": c.Dep("cache").String()})
		},
		"stamp": func(c *app.Ctx) error { return c.JSON(200, seq.Add(1)) },
		"auth":  func(c *app.Ctx) error { return c.JSON(401, map[string]string{"error": "no token"}) },
		"fail":  func(c *app.Ctx) error { return errors.New("factory exploded") },
		"peek": func(c *app.Ctx) error {
			j.add("hook sees " + string(c.Values()))
			return nil
		},
		"peek2": func(c *app.Ctx) error {
			c.SetHeader("X-Hook-Stamp", c.Dep("stamp").String())
			return nil
		},
		"show": func(c *app.Ctx) error {
			j.add("handler")
			return c.Send(200, "application/json", c.Values())
		},
		"lazy": func(c *app.Ctx) error {
			return c.JSON(200, map[string]any{"config": c.Dep("config").Any(), "missing": c.Dep("nope").Present()})
		},
	}
}

func TestDependenciesResolveCacheAndCleanUp(t *testing.T) {
	j := &journal{}
	var pools atomic.Int32
	s := serveDoc(t, diDoc, diHandlers(j, &pools))
	r := s.send(t, "GET", "/session", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	wantBody := `{"dependencies":{"session":{"cache":"cache","db":"db-{\"pool\":1,\"url\":\"postgresql://localhost/app\"}"},"config":{"db_url":"postgresql://localhost/app"}}}`
	if r.body != wantBody {
		t.Fatalf("values %s\nwant   %s", r.body, wantBody)
	}
	// The cleanups run after the response, in reverse order of creation;
	// the db created for the on_request hook is the handler's too
	// (cacheable), so it is opened and closed once.
	got := j.waitFor(t, 8)
	want := []string{
		`hook sees {"dependencies":{"db":"db-{\"pool\":1,\"url\":\"postgresql://localhost/app\"}","stamp":1},"call":{"kind":"hook","phase":"on_request","name":"peek","handler":"peek"}}`,
		"open db", // (before the hook saw it)
		"open cache", "open session", "handler",
		"close session", `close cache "cache"`, `close db "db-{\"pool\":1,\"url\":\"postgresql://localhost/app\"}"`,
	}
	// "open db" happens before the hook runs.
	want[0], want[1] = want[1], want[0]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ran\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPerCallAndPerRequest(t *testing.T) {
	j := &journal{}
	var pools atomic.Int32
	s := serveDoc(t, diDoc, diHandlers(j, &pools))
	// stamp is neither cacheable nor a singleton: the hook and the handler
	// each get their own.
	r := s.send(t, "GET", "/stamps", "")
	var v struct {
		Dependencies struct{ Stamp int }
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatal(r.body)
	}
	if hook := r.header.Get("X-Hook-Stamp"); hook == "" || hook == fmt.Sprint(v.Dependencies.Stamp) {
		t.Fatalf("hook stamp %q, handler stamp %d: per call, each gets its own", hook, v.Dependencies.Stamp)
	}
}

func TestSingletonOncePerApp(t *testing.T) {
	j := &journal{}
	var pools atomic.Int32
	s := serveDoc(t, diDoc, diHandlers(j, &pools))
	var wg sync.WaitGroup
	bodies := make([]string, 24)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = s.send(t, "GET", "/pool", "").body
		}()
	}
	wg.Wait()
	if pools.Load() != 1 {
		t.Fatalf("the singleton factory ran %d times", pools.Load())
	}
	for _, b := range bodies {
		if b != `{"dependencies":{"pool":{"pool":1,"url":"postgresql://localhost/app"}}}` {
			t.Fatalf("got %s", b)
		}
	}
}

func TestOverridesAndRouteLevels(t *testing.T) {
	j := &journal{}
	var pools atomic.Int32
	s := serveDoc(t, diDoc, diHandlers(j, &pools))
	if r := s.send(t, "GET", "/override", ""); r.body != `{"dependencies":{"config":{"db_url":"sqlite://override"}}}` {
		t.Fatalf("route_overrides win over route dependencies and the app's: %s", r.body)
	}
	// Test overrides replace a dependency everywhere, at any time.
	if err := s.app.Override("config", map[string]string{"db_url": "mock://"}); err != nil {
		t.Fatal(err)
	}
	if r := s.send(t, "GET", "/override", ""); r.body != `{"dependencies":{"config":{"db_url":"mock://"}}}` {
		t.Fatalf("override: %s", r.body)
	}
	s.app.OverrideHandler("auth", func(c *app.Ctx) error { return c.JSON(200, "test-user") })
	if r := s.send(t, "GET", "/auth", ""); r.status != 200 || r.body != `{"dependencies":{"auth":"test-user"}}` {
		t.Fatalf("override handler: %d %s", r.status, r.body)
	}
	s.app.ClearOverrides()
	if r := s.send(t, "GET", "/override", ""); r.body != `{"dependencies":{"config":{"db_url":"sqlite://override"}}}` {
		t.Fatalf("cleared: %s", r.body)
	}
	if r := s.send(t, "GET", "/lazy", ""); r.body != `{"config":{"db_url":"postgresql://localhost/app"},"missing":false}` {
		t.Fatalf("Ctx.Dep outside handler_dependencies: %s", r.body)
	}
}

func TestDependencyFailures(t *testing.T) {
	j := &journal{}
	var pools atomic.Int32
	s := serveDoc(t, diDoc, diHandlers(j, &pools))
	// A factory may refuse the request with its own answer.
	if r := s.send(t, "GET", "/auth", ""); r.status != 401 || r.body != `{"error":"no token"}` {
		t.Fatalf("refusal: %d %s", r.status, r.body)
	}
	r := s.send(t, "GET", "/broken", "")
	if r.status != 500 || r.header.Get("Content-Type") != "application/problem+json" ||
		r.body != `{"type":"https://spikard.dev/errors/dependency-error","title":"Dependency Resolution Failed","status":500,"detail":"Dependency \"broken\" could not be resolved","errors":[{"dependency":"broken","msg":"The factory of the dependency failed","type":"dependency_failed"}]}` {
		t.Fatalf("failure: %d %s", r.status, r.body)
	}
	if !strings.Contains(s.logText(), "factory exploded") {
		t.Fatal("the factory's error is logged")
	}
	// A cycle: found at build time (Warnings, the log), answered on request.
	r = s.send(t, "GET", "/circular", "")
	want := `{"type":"https://spikard.dev/errors/dependency-error","title":"Dependency Resolution Failed","status":500,"detail":"Circular dependency detected","errors":[{"cycle":["loop_a","loop_b","loop_a"],"msg":"Circular dependency detected in dependency graph","type":"circular_dependency"}]}`
	if r.status != 500 || r.body != want {
		t.Fatalf("cycle: %d %s", r.status, r.body)
	}
	ws := s.app.Warnings()
	if len(ws) != 2 || !strings.Contains(ws[0].Error(), "loop_a -> loop_b -> loop_a") ||
		!strings.Contains(ws[1].Error(), "route GET /circular") {
		t.Fatalf("warnings %v", ws)
	}
	if !strings.Contains(s.logText(), "circular dependency") {
		t.Fatal("the cycle is logged at build time")
	}
	for _, e := range j.get() {
		if e == "handler" {
			t.Fatal("no handler ran")
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"version":1,"routes":[{"method":"GET","path":"/","handler":"h","handler_dependencies":["nope"]}]}`:                                                         `dependency "nope" is not declared`,
		`{"version":1,"dependencies":{"d":{"type":"factory","factory":"nobody"}},"routes":[{"method":"GET","path":"/","handler":"h","handler_dependencies":["d"]}]}`: `no handler registered under "nobody"`,
		`{"version":1,"routes":[{"method":"GET","path":"/","handler":"h","middleware":{"lifecycle_hooks":{"on_request":[{"handler":"nobody"}]}}}]}`:                  `lifecycle hook "nobody" (on_request): no handler registered`,
		`{"version":1,"middleware":{"lifecycle_hooks":{"onRequest":[]}},"routes":[{"method":"GET","path":"/","handler":"h"}]}`:                                       `unknown phase "onRequest"`,
		`{"version":1,"dependencies":{"d":{"type":"value"}},"routes":[{"method":"GET","path":"/","handler":"h","handler_dependencies":["d"]}]}`:                      ``,
	} {
		cfg, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		a := app.New(*cfg)
		a.SetLogger(discardLogger())
		a.Handle("h", func(c *app.Ctx) error { return nil })
		_, err = a.Build()
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", doc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

func TestHandlerNamesAndOrder(t *testing.T) {
	cfg, _ := config.Parse([]byte(diDoc))
	a := app.New(*cfg)
	a.AddHook(hooks.OnError, hooks.Hook{Handler: "added"})
	names, err := a.HandlerNames()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"added", "auth", "fail", "lazy", "make_pool", "open_cache", "open_db", "open_session", "peek", "peek2", "show", "stamp"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v\nwant  %v", names, want)
	}
	for _, n := range names {
		a.Handle(n, func(c *app.Ctx) error { return nil })
	}
	a.SetLogger(discardLogger())
	if _, err := a.Build(); err != nil {
		t.Fatal(err)
	}
	order, err := a.DependencyOrder("GET", "/session")
	if err != nil || !reflect.DeepEqual(order, [][]string{{"config", "cache"}, {"pool"}, {"db"}, {"session"}}) {
		t.Fatalf("order %v %v", order, err)
	}
}

func TestBackgroundAfterResponseAndDrain(t *testing.T) {
	doc := `{"version": 1, "server": {"background_queue_size": 2, "background_workers": 1}, "routes": [
	  {"method": "POST", "path": "/events", "handler": "post"},
	  {"method": "POST", "path": "/many", "handler": "many"}]}`
	j := &journal{}
	release := make(chan struct{})
	var respondedAt, ranAt atomic.Int64
	s := serveDoc(t, doc, map[string]app.Handler{
		"post": func(c *app.Ctx) error {
			var ev struct{ Event string }
			_ = c.Bind(&ev)
			if err := c.Background(func() {
				ranAt.Store(time.Now().UnixNano())
				j.add("go " + ev.Event)
			}); err != nil {
				return err
			}
			if err := c.BackgroundCall("record", map[string]string{"event": ev.Event}); err != nil {
				return err
			}
			respondedAt.Store(time.Now().UnixNano())
			return c.NoContent(202)
		},
		"record": func(c *app.Ctx) error {
			k := c.Call()
			j.add(fmt.Sprintf("%s %s %s on %s %s", k.Kind, k.Name, k.Payload, c.Method(), c.URLPath()))
			return errors.New("logged, not fatal")
		},
		"many": func(c *app.Ctx) error {
			for i := range 3 {
				if err := c.Background(func() { <-release }); err != nil {
					return c.JSON(503, map[string]any{"queued": i, "error": err.Error()})
				}
			}
			return c.NoContent(202)
		},
	})
	if r := s.send(t, "POST", "/events", `{"event":"alpha"}`); r.status != 202 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := j.waitFor(t, 2)
	want := []string{"go alpha", `task record {"event":"alpha"} on POST /events`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if ranAt.Load() < respondedAt.Load() {
		t.Fatal("the task ran before the handler answered")
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(s.logText(), "logged, not fatal") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(s.logText(), "logged, not fatal") {
		t.Fatal("a task's failure is logged")
	}
	// The queue is bounded: 2 waiting (the worker is free, so one may
	// already run); the handler learns when it is full.
	r := s.send(t, "POST", "/many", "")
	if r.status != 503 || !strings.Contains(r.body, "queue full") {
		t.Fatalf("bounded: %d %s", r.status, r.body)
	}
	// Shutdown drains what is queued.
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
