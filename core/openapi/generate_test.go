package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"gopkg.in/yaml.v3"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/openapi"
)

// richDoc exercises every parameter source, every body media type,
// response schemas with $defs and recursion, shared titled schemas, both
// authentication middlewares (app-wide and per route), rate limiting and
// timeouts.
const richDoc = `{
  "version": 1,
  "middleware": {"rate_limit": {"per_second": 5, "burst": 10}, "request_id": {}},
  "routes": [
    {"method": "GET", "path": "/users/{id:int}", "handler": "h",
     "summary": "Get a user", "description": "Returns one user.", "tags": ["users"],
     "parameters": {
       "path": {"id": {"minimum": 1, "description": "User id"}},
       "query": {
         "fields": {"type": "array", "items": {"type": "string", "enum": ["name", "email"]}, "separator": ",", "optional": true},
         "limit": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
         "q": {"type": "string", "optional": true, "deprecated": true}
       },
       "headers": {"x_request_id": {"type": "string", "format": "uuid", "optional": true}},
       "cookies": {"session": {"type": "string", "minLength": 8, "optional": true}}
     },
     "response_schema": {"$ref": "#/$defs/User", "$defs": {
       "User": {"title": "User", "type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "address": {"$ref": "#/$defs/Address"}}},
       "Address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}
     }},
     "middleware": {"jwt_auth": {"secret": "s3cret-s3cret-s3cret-s3cret-1234", "required_claims": ["role"]}}},

    {"method": "POST", "path": "/users", "handler": "h", "operation_id": "createUser", "tags": ["users"],
     "body_schema": {"title": "NewUser", "type": "object", "required": ["name"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"},
                                    "address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}}},
     "response_schema": {"title": "User", "type": "object", "required": ["id", "name"],
                         "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
     "middleware": {"api_key_auth": {"keys": ["k1"]}}},

    {"method": "PUT", "path": "/users/:id", "handler": "h", "tags": ["users"],
     "body_schema": {"title": "NewUser", "type": "object", "required": ["name"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"},
                                    "address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}}}},

    {"method": "POST", "path": "/login", "handler": "h", "content_type": "application/x-www-form-urlencoded",
     "body_schema": {"type": "object", "required": ["username", "password"],
                     "properties": {"username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}, "remember": {"type": "boolean", "default": false}}}},

    {"method": "POST", "path": "/uploads", "handler": "h",
     "body_schema": {"type": "object", "required": ["file"],
                     "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}},

    {"method": "POST", "path": "/avatars/{user_id:uuid}", "handler": "h",
     "parameters": {"files": {"avatar": {"required": true, "content_type": ["image/png", "image/jpeg"], "max_size": 1048576},
                              "thumbnail": {"required": false}}}},

    {"method": "POST", "path": "/documents", "handler": "h",
     "body_schema": {"type": "object", "properties": {"note": {"type": "string"}}},
     "parameters": {"files": {"doc": {"required": true, "content_type": ["application/pdf"]}}}},

    {"method": "PUT", "path": "/blobs/{key:path}", "handler": "h", "content_type": "application/octet-stream", "max_body_size": 1048576},

    {"method": "POST", "path": "/notes", "handler": "h", "content_type": "text/plain; charset=utf-8",
     "body_schema": {"type": "string", "maxLength": 1000}},

    {"method": "GET", "path": "/tree", "handler": "h",
     "response_schema": {"title": "Node", "type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}},

    {"method": "DELETE", "path": "/items/{id}", "handler": "h",
     "middleware": {"api_key_auth": {"keys": ["k"], "header_name": "X-Key", "query_param": ["key", "token"]},
                    "jwt_auth": {"secret": "s3cret-s3cret-s3cret-s3cret-1234"},
                    "request_timeout": {"seconds": 2}}},

    {"method": "GET", "path": "/", "handler": "h", "response_schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    {"method": "HEAD", "path": "/health", "handler": "h"},
    {"method": "OPTIONS", "path": "/health", "handler": "h"},
    {"method": "GET", "path": "/a-b", "handler": "h"},
    {"method": "GET", "path": "/a_b", "handler": "h"},
    {"method": "PATCH", "path": "/settings", "handler": "h",
     "body_schema": {"type": "object", "properties": {"theme": {"enum": ["light", "dark"]}}, "additionalProperties": false}},
    {"method": "GET", "path": "/search", "handler": "h",
     "parameters": {"query": {
       "tag": {"type": "array", "items": {"type": "string"}, "separator": "|", "optional": true},
       "word": {"type": "array", "items": {"type": "string"}, "separator": " ", "optional": true},
       "id": {"type": "array", "items": {"type": "integer"}, "optional": true}
     }}}
  ]
}`

