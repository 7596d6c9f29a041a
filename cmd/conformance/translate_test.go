package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/config"
)

func scenario(t *testing.T, file, js string) *Scenario {
	t.Helper()
	s := &Scenario{Label: "fx", File: file, Name: file}
	s.Category, _, _ = strings.Cut(file, "/")
	return parseScenario(s, []byte(js))
}

func mustPlan(t *testing.T, js string) *Plan {
	t.Helper()
	p, err := planScenario(scenario(t, "cat/x.json", js))
	if err != nil {
		t.Fatalf("planScenario: %v", err)
	}
	return p
}

func TestTranslateConfigDocument(t *testing.T) {
	p := mustPlan(t, `{
		"name": "n", "description": "d", "source": {"framework": "fastapi"}, "tags": ["a"],
		"handler": {
			"route": "/items/{id:int}", "method": "post",
			"parameters": {"query": {"q": {"type": "string", "annotation": "str", "optional": true}, "a": {"type": "integer"}},
			               "headers": {"X-Key": {"type": "string", "required": true}},
			               "cookies": {"s": {"type": "string"}}},
			"body_schema": {"type": "object", "required": ["name"]},
			"response_schema": {"type": "object"},
			"content_type": "application/json",
			"max_body_size": 1024,
			"max_nesting_depth": 32,
			"middleware": {"request_timeout": {"seconds": 1, "sleep_ms": 1500}}
		},
		"request": {"method": "POST", "path": "/items/1", "body": {"name": "x"}},
		"expected_response": {"status_code": 201, "body": {"name": "x"}}
	}`)
	doc, err := json.Marshal(p.Setup.App)
	if err != nil {
		t.Fatal(err)
	}
	// The document is one the core reads.
	app, err := config.Parse(doc)
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, doc)
	}
	r := app.Routes[0]
	if r.Method != "POST" || r.Path != "/items/{id:int}" || r.Handler != "h0" || r.MaxBodyBytes != 1024 ||
		r.ContentType != "application/json" || app.Server.MaxJSONDepth != 32 {
		t.Fatalf("route %+v server %+v", r, app.Server)
	}
	// Parameters go over as declared, member order included.
	if len(r.Parameters.Query) != 2 || r.Parameters.Query[0].Name != "q" || r.Parameters.Query[0].Required ||
		r.Parameters.Query[1].Name != "a" || !r.Parameters.Query[1].Required ||
		len(r.Parameters.Headers) != 1 || len(r.Parameters.Cookies) != 1 {
		t.Fatalf("parameters %+v", r.Parameters)
	}
	if !strings.Contains(string(doc), `"parameters":{"query":{"q":{"type":"string","annotation":"str","optional":true}`) {
		t.Fatalf("parameters not passed as declared: %s", doc)
	}
	if string(r.BodySchema) != `{"type":"object","required":["name"]}` || string(r.ResponseSchema) != `{"type":"object"}` {
		t.Fatalf("schemas %s %s", r.BodySchema, r.ResponseSchema)
	}
	h := p.Setup.Handlers["h0"]
	if h.Status != 201 || string(h.Body) != `{"name":"x"}` || h.SleepMS != 1500 || h.Echo || h.Raise {
		t.Fatalf("handler %+v", h)
	}
}

