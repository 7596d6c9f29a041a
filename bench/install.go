package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// run runs a command, its output going to logPath; the error carries the
// output's tail.
func run(ctx context.Context, logPath, dir string, env []string, argv ...string) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, tail(logPath))
	}
	return nil
}

// marker reports whether dir was installed with exactly this spec.
func marker(dir, spec string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ".bench-installed"))
	return err == nil && string(b) == spec
}

func setMarker(dir, spec string) error {
	return os.WriteFile(filepath.Join(dir, ".bench-installed"), []byte(spec), 0o644)
}

// GoBuild builds a Go server into the run's directory.
func GoBuild(ctx context.Context, env *Env, name, pkg string) (string, error) {
	bin := filepath.Join(env.Tmp, name)
	cmd := exec.CommandContext(ctx, GoTool(), "build", "-o", bin, pkg)
	cmd.Dir = env.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s (%s): %w\n%s", name, pkg, err, out)
	}
	return bin, nil
}

// Python returns the python of venv bench/.peers/python/<name>, creating it
// and pip-installing pkgs on first use (or when pkgs or stamp change).
// before, when set, runs first and returns environment for pip (to lay out
// a local package).
func Python(ctx context.Context, env *Env, name string, pkgs []string, stamp string, before func() ([]string, error)) (string, error) {
	dir := filepath.Join(env.Peers, "python", name)
	py := filepath.Join(dir, "bin", "python")
	spec := strings.Join(pkgs, "\n") + "\n" + stamp
	if marker(dir, spec) {
		return py, nil
	}
	if env.NoInstall {
		if _, err := os.Stat(filepath.Join(dir, ".bench-installed")); err == nil {
			return py, nil // installed, maybe from older sources: good enough to look at
		}
		return "", fmt.Errorf("not installed (run the benchmark once to install %s into %s)", strings.Join(pkgs, " "), dir)
	}
	base, err := exec.LookPath("python3")
	if err != nil {
		return "", errors.New("python3 is not installed")
	}
	env.Log("installing %s into %s (pip, first use)", strings.Join(pkgs, " "), dir)
	if _, err := os.Stat(py); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if err := run(ctx, dir+".log", "", nil, base, "-m", "venv", dir); err != nil {
			return "", err
		}
	}
	var pipEnv []string
	if before != nil {
		if pipEnv, err = before(); err != nil {
			return "", err
		}
	}
	args := append([]string{py, "-m", "pip", "install", "-q", "--disable-pip-version-check"}, pkgs...)
	if err := run(ctx, dir+".log", "", pipEnv, args...); err != nil {
		return "", err
	}
	return py, setMarker(dir, spec)
}

// PySpy returns py-spy from the venv's bin, or "" when it is not there.
func PySpy(py string) string {
	p := filepath.Join(filepath.Dir(py), "py-spy")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// NodePackages are the Node peers' packages, installed into
// bench/.peers/node/node_modules (servers find them through NODE_PATH).
var NodePackages = []string{
	"fastify@5", "@fastify/multipart@9", "@fastify/formbody@8",
	"hono@4", "@hono/node-server@1",
	"express@5", "multer@2",
	"ajv@8", "ajv-formats@3",
}

// NodeModules installs NodePackages on first use and returns the
// node_modules folder.
func NodeModules(ctx context.Context, env *Env) (string, error) {
	dir := filepath.Join(env.Peers, "node")
	spec := strings.Join(NodePackages, "\n")
	nm := filepath.Join(dir, "node_modules")
	if marker(dir, spec) {
		return nm, nil
	}
	if env.NoInstall {
		return "", fmt.Errorf("not installed (run the benchmark once to npm install %s into %s)", strings.Join(NodePackages, " "), dir)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", errors.New("npm is not installed")
	}
	env.Log("installing %s into %s (npm, first use)", strings.Join(NodePackages, " "), dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"spikard-bench-peers","private":true}`+"\n"), 0o644); err != nil {
		return "", err
	}
	args := append([]string{"npm", "install", "--no-audit", "--no-fund", "--loglevel=error"}, NodePackages...)
	if err := run(ctx, dir+".log", dir, nil, args...); err != nil {
		return "", err
	}
	return nm, setMarker(dir, spec)
}

// Apt makes sure the Debian packages are installed (apt-get as root).
func Apt(ctx context.Context, env *Env, pkgs ...string) error {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if env.NoInstall {
		return fmt.Errorf("Debian packages not installed: %s", strings.Join(missing, " "))
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("Debian packages not installed and not root: apt-get install -y %s", strings.Join(missing, " "))
	}
	env.Log("installing %s (apt-get, first use)", strings.Join(missing, " "))
	logp := filepath.Join(env.Peers, "apt.log")
	_ = os.MkdirAll(env.Peers, 0o755)
	args := append([]string{"apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"}, missing...)
	if err := run(ctx, logp, "", []string{"DEBIAN_FRONTEND=noninteractive"}, args...); err != nil {
		// The package lists may be stale on a fresh machine.
		if err2 := run(ctx, logp+".update", "", nil, "apt-get", "update", "-q"); err2 != nil {
			return err
		}
		return run(ctx, logp, "", []string{"DEBIAN_FRONTEND=noninteractive"}, args...)
	}
	return nil
}

// Libspikard builds libspikard.so (the C ABI every non-Go binding loads)
// once per run into bench/.peers/lib.
func Libspikard(ctx context.Context, env *Env) (string, error) {
	if env.libOnce {
		return env.lib, env.libErr
	}
	env.libOnce = true
	dir := filepath.Join(env.Peers, "lib")
	env.lib = filepath.Join(dir, "libspikard.so")
	if env.NoInstall {
		if _, err := os.Stat(env.lib); err != nil {
			env.libErr = fmt.Errorf("libspikard not built (run the benchmark once to build %s)", env.lib)
		}
		return env.lib, env.libErr
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		env.libErr = err
		return "", err
	}
	env.Log("building libspikard.so (go build -buildmode=c-shared ./capi)")
	env.libErr = run(ctx, filepath.Join(dir, "build.log"), env.Root, nil, GoTool(), "build", "-buildmode=c-shared",
		"-ldflags=-extldflags=-Wl,--version-script="+filepath.Join(env.Root, "capi", "libspikard.map"), "-o", env.lib, "./capi")
	return env.lib, env.libErr
}
