package static

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	frouter "github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

const secret = "TOPSECRET"

var bigData = bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16) // 300 KiB: streamed

// tree makes base/{secret.txt, www/...} and returns base/www.
func tree(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	www := filepath.Join(base, "www")
	files := map[string]string{
		"../secret.txt":    secret,
		"hello.txt":        "Hello from static storage",
		"index.html":       "<!doctype html><h1>Root</h1>",
		"styles/main.css":  "h1 { color: #336699; }",
		"sub/index.html":   "<h1>Sub</h1>",
		"nosub/file.txt":   "no index here",
		".env":             "SECRET_ENV=" + secret,
		".well-known/x":    "hidden dir " + secret,
		"app.js":           "console.log('identity')",
		"app.js.br":        "BROTLI-BYTES",
		"app.js.gz":        "GZIP-BYTES",
		"image.png":        "\x89PNG",
		"data.json":        `{"a":1}`,
		"noext":            "raw",
		"dir.txt/inner":    "a directory named like a file",
		"space name.txt":   "spaced",
		"pct%2e%2e.txt":    "literal percent name",
		"unicode-é.txt":    "accent",
		"deep/a/b/c/d.txt": "deep",
	}
	for name, content := range files {
		p := filepath.Join(www, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(www, "big.bin"), bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"link-out.txt": "../secret.txt",
		"outdir":       "..",
		"abs-link":     filepath.Join(base, "secret.txt"),
		"link-in.txt":  "hello.txt",
		"linkdir":      "sub",
	} {
		if err := os.Symlink(target, filepath.Join(www, link)); err != nil {
			t.Fatal(err)
		}
	}
	return www
}

// app serves doc as app-wide static_files in front of a fallback that
// answers 404 "next".
func app(t testing.TB, doc string) fasthttp.RequestHandler {
	t.Helper()
	mw, err := New(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	return mw(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(404)
		ctx.SetBodyString("next")
	})
}

func listen(t testing.TB, h fasthttp.RequestHandler) *fasthttputil.InmemoryListener {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h, NoDefaultContentType: true, NoDefaultServerHeader: true, NoDefaultDate: true}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln
}

// raw sends a request line byte for byte (no client-side normalization).
func raw(t testing.TB, ln *fasthttputil.InmemoryListener, method, target string, hdr ...string) *fasthttp.Response {
	t.Helper()
	conn, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: test\r\n", method, target)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res := &fasthttp.Response{}
	if method == "HEAD" {
		res.SkipBody = true
	}
	if err := res.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	res.Header.SetNoDefaultContentType(true) // Peek("Content-Type") reports what was sent
	return res
}

func get(t testing.TB, ln *fasthttputil.InmemoryListener, target string, hdr ...string) *fasthttp.Response {
	t.Helper()
	return raw(t, ln, "GET", target, hdr...)
}

func expect(t *testing.T, res *fasthttp.Response, status int, body string, hdr ...string) {
	t.Helper()
	if res.StatusCode() != status {
		t.Errorf("status %d, want %d (body %.80q)", res.StatusCode(), status, res.Body())
	}
	if body != "<<any>>" && string(res.Body()) != body {
		t.Errorf("body %.80q, want %.80q", res.Body(), body)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		got := res.Header.Peek(hdr[i])
		switch hdr[i+1] {
		case "<<absent>>":
			if got != nil {
				t.Errorf("%s: %q, want absent", hdr[i], got)
			}
		case "<<present>>":
			if got == nil {
				t.Errorf("%s missing", hdr[i])
			}
		default:
			if string(got) != hdr[i+1] {
				t.Errorf("%s: %q, want %q", hdr[i], got, hdr[i+1])
			}
		}
	}
}

func mountDoc(dir string, extra string) string {
	d, _ := json.Marshal(dir)
	return `[{"route_prefix":"/public","directory":` + string(d) + extra + `}]`
}