func TestHandlerBehaviour(t *testing.T) {
	base := `{"name":"n","handler":{"route":"/r","method":"GET"%s},"request":{"method":"GET","path":"/r"},"expected_response":%s}`
	plan := func(handlerExtra, expected string) HandlerSpec {
		t.Helper()
		return mustPlan(t, strings.Replace(strings.Replace(base, "%s", handlerExtra, 1), "%s", expected, 1)).Setup.Handlers["h0"]
	}

	// The handler answers what is expected, minus framework-owned headers;
	// content-type becomes the handler's content type.
	h := plan("", `{"status_code":307,"body":{},"headers":{"location":"/t","Content-Length":"2","X-Time":".*ms","X-Id":"<<uuid>>","content-type":"application/json"}}`)
	if h.Status != 307 || string(h.Body) != `{}` || len(h.Headers) != 1 || h.Headers["location"] != "/t" || h.ContentType != "application/json" {
		t.Fatalf("handler %+v", h)
	}
	// A string body with a non-JSON content type is sent raw.
	h = plan("", `{"status_code":200,"body":"a,b\n1,2","headers":{"content-type":"text/csv"}}`)
	if h.BodyRaw == nil || *h.BodyRaw != "a,b\n1,2" || h.Body != nil || h.ContentType != "text/csv" {
		t.Fatalf("handler %+v", h)
	}
	// Without a content type a string body is JSON.
	h = plan("", `{"status_code":200,"body":"foo bar 42"}`)
	if h.BodyRaw != nil || string(h.Body) != `"foo bar 42"` {
		t.Fatalf("handler %+v", h)
	}
	// No body expected: none sent.
	h = plan("", `{"status_code":204}`)
	if h.Status != 204 || h.Body != nil || h.BodyRaw != nil {
		t.Fatalf("handler %+v", h)
	}
	// Expected cookies are set by the handler.
	h = plan("", `{"status_code":200,"body":{"m":1},"cookies":{"s":{"value":"v","httponly":true}}}`)
	if len(h.SetCookies) != 1 || h.SetCookies[0] != "s=v; HttpOnly" {
		t.Fatalf("handler %+v", h)
	}
	// Answers the framework owns are not produced by the handler.
	for _, exp := range []string{
		`{"status_code":422,"body":{"type":"https://spikard.dev/errors/validation-error","title":"t","status":422,"errors":[]}}`,
		`{"status_code":400,"body":{"detail":"Invalid request format"}}`,
		`{"status_code":413}`,
		`{"status_code":415,"body":{"type":"x","title":"y","status":415}}`,
		`{"status_code":404,"body":{"type":"https://spikard.dev/errors/not-found","title":"Not Found","status":404}}`,
	} {
		h = plan("", exp)
		if h.Status != 200 || string(h.Body) != neutralBody || h.Raise || len(h.Headers) != 0 {
			t.Fatalf("%s: handler %+v", exp, h)
		}
	}
	// A handler's own 404 is the handler's.
	h = plan("", `{"status_code":404,"body":{"detail":"Item not found"}}`)
	if h.Status != 404 || string(h.Body) != `{"detail":"Item not found"}` {
		t.Fatalf("handler %+v", h)
	}
	// 500: the handler fails and the core renders the error.
	h = plan("", `{"status_code":500,"body":{"type":"https://spikard.dev/errors/internal-server-error","title":"Internal Server Error","status":500}}`)
	if !h.Raise || h.Body != nil {
		t.Fatalf("handler %+v", h)
	}
	// raise: asked for explicitly (the project's own fixtures).
	h = plan(`,"raise":true`, `{"status_code":500}`)
	if !h.Raise {
		t.Fatalf("handler %+v", h)
	}
	// echo: the handler answers the validated values.
	h = plan(`,"echo":true`, `{"status_code":201,"body":{"query":{"a":1}}}`)
	if !h.Echo || h.Status != 201 || h.Body != nil {
		t.Fatalf("handler %+v", h)
	}
	h = plan(`,"echo":true`, `{"status_code":422,"body":{}}`)
	if !h.Echo || h.Status != 200 {
		t.Fatalf("handler %+v", h)
	}
}

