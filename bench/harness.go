// Package bench builds, installs and runs the benchmark servers as separate
// processes and checks that they answer every workload identically. The
// driver (bench/cmd/bench) adds the wrk load on top; the tests use the same
// code to prove that no row of the report would time a 404, a rejected
// request or a different answer.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

// Server is one implementation under test: a small program in
// bench/servers/<dir>/ plus this registry entry (servers.go).
type Server struct {
	Name string
	// Lang groups the report: go, c, python, node, ruby, php.
	Lang string
	// Ours marks a Spikard binding; Peer then names the ecosystem's
	// server it is compared with (besides raw fasthttp).
	Ours bool
	Peer string
	// Also are more servers the binding is compared with in the report
	// (its ecosystem's framework, the original package), besides Peer.
	Also []string
	// What says what runs, for the report.
	What string
	// Unsupported maps workload name patterns (path.Match) to the reason
	// the server does not implement them; reported as "not implemented".
	Unsupported map[string]string
	// KnownWrong maps workload name patterns to a known defect of the
	// server that makes it answer wrongly: still checked (and so reported
	// invalid when it answers wrongly), but the tests do not fail on it.
	KnownWrong map[string]string
	// Prepare builds or installs what the server needs (idempotent; with
	// env.NoInstall it only looks) and says how to start it. An error
	// makes the server unavailable, with the error as the reason.
	Prepare func(ctx context.Context, env *Env) (*Launch, error)
}

// NotImplemented returns the reason s does not implement workload w, or "".
func (s *Server) NotImplemented(w string) string {
	for pat, why := range s.Unsupported {
		if ok, _ := path.Match(pat, w); ok {
			return why
		}
	}
	return ""
}

// Known returns the known defect of s on workload w, or "".
func (s *Server) Known(w string) string {
	for pat, why := range s.KnownWrong {
		if ok, _ := path.Match(pat, w); ok {
			return why
		}
	}
	return ""
}

// Launch says how to start a prepared server. Strings in Cmds, Files and
// Env may use {port} (the port it must listen on, on 127.0.0.1), {port2}
// (a second free port, for servers made of two processes), {dir} (a fresh
// directory for this start), {spec} (the workload table as JSON) and
// {doc} (the core configuration document of the benchmark app).
type Launch struct {
	// Cmds are started in order; all of them are the server (CPU and RSS
	// are summed over them and their children).
	Cmds []Cmd
	// Files are written into {dir} before starting (config files).
	Files map[string]string
	// Announce: the first command prints "listening on HOST:PORT" (the Go
	// servers); otherwise the harness waits until {port} accepts.
	Announce bool
	// Ready2: also wait until {port2} accepts (a backend behind a proxy).
	Ready2 bool
	// Profiler is how -profile profiles this server: "go" (pprof via the
	// environment), "node" (--cpu-prof), "python" (py-spy, PySpy its path),
	// "perf" (perf record of every process of the server).
	Profiler string
	PySpy    string
	// StopSignal asks the server to exit (default SIGTERM).
	StopSignal syscall.Signal
}

// Cmd is one process of a server.
type Cmd struct {
	Argv []string
	Env  []string
	Dir  string
}

// Env is what Prepare may use.
type Env struct {
	Root  string // module root
	Peers string // bench/.peers: installs (gitignored)
	Tmp   string // this run's scratch directory
	// NoInstall: do not install or build anything that is missing (tests).
	NoInstall bool
	Log       func(format string, args ...any)
	libOnce   bool
	lib       string
	libErr    error
}

// Servers lists every server in report order: by language, ours first,
// then its peers. raw-fasthttp is the baseline of every ratio.
var Servers []*Server // filled by servers.go

// Names the report and ratios refer to.
const (
	RawFasthttp = "raw-fasthttp"
	SpikardGo   = "spikard-go"
)

