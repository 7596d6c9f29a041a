package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	valconfig "github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/openapi"
)

// The apps that the conformance runner (cmd/conformance) builds for the
// HTTP scenarios of our fixtures (fixtures/) and of the peer corpus
// (../shared/peer-fixtures/spikard) each get a document that libopenapi
// validates with no error.
//
// The scenario's handler maps onto one route as cmd/conformance's
// translateRoute does (route, method, parameters, body_schema,
// response_schema, content_type, max_body_size, middleware, security,
// operation_id, summary, description, tags; cors and static_files move to
// the app's middleware); a scenario without a handler gets a route at its
// request's method and path. Event-stream and WebSocket scenarios get a GET
// route at their channel with their "sse" / "websocket" options, as
// cmd/conformance's planAsync builds it. Hooks and dependencies are left
// out: they add no operation of their own.
func TestConformanceAppsDocumentsValidate(t *testing.T) {
	root := filepath.Join("..", "..")
	corpora := []struct {
		dir      string
		optional bool
	}{
		{filepath.Join(root, "fixtures"), false},
		{filepath.Join(root, "..", "shared", "peer-fixtures", "spikard"), true},
	}
	for _, c := range corpora {
		if _, err := os.Stat(c.dir); err != nil {
			if c.optional {
				t.Logf("%s: absent, skipped", c.dir)
				continue
			}
			t.Fatal(err)
		}
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			files, err := scenarioFiles(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			var validated, distinct, notHTTP, rejected int
			seen := map[string]string{}
			for _, rel := range files {
				raw, err := os.ReadFile(filepath.Join(c.dir, rel))
				if err != nil {
					t.Fatal(err)
				}
				category, _, _ := strings.Cut(rel, "/")
				doc, ok, err := conformanceApp(raw, category)
				if err != nil {
					t.Errorf("%s: %v", rel, err)
					continue
				}
				if !ok {
					notHTTP++
					continue
				}
				app, err := config.Parse(doc)
				if err != nil {
					// The core refuses the document too: no app, no document.
					rejected++
					t.Logf("%s: config rejected: %v", rel, err)
					continue
				}
				spec, err := openapi.Generate(*app, openapi.Options{Title: "conformance"})
				if err != nil {
					t.Errorf("%s: Generate: %v\n%s", rel, err, doc)
					continue
				}
				// Many scenarios share their app (same route, other request):
				// each distinct document is validated once.
				if _, dup := seen[string(spec)]; dup {
					validated++
					continue
				}
				seen[string(spec)] = rel
				distinct++
				if problems := fastProblems(t, spec); len(problems) > 0 {
					t.Errorf("%s: %d problems:\n  %s\nconfig: %s", rel, len(problems), strings.Join(problems, "\n  "), doc)
					continue
				}
				validated++
			}
			t.Logf("%s: %d scenario files, %d documents validated (%d distinct), %d without an app (not HTTP, SSE or WebSocket scenarios), %d configs rejected",
				c.dir, len(files), validated, distinct, notHTTP, rejected)
			if validated == 0 {
				t.Error("no document validated")
			}
		})
	}
}

