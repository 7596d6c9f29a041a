package params

import (
	"encoding/json"
	"testing"
)

func TestCoerce(t *testing.T) {
	ok := []struct {
		raw  string
		k    Kind
		want any
	}{
		{"42", KindInteger, int64(42)},
		{"-7", KindInteger, int64(-7)},
		{"123456789012345678901234567890", KindInteger, json.Number("123456789012345678901234567890")},
		{"+000123456789012345678901234567890", KindInteger, json.Number("123456789012345678901234567890")},
		{"-000123456789012345678901234567890", KindInteger, json.Number("-123456789012345678901234567890")},
		{"1.5e-3", KindNumber, 0.0015},
		{"3", KindNumber, 3.0},
		{"yes", KindBoolean, true},
		{"ON", KindBoolean, true},
		{"0", KindBoolean, false},
		{"", KindBoolean, false},
		{"abc", KindString, "abc"},
		{"abc", KindAny, "abc"},
	}
	for _, c := range ok {
		got, e := Coerce(c.raw, c.k, nil)
		if e != nil || got != c.want {
			t.Errorf("Coerce(%q, %d) = %#v, %v; want %#v", c.raw, c.k, got, e, c.want)
		}
	}
	bad := []struct {
		raw   string
		k     Kind
		typ   string
		input any
	}{
		{"foo", KindInteger, "int_parsing", "foo"},
		{"42.5", KindInteger, "int_parsing", 42.5},
		{"", KindInteger, "int_parsing", ""},
		{"nan", KindNumber, "float_parsing", "nan"},
		{"inf", KindNumber, "float_parsing", "inf"},
		{"0x10", KindNumber, "float_parsing", "0x10"},
		{"maybe", KindBoolean, "bool_parsing", "maybe"},
	}
	for _, c := range bad {
		_, e := Coerce(c.raw, c.k, []any{"query", "x"})
		if e == nil || e.Type != c.typ || e.Input != c.input || !e.HasInput {
			t.Errorf("Coerce(%q, %d) error = %+v; want type %s input %#v", c.raw, c.k, e, c.typ, c.input)
		}
	}
}

func TestShapeOf(t *testing.T) {
	s := ShapeOf(json.RawMessage(`{"type":"object","properties":{"ids":{"type":"array","items":{"type":"integer"}},"n":{"type":["null","number"]}}}`))
	if s.Kind != KindObject || s.Props["ids"].Kind != KindArray || s.Props["ids"].Items.Kind != KindInteger || s.Props["n"].Kind != KindNumber {
		t.Fatalf("unexpected shape %+v", s)
	}
	if ShapeOf(json.RawMessage(`{"enum":["a","b"]}`)).Kind != KindString {
		t.Fatal("enum of strings should coerce as string")
	}
}

func FuzzCoerce(f *testing.F) {
	for _, s := range []string{"1", "-0", "1e400", "9999999999999999999999", "true", "", "\xff", "{\"a\":1}"} {
		f.Add(s, uint8(KindInteger))
	}
	f.Fuzz(func(t *testing.T, raw string, k uint8) {
		kind := Kind(k % 8)
		v, e := Coerce(raw, kind, []any{"query", "x"})
		if e != nil {
			if e.Type == "" || e.Msg == "" {
				t.Fatalf("empty error for %q", raw)
			}
			return
		}
		// Every coerced value must be valid JSON.
		if b, err := json.Marshal(v); err != nil || !json.Valid(b) {
			t.Fatalf("Coerce(%q, %d) = %#v: not JSON: %v", raw, kind, v, err)
		}
	})
}
