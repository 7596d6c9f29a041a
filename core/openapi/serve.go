package openapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"path"
	"sort"
	"strings"
	"sync"

	frouter "github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/spikard/spikard-go/core/config"
)

// Versions of the embedded documentation UIs (see assets/README.md).
const (
	SwaggerUIVersion = "5.35.0"
	RedocVersion     = "2.5.4"
)

//go:embed assets/swagger-ui/swagger-ui-bundle.js assets/swagger-ui/swagger-ui.css
//go:embed assets/swagger-ui/favicon-16x16.png assets/swagger-ui/favicon-32x32.png
//go:embed assets/redoc/redoc.standalone.js assets/swagger-initializer.js
var assetFS embed.FS

// assetFiles maps served names (below Options.AssetsPath) to embedded files.
var assetFiles = map[string]string{
	"swagger-ui-bundle.js":   "assets/swagger-ui/swagger-ui-bundle.js",
	"swagger-ui.css":         "assets/swagger-ui/swagger-ui.css",
	"favicon-16x16.png":      "assets/swagger-ui/favicon-16x16.png",
	"favicon-32x32.png":      "assets/swagger-ui/favicon-32x32.png",
	"swagger-initializer.js": "assets/swagger-initializer.js",
	"redoc.standalone.js":    "assets/redoc/redoc.standalone.js",
}

// Content-Security-Policy of the UI pages: everything comes from this
// origin. Both UIs set inline styles; ReDoc runs its search index in a
// worker built from a blob and shows a logo from cdn.redoc.ly, which
// img-src blocks so no request leaves the page. connect-src is open so that
// "Try it out" can reach the document's servers.
const (
	swaggerCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
		"script-src 'self'; connect-src *; worker-src 'self' blob:; frame-ancestors 'self'; base-uri 'self'"
	redocCSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
		"script-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'self'; base-uri 'self'"
)

var swaggerPage = template.Must(template.New("swagger").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - Swagger UI</title>
<link rel="stylesheet" href="{{.Assets}}/swagger-ui.css">
<link rel="icon" type="image/png" href="{{.Assets}}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="{{.Assets}}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui" data-url="{{.Spec}}"></div>
<script src="{{.Assets}}/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="{{.Assets}}/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
`))

var redocPage = template.Must(template.New("redoc").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - ReDoc</title>
<link rel="icon" type="image/png" href="{{.Assets}}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<redoc spec-url="{{.Spec}}"></redoc>
<script src="{{.Assets}}/redoc.standalone.js" charset="UTF-8"></script>
</body>
</html>
`))

// resource is one prepared answer.
type resource struct {
	body        []byte
	contentType string
	cache       string
	csp         string
	etag        string

	gzOnce sync.Once
	gz     []byte
}

func newResource(body []byte, contentType, cache, csp string) *resource {
	sum := sha256.Sum256(body)
	return &resource{
		body: body, contentType: contentType, cache: cache, csp: csp,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

// gzipMin is the smallest body worth compressing.
const gzipMin = 1024

func (r *resource) serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderCacheControl, r.cache)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.csp != "" {
		h.Set("Content-Security-Policy", r.csp)
	}
	h.SetContentType(r.contentType)
	body, etag := r.body, r.etag
	if len(r.body) >= gzipMin {
		h.Set(fasthttp.HeaderVary, fasthttp.HeaderAcceptEncoding)
		if ctx.Request.Header.HasAcceptEncoding("gzip") {
			r.gzOnce.Do(func() {
				r.gz = fasthttp.AppendGzipBytesLevel(nil, r.body, fasthttp.CompressBestCompression)
			})
			// Each representation has its own strong validator.
			body, etag = r.gz, r.etag[:len(r.etag)-1]+`-gz"`
			h.Set(fasthttp.HeaderContentEncoding, "gzip")
		}
	}
	h.Set(fasthttp.HeaderETag, etag)
	if etagMatch(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), etag) {
		h.Del(fasthttp.HeaderContentEncoding)
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(body)
}

