package router

import (
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	cases := []struct {
		in, out string
		names   []string
		typed   []string
	}{
		{"/items", "/items", nil, nil},
		{"/users/{id:int}", "/users/{id}", []string{"id"}, []string{`{"type":"integer"}`}},
		{"/users/:id/posts/{slug}", "/users/{id}/posts/{slug}", []string{"id", "slug"}, []string{"", ""}},
		{"/files/{rest:path}", "/files/{rest:*}", []string{"rest"}, []string{`{"type":"string"}`}},
		{"/e/{d:date}/{u:uuid}", "/e/{d}/{u}", []string{"d", "u"}, []string{`{"type":"string","format":"date"}`, `{"type":"string","format":"uuid"}`}},
		{"/a/", "/a/", nil, nil},
	}
	for _, c := range cases {
		out, segs, err := Translate(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if out != c.out {
			t.Errorf("%s: got %s want %s", c.in, out, c.out)
		}
		if len(segs) != len(c.names) {
			t.Fatalf("%s: got %d segments", c.in, len(segs))
		}
		for i, s := range segs {
			if s.Name != c.names[i] || string(s.Schema) != c.typed[i] {
				t.Errorf("%s: segment %d = %+v", c.in, i, s)
			}
		}
	}
}

func TestTranslateRejects(t *testing.T) {
	for _, in := range []string{"", "items", "/a/{id:bogus}", "/a/{rest:path}/b", "/a/{}", "/a/x{id}", "/a/{id}/{id}", "/a/{1x}"} {
		if _, _, err := Translate(in); err == nil {
			t.Errorf("%q: expected an error", in)
		}
	}
}

func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"/a/{id:int}", "/:x/{y:path}", "/{", "/a/{b:uuid}/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, segs, err := Translate(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("%q -> %q", in, out)
		}
		for _, s := range segs {
			if s.Name == "" {
				t.Fatalf("%q: empty name", in)
			}
		}
	})
}