var richOpts = openapi.Options{
	Title: "Rich", Version: "1.2.3", Description: "Everything the generator knows.",
	Servers: []openapi.Server{{URL: "http://127.0.0.1:8000", Description: "local"}},
}

func parse(t testing.TB, doc string) config.App {
	t.Helper()
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

func generate(t testing.TB, app config.App) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := openapi.Generate(app, richOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return raw, doc
}

// at walks a decoded document: at(doc, "paths", "/users/{id}", "get").
func at(t testing.TB, v any, keys ...any) any {
	t.Helper()
	for i, k := range keys {
		switch kk := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object", keys[:i+1])
			}
			if v, ok = m[kk]; !ok {
				t.Fatalf("at %v: missing (have %v)", keys[:i+1], mapKeys(m))
			}
		case int:
			l, ok := v.([]any)
			if !ok || kk >= len(l) {
				t.Fatalf("at %v: not an array or too short", keys[:i+1])
			}
			v = l[kk]
		}
	}
	return v
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func param(t *testing.T, op any, in, name string) map[string]any {
	t.Helper()
	for _, p := range at(t, op, "parameters").([]any) {
		pm := p.(map[string]any)
		if pm["in"] == in && pm["name"] == name {
			return pm
		}
	}
	t.Fatalf("no %s parameter %q", in, name)
	return nil
}

func jsonEq(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s:\n got %s\nwant %s", what, g, want)
	}
}

func TestRichDocumentIsValidOpenAPI31(t *testing.T) {
	app := parse(t, richDoc)
	raw, _ := generate(t, app)
	validateWithLibopenapi(t, raw)

	y, err := openapi.GenerateYAML(app, richOpts)
	if err != nil {
		t.Fatal(err)
	}
	validateWithLibopenapi(t, y)
	// The YAML form is the same document.
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Error("YAML and JSON documents differ")
	}
	if !bytes.HasPrefix(y, []byte("openapi: 3.1.0\n")) {
		t.Errorf("YAML starts with %q", y[:40])
	}
}

// validateWithLibopenapi checks the document against the OpenAPI 3.1
// schema (libopenapi-validator) and builds libopenapi's model, which
// resolves every reference.
func validateWithLibopenapi(t *testing.T, spec []byte) {
	t.Helper()
	for _, p := range libopenapiProblems(spec) {
		t.Error(p)
	}
}

func libopenapiProblems(spec []byte) (problems []string) {
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
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		add("validator: %v", errs)
		return
	}
	ok, verrs := v.ValidateDocument()
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

