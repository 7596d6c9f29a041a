package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
)

// buildsInCore checks that the plan's document builds in the core with
// every handler name the plan binds.
func buildsInCore(t *testing.T, p *Plan) {
	t.Helper()
	cfg, err := config.Parse(mustMarshal(t, p.Setup.App))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	a := app.New(*cfg)
	names, err := a.HandlerNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := p.Setup.Handlers[n]; !ok {
			t.Fatalf("the document uses handler %q, the plan has no spec for it", n)
		}
		a.Handle(n, func(*app.Ctx) error { return nil })
	}
	a.SetLogger(discard())
	if _, err := a.Build(); err != nil {
		t.Fatalf("Build: %v", err)
	}
}

func specJSON(s HandlerSpec) string { return string(mustJSONBytes(s)) }

func mustJSONBytes(v any) []byte { b, _ := json.Marshal(v); return b }

func TestLastRequestHookAnswers(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "GET", "middleware": {"lifecycle_hooks": {
	    "on_request": [{"name": "log", "handler": "log_it"}],
	    "pre_handler": [{"name": "a", "handler": "authn"}, {"name": "b", "handler": "authz"}]}}},
	  "request": {"method": "GET", "path": "/r"},
	  "expected_response": {"status_code": 403, "body": {"error": "Forbidden"}, "headers": {"X-Why": "role"}}}`)
	h := p.Setup.Handlers
	if specJSON(h["authz"]) != `{"status":403,"headers":{"X-Why":"role"},"body":{"error":"Forbidden"}}` {
		t.Fatalf("authz = %s", specJSON(h["authz"]))
	}
	for _, n := range []string{"log_it", "authn"} {
		if specJSON(h[n]) != `{"continue":true}` {
			t.Fatalf("%s = %s", n, specJSON(h[n]))
		}
	}
	if string(h["h0"].Body) != neutralBody {
		t.Fatalf("h0 = %s", specJSON(h["h0"]))
	}
	buildsInCore(t, p)
	// A problem document is the framework's: every hook continues.
	p = mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "POST", "body_schema": {"type": "object", "required": ["a"]},
	    "middleware": {"lifecycle_hooks": {"pre_handler": [{"handler": "authz"}]}}},
	  "request": {"method": "POST", "path": "/r", "body": {}},
	  "expected_response": {"status_code": 422, "body": {"type": "https://spikard.dev/errors/validation-error", "title": "t", "status": 422}}}`)
	if specJSON(p.Setup.Handlers["authz"]) != `{"continue":true}` {
		t.Fatalf("authz = %s", specJSON(p.Setup.Handlers["authz"]))
	}
}

func TestOnErrorAndOnResponseAssignment(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "GET", "middleware": {"lifecycle_hooks": {
	    "on_response": [{"handler": "sec"}, {"handler": "timer"}],
	    "on_error": [{"handler": "log_error"}, {"handler": "format_error"}]}}},
	  "request": {"method": "GET", "path": "/r"},
	  "expected_response": {"status_code": 500, "body": {"error": "x", "id": ".*"},
	    "headers": {"Content-Type": "application/json", "X-Response-Time": ".*ms", "X-Frame-Options": "DENY",
	                "X-Request-ID": ".*", "X-Gone": "<<absent>>"}}}`)
	h := p.Setup.Handlers
	if specJSON(h["h0"]) != `{"raise":true}` {
		t.Fatalf("h0 = %s", specJSON(h["h0"]))
	}
	if got := specJSON(h["format_error"]); got != `{"status":500,"body":{"error":"x","id":"x"},"content_type":"application/json"}` {
		t.Fatalf("format_error = %s", got)
	}
	if got := specJSON(h["timer"]); got != `{"headers":{"X-Frame-Options":"DENY","X-Response-Time":"xms"},"continue":true}` {
		t.Fatalf("timer = %s: the last on_response hook sets the application's headers", got)
	}
	if specJSON(h["sec"]) != `{"continue":true}` || specJSON(h["log_error"]) != `{"continue":true}` {
		t.Fatal("the other hooks continue")
	}
	buildsInCore(t, p)
}

func TestDependencyProvenance(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "GET",
	    "dependencies": {
	      "cfg":  {"type": "value", "value": {"app": {"name": "MyApp"}, "n": 3, "flag": true}},
	      "pool": {"type": "factory", "factory": "mk", "depends_on": ["cfg"], "singleton": true},
	      "ctx":  {"type": "factory", "factory": "mk_ctx", "depends_on": ["pool"], "cacheable": true},
	      "svc":  {"type": "async_factory", "factory": "mk_svc"}},
	    "handler_dependencies": ["cfg", "pool", "ctx", "svc"],
	    "middleware": {"lifecycle_hooks": {"on_request": [{"handler": "hook", "dependencies": ["cfg"]}]}}},
	  "request": {"method": "GET", "path": "/r"},
	  "expected_response": {"status_code": 200,
	    "headers": {"X-App": "MyApp"},
	    "body": {"name": "MyApp", "n": 3, "flag": true, "pool_id": "<<uuid>>", "again": "<<same_as:pool_id>>",
	             "ctx_id": "<<present>>", "status": "ok"}}}`)
	h := p.Setup.Handlers
	wantFill := map[string]string{"/name": "/dependencies/cfg/app/name", "/n": "/dependencies/cfg/n",
		"/pool_id": "/dependencies/pool", "/again": "/dependencies/pool", "/ctx_id": "/dependencies/ctx",
		"/status": "/dependencies/svc/status", "/flag": "/dependencies/svc/flag"}
	if !reflect.DeepEqual(h["h0"].Fill, wantFill) {
		t.Fatalf("h0.fill = %v\nwant %v", h["h0"].Fill, wantFill)
	}
	if h["mk"].Generate != "uuid" || h["mk_ctx"].Generate != "uuid" || string(h["mk_svc"].Body) != `{"flag":true,"status":"ok"}` {
		t.Fatalf("factories: %s %s %s", specJSON(h["mk"]), specJSON(h["mk_ctx"]), specJSON(h["mk_svc"]))
	}
	if !reflect.DeepEqual(h["mk_ctx"].Require, []string{"/dependencies/pool"}) {
		t.Fatalf("mk_ctx requires %v", h["mk_ctx"].Require)
	}
	if h["hook"].HeadersFrom["X-App"] != "/dependencies/cfg/app/name" || h["h0"].Headers["X-App"] != "" {
		t.Fatalf("X-App comes from the hook's dependency: hook %s, h0 %s", specJSON(h["hook"]), specJSON(h["h0"]))
	}
	var doc map[string]json.RawMessage
	_ = json.Unmarshal(mustMarshal(t, p.Setup.App), &doc)
	if !strings.HasPrefix(string(doc["dependencies"]), `{"cfg":`) {
		t.Fatalf("app dependencies %s (declaration order kept)", doc["dependencies"])
	}
	buildsInCore(t, p)
}

