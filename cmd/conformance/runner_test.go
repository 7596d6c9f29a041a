package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake fixture app (net/http, no core) so the
// protocol, restarts and timeouts are tested without the real binding.
func TestMain(m *testing.M) {
	if os.Getenv("CONFORMANCE_FAKE_APP") == "1" {
		fakeFixtureApp()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeFixtureApp speaks PROTOCOL.md. Its handler h0 answers every request as
// the spec says. Test hooks in the spec's headers: X-Fake-Crash exits at
// setup, X-Fake-Hang never answers the setup line.
func fakeFixtureApp() {
	in := bufio.NewReader(os.Stdin)
	var srv *http.Server
	reply := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Printf("fake app log line, not JSON\n%s\n", b)
	}
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return
		}
		var msg Setup
		var stop struct {
			Stop bool `json:"stop"`
		}
		_ = json.Unmarshal(line, &stop)
		if stop.Stop {
			if srv != nil {
				_ = srv.Shutdown(context.Background())
				srv = nil
			}
			reply(map[string]bool{"stopped": true})
			continue
		}
		if err := json.Unmarshal(line, &msg); err != nil {
			reply(map[string]string{"error": err.Error()})
			continue
		}
		spec := msg.Handlers["h0"]
		if _, ok := spec.Headers["X-Fake-Crash"]; ok {
			fmt.Fprintln(os.Stderr, "fake app: crashing as asked")
			os.Exit(3)
		}
		if _, ok := spec.Headers["X-Fake-Hang"]; ok {
			select {}
		}
		if msg.App.Routes[0].Path == "/reject" {
			reply(map[string]string{"error": "route rejected"})
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			reply(map[string]string{"error": err.Error()})
			continue
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range spec.Headers {
				w.Header().Set(k, v)
			}
			for _, c := range spec.SetCookies {
				w.Header().Add("Set-Cookie", c)
			}
			var body []byte
			switch {
			case spec.Echo:
				b, _ := io.ReadAll(r.Body)
				body, _ = json.Marshal(map[string]any{"query": r.URL.Query(), "body": string(b),
					"headers": map[string]string{"content-type": r.Header.Get("Content-Type")}})
				w.Header().Set("Content-Type", "application/json")
			case spec.BodyRaw != nil:
				body = []byte(*spec.BodyRaw)
				w.Header().Set("Content-Type", spec.ContentType)
			case spec.Body != nil:
				body = spec.Body
				w.Header().Set("Content-Type", "application/json")
			}
			status := spec.Status
			if spec.Raise {
				status, body = 500, []byte(`{"title":"Internal Server Error"}`)
			}
			if status == 0 {
				status = 200
			}
			w.WriteHeader(status)
			w.Write(body)
		})}
		go srv.Serve(ln)
		reply(map[string]int{"port": ln.Addr().(*net.TCPAddr).Port})
	}
}

func fakeRunner(t *testing.T, timeout time.Duration) *runner {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONFORMANCE_FAKE_APP", "1")
	r := &runner{pool: &pool{argv: []string{exe}}, timeout: timeout}
	t.Cleanup(r.pool.close)
	return r
}

