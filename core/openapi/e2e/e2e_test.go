// Package e2e checks that what a running app answers is what its generated
// OpenAPI document says: every answer, the framework's problems included,
// is validated against the document with libopenapi-validator. It lives
// apart from package openapi's tests because it needs core/app.
package e2e

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/openapi"
)

const doc = `{
  "version": 1,
  "routes": [
    {"method": "GET", "path": "/users/{id:int}", "handler": "user",
     "parameters": {
       "query": {"limit": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100}},
       "headers": {"x_request_id": {"type": "string", "format": "uuid", "optional": true}}
     },
     "response_schema": {"$ref": "#/$defs/User", "$defs": {"User": {"title": "User", "type": "object", "required": ["id", "name"],
       "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}},
    {"method": "POST", "path": "/users", "handler": "created",
     "body_schema": {"title": "NewUser", "type": "object", "required": ["name"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}}},
     "response_schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}},
    {"method": "POST", "path": "/login", "handler": "empty", "content_type": "application/x-www-form-urlencoded",
     "body_schema": {"type": "object", "required": ["username"], "properties": {"username": {"type": "string"}}}},
    {"method": "POST", "path": "/uploads", "handler": "empty",
     "parameters": {"files": {"file": {"required": true}}}},
    {"method": "GET", "path": "/secure", "handler": "empty",
     "middleware": {"jwt_auth": {"secret": "0123456789abcdef0123456789abcdef"}}},
    {"method": "GET", "path": "/keyed", "handler": "empty",
     "middleware": {"api_key_auth": {"keys": ["sk_test"]}}},
    {"method": "PUT", "path": "/blobs/{key:path}", "handler": "empty", "content_type": "application/octet-stream", "max_body_size": 8}
  ]
}`

func TestAnswersMatchTheDocument(t *testing.T) {
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi.Generate(*cfg, openapi.Options{Title: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatal(verrs)
	}

	a := app.New(*cfg)
	a.Handle("user", func(c *app.Ctx) error {
		return c.JSON(200, map[string]any{"id": c.Path("id").Int(), "name": "Ada"})
	})
	a.Handle("created", func(c *app.Ctx) error { return c.JSON(200, map[string]any{"id": 1}) })
	a.Handle("empty", func(c *app.Ctx) error { return c.NoContent(200) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	base := "http://" + ln.Addr().String()

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()

	for _, c := range []struct {
		name, method, path, ctype, body string
		headers                         []string
		status                          int
	}{
		{"ok", "GET", "/users/7?limit=5", "", "", nil, 200},
		{"default applies", "GET", "/users/7", "", "", []string{"X-Request-ID", "0b4a7c4e-6f0e-4b43-9a43-4c8a3c8f0f11"}, 200},
		{"bad path type", "GET", "/users/abc", "", "", nil, 422},
		{"bad query", "GET", "/users/7?limit=1000", "", "", nil, 422},
		{"bad header", "GET", "/users/7", "", "", []string{"X-Request-ID", "nope"}, 422},
		{"bad escape", "GET", "/users/%zz", "", "", nil, 400},
		{"json body", "POST", "/users", "application/json", `{"name": "Ada"}`, nil, 200},
		{"invalid body", "POST", "/users", "application/json", `{"name": ""}`, nil, 422},
		{"missing body", "POST", "/users", "application/json", ``, nil, 422},
		{"malformed body", "POST", "/users", "application/json", `{"name": `, nil, 400},
		{"wrong media type", "POST", "/users", "application/xml", `<a/>`, nil, 415},
		{"form", "POST", "/login", "application/x-www-form-urlencoded", `username=ada`, nil, 200},
		{"form missing field", "POST", "/login", "application/x-www-form-urlencoded", `other=1`, nil, 422},
		{"form as json", "POST", "/login", "application/json", `{"username": "ada"}`, nil, 415},
		{"multipart", "POST", "/uploads", mw.FormDataContentType(), mp.String(), nil, 200},
		{"multipart without file", "POST", "/uploads", "multipart/form-data; boundary=x", "--x--\r\n", nil, 422},
		{"no token", "GET", "/secure", "", "", nil, 401},
		{"bad token", "GET", "/secure", "", "", []string{"Authorization", "Bearer a.b.c"}, 401},
		{"no key", "GET", "/keyed", "", "", nil, 401},
		{"key in query", "GET", "/keyed?api_key=sk_test", "", "", nil, 200},
		{"key in header", "GET", "/keyed", "", "", []string{"X-API-Key", "sk_test"}, 200},
		// OpenAPI path parameters hold one segment: {key:path} matching
		// "a/b/c" is served but no OpenAPI tool maps it to /blobs/{key}.
		{"blob", "PUT", "/blobs/a", "application/octet-stream", "1234", nil, 200},
		{"blob too large", "PUT", "/blobs/a", "application/octet-stream", "123456789", nil, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			newReq := func(host string, onTheWire bool) *http.Request {
				path, query, _ := strings.Cut(c.path, "?")
				req, err := http.NewRequest(c.method, host, strings.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				if onTheWire {
					// Opaque sends the path as written (%zz included).
					req.URL.Opaque = path
				} else {
					req.URL.Path = path
				}
				req.URL.RawQuery = query
				if c.ctype != "" {
					req.Header.Set("Content-Type", c.ctype)
				}
				for i := 0; i+1 < len(c.headers); i += 2 {
					req.Header.Set(c.headers[i], c.headers[i+1])
				}
				return req
			}
			res, err := http.DefaultClient.Do(newReq(base, true))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, body)
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			// The request is rebuilt: the validator reads its body again.
			if ok, verrs := v.ValidateHttpResponse(newReq("http://localhost", false), res); !ok {
				for _, e := range verrs {
					t.Errorf("%s: %s", e.Message, e.Reason)
					for _, se := range e.SchemaValidationErrors {
						t.Errorf("  at %s: %s", se.FieldPath, se.Reason)
					}
				}
				t.Logf("answer: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			if c.status < 300 {
				// A request the server accepts is one the document accepts.
				if ok, verrs := v.ValidateHttpRequest(newReq("http://localhost", false)); !ok {
					for _, e := range verrs {
						t.Errorf("request: %s: %s", e.Message, e.Reason)
					}
				}
			}
		})
	}
}
