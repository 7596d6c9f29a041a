package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// The registry. Adding a binding's server is a program in
// bench/servers/<dir>/ and one entry here.
func init() {
	Servers = []*Server{
		// Go: the baseline of every ratio first.
		goServer(RawFasthttp, "fasthttp + fasthttp/router, parsing and checks by hand", "./bench/servers/rawfasthttp", false, ""),
		goServer(SpikardGo, "the Spikard Go API, schemas from the workload table", "./bench/servers/spikardgo", true, RawFasthttp),
		goServer("nethttp", "net/http ServeMux, by hand like raw-fasthttp", "./bench/servers/nethttp", false, ""),

		{Name: "spikard-c", Lang: "c", Ours: true, Peer: RawFasthttp,
			What: "C callback handlers on libspikard (bench/servers/spikard-c)", Prepare: prepareC},

		{Name: "spikard-py", Lang: "python", Ours: true, Peer: "fastapi", Also: []string{"spikard-0.17.2"},
			What: "the Python binding (bindings/python, sync handlers), one process", Prepare: prepareSpikardPy},
		{Name: "fastapi", Lang: "python", What: "FastAPI + pydantic v2 on uvicorn (uvloop, httptools), 1 worker",
			Prepare: uvicorn("fastapi")},
		{Name: "litestar", Lang: "python", What: "Litestar + msgspec on uvicorn (uvloop, httptools), 1 worker",
			Prepare: uvicorn("litestar")},
		{Name: "robyn", Lang: "python", What: "Robyn (Rust runtime), 1 process, pydantic checks",
			Prepare: pyScript("robyn", []string{"robyn", "pydantic", "py-spy"}, "robyn", syscall.SIGINT)},
		{Name: "spikard-0.17.2", Lang: "python", What: "the original Spikard (Rust core) from PyPI, msgspec models",
			KnownWrong: map[string]string{"urlencoded-complex*": "0.17.2 turns the form value zip=42000 into the number 42000 although the body schema declares a string"},
			Prepare:    pyScript("spikard017", []string{"spikard==0.17.2", "msgspec", "py-spy"}, "spikard017", syscall.SIGINT)},

		{Name: "spikard-node", Lang: "node", Ours: true, Peer: "fastify",
			What: "the Node binding (bindings/node), one process", Prepare: prepareSpikardNode},
		{Name: "fastify", Lang: "node", What: "Fastify 5 with its JSON Schema validation (ajv), one process", Prepare: nodeServer("fastify")},
		{Name: "hono", Lang: "node", What: "Hono on @hono/node-server, ajv, one process", Prepare: nodeServer("hono")},
		{Name: "express", Lang: "node", What: "Express 5 + multer, ajv, one process", Prepare: nodeServer("express")},

		{Name: "spikard-rb", Lang: "ruby", Ours: true, Peer: "rack-puma", Also: []string{"sinatra-puma"},
			What: "the Ruby binding (bindings/ruby) on libspikard, one process", Prepare: prepareSpikardRb},
		{Name: "rack-puma", Lang: "ruby", What: "plain Rack on Puma (Debian), 2 workers × 5 threads, checks by hand",
			Prepare: puma("rack-puma")},
		{Name: "sinatra-puma", Lang: "ruby", What: "Sinatra 3 (Debian) on Puma, 2 workers × 5 threads, checks by hand",
			Prepare: puma("sinatra-puma", "ruby-sinatra")},

		{Name: "spikard-php", Lang: "php", Ours: true, Peer: "php-fpm", Also: []string{"slim-fpm"},
			What: "the PHP binding (bindings/php, FFI), one worker process per CPU", Prepare: prepareSpikardPHP},
		{Name: "php-fpm", Lang: "php", What: "plain PHP on nginx + php8.2-fpm (4 static children), checks by hand",
			Prepare: fpm("php-fpm")},
		{Name: "slim-fpm", Lang: "php", What: "Slim 3.12 (Debian) on nginx + php8.2-fpm (4 static children), checks by hand",
			Prepare: fpm("slim-fpm", "php-slim")},
	}
}

// Languages in report order.
var Languages = []string{"go", "c", "python", "node", "ruby", "php"}

