// Package bench builds and runs the benchmark servers as separate processes
// and checks that they answer every workload identically. The driver
// (bench/cmd/bench) adds the wrk load on top; the tests use the same code to
// prove that no benchmark row would measure a 404 or a rejected request.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

// Server is one implementation under test.
type Server struct {
	Name string
	// Pkg is the main package, relative to the module root.
	Pkg string
}

// The names the report and ratios refer to.
const (
	RawFasthttp = "raw-fasthttp"
	SpikardGo   = "spikard-go"
	NetHTTP     = "nethttp"
)

// Servers lists the implementations in report order; raw-fasthttp first
// because it is the baseline of the ratios.
var Servers = []Server{
	{RawFasthttp, "./bench/servers/rawfasthttp"},
	{SpikardGo, "./bench/servers/spikardgo"},
	{NetHTTP, "./bench/servers/nethttp"},
}

// GoTool returns the go command: the one on PATH, else the one that built
// this program (tests run without PATH guarantees).
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ModuleRoot returns the directory of the main module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, GoTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the spikard-go module")
	}
	return filepath.Dir(mod), nil
}

// Build compiles every server once into dir and returns name → binary path.
// Building (rather than go run) keeps the compiler out of the measurements
// and makes the measured PID the server itself.
func Build(ctx context.Context, root, dir string, servers []Server) (map[string]string, error) {
	bins := map[string]string{}
	for _, s := range servers {
		bin := filepath.Join(dir, s.Name)
		cmd := exec.CommandContext(ctx, GoTool(), "build", "-o", bin, s.Pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s (%s): %w\n%s", s.Name, s.Pkg, err, out)
		}
		bins[s.Name] = bin
	}
	return bins, nil
}

// Proc is a running server process.
type Proc struct {
	Name string
	// Addr is host:port, as announced by the server.
	Addr string
	PID  int
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// URL returns the server's URL for a request target.
func (p *Proc) URL(target string) string { return "http://" + p.Addr + target }

// Start runs bin, which listens on a free 127.0.0.1 port and announces it;
// extraEnv is added to the environment. The server's stderr goes to logPath.
func Start(name, bin, logPath string, extraEnv ...string) (*Proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	// GOMAXPROCS is left to the runtime's default (all CPUs, cgroup-aware)
	// in every server, so none is tuned differently from the others.
	env := make([]string, 0, len(os.Environ())+len(extraEnv))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, extraEnv...)
	cmd.Stderr = logf
	addrc := make(chan string, 1)
	cmd.Stdout = &announceWriter{addr: addrc, rest: logf}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Proc{Name: name, PID: cmd.Process.Pid, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	select {
	case p.Addr = <-addrc:
		return p, nil
	case <-p.done:
		logf.Close()
		return nil, fmt.Errorf("%s exited before listening: %s", name, tail(logPath))
	case <-time.After(15 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("%s did not announce its address within 15s: %s", name, tail(logPath))
	}
}

// Stop asks the server to exit (SIGTERM, which also flushes a CPU profile)
// and kills it if it does not within 10 s.
func (p *Proc) Stop() error {
	defer p.log.Close()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s ignored SIGTERM and was killed", p.Name)
	}
}

// Alive reports whether the process is still running.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// announceWriter is the server's stdout: it passes the announced address
// on and copies everything to the log. Being an io.Writer (not a pipe we
// read ourselves) lets exec own the copying, so Wait is always correct.
type announceWriter struct {
	addr chan string
	rest io.Writer
	line []byte
	sent bool
}

func (w *announceWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.line = append(w.line, b...)
		for {
			i := bytes.IndexByte(w.line, '\n')
			if i < 0 {
				break
			}
			if a, ok := strings.CutPrefix(string(w.line[:i]), servekit.ReadyPrefix); ok {
				w.addr <- strings.TrimSpace(a)
				w.sent, w.line = true, nil
				break
			}
			w.line = w.line[i+1:]
		}
	}
	return w.rest.Write(b)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Request sends one request and returns the status and body.
func Request(ctx context.Context, client *http.Client, method, url, contentType string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Check sends w's request to p once and verifies a 2xx answer that is
// JSON-equal to w.Expect. Since every server is held to the same expected
// document, passing servers answer identically to each other. The raw
// body is returned so callers can also compare bytes.
func Check(ctx context.Context, client *http.Client, p *Proc, w workload.Workload) ([]byte, error) {
	status, body, err := Request(ctx, client, w.Method, p.URL(w.Target), w.ContentType, w.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", p.Name, w.Method, w.Target, err)
	}
	if status < 200 || status > 299 {
		return body, fmt.Errorf("%s %s %s: status %d: %s", p.Name, w.Method, w.Target, status, bytes.TrimSpace(body))
	}
	eq, err := JSONEqual(body, w.Expect)
	if err != nil {
		return body, fmt.Errorf("%s %s %s: answer is not JSON: %v: %q", p.Name, w.Method, w.Target, err, body)
	}
	if !eq {
		return body, fmt.Errorf("%s %s %s: answer %s, want %s", p.Name, w.Method, w.Target, body, w.Expect)
	}
	return body, nil
}

// JSONEqual reports whether a and b are the same JSON document (numbers
// compared by their text, so 10 and 10.0 differ: servers must agree on types).
func JSONEqual(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, err
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, err
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb), nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}
