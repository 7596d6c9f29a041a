package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A binding knows how to prepare its fixture app (build it once) and the
// command line that starts it. Every fixture app speaks PROTOCOL.md.
type binding struct {
	// prepare builds what is needed under tmp and returns the command line.
	prepare func(ctx context.Context, root, tmp string) ([]string, error)
}

var bindings = map[string]binding{
	"go":     {prepare: prepareGo},
	"c":      {prepare: prepareC},
	"python": {prepare: preparePython},
	"node":   {prepare: prepareNode},
	"ruby":   {prepare: prepareRuby},
	"php":    {prepare: preparePHP},
}

func bindingNames() []string {
	return sortedKeysB(bindings)
}

func sortedKeysB(m map[string]binding) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}

// prepareGo builds bindings/go/fixtureapp once.
func prepareGo(ctx context.Context, root, tmp string) ([]string, error) {
	bin := filepath.Join(tmp, "fixtureapp-go")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bindings/go/fixtureapp")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("building the Go fixture app: %v\n%s", err, out)
	}
	return []string{bin}, nil
}

// prepareRuby builds libspikard once; the fixture app runs from the source
// tree (bindings/ruby/lib) with it. bindings/ruby/test.sh tests the gem.
func prepareRuby(ctx context.Context, root, tmp string) ([]string, error) {
	lib := filepath.Join(tmp, "libspikard.so")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", lib, "./capi")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building libspikard for the Ruby fixture app: %v\n%s", err, out)
	}
	rb := filepath.Join(root, "bindings", "ruby")
	return []string{"ruby", "-I", filepath.Join(rb, "lib"), filepath.Join(rb, "fixtureapp", "fixtureapp.rb"), "--lib", lib}, nil
}

// preparePHP builds libspikard once; the fixture app runs from the source
// tree (bindings/php, PHP FFI) with it. bindings/php/test.sh tests the package.
// prepareC builds the C fixture app (and libspikard, statically) with
// bindings/c's CMake project.
func prepareC(ctx context.Context, root, tmp string) ([]string, error) {
	build := filepath.Join(tmp, "c")
	for _, args := range [][]string{
		{"cmake", "-S", filepath.Join(root, "bindings", "c"), "-B", build, "-DCMAKE_BUILD_TYPE=Release"},
		{"cmake", "--build", build, "--target", "fixtureapp", "-j", "2"},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building the C fixture app: %v\n%s", err, out)
		}
	}
	return []string{filepath.Join(build, "fixtureapp")}, nil
}

func preparePHP(ctx context.Context, root, tmp string) ([]string, error) {
	lib := filepath.Join(tmp, "libspikard.so")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", lib, "./capi")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building libspikard for the PHP fixture app: %v\n%s", err, out)
	}
	return []string{"php", "-d", "ffi.enable=1", "-d", "memory_limit=512M",
		filepath.Join(root, "bindings", "php", "fixtureapp", "fixtureapp.php"), "--lib", lib}, nil
}

// preparePython installs bindings/python (its setup.py builds libspikard)
// into a venv under tmp; SPIKARD_PYTHON names an interpreter that has the
// package already (bindings/python/test.sh sets it).
func preparePython(ctx context.Context, root, tmp string) ([]string, error) {
	app := filepath.Join(root, "bindings", "python", "fixtureapp", "fixtureapp.py")
	if py := os.Getenv("SPIKARD_PYTHON"); py != "" {
		return []string{py, app}, nil
	}
	venv := filepath.Join(tmp, "venv")
	py := filepath.Join(venv, "bin", "python")
	for _, args := range [][]string{{"python3", "-m", "venv", venv},
		{py, "-m", "pip", "install", "-q", filepath.Join(root, "bindings", "python")}} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("installing the Python binding: %v\n%s", err, out)
		}
	}
	return []string{py, app}, nil
}

// prepareNode builds the Node binding (libspikard, the N-API addon, the
// TypeScript sources) with its own build script; the fixture app is
// bindings/node/fixtureapp/main.js.
func prepareNode(ctx context.Context, root, tmp string) ([]string, error) {
	dir := filepath.Join(root, "bindings", "node")
	cmd := exec.CommandContext(ctx, "node", "scripts/build.js")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("building the Node binding (node scripts/build.js): %v\n%s", err, out)
	}
	return []string{"node", filepath.Join(dir, "fixtureapp", "main.js")}, nil
}

// fixtureApp is one running fixture app process.
type fixtureApp struct {
	argv   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	exited chan struct{}
	stderr *tail
}

// tail keeps the last bytes a process wrote to stderr, for failure reports.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf); n > 8192 {
		t.buf = append([]byte(nil), t.buf[n-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

func (t *tail) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

func startFixtureApp(argv []string) (*fixtureApp, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f := &fixtureApp{argv: argv, cmd: cmd, stdin: stdin, lines: make(chan string, 16),
		exited: make(chan struct{}), stderr: &tail{}}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
	}()
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()
	return f, nil
}

var errDied = errors.New("fixture app exited")

// call sends one protocol message and waits for the answer: the first line
// on stdout that is a JSON object (other lines are ignored; a fixture app
// should log to stderr).
func (f *fixtureApp) call(msg any, timeout time.Duration) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if _, err := f.stdin.Write(b); err != nil {
		return nil, fmt.Errorf("%w (writing to its stdin: %v)", errDied, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-f.lines:
			if !ok {
				return nil, errDied
			}
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				continue
			}
			return m, nil
		case <-timer.C:
			return nil, fmt.Errorf("fixture app did not answer within %s", timeout)
		}
	}
}

// kill ends the process and waits for it.
func (f *fixtureApp) kill() {
	if f.cmd.Process != nil {
		_ = f.cmd.Process.Kill()
	}
	_ = f.stdin.Close()
	select {
	case <-f.exited:
	case <-time.After(5 * time.Second):
	}
}

// close asks the process to end by closing its stdin, then kills it if it
// does not.
func (f *fixtureApp) close() {
	_ = f.stdin.Close()
	select {
	case <-f.exited:
	case <-time.After(3 * time.Second):
		f.kill()
	}
}

func (f *fixtureApp) alive() bool {
	select {
	case <-f.exited:
		return false
	default:
		return true
	}
}

// pool keeps one fixture app for the whole run, restarting it when it dies.
type pool struct {
	argv []string
	app  *fixtureApp
}

func (p *pool) get() (*fixtureApp, error) {
	if p.app != nil && p.app.alive() {
		return p.app, nil
	}
	if p.app != nil {
		p.app.kill()
	}
	a, err := startFixtureApp(p.argv)
	if err != nil {
		return nil, err
	}
	p.app = a
	return a, nil
}

// discard kills the current process; the next get starts a new one.
func (p *pool) discard() {
	if p.app != nil {
		p.app.kill()
		p.app = nil
	}
}

func (p *pool) close() {
	if p.app != nil {
		p.app.close()
		p.app = nil
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