func TestBackgroundAndCleanupPlans(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/ev", "method": "POST"},
	  "request": {"method": "POST", "path": "/ev", "body": {"event": "a"}},
	  "expected_response": {"status_code": 202},
	  "background": {"state_path": "/ev", "state_key": "events", "value_field": "event", "expected_state": ["a"]}}`)
	h0 := p.Setup.Handlers["h0"]
	if h0.Background == nil || h0.Background.State != "events" || h0.Background.From != "/body/event" || h0.Status != 202 {
		t.Fatalf("h0 = %s", specJSON(h0))
	}
	routes := p.Setup.App.Routes
	if len(routes) != 2 || routes[1].Method != "GET" || routes[1].Path != "/ev" || p.Setup.Handlers[routes[1].Handler].State != "events" {
		t.Fatalf("routes %+v", routes)
	}
	if len(p.Checks) != 1 || string(p.Checks[0].Want) != `{"events":["a"]}` {
		t.Fatalf("checks %+v", p.Checks)
	}
	buildsInCore(t, p)

	p = mustPlan(t, `{"name": "n",
	  "handler": {"route": "/c", "method": "GET",
	    "dependencies": {
	      "b": {"type": "factory", "factory": "open_b", "depends_on": ["a"], "cleanup": true},
	      "a": {"type": "factory", "factory": "open_a", "cleanup": true},
	      "c": {"type": "factory", "factory": "open_c", "depends_on": ["b"]}},
	    "handler_dependencies": ["c"]},
	  "request": {"method": "GET", "path": "/c"},
	  "expected_response": {"status_code": 200, "body": {"ok": true}},
	  "background": {"state_path": "/log", "state_key": "ev", "value_field": "x",
	                 "expected_state": ["a+", "b+", "b-", "a-"]}}`)
	h := p.Setup.Handlers
	if specJSON(h["open_a"]) != `{"record":[{"state":"ev","value":"a+"}],"cleanup_record":[{"state":"ev","value":"a-"}],"generate":"uuid"}` ||
		specJSON(h["open_b"]) != `{"require":["/dependencies/a"],"record":[{"state":"ev","value":"b+"}],"cleanup_record":[{"state":"ev","value":"b-"}],"generate":"uuid"}` {
		t.Fatalf("cleanup specs: %s / %s", specJSON(h["open_a"]), specJSON(h["open_b"]))
	}
	if h["h0"].Background != nil {
		t.Fatal("cleanup events are the factories', not a background task's")
	}
	buildsInCore(t, p)
	// Wrong number of events for the cleanups: the scenario cannot be run.
	_, err := planScenario(scenario(t, "di/x.json", `{"name": "n",
	  "handler": {"route": "/c", "method": "GET", "dependencies": {"a": {"type": "factory", "factory": "f", "cleanup": true}},
	    "handler_dependencies": ["a"]},
	  "request": {"method": "GET", "path": "/c"}, "expected_response": {"status_code": 200},
	  "background": {"state_path": "/log", "state_key": "ev", "value_field": "x", "expected_state": ["only one"]}}`))
	if err == nil || !strings.Contains(err.Error(), "2 state events each") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolutionOrderCheck(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "GET",
	    "dependencies": {"cfg": {"type": "value", "value": 1},
	      "db": {"type": "factory", "factory": "f_db", "depends_on": ["cfg"]},
	      "cache": {"type": "factory", "factory": "f_cache", "depends_on": ["cfg"]},
	      "svc": {"type": "factory", "factory": "f_svc", "depends_on": ["db", "cache"]}},
	    "handler_dependencies": ["svc"]},
	  "request": {"method": "GET", "path": "/r"},
	  "expected_response": {"status_code": 200, "dependency_resolution_order": [["cfg"], ["db", "cache"], ["svc"]]}}`)
	if len(p.Checks) != 1 || p.Checks[0].Path != resolutionPath {
		t.Fatalf("checks %+v", p.Checks)
	}
	for _, n := range []string{"f_db", "f_cache", "f_svc"} {
		if r := p.Setup.Handlers[n].Record; len(r) != 1 || r[0].State != resolutionState || r[0].Value != nil {
			t.Fatalf("%s records %+v", n, r)
		}
	}
	chk := p.Checks[0]
	for body, ok := range map[string]bool{
		`{"__resolution":["db","cache","svc"]}`:       true,
		`{"__resolution":["cache","db","svc"]}`:       true, // any order within a level
		`{"__resolution":["db","svc","cache"]}`:       false,
		`{"__resolution":["db","cache"]}`:             false,
		`{"__resolution":["db","cache","svc","svc"]}`: false,
	} {
		if d := chk.diff([]byte(body)); (d == "") != ok {
			t.Errorf("%s: diff %q", body, d)
		}
	}
	buildsInCore(t, p)
}