// The two shapes of the reference corpus: inline files, a text file with
// Cache-Control, and an index.html served for the prefix's directory.
func TestInlineFiles(t *testing.T) {
	ln := listen(t, app(t, `[
	  {"route_prefix":"/public","cache_control":"public, max-age=60","files":[{"path":"hello.txt","content":"Hello from static storage"}]},
	  {"route_prefix":"/app","index_file":true,"directory_name":"app-assets","files":[
	    {"path":"index.html","content":"<!doctype html><h1>Welcome</h1>"},
	    {"path":"styles/main.css","content":"h1 { color: #336699; }"}]}]`))
	expect(t, get(t, ln, "/public/hello.txt"), 200, "Hello from static storage",
		"Content-Type", "text/plain; charset=utf-8", "Cache-Control", "public, max-age=60",
		"ETag", "<<present>>", "Last-Modified", "<<present>>", "Accept-Ranges", "bytes", "Content-Length", "25")
	expect(t, get(t, ln, "/app/"), 200, "<!doctype html><h1>Welcome</h1>", "Content-Type", "text/html; charset=utf-8", "Cache-Control", "<<absent>>")
	expect(t, get(t, ln, "/app"), 200, "<!doctype html><h1>Welcome</h1>")
	expect(t, get(t, ln, "/app/index.html"), 200, "<!doctype html><h1>Welcome</h1>")
	expect(t, get(t, ln, "/app/styles/main.css"), 200, "h1 { color: #336699; }", "Content-Type", "text/css; charset=utf-8")
	expect(t, get(t, ln, "/app/missing.css"), 404, "next")
	expect(t, get(t, ln, "/application"), 404, "next")
	expect(t, get(t, ln, "/other"), 404, "next")
}

func TestDirectoryAndIndex(t *testing.T) {
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, "")))
	expect(t, get(t, ln, "/public/"), 200, "<!doctype html><h1>Root</h1>")
	expect(t, get(t, ln, "/public/sub/"), 200, "<h1>Sub</h1>")
	expect(t, get(t, ln, "/public/sub"), 307, "", "Location", "/public/sub/")
	expect(t, get(t, ln, "/public/sub?x=1"), 307, "", "Location", "/public/sub/?x=1")
	expect(t, get(t, ln, "/public/nosub/"), 404, "next")
	expect(t, get(t, ln, "/public/nosub"), 404, "next")
	expect(t, get(t, ln, "/public/hello.txt/"), 404, "next")
	expect(t, get(t, ln, "/public/dir.txt"), 404, "next") // a directory without index
	expect(t, get(t, ln, "/public/linkdir/"), 200, "<h1>Sub</h1>")
	expect(t, get(t, ln, "/public/link-in.txt"), 200, "Hello from static storage")
	expect(t, get(t, ln, "/public/space%20name.txt"), 200, "spaced")
	expect(t, get(t, ln, "/public/unicode-%C3%A9.txt"), 200, "accent")
	expect(t, get(t, ln, "/public/deep/a/b/c/d.txt"), 200, "deep")
	expect(t, get(t, ln, "/public/noext"), 200, "raw", "Content-Type", "application/octet-stream")
	expect(t, get(t, ln, "/public/data.json"), 200, `{"a":1}`, "Content-Type", "application/json")
	expect(t, get(t, ln, "/public/image.png"), 200, "\x89PNG", "Content-Type", "image/png")
	expect(t, raw(t, ln, "POST", "/public/hello.txt"), 404, "next")

	off := listen(t, app(t, mountDoc(www, `,"index_file":false`)))
	expect(t, get(t, off, "/public/"), 404, "next")
	expect(t, get(t, off, "/public/sub/"), 404, "next")
	named := listen(t, app(t, mountDoc(www, `,"index_file":"file.txt"`)))
	expect(t, get(t, named, "/public/nosub/"), 200, "no index here")
}

func TestHead(t *testing.T) {
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, "")))
	res := raw(t, ln, "HEAD", "/public/hello.txt")
	expect(t, res, 200, "", "Content-Length", "25", "Content-Type", "text/plain; charset=utf-8")
	res = raw(t, ln, "HEAD", "/public/big.bin")
	expect(t, res, 200, "", "Content-Length", fmt.Sprint(len(bigData)))
}

