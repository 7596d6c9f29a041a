package openapi_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	frouter "github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/openapi"
)

func do(h fasthttp.RequestHandler, method, uri string, headers ...string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&ctx)
	var r fasthttp.Response
	ctx.Response.CopyTo(&r)
	return &r
}

func mounted(t *testing.T, app config.App, opts openapi.Options) *frouter.Router {
	t.Helper()
	r := frouter.New()
	if err := openapi.Mount(r, app, opts); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMountServesDocumentsAndUIs(t *testing.T) {
	app := parse(t, richDoc)
	r := mounted(t, app, richOpts)
	h := r.Handler

	want, _ := openapi.Generate(app, richOpts)
	res := do(h, "GET", "/openapi.json")
	if res.StatusCode() != 200 || string(res.Header.ContentType()) != "application/json" || !bytes.Equal(res.Body(), want) {
		t.Fatalf("/openapi.json: %d %s", res.StatusCode(), res.Header.ContentType())
	}
	etag := string(res.Header.Peek("ETag"))
	if etag == "" || string(res.Header.Peek("Cache-Control")) != "no-cache" {
		t.Errorf("headers: %s", res.Header.String())
	}
	if res := do(h, "GET", "/openapi.json", "If-None-Match", `"x", `+etag); res.StatusCode() != 304 || len(res.Body()) != 0 {
		t.Errorf("If-None-Match: %d", res.StatusCode())
	}
	res = do(h, "GET", "/openapi.json", "Accept-Encoding", "br, gzip")
	if string(res.Header.Peek("Content-Encoding")) != "gzip" {
		t.Fatalf("no gzip: %s", res.Header.String())
	}
	if got := gunzip(t, res.Body()); !bytes.Equal(got, want) {
		t.Error("gzip body differs")
	}
	gzTag := string(res.Header.Peek("ETag"))
	if gzTag == etag || string(res.Header.Peek("Vary")) != "Accept-Encoding" {
		t.Errorf("gzip ETag %s (identity %s), Vary %q", gzTag, etag, res.Header.Peek("Vary"))
	}
	if res := do(h, "GET", "/openapi.json", "Accept-Encoding", "gzip", "If-None-Match", gzTag); res.StatusCode() != 304 {
		t.Errorf("If-None-Match gzip: %d", res.StatusCode())
	}
	if res := do(h, "HEAD", "/openapi.json"); res.StatusCode() != 200 {
		t.Errorf("HEAD: %d", res.StatusCode())
	}

	wantYAML, _ := openapi.GenerateYAML(app, richOpts)
	if res := do(h, "GET", "/openapi.yaml"); res.StatusCode() != 200 || string(res.Header.ContentType()) != "application/yaml" || !bytes.Equal(res.Body(), wantYAML) {
		t.Errorf("/openapi.yaml: %d %s", res.StatusCode(), res.Header.ContentType())
	}

	// The pages load only local files: no URL with a scheme or a host.
	absolute := regexp.MustCompile(`(?i)(https?:)?//`)
	for page, files := range map[string][]string{
		"/docs":  {"/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-initializer.js", `data-url="/openapi.json"`},
		"/redoc": {"/docs/assets/redoc.standalone.js", `spec-url="/openapi.json"`},
	} {
		res := do(h, "GET", page)
		body := string(res.Body())
		if res.StatusCode() != 200 || !strings.HasPrefix(string(res.Header.ContentType()), "text/html") {
			t.Fatalf("%s: %d %s", page, res.StatusCode(), res.Header.ContentType())
		}
		if loc := absolute.FindString(body); loc != "" {
			t.Errorf("%s refers to another host (%q):\n%s", page, loc, body)
		}
		if !strings.Contains(body, "<title>Rich - ") {
			t.Errorf("%s: no title:\n%s", page, body)
		}
		for _, f := range files {
			if !strings.Contains(body, f) {
				t.Errorf("%s does not load %s:\n%s", page, f, body)
			}
		}
		csp := string(res.Header.Peek("Content-Security-Policy"))
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", page, csp)
		}
	}

	for path, file := range map[string]string{
		"/docs/assets/swagger-ui-bundle.js":   "assets/swagger-ui/swagger-ui-bundle.js",
		"/docs/assets/swagger-ui.css":         "assets/swagger-ui/swagger-ui.css",
		"/docs/assets/favicon-32x32.png":      "assets/swagger-ui/favicon-32x32.png",
		"/docs/assets/swagger-initializer.js": "assets/swagger-initializer.js",
		"/docs/assets/redoc.standalone.js":    "assets/redoc/redoc.standalone.js",
	} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		res := do(h, "GET", path)
		if res.StatusCode() != 200 || !bytes.Equal(res.Body(), want) {
			t.Errorf("%s: %d, %d bytes, want %d", path, res.StatusCode(), len(res.Body()), len(want))
		}
		if cc := string(res.Header.Peek("Cache-Control")); !strings.Contains(cc, "max-age") {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if len(want) > 1024 {
			res := do(h, "GET", path, "Accept-Encoding", "gzip")
			if !bytes.Equal(gunzip(t, res.Body()), want) {
				t.Errorf("%s: gzip body differs", path)
			}
		}
	}
	// Only the embedded files are reachable.
	for _, p := range []string{"/docs/assets/", "/docs/assets/LICENSE", "/docs/assets/../openapi.go", "/docs/assets/swagger-ui/LICENSE"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(p)
		h(&ctx)
		if ctx.Response.StatusCode() == 200 {
			t.Errorf("%s is served", p)
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMountPathsAndSwitches(t *testing.T) {
	app := parse(t, richDoc)
	r := mounted(t, app, openapi.Options{
		JSONPath: "/api/spec.json", SwaggerPath: "/api/docs", AssetsPath: "/api/ui/", NoYAML: true, NoRedoc: true,
	})
	h := r.Handler
	for path, status := range map[string]int{
		"/api/spec.json": 200, "/api/docs": 200, "/api/ui/swagger-ui-bundle.js": 200, "/api/ui/favicon-16x16.png": 200,
		"/openapi.json": 404, "/openapi.yaml": 404, "/docs": 404, "/redoc": 404, "/api/ui/redoc.standalone.js": 404,
	} {
		if got := do(h, "GET", path).StatusCode(); got != status {
			t.Errorf("%s: %d, want %d", path, got, status)
		}
	}
	body := string(do(h, "GET", "/api/docs").Body())
	if !strings.Contains(body, `data-url="/api/spec.json"`) || !strings.Contains(body, `href="/api/ui/swagger-ui.css"`) {
		t.Errorf("page:\n%s", body)
	}

	// ReDoc alone still gets its favicon, not Swagger UI's files.
	h = mounted(t, app, openapi.Options{NoSwaggerUI: true}).Handler
	for path, status := range map[string]int{"/redoc": 200, "/docs/assets/redoc.standalone.js": 200, "/docs/assets/favicon-32x32.png": 200, "/docs/assets/swagger-ui-bundle.js": 404, "/docs": 404} {
		if got := do(h, "GET", path).StatusCode(); got != status {
			t.Errorf("%s: %d, want %d", path, got, status)
		}
	}

	// Titles are escaped.
	h = mounted(t, app, openapi.Options{Title: `</title><script>alert(1)</script>`}).Handler
	if body := string(do(h, "GET", "/docs").Body()); strings.Contains(body, "<script>alert") {
		t.Errorf("title not escaped:\n%s", body)
	}
}

func TestMountErrors(t *testing.T) {
	app := parse(t, richDoc)
	r := frouter.New()
	r.GET("/docs", func(*fasthttp.RequestCtx) {})
	if err := openapi.Mount(r, app, openapi.Options{}); err == nil || !strings.Contains(err.Error(), "/docs") {
		t.Errorf("conflict: %v", err)
	}
	bad := parse(t, `{"version": 1, "routes": [{"method": "GET", "path": "/a", "operation_id": "x"}, {"method": "GET", "path": "/b", "operation_id": "x"}]}`)
	if err := openapi.Mount(frouter.New(), bad, openapi.Options{}); err == nil {
		t.Error("duplicate operationId mounted")
	}
	for _, o := range []openapi.Options{
		{NoJSON: true},
		{SwaggerPath: "/same", RedocPath: "/same"},
		{JSONPath: "openapi.json"},
		{Servers: []openapi.Server{{Description: "no url"}}},
	} {
		if _, err := openapi.Handlers(app, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := openapi.Handlers(app, openapi.Options{NoJSON: true, NoSwaggerUI: true, NoRedoc: true}); err != nil {
		t.Errorf("YAML only: %v", err)
	}
}

func TestEmbeddedVersions(t *testing.T) {
	// The vendored files are the registry's, byte for byte.
	sums, err := os.ReadFile("assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, file, _ := strings.Cut(line, "  ")
		b, err := os.ReadFile("assets/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != want {
			t.Errorf("assets/%s: sha256 %s, SHA256SUMS says %s (run assets/update.sh)", file, got, want)
		}
	}

	for file, want := range map[string]string{
		"assets/swagger-ui/VERSION": openapi.SwaggerUIVersion,
		"assets/redoc/VERSION":      openapi.RedocVersion,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s = %s, constant says %s", file, got, want)
		}
	}
	readme, _ := os.ReadFile("assets/README.md")
	for _, v := range []string{"**" + openapi.SwaggerUIVersion + "**", "**" + openapi.RedocVersion + "**"} {
		if !bytes.Contains(readme, []byte(v)) {
			t.Errorf("assets/README.md does not name %s", v)
		}
	}
	for file, marker := range map[string]string{
		"assets/redoc/redoc.standalone.js":       `" ReDoc Version: ","` + openapi.RedocVersion + `"`,
		"assets/swagger-ui/swagger-ui-bundle.js": `"` + openapi.SwaggerUIVersion + `"`,
	} {
		b, _ := os.ReadFile(file)
		if !bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s is not the pinned version (no %s)", file, marker)
		}
	}
}