// etagMatch implements If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatch(header []byte, etag string) bool {
	if len(header) == 0 {
		return false
	}
	for _, t := range bytes.Split(header, []byte(",")) {
		t = bytes.TrimSpace(t)
		if string(t) == "*" {
			return true
		}
		t = bytes.TrimPrefix(t, []byte("W/"))
		if string(t) == etag {
			return true
		}
	}
	return false
}

// Handlers prepares the documentation endpoints of an app, keyed by path:
// the JSON and YAML documents, the Swagger UI and ReDoc pages and the UI
// files below Options.AssetsPath (each embedded file at its own path, so
// nothing else can be reached). Each handler answers GET and HEAD; the
// document is generated once, here.
func Handlers(doc config.App, opts Options) (map[string]fasthttp.RequestHandler, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	j, err := Generate(doc, opts)
	if err != nil {
		return nil, err
	}
	out := map[string]fasthttp.RequestHandler{}
	const revalidate = "no-cache"
	if !opts.NoJSON {
		out[opts.JSONPath] = newResource(j, "application/json", revalidate, "").serve
	}
	if !opts.NoYAML {
		y, err := jsonToYAML(j)
		if err != nil {
			return nil, err
		}
		out[opts.YAMLPath] = newResource(y, "application/yaml", revalidate, "").serve
	}
	page := struct{ Title, Spec, Assets string }{opts.Title, opts.JSONPath, opts.AssetsPath}
	render := func(t *template.Template) ([]byte, error) {
		var b bytes.Buffer
		err := t.Execute(&b, page)
		return b.Bytes(), err
	}
	if !opts.NoSwaggerUI {
		b, err := render(swaggerPage)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		out[opts.SwaggerPath] = newResource(b, "text/html; charset=utf-8", revalidate, swaggerCSP).serve
	}
	if !opts.NoRedoc {
		b, err := render(redocPage)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		out[opts.RedocPath] = newResource(b, "text/html; charset=utf-8", revalidate, redocCSP).serve
	}
	if !opts.NoSwaggerUI || !opts.NoRedoc {
		for name, file := range assetFiles {
			if opts.NoSwaggerUI && !strings.HasPrefix(name, "redoc") && !strings.HasPrefix(name, "favicon") {
				continue
			}
			if opts.NoRedoc && strings.HasPrefix(name, "redoc") {
				continue
			}
			out[opts.AssetsPath+"/"+name] = asset(file)
		}
	}
	return out, nil
}

var (
	assetMu    sync.Mutex
	assetCache = map[string]*resource{}
)

// asset returns the shared handler of an embedded file (the gzip form is
// made once per process, whatever the number of apps).
func asset(file string) fasthttp.RequestHandler {
	assetMu.Lock()
	defer assetMu.Unlock()
	if r, ok := assetCache[file]; ok {
		return r.serve
	}
	b, err := assetFS.ReadFile(file)
	if err != nil {
		panic("openapi: embedded asset missing: " + file)
	}
	ct := "application/octet-stream"
	switch path.Ext(file) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".png":
		ct = "image/png"
	}
	// The files change only with the module version: cache for a day.
	r := newResource(b, ct, "public, max-age=86400", "")
	assetCache[file] = r
	return r.serve
}

// Mount registers the documentation endpoints on a fasthttp/router router
// (GET and HEAD each). A path already taken by a route is an error, as is
// a document that cannot be generated.
func Mount(r *frouter.Router, doc config.App, opts Options) error {
	hs, err := Handlers(doc, opts)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(hs))
	for p := range hs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodHead} {
			if err := handle(r, m, p, hs[p]); err != nil {
				return fmt.Errorf("openapi: cannot serve %s %s: %w", m, p, err)
			}
		}
	}
	return nil
}

// handle turns fasthttp/router's panics on conflicting paths into errors.
func handle(r *frouter.Router, method, p string, h fasthttp.RequestHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	r.Handle(method, p, h)
	return nil
}