func TestConditional(t *testing.T) {
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, `,"cache_control":"no-cache"`)))
	first := get(t, ln, "/public/hello.txt")
	etag, lm := string(first.Header.Peek("ETag")), string(first.Header.Peek("Last-Modified"))
	if !strings.HasPrefix(etag, `"`) || lm == "" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lm)
	}
	expect(t, get(t, ln, "/public/hello.txt", "If-None-Match", etag), 304, "", "ETag", etag, "Cache-Control", "no-cache", "Content-Type", "<<absent>>")
	expect(t, get(t, ln, "/public/hello.txt", "If-None-Match", `"x", W/`+etag), 304, "")
	expect(t, get(t, ln, "/public/hello.txt", "If-None-Match", "*"), 304, "")
	expect(t, get(t, ln, "/public/hello.txt", "If-None-Match", `"other"`), 200, "Hello from static storage")
	expect(t, get(t, ln, "/public/hello.txt", "If-Modified-Since", lm), 304, "")
	expect(t, get(t, ln, "/public/hello.txt", "If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"), 200, "Hello from static storage")
	// If-None-Match wins over If-Modified-Since.
	expect(t, get(t, ln, "/public/hello.txt", "If-None-Match", `"other"`, "If-Modified-Since", lm), 200, "Hello from static storage")
	expect(t, raw(t, ln, "HEAD", "/public/hello.txt", "If-None-Match", etag), 304, "")
}

func TestRange(t *testing.T) {
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, "")))
	const f = "/public/hello.txt" // "Hello from static storage", 25 bytes
	expect(t, get(t, ln, f, "Range", "bytes=0-4"), 206, "Hello", "Content-Range", "bytes 0-4/25", "Content-Length", "5")
	expect(t, get(t, ln, f, "Range", "bytes=-7"), 206, "storage", "Content-Range", "bytes 18-24/25")
	expect(t, get(t, ln, f, "Range", "bytes=18-"), 206, "storage")
	expect(t, get(t, ln, f, "Range", "bytes=18-1000"), 206, "storage", "Content-Range", "bytes 18-24/25")
	expect(t, get(t, ln, f, "Range", "bytes=-100"), 206, "Hello from static storage", "Content-Range", "bytes 0-24/25")
	res := get(t, ln, f, "Range", "bytes=25-")
	expect(t, res, 416, "<<any>>", "Content-Range", "bytes */25", "Content-Type", "application/problem+json")
	expect(t, get(t, ln, f, "Range", "bytes=-0"), 416, "<<any>>")
	for _, ignored := range []string{"bytes=0-1,3-4", "bytes=5-2", "items=0-4", "bytes=abc", "bytes=0x-1"} {
		expect(t, get(t, ln, f, "Range", ignored), 200, "Hello from static storage")
	}
	etag := string(get(t, ln, f).Header.Peek("ETag"))
	lm := string(get(t, ln, f).Header.Peek("Last-Modified"))
	expect(t, get(t, ln, f, "Range", "bytes=0-4", "If-Range", etag), 206, "Hello")
	expect(t, get(t, ln, f, "Range", "bytes=0-4", "If-Range", lm), 206, "Hello")
	expect(t, get(t, ln, f, "Range", "bytes=0-4", "If-Range", `"stale"`), 200, "Hello from static storage")
	expect(t, get(t, ln, f, "Range", "bytes=0-4", "If-Range", "W/"+etag), 200, "Hello from static storage")
	expect(t, get(t, ln, f, "Range", "bytes=0-4", "If-Range", "Mon, 01 Jan 2001 00:00:00 GMT"), 200, "Hello from static storage")

	big := get(t, ln, "/public/big.bin")
	if !bytes.Equal(big.Body(), bigData) {
		t.Fatalf("big file: %d bytes", len(big.Body()))
	}
	part := get(t, ln, "/public/big.bin", "Range", "bytes=100000-100015")
	expect(t, part, 206, string(bigData[100000:100016]), "Content-Range", fmt.Sprintf("bytes 100000-100015/%d", len(bigData)))
}