// ServerByName returns the named server.
func ServerByName(name string) *Server {
	for _, s := range Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
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

// WriteSpec writes the workload table and the core document into dir and
// returns their paths.
func WriteSpec(dir string) (spec, doc string, err error) {
	b, err := workload.Spec()
	if err != nil {
		return "", "", err
	}
	spec, doc = filepath.Join(dir, "spec.json"), filepath.Join(dir, "app.json")
	if err := os.WriteFile(spec, b, 0o644); err != nil {
		return "", "", err
	}
	d, err := json.Marshal(workload.CoreDocument())
	if err != nil {
		return "", "", err
	}
	return spec, doc, os.WriteFile(doc, d, 0o644)
}

// Proc is a running server: one or more processes.
type Proc struct {
	Name string
	// Addr is host:port.
	Addr string
	// PIDs of the started processes (their children count too).
	PIDs []int
	cmds []*exec.Cmd
	done []chan struct{}
	log  *os.File
	Dir  string
	stop syscall.Signal
}

// PID is the first process's id (the one profiled).
func (p *Proc) PID() int { return p.PIDs[0] }

// URL returns the server's URL for a request target.
func (p *Proc) URL(target string) string { return "http://" + p.Addr + target }

// FreePort asks the kernel for a free 127.0.0.1 port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a prepared server; spec and doc are WriteSpec's files.
// extraEnv goes to the first command; extraArgs are inserted after its
// program (node --cpu-prof). Its output goes to logPath.
func Start(name string, l *Launch, spec, doc, logPath string, extraEnv, extraArgs []string) (*Proc, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	port2, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(logPath), name+"-")
	if err != nil {
		return nil, err
	}
	sub := strings.NewReplacer("{port}", strconv.Itoa(port), "{port2}", strconv.Itoa(port2), "{dir}", dir, "{spec}", spec, "{doc}", doc)
	for fn, content := range l.Files {
		if err := os.WriteFile(filepath.Join(dir, fn), []byte(sub.Replace(content)), 0o644); err != nil {
			return nil, err
		}
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &Proc{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port), log: logf, Dir: dir, stop: l.StopSignal}
	if p.stop == 0 {
		p.stop = syscall.SIGTERM
	}
	addrc := make(chan string, 1)
	for i, c := range l.Cmds {
		argv := make([]string, len(c.Argv))
		for j, a := range c.Argv {
			argv[j] = sub.Replace(a)
		}
		if i == 0 && len(extraArgs) > 0 {
			argv = append(append([]string{argv[0]}, extraArgs...), argv[1:]...)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		// GOMAXPROCS is left to each runtime's default in every server.
		env := make([]string, 0, len(os.Environ())+len(c.Env)+len(extraEnv))
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOMAXPROCS=") {
				env = append(env, kv)
			}
		}
		for _, kv := range c.Env {
			env = append(env, sub.Replace(kv))
		}
		if i == 0 {
			env = append(env, extraEnv...)
		}
		cmd.Env = env
		cmd.Dir = sub.Replace(c.Dir)
		// Own process group: Stop ends the server's children with it
		// (puma and php-fpm workers), and nothing else.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stderr = logf
		if i == 0 && l.Announce {
			cmd.Stdout = &announceWriter{addr: addrc, rest: logf}
		} else {
			cmd.Stdout = logf
		}
		if err := cmd.Start(); err != nil {
			p.Stop()
			return nil, fmt.Errorf("%s: %w", argv[0], err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		p.cmds, p.done, p.PIDs = append(p.cmds, cmd), append(p.done, done), append(p.PIDs, cmd.Process.Pid)
	}
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case a := <-addrc:
			p.Addr = a
			return p, nil
		case <-deadline:
			p.Stop()
			return nil, fmt.Errorf("%s did not listen within 60s: %s", name, tail(logPath))
		case <-tick.C:
			for _, d := range p.done {
				select {
				case <-d:
					p.Stop()
					return nil, fmt.Errorf("%s exited before listening: %s", name, tail(logPath))
				default:
				}
			}
			if !l.Announce && accepts(p.Addr) && (!l.Ready2 || accepts("127.0.0.1:"+strconv.Itoa(port2))) {
				return p, nil
			}
		}
	}
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop asks every process to exit (SIGTERM or the server's StopSignal,
// which also flushes profiles),
// last started first, and kills its process group if it does not within 10 s.
func (p *Proc) Stop() error {
	defer p.log.Close()
	var err error
	for i := len(p.cmds) - 1; i >= 0; i-- {
		cmd, done := p.cmds[i], p.done[i]
		select {
		case <-done:
			continue
		default:
		}
		_ = syscall.Kill(-cmd.Process.Pid, p.stop)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			err = fmt.Errorf("%s ignored SIGTERM and was killed", p.Name)
		}
		// Children left in the group (workers) go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}

// Alive reports whether every process is still running.
func (p *Proc) Alive() bool {
	for _, d := range p.done {
		select {
		case <-d:
			return false
		default:
		}
	}
	return true
}

// announceWriter is the server's stdout: it passes the announced address
// on and copies everything to the log.
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
	if len(b) > 1500 {
		b = b[len(b)-1500:]
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
// document, passing servers answer identically to each other.
func Check(ctx context.Context, client *http.Client, p *Proc, w workload.Workload) ([]byte, error) {
	status, body, err := Request(ctx, client, w.Method, p.URL(w.Target), w.ContentType, w.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", p.Name, w.Method, w.Target, err)
	}
	if status < 200 || status > 299 {
		return body, fmt.Errorf("%s %s %s: status %d: %.300s", p.Name, w.Method, w.Target, status, bytes.TrimSpace(body))
	}
	eq, err := JSONEqual(body, w.Expect)
	if err != nil {
		return body, fmt.Errorf("%s %s %s: answer is not JSON: %v: %.300q", p.Name, w.Method, w.Target, err, body)
	}
	if !eq {
		return body, fmt.Errorf("%s %s %s: answer %.300s, want %.300s", p.Name, w.Method, w.Target, body, w.Expect)
	}
	return body, nil
}

// CheckRejects sends the validated route's bad requests of w and verifies
// each gets a 4xx: a server that skipped its checks would be timed doing
// less work than the others.
func CheckRejects(ctx context.Context, client *http.Client, p *Proc, w workload.Workload) error {
	if !w.Validated {
		return nil
	}
	for _, b := range w.Route.Bad {
		var body []byte
		if b.Body != "" {
			body = []byte(b.Body)
		}
		status, answer, err := Request(ctx, client, w.Method, p.URL("/v"+b.Target), b.ContentType, body)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", p.Name, b.Why, err)
		}
		if status < 400 || status > 499 {
			return fmt.Errorf("%s accepts a bad request (%s): %s /v%s: status %d %.200s", p.Name, b.Why, w.Method, b.Target, status, answer)
		}
	}
	return nil
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