func TestRunnerEndToEnd(t *testing.T) {
	r := fakeRunner(t, 2*time.Second)
	mk := func(file, handler, request, expected string) *Scenario {
		return scenario(t, file, fmt.Sprintf(`{"name":%q,"handler":%s,"request":%s,"expected_response":%s}`, file, handler, request, expected))
	}
	ok := mk("a/ok.json", `{"route":"/i","method":"GET"}`,
		`{"method":"GET","path":"/i","query_params":{"q":"x y"}}`,
		`{"status_code":200,"body":{"id":1.0},"headers":{"X-A":"1"},"cookies":{"s":{"value":"v","path":"/"}}}`)
	echo := mk("a/echo.json", `{"route":"/e","method":"POST","echo":true}`,
		`{"method":"POST","path":"/e","query_params":{"q":["1","2"]},"body":{"k":"v"}}`,
		`{"status_code":200,"body":{"query":{"q":["1","2"]},"body":"{\"k\":\"v\"}","headers":{"content-type":""}}}`)
	text := mk("a/text.json", `{"route":"/t","method":"GET"}`, `{"method":"GET","path":"/t"}`,
		`{"status_code":200,"body":"hello","headers":{"content-type":"text/plain"}}`)
	// The fake app has no validation: a validation scenario must fail, not
	// pass through its handler.
	noValidation := mk("b/422.json", `{"route":"/v","method":"GET","parameters":{"query":{"q":{"type":"integer"}}}}`,
		`{"method":"GET","path":"/v","query_params":{"q":"x"}}`,
		`{"status_code":422,"body":{"type":"https://spikard.dev/errors/validation-error","title":"t","status":422}}`)
	crash := mk("b/crash.json", `{"route":"/c","method":"GET"}`, `{"method":"GET","path":"/c"}`,
		`{"status_code":200,"headers":{"X-Fake-Crash":"1"}}`)
	hang := mk("b/hang.json", `{"route":"/h","method":"GET"}`, `{"method":"GET","path":"/h"}`,
		`{"status_code":200,"headers":{"X-Fake-Hang":"1"}}`)
	rejected := mk("b/rejected.json", `{"route":"/reject","method":"GET"}`, `{"method":"GET","path":"/reject"}`, `{"status_code":200}`)
	shape := scenario(t, "b/shape.json", `{"name":"n","handler":{"route":"/","method":"GET","bogus":1},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200}}`)
	skippedCat := scenario(t, "graphql/q.json", `{}`)
	selfSkipped := mk("a/self.json", `{"route":"/i","method":"GET"}`, `{"method":"GET","path":"/i"}`, `{"status_code":200}`)
	selfSkipped.Doc = append(selfSkipped.Doc, member{"skip", json.RawMessage(`true`)}, member{"skip_reason", json.RawMessage(`"wip"`)})

	skips, _ := parseSkipList([]byte(`[{"category":"graphql","reason":"later"}]`))
	results := r.runAll([]*Scenario{ok, echo, text, noValidation, crash, ok, hang, ok, rejected, ok, shape, skippedCat, selfSkipped}, skips, nil)

	want := []struct{ status, reason string }{
		{passed, ""},
		{passed, ""},
		{passed, ""},
		{failed, "status: got 200, want 422"},
		{failed, "fake app: crashing as asked"},
		{passed, ""},
		{failed, "did not answer within"},
		{passed, ""},
		{failed, "could not start the scenario's app: route rejected"},
		{passed, ""},
		{failed, "unsupported scenario shape"},
		{skipped, "later"},
		{skipped, "wip"},
	}
	for i, w := range want {
		got := results[i]
		if got.Status != w.status || !strings.Contains(got.Reason, w.reason) {
			t.Errorf("%d %s: got %s %q, want %s containing %q", i, got.File, got.Status, got.Reason, w.status, w.reason)
		}
	}

	var out bytes.Buffer
	np, nf, ns := report(&out, results, false, "fake", []string{"fx"}, time.Second)
	if np != 6 || nf != 5 || ns != 2 {
		t.Fatalf("totals %d %d %d\n%s", np, nf, ns, out.String())
	}
	for _, s := range []string{"category", "total", "--- FAIL fx/b/422.json"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
}

// The command prints the table and the summary as its very last line, and
// writes the JSON results.
func TestCommandOutput(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := dir + "/" + rel
		_ = os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("graphql/sub/a.json", `{"query":"{x}"}`)
	write("cat/schema.json", `{"$schema":"x"}`)
	write("cat/notes.txt", `x`)
	write("00-TOP.json", `{}`)
	write("cat/shape.json", `{"name":"bad shape"}`)
	write("cat/skipme.json", `{"name":"skip me","skip":true}`)
	skip := dir + "/skip.json"
	if err := os.WriteFile(skip, []byte(`[{"category":"graphql","reason":"later"},{"file":"cat/skipme.json","reason":"listed"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonOut := dir + "/out.json"
	var stdout, stderr bytes.Buffer
	code := run([]string{"-fixtures", dir, "-skip", skip, "-json", jsonOut}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != "conformance: 0 passed, 1 failed, 2 skipped" {
		t.Fatalf("last line %q\n%s", last, stdout.String())
	}
	var results []Result
	b, _ := os.ReadFile(jsonOut)
	if err := json.Unmarshal(b, &results); err != nil || len(results) != 3 {
		t.Fatalf("json %s (%v)", b, err)
	}
	if results[0].File != "cat/shape.json" || results[0].Status != failed || results[0].Name != "bad shape" ||
		results[2].File != "graphql/sub/a.json" || results[2].Category != "graphql" || results[2].Status != skipped {
		t.Fatalf("results %+v", results)
	}

	// -run filters; nothing to run means no fixture app is needed.
	stdout.Reset()
	code = run([]string{"-fixtures", dir, "-skip", skip, "-run", "graphql", "-binding", "python"}, &stdout, &stderr)
	if code != 0 || !strings.HasSuffix(stdout.String(), "conformance: 0 passed, 0 failed, 1 skipped\n") {
		t.Fatalf("exit %d\n%s", code, stdout.String())
	}
	// An unknown binding is a clear error.
	write("cat/ok.json", `{"name":"ok","handler":{"route":"/","method":"GET"},"request":{"method":"GET","path":"/"},"expected_response":{"status_code":200}}`)
	stderr.Reset()
	code = run([]string{"-fixtures", dir, "-skip", skip, "-binding", "cobol"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `unknown binding "cobol"`) {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
}
