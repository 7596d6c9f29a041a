package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/spikard/spikard-go/bench"
	"github.com/spikard/spikard-go/bench/workload"
	"github.com/valyala/fasthttp"
)

// A feature is one middleware as the benchmark turns it on: its
// configuration (the value of its key in the document's "middleware"
// object, app-wide), the header every request carries so that it really
// works, and the checks that prove, before any timing, that it does.
type feature struct {
	key   string // configuration key
	label string // table label
	// config is the middleware's configuration value.
	config map[string]any
	// header is sent with every request ("Name: value"), "" for none.
	header func() string
	// present checks the answer to the measured request of a server that
	// runs the middleware; probe sends the extra requests only the
	// middleware answers differently (refusals, a compressible answer).
	present func(a *answer, w workload.Workload) error
	probe   func(ctx context.Context, s *sender, w workload.Workload) error
	// absent checks a server that does not run the middleware shows no
	// trace of it (so the baseline really is bare).
	absent func(ctx context.Context, s *sender, a *answer, w workload.Workload) error
}

// The configuration the benchmark uses.
const (
	corsOrigin = "https://app.example.com"
	jwtSecret  = "mwbench-hs256-secret-of-at-least-32-bytes"
	jwtIssuer  = "https://auth.example.com"
	jwtAud     = "https://api.example.com"
	// rateBurst is the bucket size and refill rate per second: far above
	// what two cores serve, so no request is ever refused.
	rateBurst = 1_000_000
	// gzipMinSize is the compression middleware's min_size (its default):
	// json-small's 86-byte answer is below it and passes uncompressed (gzip
	// would make it 111 bytes), json-medium's 1,060 bytes are compressed.
	gzipMinSize = 1024
)

// token is the valid HS256 bearer token every JWT request carries (made
// once per process; it expires in a day).
var token = func() string {
	t := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
		"sub": "user-42", "iss": jwtIssuer, "aud": jwtAud,
		"iat": time.Now().Unix(), "exp": time.Now().Add(24 * time.Hour).Unix(),
	})
	s, err := t.SignedString([]byte(jwtSecret))
	if err != nil {
		panic(err)
	}
	return s
}()

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// big is a request whose echoed answer is above gzipMinSize.
var big = func() workload.Workload {
	w, _ := workload.ByName("json-medium")
	return w
}()

