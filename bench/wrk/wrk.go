// Package wrk drives the wrk load generator and reads its text report. wrk
// is used (rather than a Go load generator) because it is the common
// yardstick for HTTP servers and costs far less CPU per request than a Go
// client would, which matters on a machine shared with the server.
package wrk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// InstallHint tells the user how to get wrk.
const InstallHint = "wrk is not installed: install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)"

// ErrMissing is returned by Find when wrk is not on PATH.
var ErrMissing = errors.New(InstallHint)

// Find returns the path of the wrk binary.
func Find() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", ErrMissing
	}
	return p, nil
}

// Version returns wrk's version line (for the results' metadata).
func Version(bin string) string {
	// wrk -v prints its banner and exits non-zero; only the text matters.
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	return strings.TrimSpace(line)
}

// Options is one wrk invocation.
type Options struct {
	Bin         string
	URL         string
	Threads     int
	Connections int
	Duration    time.Duration
	// Script is a Lua script path (for POST), empty for a plain GET.
	Script string
	// Headers are sent with every request ("Name: value", wrk -H); a
	// script's wrk.headers are added to them.
	Headers []string
}

// Result is what one wrk run reports.
type Result struct {
	Requests   int64         `json:"requests"`
	ReqPerSec  float64       `json:"req_per_sec"`
	P50        time.Duration `json:"p50_ns"`
	P75        time.Duration `json:"p75_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Non2xx     int64         `json:"non_2xx"`
	SocketErrs SocketErrors  `json:"socket_errors"`
	// CPU is the CPU time wrk itself used (set by Run).
	CPU time.Duration `json:"wrk_cpu_ns"`
}

// SocketErrors are wrk's connect/read/write/timeout error counts.
type SocketErrors struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
}

// Total is the sum of all socket errors.
func (s SocketErrors) Total() int64 { return s.Connect + s.Read + s.Write + s.Timeout }

// Run runs wrk once with --latency and parses its report. wrk stops by
// itself after Duration; the context only guards against a hung wrk.
func Run(ctx context.Context, o Options) (Result, string, error) {
	args := []string{
		"-t", strconv.Itoa(o.Threads),
		"-c", strconv.Itoa(o.Connections),
		"-d", fmt.Sprintf("%ds", max(1, int(o.Duration.Round(time.Second)/time.Second))),
		"--latency",
	}
	for _, h := range o.Headers {
		args = append(args, "-H", h)
	}
	if o.Script != "" {
		args = append(args, "-s", o.Script)
	}
	args = append(args, o.URL)
	ctx, cancel := context.WithTimeout(ctx, o.Duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.Bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err != nil {
		return Result{}, text, fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(text))
	}
	r, err := Parse(text)
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, text, err
}

// Parse reads wrk's text report (as printed with --latency).
func Parse(text string) (Result, error) {
	var r Result
	var haveRate, haveP50, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: bad Requests/sec %q", f[1])
			}
			r.ReqPerSec, haveRate = v, true
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			// Latency Distribution lines: "50%   75.00us".
			d, err := ParseDuration(f[1])
			if err != nil {
				continue
			}
			switch f[0] {
			case "50%":
				r.P50, haveP50 = d, true
			case "75%":
				r.P75 = d
			case "90%":
				r.P90 = d
			case "99%":
				r.P99, haveP99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				r.Requests = n
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: bad non-2xx count %q", f[4])
			}
			r.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 1, write 0, timeout 0"
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("wrk: bad socket errors line %q", line)
				}
				switch f[i] {
				case "connect":
					r.SocketErrs.Connect = n
				case "read":
					r.SocketErrs.Read = n
				case "write":
					r.SocketErrs.Write = n
				case "timeout":
					r.SocketErrs.Timeout = n
				}
			}
		}
	}
	if !haveRate || !haveP50 || !haveP99 {
		return r, fmt.Errorf("wrk: report lacks Requests/sec or latency distribution:\n%s", text)
	}
	return r, nil
}

// ParseDuration reads wrk's latency format: a number with us, ms, s, m or h.
func ParseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{ // "ms" before "s" so that the longer suffix wins.
		{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second},
		{"m", time.Minute}, {"h", time.Hour},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk: bad duration %q", s)
			}
			// Round: 535.55ms is 535549999.99 ns in floating point.
			return time.Duration(math.Round(v * float64(u.unit))), nil
		}
	}
	return 0, fmt.Errorf("wrk: bad duration %q", s)
}

// WriteScript writes a Lua script making wrk send method with body and
// content type, and returns its path. The body is a Lua quoted string with
// every byte outside printable ASCII escaped (\ddd): a long bracket string
// would turn the CRLFs of a multipart body into LFs.
func WriteScript(dir, name, method, contentType string, body []byte) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "-- generated by bench: %s\n", name)
	fmt.Fprintf(&b, "wrk.method = %q\n", method)
	fmt.Fprintf(&b, "wrk.headers[\"Content-Type\"] = %q\n", contentType)
	b.WriteString("wrk.body = \"")
	for _, c := range body {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteString("\"\n")
	path := filepath.Join(dir, name+".lua")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}