func TestPrecompressed(t *testing.T) {
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, "")))
	const f = "/public/app.js"
	expect(t, get(t, ln, f, "Accept-Encoding", "gzip, br"), 200, "BROTLI-BYTES",
		"Content-Encoding", "br", "Content-Type", "text/javascript; charset=utf-8", "Vary", "Accept-Encoding")
	expect(t, get(t, ln, f, "Accept-Encoding", "gzip"), 200, "GZIP-BYTES", "Content-Encoding", "gzip")
	expect(t, get(t, ln, f, "Accept-Encoding", "br;q=0, gzip"), 200, "GZIP-BYTES")
	expect(t, get(t, ln, f, "Accept-Encoding", "gzip;q=0.5, br;q=0.4"), 200, "GZIP-BYTES")
	expect(t, get(t, ln, f, "Accept-Encoding", "*;q=0"), 200, "console.log('identity')", "Content-Encoding", "<<absent>>")
	expect(t, get(t, ln, f), 200, "console.log('identity')", "Content-Encoding", "<<absent>>", "Vary", "Accept-Encoding")
	expect(t, get(t, ln, f, "Accept-Encoding", "br", "Range", "bytes=0-6"), 206, "console", "Content-Encoding", "<<absent>>")
	br := get(t, ln, f, "Accept-Encoding", "br")
	id := get(t, ln, f)
	if string(br.Header.Peek("ETag")) == string(id.Header.Peek("ETag")) {
		t.Fatal("same ETag for two representations")
	}
	expect(t, get(t, ln, f, "Accept-Encoding", "br", "If-None-Match", string(br.Header.Peek("ETag"))), 304, "", "Vary", "Accept-Encoding")
	expect(t, get(t, ln, f, "If-None-Match", string(br.Header.Peek("ETag"))), 200, "console.log('identity')")
	expect(t, get(t, ln, "/public/hello.txt", "Accept-Encoding", "br"), 200, "Hello from static storage", "Vary", "<<absent>>")
	off := listen(t, app(t, mountDoc(www, `,"precompressed":false`)))
	expect(t, get(t, off, f, "Accept-Encoding", "br"), 200, "console.log('identity')", "Vary", "<<absent>>")
}

// Every way out of the directory: 404 from the next handler (or 400 from
// fasthttp), never a byte of a file outside.
func TestTraversal(t *testing.T) {
	www := tree(t)
	for _, hidden := range []string{"", `,"hidden_files":true`} {
		ln := listen(t, app(t, mountDoc(www, hidden)))
		for _, target := range []string{
			"/public/../secret.txt", "/public/%2e%2e/secret.txt", "/public/%2E%2E/secret.txt",
			"/public/%2e%2e%2fsecret.txt", "/public/..%2fsecret.txt", "/public/..%2Fsecret.txt",
			"/public/..%5csecret.txt", "/public/..\\secret.txt", "/public/%5c..%5csecret.txt",
			"/public/sub/../../secret.txt", "/public/sub/%2e%2e/%2e%2e/secret.txt", "/public//../secret.txt",
			"/public/./../secret.txt", "/public/%252e%252e/secret.txt", "/public/.%2e/secret.txt",
			"/public/link-out.txt", "/public/outdir/secret.txt", "/public/outdir/www/hello.txt/../../secret.txt",
			"/public/abs-link", "/public/outdir", "/public/outdir/", "/public/secret.txt%00.txt",
			"/public/hello.txt%00", "/public/%00", "/public/..", "/public/../", "/public/...",
			"/public/....//secret.txt", "/public/%c0%ae%c0%ae/secret.txt", "/public/..;/secret.txt",
			"/../../../../etc/passwd", "/public/../../../../../../etc/passwd", "/public/%2e%2e%5c%2e%2e%5cetc/passwd",
		} {
			res := get(t, ln, target)
			if bytes.Contains(res.Body(), []byte(secret)) || bytes.Contains(res.Body(), []byte("root:")) {
				t.Errorf("%s (hidden=%v): leaked %q", target, hidden != "", res.Body())
			}
			if res.StatusCode() == 200 && !bytes.Equal(res.Body(), []byte("Hello from static storage")) {
				// A normalized path may land on a real file inside; only
				// hello.txt is reachable that way in this table.
				t.Errorf("%s: served %q", target, res.Body())
			}
		}
		// Dot files only with hidden_files.
		res := get(t, ln, "/public/.env")
		leak := bytes.Contains(res.Body(), []byte(secret))
		if (hidden == "") == leak {
			t.Errorf(".env with hidden=%v: %d %q", hidden != "", res.StatusCode(), res.Body())
		}
		res = get(t, ln, "/public/.well-known/x")
		if leak := bytes.Contains(res.Body(), []byte(secret)); (hidden == "") == leak {
			t.Errorf(".well-known with hidden=%v: %d", hidden != "", res.StatusCode())
		}
	}
	// A literal file named "pct%2e%2e.txt" is reachable only by encoding its %.
	ln := listen(t, app(t, mountDoc(www, "")))
	expect(t, get(t, ln, "/public/pct%252e%252e.txt"), 200, "literal percent name")
}

