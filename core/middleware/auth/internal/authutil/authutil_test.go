package authutil

import (
	"encoding/json"
	"testing"
)

func TestChallenge(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{Challenge("Bearer"), "Bearer"},
		{Challenge("Bearer", "realm", ""), "Bearer"},
		{Challenge("Bearer", "realm", "api", "error", "invalid_token"), `Bearer realm="api", error="invalid_token"`},
		{Challenge("Bearer", "realm", "", "error_description", "bad \"x\" \\ \n\x7f'ok'"), `Bearer error_description="bad 'x' / 'ok'"`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestQuoteList(t *testing.T) {
	for in, want := range map[string]string{
		`["a"]`:         `'a'`,
		`["a","b"]`:     `'a' and 'b'`,
		`["a","b","c"]`: `'a', 'b' and 'c'`,
	} {
		var l []string
		_ = json.Unmarshal([]byte(in), &l)
		if got := QuoteList(l); got != want {
			t.Errorf("%s: %q", in, got)
		}
	}
}

func TestDecodeAndStringList(t *testing.T) {
	var v struct {
		L StringList `json:"l"`
	}
	for in, want := range map[string]int{`{"l":"x"}`: 1, `{"l":["x","y"]}`: 2, `{"l":null}`: 0, `{}`: 0} {
		v.L = nil
		if err := Decode(json.RawMessage(in), &v); err != nil || len(v.L) != want {
			t.Errorf("%s: %v %v", in, v.L, err)
		}
	}
	for _, in := range []string{`{"l":1}`, `{"m":1}`, `[]`, `null`, ``, `{"l":"x"} {}`} {
		if err := Decode(json.RawMessage(in), &v); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}