var features = []*feature{
	{
		key: "request_id", label: "request ID", config: map[string]any{},
		present: func(a *answer, _ workload.Workload) error {
			if id := a.header.Get("X-Request-ID"); !uuidV4.MatchString(id) {
				return fmt.Errorf("X-Request-ID %q is not a fresh UUID v4", id)
			}
			return nil
		},
		probe: func(ctx context.Context, s *sender, w workload.Workload) error {
			a, err := s.send(ctx, w, "X-Request-ID: bench-trace-1")
			if err != nil {
				return err
			}
			if got := a.header.Get("X-Request-ID"); got != "bench-trace-1" {
				return fmt.Errorf("client X-Request-ID not propagated: got %q", got)
			}
			return nil
		},
		absent: headerAbsent("X-Request-ID"),
	},
	{
		key: "cors", label: "CORS", config: map[string]any{"allowed_origins": []string{corsOrigin}},
		header: func() string { return "Origin: " + corsOrigin },
		present: func(a *answer, _ workload.Workload) error {
			if got := a.header.Get("Access-Control-Allow-Origin"); got != corsOrigin {
				return fmt.Errorf("Access-Control-Allow-Origin %q, want %q", got, corsOrigin)
			}
			if !slices.Contains(a.header.Values("Vary"), "Origin") {
				return fmt.Errorf("no Vary: Origin (Vary %q)", a.header.Values("Vary"))
			}
			return nil
		},
		probe: func(ctx context.Context, s *sender, w workload.Workload) error {
			return s.expectStatus(ctx, w, 403, "a request from another origin", "Origin: https://elsewhere.example")
		},
		// Without Origin a CORS server answers as a bare one would.
		absent: func(ctx context.Context, s *sender, _ *answer, w workload.Workload) error {
			if err := s.expectStatus(ctx, w, 200, "a request from any origin to a server without cors", "Origin: https://elsewhere.example"); err != nil {
				return err
			}
			a, err := s.send(ctx, w, "Origin: "+corsOrigin)
			if err != nil {
				return err
			}
			return headerAbsent("Access-Control-Allow-Origin")(ctx, s, a, w)
		},
	},
	{
		key: "rate_limit", label: "rate limit",
		config: map[string]any{"per_second": rateBurst, "burst": rateBurst},
		present: func(a *answer, _ workload.Workload) error {
			if got := a.header.Get("RateLimit-Limit"); got != strconv.Itoa(rateBurst) {
				return fmt.Errorf("RateLimit-Limit %q, want %d", got, rateBurst)
			}
			rem, err := strconv.Atoi(a.header.Get("RateLimit-Remaining"))
			if err != nil || rem < 0 || rem >= rateBurst {
				return fmt.Errorf("RateLimit-Remaining %q is not a count of tokens left", a.header.Get("RateLimit-Remaining"))
			}
			if a.header.Get("X-RateLimit-Reset") == "" {
				return errors.New("no X-RateLimit-Reset")
			}
			return nil
		},
		absent: headerAbsent("RateLimit-Limit"),
	},
	{
		key: "jwt_auth", label: "JWT (HS256)",
		config: map[string]any{"algorithm": "HS256", "secret": jwtSecret, "issuer": jwtIssuer, "audience": jwtAud},
		header: func() string { return "Authorization: Bearer " + token },
		// The measured request's 200 is the proof that the token passed;
		// the probes prove that it had to.
		probe: func(ctx context.Context, s *sender, w workload.Workload) error {
			if err := s.expectStatus(ctx, w, 401, "a request without the token", "Authorization:"); err != nil {
				return err
			}
			forged, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
				"iss": jwtIssuer, "aud": jwtAud, "exp": time.Now().Add(time.Hour).Unix(),
			}).SignedString([]byte("another secret of at least 32 bytes!"))
			return s.expectStatus(ctx, w, 401, "a token signed with another key", "Authorization: Bearer "+forged)
		},
		absent: func(ctx context.Context, s *sender, _ *answer, w workload.Workload) error {
			return s.expectStatus(ctx, w, 200, "a request without a token to a server without jwt_auth", "Authorization:")
		},
	},
	{
		key: "compression", label: "gzip",
		config: map[string]any{"gzip": true, "brotli": false, "min_size": gzipMinSize},
		header: func() string { return "Accept-Encoding: gzip" },
		present: func(a *answer, w workload.Workload) error {
			ce := a.header.Get("Content-Encoding")
			if len(w.Expect) < gzipMinSize {
				if ce != "" {
					return fmt.Errorf("a %d-byte answer (below min_size %d) has Content-Encoding %q", len(w.Expect), gzipMinSize, ce)
				}
				return nil
			}
			if ce != "gzip" {
				return fmt.Errorf("a %d-byte answer has Content-Encoding %q, want gzip", len(w.Expect), ce)
			}
			if a.wire >= len(w.Expect) {
				return fmt.Errorf("gzip answer of %d bytes for %d", a.wire, len(w.Expect))
			}
			return nil
		},
		// Whatever the measured workload, an answer above min_size is
		// compressed: the middleware is on.
		probe: func(ctx context.Context, s *sender, _ workload.Workload) error {
			a, err := s.send(ctx, big)
			if err != nil {
				return err
			}
			if a.header.Get("Content-Encoding") != "gzip" || !slices.Contains(a.header.Values("Vary"), "Accept-Encoding") {
				return fmt.Errorf("a %d-byte answer: Content-Encoding %q, Vary %q; want gzip, Accept-Encoding",
					len(big.Expect), a.header.Get("Content-Encoding"), a.header.Values("Vary"))
			}
			return nil
		},
		absent: func(ctx context.Context, s *sender, _ *answer, _ workload.Workload) error {
			a, err := s.send(ctx, big, "Accept-Encoding: gzip")
			if err != nil {
				return err
			}
			if ce := a.header.Get("Content-Encoding"); ce != "" {
				return fmt.Errorf("server without compression answers Content-Encoding %q", ce)
			}
			return nil
		},
	},
}

func headerAbsent(name string) func(context.Context, *sender, *answer, workload.Workload) error {
	return func(_ context.Context, _ *sender, a *answer, _ workload.Workload) error {
		if v := a.header.Get(name); v != "" {
			return fmt.Errorf("unexpected %s: %q", name, v)
		}
		return nil
	}
}

// A variant is one server: the route with a set of middleware.
type variant struct {
	name     string
	features []*feature
}

