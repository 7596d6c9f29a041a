// Package docs checks the documentation pages of the demo app in a real
// browser: headless Chromium, driven over the DevTools protocol, loads
// Swagger UI (/docs) and ReDoc (/redoc) with every request that does not go
// to 127.0.0.1 blocked, finds every operation of /openapi.json on both
// pages, and runs Swagger UI's "Try it out" against the live server.
//
// Screenshots are kept in build/artifacts/ (docs-swagger.png,
// docs-swagger-try-it-out.png, docs-redoc.png).
//
// The test skips when no Chromium or Chrome binary is found: install one
// with `apt-get install -y chromium` (Debian), or name it in CHROME_BIN.
// SPIKARD_DEMO_BIN names a prebuilt demo binary; otherwise the test builds
// ./cmd/demo.
package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// budget bounds the test once the demo is built: start, both pages, Try it
// out. It takes about 8 s on a 2-core machine.
const budget = 50 * time.Second

func TestDocsPagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chrome := findChrome()
	if chrome == "" {
		t.Skip("no Chromium/Chrome binary found (CHROME_BIN, chromium, chromium-browser, google-chrome): " +
			"install it with `apt-get install -y chromium` to run the documentation pages in a browser")
	}
	root := repoRoot(t)
	bin := buildDemo(t, root)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	base := startDemo(ctx, t, bin)
	ops := operations(ctx, t, base)
	t.Logf("demo app at %s: %d operations; setup took %s", base, len(ops), time.Since(start).Round(time.Millisecond))

	artifacts := filepath.Join(root, "build", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(ctx, t, chrome, base)

	t.Run("swagger-ui", func(t *testing.T) {
		b.open(t, base+"/docs")
		// Every operation is an .opblock whose id ends with its operationId.
		b.wait(t, fmt.Sprintf(`document.querySelectorAll('#swagger-ui .opblock').length >= %d`, len(ops)), "Swagger UI to render every operation")
		type block struct {
			ID, Method, Path string
		}
		blocks, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]block](`[...document.querySelectorAll('#swagger-ui .opblock')].map(e => ({
			ID: e.id,
			Method: (e.querySelector('.opblock-summary-method') || {}).textContent || '',
			Path: (e.querySelector('.opblock-summary-path') || {dataset: {}}).dataset.path || ''
		}))`))
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			found := false
			for _, bl := range blocks {
				if strings.HasPrefix(bl.ID, "operations-") && strings.HasSuffix(bl.ID, "-"+op.ID) &&
					strings.EqualFold(bl.Method, op.Method) && bl.Path == op.Path {
					found = true
				}
			}
			if !found {
				t.Errorf("Swagger UI does not show %s %s (%s); it shows %+v", op.Method, op.Path, op.ID, blocks)
			}
		}
		title, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#swagger-ui .info .title")))
		if err != nil || !strings.Contains(title, "Spikard demo") {
			t.Errorf("Swagger UI title %q, %v", title, err)
		}
		b.screenshot(t, filepath.Join(artifacts, "docs-swagger.png"), chromedp.CaptureScreenshot())

		// Try it out on GET /items/{id}: the response panel shows what the
		// server answers for /items/1.
		op := "#" + blockID(blocks, "get_items_id")
		if op == "#" {
			t.Fatal("no block for get_items_id")
		}
		want, status := get(ctx, t, base+"/items/1")
		if status != 200 {
			t.Fatalf("GET /items/1 = %d", status)
		}
		if err := chromedp.Do(b.ctx,
			chromedp.Click(chromedp.CSS(op+" .opblock-summary-control")),
			chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn")),
			chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
			chromedp.WaitVisible(chromedp.CSS(op+` .parameters input[type="text"]`)),
			chromedp.SendKeys(chromedp.CSS(op+` .parameters input[type="text"]`), "1"),
			chromedp.Click(chromedp.CSS(op+" .execute")),
		); err != nil {
			t.Fatalf("Try it out: %v", err)
		}
		b.wait(t, `(() => {
			const c = document.querySelector('`+op+` .live-responses-table tbody .response-col_status');
			return c !== null && c.textContent.trim().startsWith('200');
		})()`, "the live response of GET /items/1")
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]string](`(() => {
			const op = document.querySelector('`+op+`');
			const q = s => (op.querySelector(s) || {}).textContent || '';
			return {
				url: q('.request-url pre'),
				status: q('.live-responses-table tbody .response-col_status').trim(),
				body: q('.live-responses-table tbody .response-col_description .highlight-code pre')
			};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if got["url"] != base+"/items/1" {
			t.Errorf("request URL shown %q, want %q", got["url"], base+"/items/1")
		}
		var shown, served any
		if err := json.Unmarshal([]byte(got["body"]), &shown); err != nil {
			t.Errorf("response body panel %q: %v", got["body"], err)
		}
		_ = json.Unmarshal(want, &served)
		if fmt.Sprint(shown) != fmt.Sprint(served) {
			t.Errorf("response panel shows %s, the server answers %s", got["body"], want)
		}
		t.Logf("Try it out: %s → %s %s", got["url"], got["status"], strings.Join(strings.Fields(got["body"]), " "))
		_, _ = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('`+op+`').scrollIntoView()`))
		b.screenshot(t, filepath.Join(artifacts, "docs-swagger-try-it-out.png"), chromedp.CaptureScreenshot())
	})

	t.Run("redoc", func(t *testing.T) {
		b.open(t, base+"/redoc")
		// ReDoc gives each operation a section "operation/<operationId>".
		b.wait(t, fmt.Sprintf(`document.querySelectorAll('[data-section-id^="operation/"]').length >= %d`, len(ops)), "ReDoc to render every operation")
		type section struct{ ID, Text string }
		sections, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]section](`[...document.querySelectorAll('[data-section-id^="operation/"]')].map(e => ({
			ID: e.getAttribute('data-section-id'), Text: e.textContent
		}))`))
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			found := false
			for _, s := range sections {
				if s.ID == "operation/"+op.ID && strings.Contains(s.Text, op.Path) && strings.Contains(strings.ToLower(s.Text), strings.ToLower(op.Method)) {
					found = true
				}
			}
			if !found {
				t.Errorf("ReDoc does not show %s %s (%s)", op.Method, op.Path, op.ID)
			}
		}
		// The menu lists every operation too.
		menu, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.menu-content li[data-item-id^="operation/"]').length`))
		if err != nil || menu < len(ops) {
			t.Errorf("ReDoc menu lists %d operations (%v), want %d", menu, err, len(ops))
		}
		b.screenshot(t, filepath.Join(artifacts, "docs-redoc.png"), chromedp.CaptureScreenshot())
	})

	allowed, blocked := b.counts()
	t.Logf("requests: %d to the app, %d elsewhere (blocked); %s in all", allowed, len(blocked), time.Since(start).Round(time.Millisecond))
	if len(blocked) > 0 {
		t.Errorf("the pages tried to reach %d URLs off the app (blocked): %s", len(blocked), strings.Join(blocked, ", "))
	}
	if allowed == 0 {
		t.Error("no request was intercepted: the blocking is not in force")
	}

	// The blocking itself: a request off the app fails in the page and is
	// counted. (.invalid never resolves; the request is failed before any
	// lookup, and the browser's proxy is a closed port on 127.0.0.1.)
	probe := "http://blocked.invalid/probe"
	b.open(t, base+"/docs")
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch('`+probe+`').then(() => 'reached', e => 'failed: ' + e)`, chromedp.EvalAwaitPromise))
	if _, after := b.counts(); err != nil || !strings.HasPrefix(res, "failed") || len(after) != len(blocked)+1 || after[len(after)-1] != probe {
		t.Errorf("probe %s: %q, %v; blocked %v", probe, res, err, after)
	}
	for _, m := range b.console() {
		switch {
		case strings.Contains(m, "Content Security Policy") && strings.Contains(m, redocLogo):
			// ReDoc's footer logo: the page's CSP keeps it from loading, on
			// purpose (see core/openapi/serve.go).
			t.Logf("console (expected): %s", m)
		case strings.Contains(m, "Content Security Policy"), strings.HasPrefix(m, "exception"):
			t.Errorf("console: %s", m)
		default:
			t.Logf("console: %s", m)
		}
	}
}

// redocLogo is the one resource off the app that a page asks for; the CSP
// blocks it before any request is made.
const redocLogo = "https://cdn.redoc.ly/redoc/logo-mini.svg"

func blockID(blocks any, opID string) string {
	raw, _ := json.Marshal(blocks)
	var bs []struct{ ID string }
	_ = json.Unmarshal(raw, &bs)
	for _, b := range bs {
		if strings.HasPrefix(b.ID, "operations-") && strings.HasSuffix(b.ID, "-"+opID) {
			return b.ID
		}
	}
	return ""
}

// browser is one headless Chromium tab whose requests off the app are failed.
type browser struct {
	ctx context.Context

	mu      sync.Mutex
	allowed int
	blocked []string
	logs    []string
}

func newBrowser(ctx context.Context, t *testing.T, chrome, base string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// Belt and braces: whatever Fetch does not see (the browser's own
		// traffic) goes to a proxy that does not exist; loopback bypasses it.
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })

	b := &browser{ctx: bctx}
	app, _ := url.Parse(base)
	paused := chromedp.Events(bctx, fetch.RequestPaused)
	if _, err := chromedp.Call(bctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "*"}},
	}); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			u, perr := url.Parse(ev.Request.URL)
			local := perr == nil && u.Hostname() == "127.0.0.1" && (u.Scheme == "http" || u.Scheme == "https")
			b.mu.Lock()
			if local {
				b.allowed++
			} else {
				b.blocked = append(b.blocked, ev.Request.URL)
			}
			b.mu.Unlock()
			if local && u.Host != app.Host {
				t.Logf("request to another local port: %s", ev.Request.URL)
			}
			if local {
				_, _ = chromedp.Call(bctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			} else {
				_, _ = chromedp.Call(bctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
			}
		}
	}()
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.logs = append(b.logs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) open(t *testing.T, u string) {
	t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	if res.Status != 200 {
		t.Fatalf("open %s: status %d", u, res.Status)
	}
}

// wait polls a JavaScript condition until it holds (the test's context
// bounds it).
func (b *browser) wait(t *testing.T, cond, what string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.failure(t)
		t.Fatalf("waiting for %s: %v\nconsole: %s", what, err, strings.Join(b.console(), "\n"))
	}
}

// failure keeps what the page shows when a condition is not met:
// build/artifacts/docs-failure.png and .html (with a short deadline of its
// own, since the test's may be over).
func (b *browser) failure(t *testing.T) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	dir := filepath.Join(repoRoot(t), "build", "artifacts")
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "docs-failure.png"), png, 0o644)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "docs-failure.html"), []byte(html), 0o644)
	}
	t.Logf("page at the failure: %s/docs-failure.{png,html}", dir)
}

func (b *browser) screenshot(t *testing.T, path string, shot chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
		return
	}
	t.Logf("screenshot: %s", path)
}

func (b *browser) counts() (int, []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.allowed, append([]string(nil), b.blocked...)
}

func (b *browser) console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

func findChrome() string {
	if p := os.Getenv("CHROME_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// buildDemo builds ./cmd/demo (or takes SPIKARD_DEMO_BIN). Under -race it
// builds with -race too, so that it reuses what `go test -race ./...` has
// compiled already. The build is outside the test's time budget.
func buildDemo(t *testing.T, root string) string {
	if bin := os.Getenv("SPIKARD_DEMO_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/demo")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s ./cmd/demo: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s ./cmd/demo: %s", strings.Join(args, " "), time.Since(t0).Round(time.Millisecond))
	return bin
}

// startDemo starts the demo on a free 127.0.0.1 port and returns its base
// URL once /openapi.json answers.
func startDemo(ctx context.Context, t *testing.T, bin string) string {
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		var logs bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "-host", "127.0.0.1", "-port", strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				t.Logf("demo exited (port %d taken?): %s", port, logs.String())
				deadline = time.Time{}
				continue
			case <-time.After(50 * time.Millisecond):
			}
			if _, status := tryGet(ctx, base+"/openapi.json"); status == 200 {
				return base
			}
		}
		select {
		case <-exited:
		default:
			t.Fatalf("the demo did not answer /openapi.json within 15s: %s", logs.String())
		}
	}
	t.Fatal("could not start the demo app")
	return ""
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func tryGet(ctx context.Context, u string) ([]byte, int) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b, res.StatusCode
}

func get(ctx context.Context, t *testing.T, u string) ([]byte, int) {
	t.Helper()
	b, status := tryGet(ctx, u)
	if status == 0 {
		t.Fatalf("GET %s failed", u)
	}
	return b, status
}

type operation struct{ ID, Method, Path string }

// operations reads every operation of the app's document.
func operations(ctx context.Context, t *testing.T, base string) []operation {
	raw, status := get(ctx, t, base+"/openapi.json")
	if status != 200 {
		t.Fatalf("/openapi.json: %d", status)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for p, item := range doc.Paths {
		for m, v := range item {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			default:
				continue
			}
			var o struct {
				OperationID string `json:"operationId"`
			}
			_ = json.Unmarshal(v, &o)
			ops = append(ops, operation{ID: o.OperationID, Method: strings.ToUpper(m), Path: p})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
	if len(ops) == 0 {
		t.Fatal("the document lists no operation")
	}
	return ops
}
