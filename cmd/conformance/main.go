// Command conformance runs the scenario corpus against a binding's fixture
// app and reports passed / failed / skipped per category.
//
//	go run ./cmd/conformance -binding go [-fixtures DIR]... [-json FILE] [-run REGEX] [-v]
//
// Each HTTP scenario (handler.route + request) is translated, here and for
// every binding alike, into a configuration document and a handler
// behaviour, sent to the binding's fixture app (PROTOCOL.md); the scenario's
// request then goes to the app over a real TCP socket and the answer is
// compared with expected_response. Categories and files listed in skip.json
// are reported as skipped, with their reason.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// failuresShown is how many failures are printed without -v.
const failuresShown = 25

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		fixtures multiFlag
		bindName = fl.String("binding", "go", "binding whose fixture app serves the scenarios: "+strings.Join(bindingNames(), ", "))
		jsonOut  = fl.String("json", "", "write per-scenario results as JSON to this file")
		runRE    = fl.String("run", "", "only scenarios whose category/file or name matches this regular expression")
		verbose  = fl.Bool("v", false, "show every failure (and each scenario as it runs)")
		skipFile = fl.String("skip", "", "skip list (default cmd/conformance/skip.json in the repository)")
		timeout  = fl.Duration("timeout", 10*time.Second, "time limit per scenario")
	)
	fl.Var(&fixtures, "fixtures", "folder of category folders of scenario files (repeatable; default fixtures/ and ../shared/peer-fixtures/spikard from the repository root)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "conformance: unexpected arguments %q\n", fl.Args())
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "conformance: "+format+"\n", a...)
		return 2
	}

	root, err := repoRoot()
	if err != nil {
		return fail("%v", err)
	}
	var filter *regexp.Regexp
	if *runRE != "" {
		if filter, err = regexp.Compile(*runRE); err != nil {
			return fail("-run: %v", err)
		}
	}
	b, ok := bindings[*bindName]
	if !ok {
		return fail("unknown binding %q (known: %s)", *bindName, strings.Join(bindingNames(), ", "))
	}
	if *skipFile == "" {
		*skipFile = filepath.Join(root, "cmd", "conformance", "skip.json")
	}
	skips, err := loadSkipList(*skipFile)
	if err != nil {
		return fail("%v", err)
	}

	dirs := []string(fixtures)
	if len(dirs) == 0 {
		for _, d := range []string{filepath.Join(root, "fixtures"), filepath.Join(root, "..", "shared", "peer-fixtures", "spikard")} {
			if exists(d) {
				dirs = append(dirs, d)
			}
		}
		if len(dirs) == 0 {
			return fail("no fixtures folder found (looked for fixtures/ and ../shared/peer-fixtures/spikard from %s)", root)
		}
	}
	var scenarios []*Scenario
	var labels []string
	for _, d := range dirs {
		files, err := discover(d)
		if err != nil {
			return fail("reading fixtures %s: %v", d, err)
		}
		label := dirLabel(root, d)
		labels = append(labels, label)
		for _, f := range files {
			s := loadScenario(d, f)
			s.Label = label
			if filter != nil && !filter.MatchString(s.File) && !filter.MatchString(s.Name) {
				continue
			}
			scenarios = append(scenarios, s)
		}
	}

	// Only start the fixture app when something will run.
	needsApp := false
	for _, s := range scenarios {
		if _, skip := skips.match(s); skip {
			continue
		}
		if _, skip := selfSkip(s); skip {
			continue
		}
		if _, err := planScenario(s); err == nil {
			needsApp = true
			break
		}
	}
	var argv []string
	if needsApp {
		tmp, err := os.MkdirTemp("", "spikard-conformance-")
		if err != nil {
			return fail("%v", err)
		}
		defer os.RemoveAll(tmp)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		argv, err = b.prepare(ctx, root, tmp)
		cancel()
		if err != nil {
			return fail("%v", err)
		}
	}

	r := &runner{pool: &pool{argv: argv}, timeout: *timeout}
	defer r.pool.close()
	start := time.Now()
	var progress func(Result)
	if *verbose {
		progress = func(res Result) {
			if res.Status != skipped {
				fmt.Fprintf(stdout, "%-6s %s\n", strings.ToUpper(res.Status), path.Join(res.Fixtures, res.File))
			}
		}
	}
	results := r.runAll(scenarios, skips, progress)
	elapsed := time.Since(start)

	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fail("-json: %v", err)
		}
	}
	np, nf, ns := report(stdout, results, *verbose, *bindName, labels, elapsed)
	fmt.Fprintf(stdout, "conformance: %d passed, %d failed, %d skipped\n", np, nf, ns)
	if nf > 0 {
		return 1
	}
	return 0
}

// report prints one table per fixtures folder (a row per category) and the
// failures; it returns the totals.
func report(w io.Writer, results []Result, verbose bool, bindName string, labels []string, elapsed time.Duration) (np, nf, ns int) {
	type counts struct{ p, f, s int }
	var failures []Result
	fmt.Fprintf(w, "binding %s (%s)\n", bindName, elapsed.Round(time.Millisecond))
	for _, label := range labels {
		per := map[string]*counts{}
		var cats []string
		var tot counts
		for _, r := range results {
			if r.Fixtures != label {
				continue
			}
			c := per[r.Category]
			if c == nil {
				c = &counts{}
				per[r.Category] = c
				cats = append(cats, r.Category)
			}
			switch r.Status {
			case passed:
				c.p++
				tot.p++
			case failed:
				c.f++
				tot.f++
				failures = append(failures, r)
			default:
				c.s++
				tot.s++
			}
		}
		np, nf, ns = np+tot.p, nf+tot.f, ns+tot.s
		sort.Strings(cats)
		width := len("category")
		for _, c := range cats {
			width = max(width, len(c))
		}
		row := func(name string, p, f, s any) {
			fmt.Fprintf(w, "%-*s  %6v  %6v  %7v\n", width, name, p, f, s)
		}
		fmt.Fprintf(w, "\nfixtures %s\n", label)
		row("category", "passed", "failed", "skipped")
		for _, c := range cats {
			k := per[c]
			row(c, k.p, k.f, k.s)
		}
		row("total", tot.p, tot.f, tot.s)
	}

	if len(failures) > 0 {
		fmt.Fprintf(w, "\nfailures (%d):\n", len(failures))
		shown := failures
		if !verbose && len(shown) > failuresShown {
			shown = shown[:failuresShown]
		}
		for _, f := range shown {
			fmt.Fprintf(w, "\n--- FAIL %s (%s)\n%s\n", path.Join(f.Fixtures, f.File), f.Name, indent(f.Reason, "    "))
		}
		if len(shown) < len(failures) {
			fmt.Fprintf(w, "\n... %d more failures (-v shows all, -json FILE lists every result)\n", len(failures)-len(shown))
		}
	}
	fmt.Fprintln(w)
	return np, nf, ns
}

// dirLabel names a fixtures folder relative to the repository root when it
// is near it ("fixtures", "../shared/peer-fixtures/spikard").
func dirLabel(root, dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "../../") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

// repoRoot walks up from the working directory to the folder with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if exists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found in the working directory or above it: run from inside the repository")
		}
		dir = parent
	}
}

func sortStrings(s []string) { sort.Strings(s) }
