package static

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzStaticPath checks that no request path, normalized by fasthttp or
// not, resolves outside the mount: Resolve never yields "..", absolute or
// backslashed names, and the middleware never answers with a file outside
// the directory (a secret next to it, reachable by symlinks too).
func FuzzStaticPath(f *testing.F) {
	base := f.TempDir()
	www := filepath.Join(base, "www")
	inside := map[string]string{
		"hello.txt":      "inside hello",
		"sub/index.html": "inside sub index",
		"index.html":     "inside root index",
		".hidden/h.txt":  "inside hidden",
		"a b/c%2e.txt":   "inside odd name",
	}
	for name, content := range inside {
		p := filepath.Join(www, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644); err != nil {
		f.Fatal(err)
	}
	for link, target := range map[string]string{"out": "..", "out.txt": "../secret.txt", "abs": filepath.Join(base, "secret.txt")} {
		if err := os.Symlink(target, filepath.Join(www, link)); err != nil {
			f.Fatal(err)
		}
	}
	allowed := map[string]bool{}
	for _, c := range inside {
		allowed[c] = true
	}
	d, _ := json.Marshal(www)
	handlers := map[bool]fasthttp.RequestHandler{}
	for _, hidden := range []bool{false, true} {
		mw, err := New(json.RawMessage(`[{"route_prefix":"/public","directory":` + string(d) +
			`,"hidden_files":` + map[bool]string{false: "false", true: "true"}[hidden] + `}]`))
		if err != nil {
			f.Fatal(err)
		}
		handlers[hidden] = mw(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(404) })
	}

	for _, s := range []string{
		"hello.txt", "../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt", "..\\secret.txt", "out/secret.txt",
		"out.txt", "abs", "sub/../../secret.txt", ".hidden/h.txt", "a%20b/c%252e.txt", "sub", "sub/", "",
		"%00", "..%00/secret.txt", "out/www/hello.txt", "//../secret.txt", "%c0%ae%c0%ae/secret.txt", "....//secret.txt",
	} {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, p string, normalize, hidden bool) {
		name, _, ok := Resolve([]byte(p), hidden)
		if ok {
			if name != "." && (!filepath.IsLocal(filepath.FromSlash(name)) || path.IsAbs(name) ||
				strings.ContainsAny(name, "\\\x00") || path.Clean(name) != name) {
				t.Fatalf("Resolve(%q) = %q", p, name)
			}
			for _, seg := range strings.Split(name, "/") {
				if seg == ".." || (seg == "." && name != ".") || seg == "" {
					t.Fatalf("Resolve(%q) = %q: segment %q", p, name, seg)
				}
			}
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.URI().DisablePathNormalizing = !normalize
		ctx.Request.URI().SetPath("/public/" + p)
		handlers[hidden](&ctx)
		body := ctx.Response.Body()
		if bytes.Contains(body, []byte(secret)) {
			t.Fatalf("path %q (normalize=%v): leaked the secret", p, normalize)
		}
		switch sc := ctx.Response.StatusCode(); sc {
		case 200, 206:
			if sc == 200 && !allowed[string(body)] {
				t.Fatalf("path %q: served %q", p, body)
			}
		case 304, 307, 404, 416:
		default:
			t.Fatalf("path %q: status %d", p, sc)
		}
	})
}
