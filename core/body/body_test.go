package body

import "testing"

func TestRawJSON(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{" {\"b\":1,\"a\":[1.50,\"\\u00e9\"]}\n", "{\"b\":1,\"a\":[1.50,\"\\u00e9\"]}", true},
		{"\xEF\xBB\xBF[1]", "[1]", true},
		{`"\\ud800"`, `"\\ud800"`, true}, // an escaped backslash, not a surrogate
		{`"\ud83d\ude00"`, "", false},
		{`"\uDC00"`, "", false},
	} {
		got, ok := RawJSON([]byte(c.in))
		if ok != c.ok || (ok && string(got) != c.want) {
			t.Errorf("RawJSON(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