// scenarioFiles lists the scenario files of a fixtures folder as
// cmd/conformance discovers them: *.json inside the category folders, except
// schema.json and dot-folders.
func scenarioFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		top := filepath.Join(dir, e.Name())
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != top && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".json") && d.Name() != "schema.json" {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// conformanceApp builds the configuration document of a scenario's app; ok
// is false for files the runner builds no app for (schema documents, JSON-RPC
// and other protocols).
func conformanceApp(raw []byte, category string) (doc []byte, ok bool, err error) {
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil || all == nil {
		return nil, false, nil
	}
	var s struct {
		Handler  map[string]json.RawMessage `json:"handler"`
		Request  map[string]json.RawMessage `json:"request"`
		Expected json.RawMessage            `json:"expected_response"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return nil, false, nil
	}
	if isAsyncScenario(all) {
		return asyncApp(all, category)
	}
	if s.Request == nil {
		return nil, false, nil
	}
	h := s.Handler
	if h == nil {
		// A response-only scenario: its request's method and path.
		var path string
		if json.Unmarshal(s.Request["path"], &path) != nil || s.Request["method"] == nil || s.Expected == nil {
			return nil, false, nil
		}
		path, _, _ = strings.Cut(path, "?")
		p, _ := json.Marshal(path)
		h = map[string]json.RawMessage{"route": p, "method": s.Request["method"]}
	}
	if h["route"] == nil {
		return nil, false, nil
	}
	route := map[string]json.RawMessage{"handler": json.RawMessage(`"h0"`)}
	appMW := map[string]json.RawMessage{}
	for k, v := range h {
		if isJSONNull(v) {
			continue
		}
		switch k {
		case "route":
			route["path"] = v
		case "method":
			var m string
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, false, err
			}
			route["method"], _ = json.Marshal(strings.ToUpper(m))
		case "parameters", "body_schema", "response_schema", "content_type", "max_body_size",
			"security", "operation_id", "summary", "description", "tags":
			route[k] = v
		case "middleware":
			var mw map[string]json.RawMessage
			if err := json.Unmarshal(v, &mw); err != nil {
				return nil, false, err
			}
			if sf, has := mw["static_files"]; has {
				appMW["static_files"] = sf
				delete(mw, "static_files")
			}
			if len(mw) > 0 {
				// Keep the member order: re-encode only when something moved.
				if _, moved := appMW["static_files"]; moved {
					v, _ = json.Marshal(mw)
				}
				route["middleware"] = v
			}
		case "cors":
			appMW["cors"] = v
		}
	}
	app := map[string]any{
		"version": 1,
		"server":  map[string]any{"host": "127.0.0.1"},
		"routes":  []any{route},
	}
	if len(appMW) > 0 {
		app["middleware"] = appMW
	}
	doc, err = json.Marshal(app)
	return doc, err == nil, err
}

// isAsyncScenario tells event-stream and WebSocket scenarios (the AsyncAPI
// message shape) as cmd/conformance does.
func isAsyncScenario(doc map[string]json.RawMessage) bool {
	if _, ok := doc["protocol"]; ok {
		return true
	}
	if _, ok := doc["handler"]; ok {
		return false
	}
	for _, k := range []string{"channel", "schema", "examples"} {
		if _, ok := doc[k]; ok {
			return true
		}
	}
	return false
}

// asyncApp is the app of an event-stream or WebSocket scenario: a GET route
// at the channel with the scenario's parameters and its "sse" or
// "websocket" options (the message schema joining them).
func asyncApp(doc map[string]json.RawMessage, category string) ([]byte, bool, error) {
	var protocol string
	if raw, ok := doc["protocol"]; ok {
		if err := json.Unmarshal(raw, &protocol); err != nil {
			return nil, false, err
		}
		protocol = strings.ToLower(protocol)
	} else {
		switch category {
		case "sse":
			protocol = "sse"
		case "websockets", "websocket":
			protocol = "websocket"
		}
	}
	var key, schemaKey string
	switch protocol {
	case "sse":
		key, schemaKey = "sse", "event_schema"
	case "websocket", "ws", "wss":
		key, schemaKey = "websocket", "message_schema"
	default:
		return nil, false, nil
	}
	var channel string
	if raw, ok := doc["channel"]; ok {
		_ = json.Unmarshal(raw, &channel)
	} else if raw, ok := doc["name"]; ok {
		var name string
		_ = json.Unmarshal(raw, &name)
		if name != "" && !strings.ContainsAny(name, "/{}? ") {
			channel = "/" + name
		}
	}
	if !strings.HasPrefix(channel, "/") {
		return nil, false, nil // the runner reports the scenario's shape
	}
	opts := map[string]json.RawMessage{}
	if raw, ok := doc[key]; ok && !isJSONNull(raw) {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, false, err
		}
	}
	if raw, ok := doc["schema"]; ok && !isJSONNull(raw) {
		if _, has := opts[schemaKey]; !has {
			opts[schemaKey] = raw
		}
	}
	route := map[string]any{"method": "GET", "path": channel, "handler": "h0", key: opts}
	if raw, ok := doc["parameters"]; ok && !isJSONNull(raw) {
		route["parameters"] = raw
	}
	out, err := json.Marshal(map[string]any{
		"version": 1,
		"server":  map[string]any{"host": "127.0.0.1"},
		"routes":  []any{route},
	})
	return out, err == nil, err
}

func isJSONNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}

// The fast checks must be able to fail too.
func TestFastProblemsCatchBrokenDocuments(t *testing.T) {
	raw, _ := generate(t, parse(t, richDoc))
	for name, broken := range map[string][]byte{
		"dangling reference": bytes.Replace(raw, []byte(`"#/components/schemas/NewUser"`), []byte(`"#/components/schemas/Nope"`), 1),
		"bad parameter":      bytes.Replace(raw, []byte(`"in": "cookie"`), []byte(`"in": "body"`), 1),
		"no responses":       bytes.Replace(raw, []byte(`"responses": {`), []byte(`"responsez": {`), 1),
	} {
		if bytes.Equal(broken, raw) {
			t.Fatalf("%s: nothing replaced", name)
		}
		if len(fastProblems(t, broken)) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
	if p := fastProblems(t, raw); len(p) > 0 {
		t.Errorf("the rich document: %v", p)
	}
}

// fastProblems makes the checks of libopenapiProblems with the OpenAPI 3.1
// meta-schema compiled once for all documents (compiling it is most of the
// cost of ValidateDocument).
func fastProblems(t *testing.T, spec []byte) (problems []string) {
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		add("libopenapi: %v", err)
		return
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		add("libopenapi reads version %q", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		add("libopenapi model: %v", err)
	}
	if model == nil {
		return
	}
	for _, e := range model.Index.GetReferenceIndexErrors() {
		add("reference error: %v", e)
	}
	for _, e := range model.Index.GetResolver().GetResolvingErrors() {
		add("resolving error: %v", e)
	}
	// NewValidator compiles every schema of the document with libopenapi's
	// JSON Schema compiler. It is half the cost, and ten times more under
	// the race detector, where it is left out: Generate has compiled every
	// schema already (core/validate), and the race detector finds nothing in
	// this single-goroutine check.
	if !raceDetector {
		if _, errs := validator.NewValidator(doc); len(errs) > 0 {
			add("validator: %v", errs)
			return
		}
	}
	metaOnce.Do(func() {
		meta, metaErr = helpers.NewCompiledSchema("schema", []byte(doc.GetSpecInfo().APISchema), valconfig.NewValidationOptions())
	})
	if metaErr != nil {
		t.Fatalf("compile the OpenAPI 3.1 schema: %v", metaErr)
	}
	ok, verrs := schema_validation.ValidateOpenAPIDocumentWithPrecompiled(doc, meta)
	for _, e := range verrs {
		add("OpenAPI 3.1 schema: %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			add("  at %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
		}
	}
	if !ok && len(verrs) == 0 {
		add("document reported invalid without errors")
	}
	return problems
}

var (
	metaOnce sync.Once
	meta     *jsonschema.Schema
	metaErr  error
)