func TestUnsupportedShapes(t *testing.T) {
	for name, js := range map[string]string{
		"no request":        `{"name":"n","handler":{"route":"/","method":"GET"},"expected_response":{"status_code":200}}`,
		"not an object":     `[1,2]`,
		"not JSON":          `{`,
		"handler feature":   `{"name":"n","handler":{"route":"/","method":"GET","health_check":{}},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200}}`,
		"request feature":   `{"name":"n","handler":{"route":"/","method":"GET"},"request":{"method":"GET","path":"/","graphql":{}},"expected_response":{"status_code":200}}`,
		"expected feature":  `{"name":"n","handler":{"route":"/","method":"GET"},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200,"graphql":{}}}`,
		"top-level feature": `{"name":"n","streaming":{},"handler":{"route":"/","method":"GET"},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200}}`,
		"grpc status":       `{"name":"n","handler":{"route":"/","method":"GET"},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":"OK"}}`,
		"bad route":         `{"name":"n","handler":{"route":"x","method":"GET"},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200}}`,
	} {
		_, err := planScenario(scenario(t, "cat/x.json", js))
		if err == nil || !strings.HasPrefix(err.Error(), "unsupported scenario shape") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSkipList(t *testing.T) {
	l, err := parseSkipList([]byte(`[{"category":"graphql","reason":"r1"},{"file":"./json_bodies/x.json","reason":"r2"},{"category":"json_bodies","reason":"r3"}]`))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"graphql/a/b.json": "r1", "json_bodies/x.json": "r2", "json_bodies/y.json": "r3", "other/x.json": ""} {
		s := scenario(t, file, `{}`)
		got, ok := l.match(s)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", file, got, ok, want)
		}
	}
	for _, bad := range []string{`[{"reason":"r"}]`, `[{"category":"a","file":"b","reason":"r"}]`, `[{"category":"a"}]`, `{}`} {
		if _, err := parseSkipList([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// The project's skip list parses and names only categories or files that
// exist in the corpus when it is present.
func TestProjectSkipList(t *testing.T) {
	l, err := loadSkipList("skip.json")
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join("..", "..", "..", "shared", "peer-fixtures", "spikard")
	if !exists(corpus) {
		t.Skip("peer corpus not present")
	}
	own := filepath.Join("..", "..", "fixtures")
	for _, e := range l.entries {
		rel := filepath.FromSlash(e.Category + e.File)
		if !exists(filepath.Join(corpus, rel)) && !exists(filepath.Join(own, rel)) {
			t.Errorf("skip entry %s%s: no such category or file in the corpus or fixtures/", e.Category, e.File)
		}
	}
}

// Every scenario of the peer corpus (when present) that is not skipped
// translates: shape failures there are bugs of the runner or features to
// add, and are listed here.
func TestCorpusTranslates(t *testing.T) {
	corpus := filepath.Join("..", "..", "..", "shared", "peer-fixtures", "spikard")
	if !exists(corpus) {
		t.Skip("peer corpus not present")
	}
	l, err := loadSkipList("skip.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := discover(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var planned, unsupported int
	for _, f := range files {
		s := loadScenario(corpus, f)
		if _, skip := l.match(s); skip {
			continue
		}
		p, err := planScenario(s)
		if err != nil {
			unsupported++
			t.Logf("%s: %v", f, err)
			continue
		}
		planned++
		if _, err := config.Parse(mustMarshal(t, p.Setup.App)); err != nil {
			t.Errorf("%s: the configuration document does not parse: %v", f, err)
		}
	}
	t.Logf("%d scenarios planned, %d unsupported", planned, unsupported)
	if planned == 0 {
		t.Fatal("nothing planned")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestResponseOnlyScenario(t *testing.T) {
	doc := `{"name":"n","request":{"method":"GET","path":"/old?x=1"},"expected_response":{"status_code":403,"body":{"detail":"no"},"headers":{"location":"/new"}}}`
	s := parseScenario(&Scenario{File: "status_codes/x.json"}, []byte(doc))
	p, err := planScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Setup.App.Routes[0]
	h := p.Setup.Handlers["h0"]
	if r.Path != "/old" || r.Method != "GET" || h.Status != 403 || string(h.Body) != `{"detail":"no"}` || h.Headers["location"] != "/new" {
		t.Fatalf("route %+v handler %+v", r, h)
	}
}
