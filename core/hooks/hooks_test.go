package hooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	s, err := Parse([]byte(`{
		"pre_handler": [{"name": "auth", "handler": "check", "config": {"realm": "api",  "n": 1}, "dependencies": ["users"]}],
		"on_request": [{"name": "a", "handler": "log"}, {"handler": "stamp"}],
		"on_error": null
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(s[OnRequest]); !reflect.DeepEqual(got, []string{"a", "stamp"}) {
		t.Fatalf("on_request = %v (order as written; name defaults to handler)", got)
	}
	h := s[PreHandler][0]
	if h.Handler != "check" || string(h.Config) != `{"realm":"api","n":1}` || !reflect.DeepEqual(h.Dependencies, []string{"users"}) {
		t.Fatalf("pre_handler = %+v", h)
	}
	if got := s.Handlers(); !reflect.DeepEqual(got, []string{"check", "log", "stamp"}) {
		t.Fatalf("Handlers = %v", got)
	}
	if s.Empty() {
		t.Fatal("not empty")
	}
	for _, empty := range []string{``, `null`, `{}`} {
		s, err := Parse([]byte(empty))
		if err != nil || !s.Empty() {
			t.Fatalf("%q: %v %v", empty, s, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"onRequest": []}`:                            `unknown phase "onRequest"`,
		`{"on_request": [{"name": "x"}]}`:              "handler",
		`{"on_request": [{"handler": "x", "cfg": 1}]}`: "unknown field",
		`{"on_request": {"handler": "x"}}`:             "array",
		`[]`:                                           "object",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", doc, err, want)
		}
	}
}

func TestFromMiddlewareAndMerge(t *testing.T) {
	app, err := FromMiddleware([]byte(`{"cors": {}, "lifecycle_hooks": {"on_request": [{"handler": "a1"}], "on_response": [{"handler": "a2"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	route, err := FromMiddleware([]byte(`{"lifecycle_hooks": {"on_request": [{"handler": "r1"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := Merge(app, route)
	if got := names(m[OnRequest]); !reflect.DeepEqual(got, []string{"a1", "r1"}) {
		t.Fatalf("merged on_request = %v: app-wide first, then the route's", got)
	}
	if got := names(m[OnResponse]); !reflect.DeepEqual(got, []string{"a2"}) {
		t.Fatalf("merged on_response = %v", got)
	}
	if none, _ := FromMiddleware([]byte(`{"cors": {}}`)); none != nil {
		t.Fatal("no hooks: nil")
	}
	if Merge(nil, nil) != nil || Merge(&Set{}, nil) != nil {
		t.Fatal("empty merge: nil")
	}
}

func TestPhases(t *testing.T) {
	for p := range NumPhases {
		q, ok := ParsePhase(p.String())
		if !ok || q != p {
			t.Fatalf("%v round trip", p)
		}
	}
	if !PreHandler.Request() || OnResponse.Request() || OnError.Request() {
		t.Fatal("Request()")
	}
}

func TestRunOrderAndOutcomes(t *testing.T) {
	hs := []Hook{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	var ran []string
	call := func(stopAt string, fail bool) func(int, *Hook) (Outcome, error) {
		return func(_ int, h *Hook) (Outcome, error) {
			ran = append(ran, h.Name)
			if h.Name == stopAt {
				if fail {
					return Continue, errors.New("boom")
				}
				return Answered, nil
			}
			return Continue, nil
		}
	}
	if i, err := Run(hs, call("", false)); i != -1 || err != nil || !reflect.DeepEqual(ran, []string{"a", "b", "c"}) {
		t.Fatalf("all continue: %d %v %v", i, err, ran)
	}
	ran = nil
	if i, err := Run(hs, call("b", false)); i != 1 || err != nil || !reflect.DeepEqual(ran, []string{"a", "b"}) {
		t.Fatalf("short-circuit at b: %d %v %v", i, err, ran)
	}
	ran = nil
	if i, err := Run(hs, call("a", true)); i != 0 || err == nil || !reflect.DeepEqual(ran, []string{"a"}) {
		t.Fatalf("failure at a: %d %v %v", i, err, ran)
	}
}

func names(hs []Hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}
