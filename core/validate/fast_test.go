package validate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var fastSchemas = []string{
	`{"type":"integer","minimum":1,"maximum":100}`,
	`{"type":"number","exclusiveMinimum":0.1,"exclusiveMaximum":1e3}`,
	`{"type":["string","null"],"minLength":2,"maxLength":5,"pattern":"^[a-z]+$"}`,
	`{"enum":["a","b",null,true]}`,
	`{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3}`,
	`{"type":"object","required":["name","price"],"additionalProperties":false,
	  "properties":{"name":{"type":"string","minLength":1},"price":{"type":"number","exclusiveMinimum":0},
	  "tags":{"type":"array","items":{"type":"string"}},"in_stock":{"type":"boolean"}}}`,
	`{"type":"object","additionalProperties":{"type":"integer"},"minProperties":1,"maxProperties":2}`,
	// Zod's z.number().int() (z.toJSONSchema): safe-integer bounds.
	`{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}`,
}

func TestFastCoversCommonSchemas(t *testing.T) {
	for _, s := range fastSchemas {
		sch, err := Compile(json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		if sch.fast == nil {
			t.Errorf("no fast path for %s", s)
		}
	}
	for _, s := range []string{`{"oneOf":[{"type":"string"}]}`, `{"format":"uuid"}`, `{"minimum":1.00000000000000001}`, `{"maximum":9007199254740993}`, `{"$ref":"#/$defs/a","$defs":{"a":{}}}`} {
		sch, err := Compile(json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		if sch.fast != nil {
			t.Errorf("fast path for %s, which it does not understand", s)
		}
	}
}

// fuzzFastSeeds adds the common seed documents (and more) for every schema
// of fastSchemas and returns the schemas compiled.
func fuzzFastSeeds(f *testing.F, more ...string) []*Schema {
	docs := append([]string{`5`, `0.1`, `100`, `1e3`, `"ab"`, `null`, `[1,2]`, `{"name":"x","price":0.0000001}`,
		`{"a":1}`, `"abcdef"`, `1.0`, `-0`, `999999999999999`, `"é"`, `{"name":"","price":1}`,
		`9007199254740991`, `9007199254740992`, `-9007199254740992`, `900719925474099.1`}, more...)
	for _, v := range docs {
		for which := range fastSchemas {
			f.Add(uint8(which), v)
		}
	}
	schemas := make([]*Schema, len(fastSchemas))
	for i, s := range fastSchemas {
		var err error
		if schemas[i], err = Compile(json.RawMessage(s)); err != nil {
			f.Fatal(err)
		}
	}
	return schemas
}

// FuzzFastAgrees checks the one promise of the fast path: whatever it calls
// valid, the library calls valid.
func FuzzFastAgrees(f *testing.F) {
	schemas := fuzzFastSeeds(f)
	f.Fuzz(func(t *testing.T, which uint8, doc string) {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err != nil {
			return
		}
		s := schemas[int(which)%len(schemas)]
		if s.fast.check(v) == valid && s.sch.Validate(v) != nil {
			t.Fatalf("fast path accepts %s for %s; the library does not", doc, fastSchemas[int(which)%len(schemas)])
		}
	})
}

// FuzzTextAgrees checks ValidJSONText's promise: a text it calls valid, the
// library calls valid once decoded (as the body decoder decodes: numbers as
// json.Number), and so does the fast path on the decoded value.
func FuzzTextAgrees(f *testing.F) {
	schemas := fuzzFastSeeds(f, `true`, `"a\u0062"`,
		`{"name":"w","price":2,"tags":["a","b"],"in_stock":false}`, `{"name":"w","price":2,"name":""}`, `{"a":1,"a":2}`,
		`{"a":1,"b":2,"c":3}`, `[]`, `[1,2,3,4]`, "\ufeff{\"name\":\"w\",\"price\":1} ", `{"name":"w","price":1,"x":1}`,
		`1E2`, `-1.5e-3`)
	f.Fuzz(func(t *testing.T, which uint8, doc string) {
		raw := bytes.TrimPrefix([]byte(doc), []byte("\ufeff"))
		if !json.Valid(raw) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		s := schemas[int(which)%len(schemas)]
		if s.ValidJSONText([]byte(doc)) && (s.sch.Validate(v) != nil || s.fast.check(v) != valid) {
			t.Fatalf("ValidJSONText accepts %s for %s; decoded, it is not valid", doc, fastSchemas[int(which)%len(schemas)])
		}
	})
}

func TestValidJSONText(t *testing.T) {
	s, err := Compile(json.RawMessage(fastSchemas[5]))
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]bool{
		`{"name":"w","price":2,"tags":["a"],"in_stock":true}`: true,
		` {"price":0.5, "name":"é"} `:                         true,
		`{"name":"","price":2}`:                               false, // minLength
		`{"name":"w"}`:                                        false, // required
		`{"name":"w","price":0}`:                              false, // exclusiveMinimum
		`{"name":"w","price":2,"x":1}`:                        false, // additionalProperties
		`{"name":"w","price":2,"tags":[1]}`:                   false, // items
		`{"name":"w\u0061","price":2}`:                        false, // escapes: not sure
		`[]`:                                                  false,
	} {
		if got := s.ValidJSONText([]byte(doc)); got != want {
			t.Errorf("ValidJSONText(%s) = %v, want %v", doc, got, want)
		}
	}
}