// With path normalization off, ctx.Path() is the raw path: still safe.
func TestTraversalUnnormalized(t *testing.T) {
	www := tree(t)
	h := app(t, mountDoc(www, ""))
	for _, p := range []string{"/public/../secret.txt", "/public/%2e%2e/secret.txt", "/public/sub/../../secret.txt", "/public/outdir/secret.txt", "/public/..%2fsecret.txt"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.URI().DisablePathNormalizing = true
		ctx.Request.URI().SetPath(p)
		h(&ctx)
		if bytes.Contains(ctx.Response.Body(), []byte(secret)) || ctx.Response.StatusCode() == 200 {
			t.Errorf("%s: %d %q", p, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func TestRevalidation(t *testing.T) {
	old := revalidateEvery
	revalidateEvery = 0
	t.Cleanup(func() { revalidateEvery = old })
	www := tree(t)
	ln := listen(t, app(t, mountDoc(www, "")))
	p := filepath.Join(www, "hello.txt")
	expect(t, get(t, ln, "/public/hello.txt"), 200, "Hello from static storage")
	if err := os.WriteFile(p, []byte("changed!"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, get(t, ln, "/public/hello.txt"), 200, "changed!")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	expect(t, get(t, ln, "/public/hello.txt"), 404, "next")
	if err := os.WriteFile(filepath.Join(www, "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, get(t, ln, "/public/new.txt"), 200, "new")
	// The big file goes away between revalidations: next handler, no panic.
	revalidateEvery = time.Hour
	expect(t, get(t, ln, "/public/big.bin", "Range", "bytes=0-3"), 206, "0123")
	if err := os.Remove(filepath.Join(www, "big.bin")); err != nil {
		t.Fatal(err)
	}
	expect(t, get(t, ln, "/public/big.bin"), 404, "next")
}

// As app-wide middleware a mount answers paths no route matches (including
// "/app/" for a route "/app"); as route middleware it serves its route.
func TestWithRouter(t *testing.T) {
	r := frouter.New()
	r.NotFound = func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(404); ctx.SetBodyString("router 404") }
	r.GET("/app", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("route /app") })
	r.POST("/app/upload", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("uploaded") })
	routeMW, err := New(json.RawMessage(`[{"route_prefix":"/public","files":[{"path":"hello.txt","content":"Hello"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	r.GET("/public/hello.txt", routeMW(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("handler") }))
	appMW, err := New(json.RawMessage(`[{"route_prefix":"/app","index_file":true,"files":[{"path":"index.html","content":"<h1>Welcome</h1>"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, appMW(r.Handler))
	expect(t, get(t, ln, "/app/"), 200, "<h1>Welcome</h1>")
	expect(t, get(t, ln, "/app/nope"), 404, "router 404")
	expect(t, raw(t, ln, "POST", "/app/upload"), 200, "uploaded")
	expect(t, get(t, ln, "/public/hello.txt"), 200, "Hello")
}

func TestConfigErrors(t *testing.T) {
	www := tree(t)
	d, _ := json.Marshal(www)
	dir := string(d)
	for _, doc := range []string{
		`[{"route_prefix":"public","directory":` + dir + `}]`,
		`[{"route_prefix":"/a/../b","directory":` + dir + `}]`,
		`[{"route_prefix":"/a//b","directory":` + dir + `}]`,
		`[{"route_prefix":"/p","directory":` + dir + `,"files":[{"path":"a","content":"b"}]}]`,
		`[{"route_prefix":"/p"}]`,
		`[{"route_prefix":"/p","files":[{"path":"../x","content":"b"}]}]`,
		`[{"route_prefix":"/p","files":[{"path":"/etc/x","content":"b"}]}]`,
		`[{"route_prefix":"/p","files":[{"path":"a/./b","content":"b"}]}]`,
		`[{"route_prefix":"/p","files":[{"path":"a\\b","content":"b"}]}]`,
		`[{"route_prefix":"/p","files":[{"path":"a","content":"b","mode":1}]}]`,
		`[{"route_prefix":"/p","directory":` + dir + `,"index_file":1}]`,
		`[{"route_prefix":"/p","directory":` + dir + `,"index_file":"a/b.html"}]`,
		`[{"route_prefix":"/p","directory":` + dir + `,"unknown":1}]`,
		`[{"route_prefix":"/p","directory_name":"../x","files":[{"path":"a","content":"b"}]}]`,
		`[{"route_prefix":"/p","directory_name":"x","directory":` + dir + `}]`,
		`[{"route_prefix":"/p","directory":"/nonexistent/spikard"}]`,
		`[{"route_prefix":"/p","directory":` + dir + `,"cache_control":"a\r\nX-Evil: 1"}]`,
		`"x"`,
	} {
		if _, err := New(json.RawMessage(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	for _, doc := range []string{`null`, `[]`} {
		if mw, err := New(json.RawMessage(doc)); mw != nil || err != nil {
			t.Errorf("%s: %v %v", doc, mw != nil, err)
		}
	}
	// A single object is accepted.
	if _, err := New(json.RawMessage(`{"route_prefix":"/","directory":` + dir + `}`)); err != nil {
		t.Error(err)
	}
}

func TestRootPrefix(t *testing.T) {
	www := tree(t)
	d, _ := json.Marshal(www)
	ln := listen(t, app(t, `{"route_prefix":"/","directory":`+string(d)+`}`))
	expect(t, get(t, ln, "/"), 200, "<!doctype html><h1>Root</h1>")
	expect(t, get(t, ln, "/hello.txt"), 200, "Hello from static storage")
	expect(t, get(t, ln, "/sub"), 307, "", "Location", "/sub/")
	expect(t, get(t, ln, "//sub"), 307, "", "Location", "/sub/")
	expect(t, get(t, ln, "/../secret.txt"), 404, "next")
}

func TestResolve(t *testing.T) {
	for in, want := range map[string]string{
		"": ".", "/": ".", "a": "a", "a/": "a", "a//b": "a/b", "a/b/": "a/b", "//a": "a",
	} {
		if got, _, ok := Resolve([]byte(in), false); !ok || got != want {
			t.Errorf("Resolve(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"..", "a/..", "../a", ".", "a/./b", ".env", "a\\b", "a\x00", "a/.git/config"} {
		if got, _, ok := Resolve([]byte(in), false); ok {
			t.Errorf("Resolve(%q) = %q, want refusal", in, got)
		}
	}
	if got, _, ok := Resolve([]byte(".well-known/x"), true); !ok || got != ".well-known/x" {
		t.Errorf("hidden: %q %v", got, ok)
	}
	if _, _, ok := Resolve([]byte("a/../b"), true); ok {
		t.Error("hidden allows ..")
	}
}

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"a.txt": "text/plain; charset=utf-8", "A.HTML": "text/html; charset=utf-8", "x.css": "text/css; charset=utf-8",
		"x.js": "text/javascript; charset=utf-8", "x.json": "application/json", "x.svg": "image/svg+xml",
		"x.woff2": "font/woff2", "x": "application/octet-stream", "x.wasm": "application/wasm",
	} {
		if got := ContentType(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func benchServe(b *testing.B, path string, hdr ...string) {
	www := tree(b)
	d, _ := json.Marshal(www)
	mw, err := New(json.RawMessage(`[{"route_prefix":"/public","directory":` + string(d) + `,"cache_control":"public, max-age=60"}]`))
	if err != nil {
		b.Fatal(err)
	}
	h := mw(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(404) })
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(path)
	for i := 0; i+1 < len(hdr); i += 2 {
		ctx.Request.Header.Set(hdr[i], hdr[i+1])
	}
	h(&ctx)
	want := ctx.Response.StatusCode()
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
	}
	if ctx.Response.StatusCode() != want {
		b.Fatal("status changed")
	}
}

func BenchmarkServeCached(b *testing.B) { benchServe(b, "/public/hello.txt") }
func BenchmarkServeIndex(b *testing.B)  { benchServe(b, "/public/sub/") }
func BenchmarkServePrecompressed(b *testing.B) {
	benchServe(b, "/public/app.js", "Accept-Encoding", "gzip, deflate, br")
}
func BenchmarkServeNotModified(b *testing.B) {
	benchServe(b, "/public/hello.txt", "If-Modified-Since", "Mon, 01 Jan 2100 00:00:00 GMT")
}
func BenchmarkServeRange(b *testing.B)         { benchServe(b, "/public/hello.txt", "Range", "bytes=0-4") }
func BenchmarkMissNotUnderPrefix(b *testing.B) { benchServe(b, "/api/items/1") }
func BenchmarkMissNoFile(b *testing.B)         { benchServe(b, "/public/none.txt") }

func BenchmarkResolve(b *testing.B) {
	rel := []byte("assets/js/vendor/app.min.js")
	var buf [256]byte
	b.ReportAllocs()
	for b.Loop() {
		resolveTo(buf[:0], rel, false)
	}
}