// The checks above must be able to fail.
func TestLibopenapiCatchesBrokenDocuments(t *testing.T) {
	raw, _ := generate(t, parse(t, richDoc))
	for name, broken := range map[string][]byte{
		"dangling reference": bytes.Replace(raw, []byte(`"#/components/schemas/NewUser"`), []byte(`"#/components/schemas/Nope"`), 1),
		"bad parameter":      bytes.Replace(raw, []byte(`"in": "cookie"`), []byte(`"in": "body"`), 1),
		"no responses":       bytes.Replace(raw, []byte(`"responses": {`), []byte(`"responsez": {`), 1),
	} {
		if bytes.Equal(broken, raw) {
			t.Fatalf("%s: nothing replaced", name)
		}
		if len(libopenapiProblems(broken)) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
}

func TestRichDocumentContent(t *testing.T) {
	_, doc := generate(t, parse(t, richDoc))
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	jsonEq(t, "info", doc["info"], `{"title": "Rich", "version": "1.2.3", "description": "Everything the generator knows."}`)
	jsonEq(t, "servers", doc["servers"], `[{"url": "http://127.0.0.1:8000", "description": "local"}]`)
	jsonEq(t, "tags", doc["tags"], `[{"name": "users"}]`)

	paths := at(t, doc, "paths").(map[string]any)
	for _, p := range []string{"/", "/users/{id}", "/users", "/login", "/uploads", "/avatars/{user_id}", "/blobs/{key}", "/notes", "/tree", "/items/{id}", "/health", "/a-b", "/a_b", "/settings", "/search", "/documents"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("path %s missing (have %v)", p, mapKeys(paths))
		}
	}

	// GET /users/{id}: every parameter source.
	get := at(t, doc, "paths", "/users/{id}", "get")
	jsonEq(t, "operationId", at(t, get, "operationId"), `"get_users_id"`)
	jsonEq(t, "path id", param(t, get, "path", "id"),
		`{"name": "id", "in": "path", "required": true, "description": "User id", "schema": {"type": "integer", "minimum": 1, "description": "User id"}}`)
	jsonEq(t, "query fields", param(t, get, "query", "fields"),
		`{"name": "fields", "in": "query", "style": "form", "explode": false,
		  "description": "Items may be sent as repeated parameters or in one value separated by \",\".",
		  "schema": {"type": "array", "items": {"type": "string", "enum": ["name", "email"]}}}`)
	jsonEq(t, "query limit", param(t, get, "query", "limit"),
		`{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100}}`)
	jsonEq(t, "query q", param(t, get, "query", "q"),
		`{"name": "q", "in": "query", "deprecated": true, "schema": {"type": "string", "deprecated": true}}`)
	jsonEq(t, "header", param(t, get, "header", "x-request-id"),
		`{"name": "x-request-id", "in": "header", "schema": {"type": "string", "format": "uuid"}}`)
	jsonEq(t, "cookie", param(t, get, "cookie", "session"),
		`{"name": "session", "in": "cookie", "schema": {"type": "string", "minLength": 8}}`)
	jsonEq(t, "200", at(t, get, "responses", "200"),
		`{"description": "Successful response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}`)
	wantStatuses(t, get, "200", "400", "401", "403", "404", "422", "429", "500")
	jsonEq(t, "security", at(t, get, "security"), `[{"bearerAuth": []}]`)
	jsonEq(t, "422", at(t, get, "responses", "422"), `{"$ref": "#/components/responses/ValidationFailed"}`)
	jsonEq(t, "problem", at(t, doc, "components", "responses", "ValidationFailed", "content"),
		`{"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"},
		  "example": {"type": "https://spikard.dev/errors/validation-error", "title": "Request Validation Failed", "status": 422,
		    "detail": "1 validation error in request", "errors": [{"type": "missing", "loc": ["query", "limit"], "msg": "Field required", "input": null}]}}}`)
	jsonEq(t, "429 headers", at(t, doc, "components", "responses", "TooManyRequests", "headers", "Retry-After", "schema"), `{"type": "integer", "minimum": 1}`)
	// Every framework answer is a problem document of the one shared schema.
	// Its example is what core/problem renders for that status.
	for code, name := range map[float64]string{400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
		408: "RequestTimeout", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "ValidationFailed",
		429: "TooManyRequests", 500: "InternalServerError"} {
		content := at(t, doc, "components", "responses", name, "content").(map[string]any)
		if len(content) != 1 {
			t.Errorf("%s: content %v", name, mapKeys(content))
		}
		jsonEq(t, name, at(t, content, "application/problem+json", "schema"), `{"$ref": "#/components/schemas/ProblemDetails"}`)
		if got := at(t, content, "application/problem+json", "example", "status"); got != code {
			t.Errorf("%s: example status %v", name, got)
		}
		if typ := at(t, content, "application/problem+json", "example", "type").(string); !strings.HasPrefix(typ, "https://spikard.dev/errors/") {
			t.Errorf("%s: example type %s", name, typ)
		}
	}
	responses := mapKeys(at(t, doc, "components", "responses").(map[string]any))
	if want := []string{"BadRequest", "Unauthorized", "Forbidden", "NotFound", "RequestTimeout", "PayloadTooLarge",
		"UnsupportedMediaType", "ValidationFailed", "TooManyRequests", "InternalServerError"}; !sameSet(responses, want) {
		t.Errorf("components.responses = %v, want %v", sorted(responses), want)
	}

	// $defs became components; the two Address definitions (one nested in
	// NewUser, one a $def) are the same content and share one component.
	schemas := at(t, doc, "components", "schemas").(map[string]any)
	jsonEq(t, "User", schemas["User"],
		`{"title": "User", "type": "object", "required": ["id", "name"],
		  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "address": {"$ref": "#/components/schemas/Address"}}}`)
	jsonEq(t, "Address", schemas["Address"],
		`{"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}`)
	// NewUser is used twice: one component, referenced by both operations.
	post := at(t, doc, "paths", "/users", "post")
	jsonEq(t, "operationId", at(t, post, "operationId"), `"createUser"`)
	jsonEq(t, "POST body", at(t, post, "requestBody"),
		`{"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewUser"}}}}`)
	jsonEq(t, "PUT body", at(t, doc, "paths", "/users/{id}", "put", "requestBody", "content", "application/json", "schema"),
		`{"$ref": "#/components/schemas/NewUser"}`)
	jsonEq(t, "NewUser.address", at(t, schemas, "NewUser", "properties", "address"), `{"$ref": "#/components/schemas/Address"}`)
	// A titled schema used once stays inline; its title clashes with the
	// User component, whose content differs.
	jsonEq(t, "POST 200", at(t, post, "responses", "200", "content", "application/json", "schema"),
		`{"title": "User", "type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}`)
	wantStatuses(t, post, "200", "400", "401", "413", "415", "422", "429", "500")
	jsonEq(t, "POST security", at(t, post, "security"), `[{"apiKeyHeader_X-API-Key": []}, {"apiKeyQuery_api_key": []}]`)

	// A self-referencing schema became a component.
	jsonEq(t, "tree", at(t, doc, "paths", "/tree", "get", "responses", "200", "content", "application/json", "schema"),
		`{"$ref": "#/components/schemas/Node"}`)
	jsonEq(t, "Node", schemas["Node"],
		`{"title": "Node", "type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}`)

	// Forms and multipart.
	jsonEq(t, "login", at(t, doc, "paths", "/login", "post", "requestBody", "content"),
		`{"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["username", "password"],
		  "properties": {"username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}, "remember": {"type": "boolean", "default": false}}}}}`)
	jsonEq(t, "uploads", at(t, doc, "paths", "/uploads", "post", "requestBody"),
		`{"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
		  "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}}`)
	jsonEq(t, "avatars", at(t, doc, "paths", "/avatars/{user_id}", "post", "requestBody"),
		`{"required": true, "content": {"multipart/form-data": {
		   "schema": {"type": "object", "required": ["avatar"], "properties": {
		     "avatar": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream", "description": "Accepted types: image/png, image/jpeg. At most 1048576 bytes."},
		     "thumbnail": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}}},
		   "encoding": {"avatar": {"contentType": "image/png, image/jpeg"}}}}}`)
	jsonEq(t, "avatar path", param(t, at(t, doc, "paths", "/avatars/{user_id}", "post"), "path", "user_id"),
		`{"name": "user_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}`)
	jsonEq(t, "documents", at(t, doc, "paths", "/documents", "post", "requestBody", "content", "multipart/form-data"),
		`{"schema": {"type": "object", "required": ["doc"], "properties": {"note": {"type": "string"},
		   "doc": {"type": "string", "format": "binary", "contentMediaType": "application/pdf", "description": "Accepted types: application/pdf."}}},
		  "encoding": {"doc": {"contentType": "application/pdf"}}}`)

	// Raw bytes and text.
	blobs := at(t, doc, "paths", "/blobs/{key}", "put")
	jsonEq(t, "blobs body", at(t, blobs, "requestBody"), `{"content": {"application/octet-stream": {}}}`)
	jsonEq(t, "catch-all", param(t, blobs, "path", "key"),
		`{"name": "key", "in": "path", "required": true, "description": "Matches the rest of the path, slashes included.", "schema": {"type": "string"}}`)
	wantStatuses(t, blobs, "200", "400", "404", "413", "415", "429", "500")
	jsonEq(t, "notes", at(t, doc, "paths", "/notes", "post", "requestBody"),
		`{"required": true, "content": {"text/plain": {"schema": {"type": "string", "maxLength": 1000}}}}`)

	// Both auth middlewares on one route: both are required, the API key
	// in any of its places.
	del := at(t, doc, "paths", "/items/{id}", "delete")
	jsonEq(t, "DELETE security", at(t, del, "security"),
		`[{"bearerAuth": [], "apiKeyHeader_X-Key": []}, {"bearerAuth": [], "apiKeyQuery_key": []}, {"bearerAuth": [], "apiKeyQuery_token": []}]`)
	wantStatuses(t, del, "200", "400", "401", "404", "408", "429", "500")
	jsonEq(t, "untyped path param", param(t, del, "path", "id"),
		`{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}`)
	jsonEq(t, "schemes", at(t, doc, "components", "securitySchemes"), `{
	  "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "JSON Web Token sent as `+"`Authorization: Bearer <token>`"+`."},
	  "apiKeyHeader_X-API-Key": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API key sent in the `+"`X-API-Key`"+` header."},
	  "apiKeyHeader_X-Key": {"type": "apiKey", "in": "header", "name": "X-Key", "description": "API key sent in the `+"`X-Key`"+` header."},
	  "apiKeyQuery_api_key": {"type": "apiKey", "in": "query", "name": "api_key", "description": "API key sent in the `+"`api_key`"+` query parameter."},
	  "apiKeyQuery_key": {"type": "apiKey", "in": "query", "name": "key", "description": "API key sent in the `+"`key`"+` query parameter."},
	  "apiKeyQuery_token": {"type": "apiKey", "in": "query", "name": "token", "description": "API key sent in the `+"`token`"+` query parameter."}}`)

	// Routes without input: no 400/404/422.
	root := at(t, doc, "paths", "/", "get")
	jsonEq(t, "root id", at(t, root, "operationId"), `"get_root"`)
	wantStatuses(t, root, "200", "429", "500")
	// In an app with authentication, a route without says so.
	jsonEq(t, "root security", at(t, root, "security"), `[]`)
	jsonEq(t, "HEAD", at(t, doc, "paths", "/health", "head", "operationId"), `"head_health"`)
	jsonEq(t, "OPTIONS", at(t, doc, "paths", "/health", "options", "operationId"), `"options_health"`)
	// Clashing derived ids get a suffix, in path order.
	jsonEq(t, "a-b", at(t, doc, "paths", "/a-b", "get", "operationId"), `"get_a_b"`)
	jsonEq(t, "a_b", at(t, doc, "paths", "/a_b", "get", "operationId"), `"get_a_b_2"`)

	search := at(t, doc, "paths", "/search", "get")
	jsonEq(t, "pipe", param(t, search, "query", "tag")["style"], `"pipeDelimited"`)
	jsonEq(t, "space", param(t, search, "query", "word")["style"], `"spaceDelimited"`)
	jsonEq(t, "repeated", param(t, search, "query", "id"),
		`{"name": "id", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}}`)

	jsonEq(t, "ProblemDetails.errors", at(t, schemas, "ProblemDetails", "properties", "errors", "items"),
		`{"$ref": "#/components/schemas/ValidationError"}`)
	jsonEq(t, "ValidationError.required", at(t, schemas, "ValidationError", "required"), `["type", "loc", "msg"]`)
}

