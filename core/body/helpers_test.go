package body

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/valyala/fasthttp"
)

// newCtx builds a POST request; headers are name, value pairs.
func newCtx(ct, body string, headers ...string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/x")
	if ct != "" {
		ctx.Request.Header.SetContentType(ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		ctx.Request.SetBodyString(body)
	}
	return ctx
}

func mustDecoder(t testing.TB, route config.Route, limits Limits) *Decoder {
	t.Helper()
	d, err := New(route, limits)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func schemaRoute(schema string) config.Route {
	r := config.Route{Method: "POST", Path: "/x"}
	if schema != "" {
		r.BodySchema = json.RawMessage(schema)
	}
	return r
}

// jv parses a JSON literal the way the decoder represents values.
func jv(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad literal %s: %v", s, err)
	}
	return v
}

// canon renders a value as JSON for comparisons that ignore Go number types
// (int64 vs json.Number).
func canon(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	_ = dec.Decode(&x)
	b, _ = json.Marshal(x)
	return string(b)
}

func problemJSON(p *problem.Problem) string {
	if p == nil {
		return ""
	}
	return string(p.Bytes())
}

func errsJSON(t testing.TB, errs []problem.ErrorItem) string {
	t.Helper()
	if len(errs) == 0 {
		return ""
	}
	b, err := json.Marshal(errs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expectation of one Decode call. Empty strings mean "none".
type expect struct {
	v       string // JSON of v (canonical); "-" skips the check
	absent  bool   // present == false
	problem string // exact problem document
	errs    string // exact JSON of errs
}

func check(t *testing.T, d *Decoder, ctx *fasthttp.RequestCtx, e expect) {
	t.Helper()
	v, present, p, errs := d.Decode(ctx)
	if got := problemJSON(p); got != e.problem {
		t.Fatalf("problem:\n got %s\nwant %s", got, e.problem)
	}
	if got := errsJSON(t, errs); got != e.errs {
		t.Fatalf("errs:\n got %s\nwant %s", got, e.errs)
	}
	if e.problem != "" {
		return
	}
	if present == e.absent {
		t.Fatalf("present = %v, want %v", present, !e.absent)
	}
	if e.v != "-" && !e.absent {
		want := "null"
		if e.v != "" {
			want = canon(t, jv(t, e.v))
		}
		if got := canon(t, v); got != want {
			t.Fatalf("v:\n got %s\nwant %s", got, want)
		}
	}
}

func deepEqual(a, b any) bool { return reflect.DeepEqual(a, b) }