func goServer(name, what, pkg string, ours bool, peer string) *Server {
	return &Server{Name: name, Lang: "go", Ours: ours, Peer: peer, What: what,
		Prepare: func(ctx context.Context, env *Env) (*Launch, error) {
			bin, err := GoBuild(ctx, env, name, pkg)
			if err != nil {
				return nil, err
			}
			return &Launch{Cmds: []Cmd{{Argv: []string{bin, "-addr", "127.0.0.1:{port}"}}}, Announce: true, Profiler: "go"}, nil
		}}
}

func (e *Env) serverDir(name string) string { return filepath.Join(e.Root, "bench", "servers", name) }

func prepareC(ctx context.Context, env *Env) (*Launch, error) {
	lib, err := Libspikard(ctx, env)
	if err != nil {
		return nil, err
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		return nil, errors.New("no C compiler (cc)")
	}
	bin := filepath.Join(env.Tmp, "spikard-c")
	src := filepath.Join(env.serverDir("spikard-c"), "main.c")
	if err := run(ctx, bin+".build.log", env.Root, nil, cc, "-O2", "-Wall", "-I", filepath.Join(env.Root, "include"),
		"-o", bin, src, "-L", filepath.Dir(lib), "-lspikard", "-Wl,-rpath,"+filepath.Dir(lib), "-lpthread"); err != nil {
		return nil, err
	}
	return &Launch{Cmds: []Cmd{{Argv: []string{bin, "{doc}", "{port}"}}}, Announce: true, Profiler: "perf"}, nil
}

// The Python peers share one venv (same pydantic/msgspec versions).
var asgiPackages = []string{"fastapi", "uvicorn[standard]", "litestar", "pydantic", "msgspec", "python-multipart", "py-spy"}

func uvicorn(name string) func(context.Context, *Env) (*Launch, error) {
	return func(ctx context.Context, env *Env) (*Launch, error) {
		py, err := Python(ctx, env, "asgi", asgiPackages, "", nil)
		if err != nil {
			return nil, err
		}
		return &Launch{Cmds: []Cmd{{Argv: []string{py, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "{port}",
			"--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"},
			Dir: env.serverDir(name)}}, Profiler: "python", PySpy: PySpy(py)}, nil
	}
}

func pyScript(venv string, pkgs []string, dir string, stop syscall.Signal) func(context.Context, *Env) (*Launch, error) {
	return func(ctx context.Context, env *Env) (*Launch, error) {
		py, err := Python(ctx, env, venv, pkgs, "", nil)
		if err != nil {
			return nil, err
		}
		return &Launch{Cmds: []Cmd{{Argv: []string{py, "app.py"}, Env: []string{"PORT={port}", "BENCH_SPEC={spec}"},
			Dir: env.serverDir(dir)}}, Profiler: "python", PySpy: PySpy(py), StopSignal: stop}, nil
	}
}

// prepareSpikardPy installs the binding into its own venv from a copy of
// bindings/python (its build writes into the source folder, which is not
// ours), built against this run's libspikard; reinstalled when the
// binding's sources change.
func prepareSpikardPy(ctx context.Context, env *Env) (*Launch, error) {
	src := filepath.Join(env.Root, "bindings", "python")
	if _, err := os.Stat(filepath.Join(src, "setup.py")); err != nil {
		return nil, errors.New("bindings/python has no setup.py yet")
	}
	stamp, err := treeStamp(src, "build")
	if err != nil {
		return nil, err
	}
	copyDir := filepath.Join(env.Peers, "src", "python")
	py, err := Python(ctx, env, "spikard", []string{"msgspec", "py-spy", copyDir}, "sources "+stamp, func() ([]string, error) {
		lib, err := Libspikard(ctx, env)
		if err != nil {
			return nil, err
		}
		_ = os.RemoveAll(copyDir)
		if err := os.MkdirAll(filepath.Dir(copyDir), 0o755); err != nil {
			return nil, err
		}
		if err := run(ctx, copyDir+".log", "", nil, "cp", "-r", src, copyDir); err != nil {
			return nil, err
		}
		_ = os.RemoveAll(filepath.Join(copyDir, "build"))
		return []string{"SPIKARD_LIBRARY=" + lib, "SPIKARD_REPO_ROOT=" + env.Root}, nil
	})
	if err != nil {
		return nil, err
	}
	return &Launch{Cmds: []Cmd{{Argv: []string{py, "app.py"}, Env: []string{"PORT={port}", "BENCH_DOC={doc}"},
		Dir: env.serverDir("spikard-py")}}, Announce: true, Profiler: "python", PySpy: PySpy(py)}, nil
}