func TestRenamesConflictingSpecs(t *testing.T) {
	p := mustPlan(t, `{"name": "n",
	  "handler": {"route": "/r", "method": "GET",
	    "dependencies": {"one": {"type": "factory", "factory": "h0"},
	                     "two": {"type": "factory", "factory": "make", "depends_on": ["one"]},
	                     "three": {"type": "factory", "factory": "make"}},
	    "handler_dependencies": ["two", "three"]},
	  "request": {"method": "GET", "path": "/r"},
	  "expected_response": {"status_code": 200, "body": {"a": "<<uuid>>"}}}`)
	var doc struct {
		Dependencies map[string]struct{ Factory string }
	}
	_ = json.Unmarshal(mustMarshal(t, p.Setup.App), &doc)
	if doc.Dependencies["one"].Factory != "h0~2" || doc.Dependencies["two"].Factory != "make" || doc.Dependencies["three"].Factory != "make~2" {
		t.Fatalf("factories %+v", doc.Dependencies)
	}
	buildsInCore(t, p)
}

func TestRegexExample(t *testing.T) {
	for _, p := range []string{`.*`, `.*ms`, `^\d+(\.\d+)?ms$`, `[a-f0-9]{8}`, `(foo|bar)-\w+`, `.+@example\.com`} {
		ex, ok := regexExample(p)
		if !ok || !regexp.MustCompile(`^(?:`+p+`)$`).MatchString(ex) {
			t.Errorf("%s: %q %v", p, ex, ok)
		}
	}
}

func TestBodyTokens(t *testing.T) {
	resp := func(body string) *Response {
		return &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	want := json.RawMessage(`{"id":"<<uuid>>","again":"<<same_as:id>>","any":"<<present>>","err":".*","t":".+ms"}`)
	ok := `{"id":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","again":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","any":[1],"err":"","t":"12ms"}`
	if d := compareBody(want, resp(ok)); d != "" {
		t.Fatal(d)
	}
	for _, bad := range []string{
		`{"id":"nope","again":"nope","any":1,"err":"","t":"1ms"}`,
		`{"id":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","again":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f01","any":1,"err":"","t":"1ms"}`,
		`{"id":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","again":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","err":"","t":"1ms"}`,
		`{"id":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","again":"0b9e4a9e-2c2f-4c1e-9a57-1d3c2b1a0f00","any":1,"err":"","t":"ms"}`,
	} {
		if d := compareBody(want, resp(bad)); d == "" {
			t.Errorf("%s: want a difference", bad)
		}
	}
	// Texts with ^, $, [ or \d are not patterns in bodies.
	if d := compareBody(json.RawMessage(`{"msg":"String should match pattern '^[a-z]+$'"}`), resp(`{"msg":"abc"}`)); d == "" {
		t.Fatal("a pattern quoted in a message is text")
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