// label is the variant's name in the table.
func (v *variant) label() string {
	switch len(v.features) {
	case 0:
		return "no middleware"
	case 1:
		return v.features[0].label
	}
	var ls []string
	for _, f := range v.features {
		ls = append(ls, f.label)
	}
	return "all five: " + strings.Join(ls, " + ")
}

// variants: no middleware, each middleware alone, all of them.
var variants = func() []*variant {
	vs := []*variant{{name: "none"}}
	names := map[string]string{"request_id": "request-id", "cors": "cors", "rate_limit": "rate-limit",
		"jwt_auth": "jwt", "compression": "gzip"}
	for _, f := range features {
		vs = append(vs, &variant{name: names[f.key], features: []*feature{f}})
	}
	return append(vs, &variant{name: "full", features: features})
}()

func variantByName(name string) *variant {
	for _, v := range variants {
		if v.name == name {
			return v
		}
	}
	return nil
}

// middleware is the app-wide "middleware" object of the variant's server.
// request_id is on by default in Spikard, so the variants without it turn
// it off.
func (v *variant) middleware() map[string]any {
	m := map[string]any{"request_id": map[string]any{"enabled": false}}
	for _, f := range v.features {
		m[f.key] = f.config
	}
	return m
}

// headers are sent with every request of the variant.
func (v *variant) headers() []string {
	var hs []string
	for _, f := range v.features {
		if f.header != nil {
			hs = append(hs, f.header())
		}
	}
	return hs
}

func (v *variant) has(f *feature) bool { return slices.Contains(v.features, f) }

// check verifies, on a running server of the variant, that workload w is
// answered right (2xx, the expected document) with the variant's headers,
// that each of its middleware visibly did its work, and that the others
// left no trace.
func (v *variant) check(ctx context.Context, s *sender, w workload.Workload) error {
	a, err := s.send(ctx, w, v.headers()...)
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("status %d: %.300s", a.status, a.body)
	}
	eq, err := bench.JSONEqual(a.body, w.Expect)
	if err != nil || !eq {
		return fmt.Errorf("answer %.200q is not the expected document (%v)", a.body, err)
	}
	s = s.with(v.headers()) // probes send the variant's headers too
	for _, f := range features {
		what := f.key
		switch {
		case v.has(f) && f.present != nil:
			err = f.present(a, w)
		case !v.has(f):
			what += " (absent)"
			err = f.absent(ctx, s, a, w)
		}
		if err == nil && v.has(f) && f.probe != nil {
			err = f.probe(ctx, s, w)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// answer is one response; body is decoded (gunzipped), wire is its size
// as sent.
type answer struct {
	status int
	header http.Header
	body   []byte
	wire   int
}

// sender sends workload requests to one server with base headers; a
// header given to send replaces the base header of the same name ("Name:"
// alone removes it).
type sender struct {
	client *http.Client
	url    string
	base   []string
}

func newSender(url string) *sender {
	// DisableCompression: no Accept-Encoding unless a variant sends it,
	// and gzip answers are seen as they are.
	return &sender{client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DisableCompression: true}}, url: url}
}

func (s *sender) with(base []string) *sender {
	c := *s
	c.base = base
	return &c
}

func (s *sender) send(ctx context.Context, w workload.Workload, headers ...string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, w.Method, s.url+w.Target, bytes.NewReader(w.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", w.ContentType)
	for _, h := range append(slices.Clone(s.base), headers...) {
		name, value, _ := strings.Cut(h, ":")
		if value = strings.TrimSpace(value); value == "" {
			req.Header.Del(name)
		} else {
			req.Header.Set(name, value)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: raw, wire: len(raw)}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip answer: %w", err)
		}
		if a.body, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip answer: %w", err)
		}
	}
	return a, nil
}

// expectStatus sends w with headers and wants status; a 401/403/429 must be
// a problem document.
func (s *sender) expectStatus(ctx context.Context, w workload.Workload, status int, what string, headers ...string) error {
	a, err := s.send(ctx, w, headers...)
	if err != nil {
		return err
	}
	if a.status != status {
		return fmt.Errorf("%s: status %d, want %d: %.200s", what, a.status, status, a.body)
	}
	if status >= 400 {
		var p struct {
			Status int `json:"status"`
		}
		if json.Unmarshal(a.body, &p) != nil || p.Status != status {
			return fmt.Errorf("%s: answer is not a problem document: %.200s", what, a.body)
		}
	}
	return nil
}

// compressed is b as the compression middleware sends it (gzip level 6).
func compressed(b []byte) []byte { return fasthttp.AppendGzipBytesLevel(nil, b, 6) }