// treeStamp is the newest modification time under dir (skipping skip),
// to reinstall a local package when its sources change.
func treeStamp(dir, skip string) (string, error) {
	var newest int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if fi.IsDir() && (fi.Name() == skip || fi.Name() == "__pycache__" || fi.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if t := fi.ModTime().UnixNano(); t > newest {
			newest = t
		}
		return nil
	})
	return fmt.Sprint(newest), err
}

func nodeServer(name string) func(context.Context, *Env) (*Launch, error) {
	return func(ctx context.Context, env *Env) (*Launch, error) {
		nm, err := NodeModules(ctx, env)
		if err != nil {
			return nil, err
		}
		return &Launch{Cmds: []Cmd{{Argv: []string{"node", "server.js"}, Dir: env.serverDir(name),
			Env: []string{"PORT={port}", "BENCH_SPEC={spec}", "NODE_PATH=" + nm, "NODE_ENV=production"}}}, Profiler: "node"}, nil
	}
}

func prepareSpikardNode(ctx context.Context, env *Env) (*Launch, error) {
	pkg := filepath.Join(env.Root, "bindings", "node")
	for _, f := range []string{"dist/index.js", "build/spikard.node"} {
		if _, err := os.Stat(filepath.Join(pkg, f)); err != nil {
			return nil, fmt.Errorf("bindings/node is not built (%s missing: run its test.sh or `node scripts/build.js` there)", f)
		}
	}
	return &Launch{Cmds: []Cmd{{Argv: []string{"node", "server.js"}, Dir: env.serverDir("spikard-node"),
		Env: []string{"PORT={port}", "BENCH_DOC={doc}", "SPIKARD_NODE_PACKAGE=" + pkg, "NODE_ENV=production"}}}, Profiler: "node"}, nil
}

func prepareSpikardRb(ctx context.Context, env *Env) (*Launch, error) {
	if err := Apt(ctx, env, "ruby", "ruby-ffi"); err != nil {
		return nil, err
	}
	lib, err := Libspikard(ctx, env)
	if err != nil {
		return nil, err
	}
	rblib := filepath.Join(env.Root, "bindings", "ruby", "lib")
	if _, err := os.Stat(filepath.Join(rblib, "spikard.rb")); err != nil {
		return nil, errors.New("bindings/ruby/lib/spikard.rb is missing")
	}
	return &Launch{Cmds: []Cmd{{Argv: []string{"ruby", "-I", rblib, "app.rb"}, Dir: env.serverDir("spikard-rb"),
		Env: []string{"PORT={port}", "BENCH_DOC={doc}", "SPIKARD_LIB=" + lib}}}, Profiler: "perf"}, nil
}

// puma serves servers/<dir>/config.ru on Debian's Puma, 2 workers × 5
// threads, after installing Ruby, Puma, Rack and pkgs.
func puma(dir string, pkgs ...string) func(context.Context, *Env) (*Launch, error) {
	return func(ctx context.Context, env *Env) (*Launch, error) {
		if err := Apt(ctx, env, append([]string{"ruby", "puma", "ruby-rack"}, pkgs...)...); err != nil {
			return nil, err
		}
		return &Launch{Cmds: []Cmd{{Argv: []string{"puma", "-e", "production", "-w", "2", "-t", "5:5", "-b", "tcp://127.0.0.1:{port}", "config.ru"},
			Dir: env.serverDir(dir)}}, Profiler: "perf"}, nil
	}
}