func wantStatuses(t *testing.T, op any, codes ...string) {
	t.Helper()
	got := mapKeys(at(t, op, "responses").(map[string]any))
	if !sameSet(got, codes) {
		t.Errorf("%v: responses %v, want %v", at(t, op, "operationId"), sorted(got), codes)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDeterministic(t *testing.T) {
	app := parse(t, richDoc)
	first, _ := generate(t, app)
	firstYAML, err := openapi.GenerateYAML(app, richOpts)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 30; i++ {
		shuffled := app
		shuffled.Routes = append([]config.Route(nil), app.Routes...)
		if i > 0 {
			rng.Shuffle(len(shuffled.Routes), func(a, b int) {
				shuffled.Routes[a], shuffled.Routes[b] = shuffled.Routes[b], shuffled.Routes[a]
			})
		}
		again, _ := generate(t, shuffled)
		if !bytes.Equal(first, again) {
			t.Fatalf("run %d: output differs:\n%s", i, firstDiff(first, again))
		}
		y, err := openapi.GenerateYAML(shuffled, richOpts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(firstYAML, y) {
			t.Fatalf("run %d: YAML differs:\n%s", i, firstDiff(firstYAML, y))
		}
	}
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return "line " + itoa(i+1) + ":\n  " + la[i] + "\n  " + lb[i]
		}
	}
	return "lengths differ"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestDuplicateOperationID(t *testing.T) {
	app := parse(t, `{"version": 1, "routes": [
	  {"method": "GET", "path": "/a", "operation_id": "listThings"},
	  {"method": "GET", "path": "/b", "operation_id": "listThings"}]}`)
	_, err := openapi.Generate(app, openapi.Options{})
	if err == nil || !strings.Contains(err.Error(), `operationId "listThings"`) ||
		!strings.Contains(err.Error(), "GET /a") || !strings.Contains(err.Error(), "GET /b") {
		t.Fatalf("err = %v", err)
	}
	// A declared id wins over a derived one, which moves aside.
	app = parse(t, `{"version": 1, "routes": [
	  {"method": "GET", "path": "/a", "operation_id": "get_b"},
	  {"method": "GET", "path": "/b"}]}`)
	_, doc := generate(t, app)
	jsonEq(t, "derived", at(t, doc, "paths", "/b", "get", "operationId"), `"get_b_2"`)
}

func TestRejects(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"invalid body schema", `{"version": 1, "routes": [{"method": "POST", "path": "/a", "body_schema": {"type": 12}}]}`,
			"route POST /a: body_schema: invalid JSON Schema"},
		{"invalid response schema", `{"version": 1, "routes": [{"method": "GET", "path": "/a", "response_schema": {"minimum": "x"}}]}`,
			"route GET /a: response_schema: invalid JSON Schema"},
		{"invalid parameter schema", `{"version": 1, "routes": [{"method": "GET", "path": "/a", "parameters": {"query": {"q": {"pattern": "("}}}}]}`,
			`route GET /a: query parameter "q": invalid JSON Schema`},
		{"same operation twice", `{"version": 1, "routes": [{"method": "GET", "path": "/a/{x}"}, {"method": "GET", "path": "/a/:x"}]}`,
			"are the same operation GET /a/{x}"},
		{"parameter names differ", `{"version": 1, "routes": [{"method": "GET", "path": "/a/{x}"}, {"method": "POST", "path": "/a/{y}"}]}`,
			"differ only in path parameter names"},
		{"path parameter not in path", `{"version": 1, "routes": [{"method": "GET", "path": "/a", "parameters": {"path": {"x": {"type": "string"}}}}]}`,
			`path parameter "x" is not in the path`},
		{"bad pattern", `{"version": 1, "routes": [{"method": "GET", "path": "/a/{x:nope}"}]}`,
			`unknown parameter type "nope"`},
		{"duplicate header", `{"version": 1, "routes": [{"method": "GET", "path": "/a", "parameters": {"headers": {"x_a": {}, "X-A": {}}}}]}`,
			`header parameter "X-A" is declared twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := openapi.Generate(parse(t, c.doc), openapi.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestDefsWithClashingNames(t *testing.T) {
	// Two bodies define a different "Item"; a third shares the first's.
	// Each keeps its meaning under its own component name.
	app := parse(t, `{"version": 1, "routes": [
	  {"method": "POST", "path": "/a", "body_schema": {"$ref": "#/$defs/Item", "$defs": {"Item": {"type": "object", "properties": {"a": {"type": "string"}}}}}},
	  {"method": "POST", "path": "/b", "body_schema": {"$ref": "#/$defs/Item", "$defs": {"Item": {"type": "object", "properties": {"b": {"type": "integer"}}}}}},
	  {"method": "POST", "path": "/c", "body_schema": {"type": "array", "items": {"$ref": "#/definitions/Item"}, "definitions": {"Item": {"type": "object", "properties": {"a": {"type": "string"}}}}}}
	]}`)
	raw, doc := generate(t, app)
	validateWithLibopenapi(t, raw)
	body := func(p string) any {
		return at(t, doc, "paths", p, "post", "requestBody", "content", "application/json", "schema")
	}
	a, b, c := body("/a"), body("/b"), body("/c")
	jsonEq(t, "/a", a, `{"$ref": "#/components/schemas/Item"}`)
	jsonEq(t, "/b", b, `{"$ref": "#/components/schemas/Item_2"}`)
	jsonEq(t, "/c", c, `{"type": "array", "items": {"$ref": "#/components/schemas/Item_3"}}`)
	jsonEq(t, "Item_3", at(t, doc, "components", "schemas", "Item_3"), `{"type": "object", "properties": {"a": {"type": "string"}}}`)
}

func TestDefaultsAndEmptyApp(t *testing.T) {
	raw, err := openapi.Generate(config.App{Version: 1}, openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateWithLibopenapi(t, raw)
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	jsonEq(t, "info", doc["info"], `{"title": "Spikard API", "version": "0.1.0"}`)
	jsonEq(t, "paths", doc["paths"], `{}`)

	// Without authentication anywhere, operations carry no security.
	_, doc = generate(t, parse(t, `{"version": 1, "routes": [{"method": "GET", "path": "/a"}]}`))
	if _, has := at(t, doc, "paths", "/a", "get").(map[string]any)["security"]; has {
		t.Error("security in an app without authentication")
	}
}

func TestParseOptions(t *testing.T) {
	for _, raw := range []string{``, `null`, `false`, `{"enabled": false}`} {
		if _, on, err := openapi.ParseOptions(json.RawMessage(raw)); on || err != nil {
			t.Errorf("%s: enabled=%v err=%v", raw, on, err)
		}
	}
	o, on, err := openapi.ParseOptions(json.RawMessage(`{"title": "T", "version": "2", "servers": [{"url": "/api"}],
	  "openapi_yaml_path": "", "swagger_ui_path": "/swagger", "redoc_path": ""}`))
	if err != nil || !on {
		t.Fatal(on, err)
	}
	want := openapi.Options{Title: "T", Version: "2", Servers: []openapi.Server{{URL: "/api"}}, SwaggerPath: "/swagger", NoYAML: true, NoRedoc: true}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v\nwant %+v", o, want)
	}
	if _, _, err := openapi.ParseOptions(json.RawMessage(`{"titel": "T"}`)); err == nil {
		t.Error("unknown member accepted")
	}
}