func prepareSpikardPHP(ctx context.Context, env *Env) (*Launch, error) {
	if err := Apt(ctx, env, "php8.2-cli"); err != nil {
		return nil, err
	}
	lib, err := Libspikard(ctx, env)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(env.Root, "bindings", "php", "bin", "spikard")
	if _, err := os.Stat(bin); err != nil {
		return nil, errors.New("bindings/php/bin/spikard is missing")
	}
	return &Launch{Cmds: []Cmd{{Argv: []string{"php", "-d", "ffi.enable=1", "-d", "opcache.enable_cli=1", bin, "serve", "app.php",
		// One worker per CPU, as a PHP deployment sizes them (php-fpm here
		// runs 4 children): each worker's PHP thread is one CPU's worth of
		// handler time, and its libspikard serves its share of connections
		// (SO_REUSEPORT).
		"--host", "127.0.0.1", "--port", "{port}", "--workers", strconv.Itoa(runtime.NumCPU())}, Dir: env.serverDir("spikard-php"),
		Env: []string{"BENCH_DOC={doc}", "SPIKARD_LIBRARY=" + lib}}}, Profiler: "perf"}, nil
}

// fpm serves servers/<dir>/index.php, the front controller of every
// request, with nginx + php8.2-fpm (4 static children, opcache on) after
// installing them and pkgs; config files are generated into {dir}.
func fpm(dir string, pkgs ...string) func(context.Context, *Env) (*Launch, error) {
	return func(ctx context.Context, env *Env) (*Launch, error) {
		if err := Apt(ctx, env, append([]string{"nginx", "php8.2-fpm"}, pkgs...)...); err != nil {
			return nil, err
		}
		return fpmLaunch(env.serverDir(dir)), nil
	}
}

func fpmLaunch(root string) *Launch {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;"
	}
	nginx := strings.Join([]string{
		user, "worker_processes 1;", "pid {dir}/nginx.pid;", "error_log {dir}/nginx-error.log warn;", "daemon off;",
		"events { worker_connections 1024; }",
		"http {", " access_log off;", " client_max_body_size 10m;", " client_body_buffer_size 1m;",
		" client_body_temp_path {dir}/body;", " fastcgi_temp_path {dir}/fastcgi;", " proxy_temp_path {dir}/proxy;",
		" uwsgi_temp_path {dir}/uwsgi;", " scgi_temp_path {dir}/scgi;",
		" upstream fpm { server 127.0.0.1:{port2}; keepalive 32; }",
		" server {", "  listen 127.0.0.1:{port} reuseport;", "  location / {",
		"   include /etc/nginx/fastcgi_params;", "   fastcgi_keep_conn on;", "   fastcgi_pass fpm;",
		"   fastcgi_param SCRIPT_FILENAME " + filepath.Join(root, "index.php") + ";", "   fastcgi_param SCRIPT_NAME /index.php;",
		"  }", " }", "}", ""}, "\n")
	fpm := strings.Join([]string{
		"[global]", "pid = {dir}/php-fpm.pid", "error_log = {dir}/php-fpm.log", "daemonize = no",
		"[bench]", "listen = 127.0.0.1:{port2}", "pm = static", "pm.max_children = 4", "pm.max_requests = 0",
		"clear_env = no", "catch_workers_output = yes",
		"php_admin_value[opcache.enable] = 1", "php_admin_value[opcache.validate_timestamps] = 0",
		"php_admin_value[upload_max_filesize] = 10M", "php_admin_value[post_max_size] = 10M", ""}, "\n")
	if os.Geteuid() == 0 {
		fpm = strings.Replace(fpm, "[bench]\n", "[bench]\nuser = root\ngroup = root\n", 1)
	}
	fpmBin, err := exec.LookPath("php-fpm8.2")
	if err != nil {
		fpmBin = "/usr/sbin/php-fpm8.2"
	}
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		nginxBin = "/usr/sbin/nginx"
	}
	return &Launch{
		Files: map[string]string{"nginx.conf": nginx, "php-fpm.conf": fpm}, Ready2: true, Profiler: "perf",
		Cmds: []Cmd{
			{Argv: []string{fpmBin, "--nodaemonize", "--allow-to-run-as-root", "--fpm-config", "{dir}/php-fpm.conf"},
				Env: []string{"BENCH_TMP={dir}"}}, // clear_env = no: the children see it
			{Argv: []string{nginxBin, "-c", "{dir}/nginx.conf", "-p", "{dir}", "-e", "{dir}/nginx-error.log"}},
		}}
}
