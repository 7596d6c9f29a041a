package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func mustCompile(t testing.TB, schema string) *Schema {
	t.Helper()
	s, err := Compile(json.RawMessage(schema))
	if err != nil {
		t.Fatalf("Compile(%s): %v", schema, err)
	}
	return s
}

func render(t testing.TB, s *Schema, v any) string {
	t.Helper()
	b, err := json.Marshal(s.Validate(v, []any{"body"}))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidateMapping(t *testing.T) {
	tests := []struct {
		name, schema, input, want string
	}{
		{
			name:   "valid",
			schema: `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`,
			input:  `{"name":"x"}`,
			want:   `null`,
		},
		{
			name:   "missing one item per property",
			schema: `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}`,
			input:  `{"other":1}`,
			want:   `[{"type":"missing","loc":["body","age"],"msg":"Field required","input":{"other":1}},{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"other":1}}]`,
		},
		{
			name:   "minLength",
			schema: `{"type":"string","minLength":3}`,
			input:  `"ab"`,
			want:   `[{"type":"string_too_short","loc":["body"],"msg":"String should have at least 3 characters","input":"ab","ctx":{"min_length":3}}]`,
		},
		{
			name:   "maxLength counts characters not bytes",
			schema: `{"type":"string","maxLength":10}`,
			input:  `"ééééééééééé"`,
			want:   `[{"type":"string_too_long","loc":["body"],"msg":"String should have at most 10 characters","input":"ééééééééééé","ctx":{"max_length":10}}]`,
		},
		{
			name:   "pattern",
			schema: `{"type":"string","pattern":"^[A-Z]{3}[0-9]{4}$"}`,
			input:  `"ABC-123"`,
			want:   `[{"type":"string_pattern_mismatch","loc":["body"],"msg":"String should match pattern '^[A-Z]{3}[0-9]{4}$'","input":"ABC-123","ctx":{"pattern":"^[A-Z]{3}[0-9]{4}$"}}]`,
		},
		{
			name:   "exclusiveMinimum",
			schema: `{"type":"integer","exclusiveMinimum":3}`,
			input:  `2`,
			want:   `[{"type":"greater_than","loc":["body"],"msg":"Input should be greater than 3","input":2,"ctx":{"gt":3}}]`,
		},
		{
			name:   "minimum",
			schema: `{"type":"integer","minimum":1}`,
			input:  `0`,
			want:   `[{"type":"greater_than_equal","loc":["body"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]`,
		},
		{
			name:   "minimum written as 1.0 prints as 1",
			schema: `{"minimum":1.0}`,
			input:  `0.5`,
			want:   `[{"type":"greater_than_equal","loc":["body"],"msg":"Input should be greater than or equal to 1","input":0.5,"ctx":{"ge":1}}]`,
		},
		{
			name:   "fractional minimum",
			schema: `{"minimum":1.5}`,
			input:  `1`,
			want:   `[{"type":"greater_than_equal","loc":["body"],"msg":"Input should be greater than or equal to 1.5","input":1,"ctx":{"ge":1.5}}]`,
		},
		{
			name:   "exclusiveMaximum",
			schema: `{"exclusiveMaximum":10}`,
			input:  `10`,
			want:   `[{"type":"less_than","loc":["body"],"msg":"Input should be less than 10","input":10,"ctx":{"lt":10}}]`,
		},
		{
			name:   "maximum",
			schema: `{"maximum":10}`,
			input:  `10.5`,
			want:   `[{"type":"less_than_equal","loc":["body"],"msg":"Input should be less than or equal to 10","input":10.5,"ctx":{"le":10}}]`,
		},
		{
			name:   "multipleOf",
			schema: `{"multipleOf":5}`,
			input:  `7`,
			want:   `[{"type":"multiple_of","loc":["body"],"msg":"Input should be a multiple of 5","input":7,"ctx":{"multiple_of":5}}]`,
		},
		{
			name:   "multipleOf fractional",
			schema: `{"multipleOf":0.01}`,
			input:  `1.005`,
			want:   `[{"type":"multiple_of","loc":["body"],"msg":"Input should be a multiple of 0.01","input":1.005,"ctx":{"multiple_of":0.01}}]`,
		},
		{
			name:   "minItems 1",
			schema: `{"type":"array","minItems":1}`,
			input:  `[]`,
			want:   `[{"type":"too_short","loc":["body"],"msg":"List should have at least 1 item after validation","input":[],"ctx":{"min_length":1}}]`,
		},
		{
			name:   "minItems 2 keeps singular item",
			schema: `{"type":"array","minItems":2}`,
			input:  `[1]`,
			want:   `[{"type":"too_short","loc":["body"],"msg":"List should have at least 2 item after validation","input":[1],"ctx":{"min_length":2}}]`,
		},
		{
			name:   "maxItems",
			schema: `{"type":"array","maxItems":2}`,
			input:  `[1,2,3]`,
			want:   `[{"type":"too_long","loc":["body"],"msg":"List should have at most 2 items after validation","input":[1,2,3],"ctx":{"max_length":2}}]`,
		},
		{
			name:   "enum",
			schema: `{"type":"string","enum":["electronics","clothing","books"]}`,
			input:  `"furniture"`,
			want:   `[{"type":"enum","loc":["body"],"msg":"Input should be 'electronics', 'clothing' or 'books'","input":"furniture","ctx":{"expected":"'electronics', 'clothing' or 'books'"}}]`,
		},
		{
			name:   "enum single value",
			schema: `{"enum":["a"]}`,
			input:  `"b"`,
			want:   `[{"type":"enum","loc":["body"],"msg":"Input should be 'a'","input":"b","ctx":{"expected":"'a'"}}]`,
		},
		{
			name:   "enum non-strings use python repr",
			schema: `{"enum":[1,2.5,true,null,"it's"]}`,
			input:  `3`,
			want:   `[{"type":"enum","loc":["body"],"msg":"Input should be 1, 2.5, True, None or \"it's\"","input":3,"ctx":{"expected":"1, 2.5, True, None or \"it's\""}}]`,
		},
		// type mismatches
		{
			name: "integer got string", schema: `{"type":"integer"}`, input: `"abc"`,
			want: `[{"type":"int_parsing","loc":["body"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]`,
		},
		{
			name: "integer got fraction", schema: `{"type":"integer"}`, input: `1.5`,
			want: `[{"type":"int_from_float","loc":["body"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]`,
		},
		{
			name: "integer accepts integral float", schema: `{"type":"integer"}`, input: `2.0`,
			want: `null`,
		},
		{
			name: "integer got bool", schema: `{"type":"integer"}`, input: `true`,
			want: `[{"type":"int_type","loc":["body"],"msg":"Input should be a valid integer","input":true}]`,
		},
		{
			name: "number got string", schema: `{"type":"number"}`, input: `"x"`,
			want: `[{"type":"float_parsing","loc":["body"],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"}]`,
		},
		{
			name: "number got list", schema: `{"type":"number"}`, input: `[]`,
			want: `[{"type":"float_type","loc":["body"],"msg":"Input should be a valid number","input":[]}]`,
		},
		{
			name: "string got number", schema: `{"type":"string"}`, input: `1`,
			want: `[{"type":"string_type","loc":["body"],"msg":"Input should be a valid string","input":1}]`,
		},
		{
			name: "boolean got string", schema: `{"type":"boolean"}`, input: `"yes"`,
			want: `[{"type":"bool_parsing","loc":["body"],"msg":"Input should be a valid boolean, unable to interpret input","input":"yes"}]`,
		},
		{
			name: "boolean got number", schema: `{"type":"boolean"}`, input: `1`,
			want: `[{"type":"bool_type","loc":["body"],"msg":"Input should be a valid boolean","input":1}]`,
		},
		{
			name: "object got list", schema: `{"type":"object"}`, input: `[1]`,
			want: `[{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":[1]}]`,
		},
		{
			name: "array got object", schema: `{"type":"array"}`, input: `{"a":1}`,
			want: `[{"type":"list_type","loc":["body"],"msg":"Input should be a valid list","input":{"a":1}}]`,
		},
		{
			name: "null got number", schema: `{"type":"null"}`, input: `1`,
			want: `[{"type":"none_required","loc":["body"],"msg":"Input should be None","input":1}]`,
		},
		{
			name: "nullable uses first non-null type", schema: `{"type":["null","integer","string"]}`, input: `true`,
			want: `[{"type":"int_type","loc":["body"],"msg":"Input should be a valid integer","input":true}]`,
		},
		{
			name: "type order is the schema's", schema: `{"type":["string","integer"]}`, input: `true`,
			want: `[{"type":"string_type","loc":["body"],"msg":"Input should be a valid string","input":true}]`,
		},
		// formats
		{
			name: "uuid", schema: `{"type":"string","format":"uuid"}`, input: `"not-a-uuid"`,
			want: `[{"type":"uuid_parsing","loc":["body"],"msg":"Input should be a valid UUID","input":"not-a-uuid"}]`,
		},
		{
			name: "date", schema: `{"format":"date"}`, input: `"2024-13-01"`,
			want: `[{"type":"date_parsing","loc":["body"],"msg":"Input should be a valid date","input":"2024-13-01"}]`,
		},
		{
			name: "date-time", schema: `{"format":"date-time"}`, input: `"yesterday"`,
			want: `[{"type":"datetime_parsing","loc":["body"],"msg":"Input should be a valid datetime","input":"yesterday"}]`,
		},
		{
			name: "time", schema: `{"format":"time"}`, input: `"25:00"`,
			want: `[{"type":"time_parsing","loc":["body"],"msg":"Input should be a valid time","input":"25:00"}]`,
		},
		{
			name: "duration", schema: `{"format":"duration"}`, input: `"1 hour"`,
			want: `[{"type":"duration_parsing","loc":["body"],"msg":"Input should be a valid duration","input":"1 hour"}]`,
		},
		{
			name: "email", schema: `{"format":"email"}`, input: `"nobody"`,
			want: `[{"type":"string_pattern_mismatch","loc":["body"],"msg":"String should match pattern '^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+$'","input":"nobody","ctx":{"pattern":"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+$"}}]`,
		},
		{
			name: "other format", schema: `{"format":"ipv4"}`, input: `"999.1.1.1"`,
			want: `[{"type":"validation_error","loc":["body"],"msg":"Input should be a valid ipv4","input":"999.1.1.1","ctx":{"format":"ipv4"}}]`,
		},
		{
			name: "format ignores non-strings", schema: `{"format":"uuid"}`, input: `5`,
			want: `null`,
		},
		{
			name: "uniqueItems", schema: `{"type":"array","uniqueItems":true}`, input: `[1,2,1]`,
			want: `[{"type":"validation_error","loc":["body"],"msg":"Array items must be unique","input":[1,2,1],"ctx":{"unique_items":true}}]`,
		},
		{
			name:   "additionalProperties false, one item per extra",
			schema: `{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}`,
			input:  `{"name":"a","zzz":1,"extra_field":2}`,
			want:   `[{"type":"validation_error","loc":["body","extra_field"],"msg":"Additional properties are not allowed","input":{"extra_field":2,"name":"a","zzz":1},"ctx":{"additional_properties":false,"unexpected_field":"extra_field"}},{"type":"validation_error","loc":["body","zzz"],"msg":"Additional properties are not allowed","input":{"extra_field":2,"name":"a","zzz":1},"ctx":{"additional_properties":false,"unexpected_field":"zzz"}}]`,
		},
		// Rust-crate wording for everything else
		{
			name:   "oneOf more than one",
			schema: `{"oneOf":[{"required":["credit_card"]},{"required":["paypal_email"]}]}`,
			input:  `{"credit_card":"1234567812345678","paypal_email":"user@example.com"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"{\"credit_card\":\"1234567812345678\",\"paypal_email\":\"user@example.com\"} is valid under more than one of the schemas listed in the 'oneOf' keyword","input":{"credit_card":"1234567812345678","paypal_email":"user@example.com"}}]`,
		},
		{
			name:   "oneOf none, causes not reported",
			schema: `{"oneOf":[{"required":["credit_card"]},{"required":["paypal_email"]}]}`,
			input:  `{"bitcoin_address":"1A1z"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"{\"bitcoin_address\":\"1A1z\"} is not valid under any of the schemas listed in the 'oneOf' keyword","input":{"bitcoin_address":"1A1z"}}]`,
		},
		{
			name:   "anyOf none",
			schema: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
			input:  `{"bitcoin_address":"1A1z"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"{\"bitcoin_address\":\"1A1z\"} is not valid under any of the schemas listed in the 'anyOf' keyword","input":{"bitcoin_address":"1A1z"}}]`,
		},
		{
			name:   "not",
			schema: `{"type":"object","properties":{"username":{"type":"string","not":{"enum":["admin","root","system"]}}}}`,
			input:  `{"username":"admin"}`,
			want:   `[{"type":"validation_error","loc":["body","username"],"msg":"{\"enum\":[\"admin\",\"root\",\"system\"]} is not allowed for \"admin\"","input":"admin"}]`,
		},
		{
			name:   "const",
			schema: `{"const":"1.0"}`,
			input:  `"2.0"`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"\"1.0\" was expected","input":"2.0"}]`,
		},
		{
			name:   "minProperties",
			schema: `{"type":"object","minProperties":2}`,
			input:  `{"host":"localhost"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"{\"host\":\"localhost\"} has less than 2 properties","input":{"host":"localhost"}}]`,
		},
		{
			name:   "maxProperties",
			schema: `{"type":"object","maxProperties":1}`,
			input:  `{"a":1,"b":2}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"{\"a\":1,\"b\":2} has more than 1 property","input":{"a":1,"b":2}}]`,
		},
		{
			name:   "dependentRequired reports at the object",
			schema: `{"type":"object","dependentRequired":{"credit_card":["billing_address","cvv"]}}`,
			input:  `{"credit_card":"1"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"\"billing_address\" is a required property","input":{"credit_card":"1"}},{"type":"validation_error","loc":["body"],"msg":"\"cvv\" is a required property","input":{"credit_card":"1"}}]`,
		},
		{
			name:   "draft-07 dependencies",
			schema: `{"$schema":"http://json-schema.org/draft-07/schema#","dependencies":{"credit_card":["billing_address"]}}`,
			input:  `{"credit_card":"1"}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"\"billing_address\" is a required property","input":{"credit_card":"1"}}]`,
		},
		{
			name:   "contains",
			schema: `{"type":"array","contains":{"type":"string"}}`,
			input:  `[1,2]`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"None of [1,2] are valid under the given schema","input":[1,2]}]`,
		},
		{
			name:   "propertyNames false",
			schema: `{"propertyNames":false}`,
			input:  `{"a":1}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"False schema does not allow {\"a\":1}","input":{"a":1}}]`,
		},
		{
			name:   "propertyNames schema",
			schema: `{"propertyNames":{"pattern":"^[a-z]+$"}}`,
			input:  `{"ok":1,"Bad":2}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"\"Bad\" does not match \"^[a-z]+$\"","input":{"Bad":2,"ok":1}}]`,
		},
		{
			name:   "false subschema",
			schema: `{"properties":{"secret":false}}`,
			input:  `{"secret":"x"}`,
			want:   `[{"type":"validation_error","loc":["body","secret"],"msg":"False schema does not allow \"x\"","input":"x"}]`,
		},
		{
			name:   "false root schema",
			schema: `false`,
			input:  `1`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"False schema does not allow 1","input":1}]`,
		},
		{
			name:   "unevaluatedProperties grouped per object",
			schema: `{"properties":{"a":true},"unevaluatedProperties":false}`,
			input:  `{"a":1,"y":2,"x":3}`,
			want:   `[{"type":"validation_error","loc":["body"],"msg":"Unevaluated properties are not allowed ('x', 'y' were unexpected)","input":{"a":1,"x":3,"y":2}}]`,
		},
		// locations and ordering
		{
			name:   "nested loc with integer indexes",
			schema: `{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer"}}}}`,
			input:  `[{"n":1},{"n":"x"}]`,
			want:   `[{"type":"int_parsing","loc":["body","1","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]`,
		},
		{
			name:   "indexes sort numerically",
			schema: `{"type":"array","items":{"type":"integer"}}`,
			input:  `[0,0,"a",0,0,0,0,0,0,0,"b"]`,
			want:   `[{"type":"int_parsing","loc":["body","2"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"a"},{"type":"int_parsing","loc":["body","10"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"b"}]`,
		},
		{
			name:   "same location sorts by type",
			schema: `{"type":"string","minLength":5,"pattern":"^[0-9]+$"}`,
			input:  `"ab"`,
			want:   `[{"type":"string_pattern_mismatch","loc":["body"],"msg":"String should match pattern '^[0-9]+$'","input":"ab","ctx":{"pattern":"^[0-9]+$"}},{"type":"string_too_short","loc":["body"],"msg":"String should have at least 5 characters","input":"ab","ctx":{"min_length":5}}]`,
		},
		{
			name:   "refs and allOf are transparent",
			schema: `{"$defs":{"name":{"type":"string","minLength":2}},"allOf":[{"properties":{"a":{"$ref":"#/$defs/name"}}}],"properties":{"b":{"$ref":"#/$defs/name"}}}`,
			input:  `{"a":"x","b":1}`,
			want:   `[{"type":"string_too_short","loc":["body","a"],"msg":"String should have at least 2 characters","input":"x","ctx":{"min_length":2}},{"type":"string_type","loc":["body","b"],"msg":"Input should be a valid string","input":1}]`,
		},
		{
			name:   "not inside an embedded resource",
			schema: `{"$defs":{"u":{"$id":"https://example.com/u","not":{"const":"root"}}},"properties":{"u":{"$ref":"https://example.com/u"}}}`,
			input:  `{"u":"root"}`,
			want:   `[{"type":"validation_error","loc":["body","u"],"msg":"{\"const\":\"root\"} is not allowed for \"root\"","input":"root"}]`,
		},
		{
			name:   "keys needing escapes in pointers",
			schema: `{"properties":{"a/b~c":{"not":{"const":1}}}}`,
			input:  `{"a/b~c":1}`,
			want:   `[{"type":"validation_error","loc":["body","a/b~c"],"msg":"{\"const\":1} is not allowed for 1","input":1}]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := mustCompile(t, tc.schema)
			if got := render(t, s, decode(t, tc.input)); got != tc.want {
				t.Errorf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// serde_json does not HTML-escape; the message text must not either (how the
// document is finally encoded is the problem package's business).
func TestMessageNotHTMLEscaped(t *testing.T) {
	items := mustCompile(t, `{"const":"<a&b>"}`).Validate("x", nil)
	if len(items) != 1 || items[0].Msg != `"<a&b>" was expected` {
		t.Fatalf("got %+v", items)
	}
}

func TestAcceptAnything(t *testing.T) {
	for _, raw := range []string{``, `  `, `{}`, `true`} {
		s, err := Compile(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("Compile(%q): %v", raw, err)
		}
		if got := s.Validate(map[string]any{"x": 1}, nil); got != nil {
			t.Errorf("Compile(%q) rejected a value: %v", raw, got)
		}
	}
	var nilSchema *Schema
	if got := nilSchema.Validate(1, nil); got != nil {
		t.Errorf("nil schema rejected a value: %v", got)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ schema, want string }{
		{`{"type":`, "invalid JSON Schema: not valid JSON"},
		{`{} {}`, "invalid JSON Schema: not valid JSON"},
		{`"string"`, `invalid JSON Schema: must be an object or a boolean, got "string"`},
		{`{"type":"foo"}`, "invalid JSON Schema: at '/type'"},
		{`{"minLength":"a"}`, "invalid JSON Schema: at '/minLength': got string, want integer"},
		{`{"pattern":"(?=a)"}`, "invalid JSON Schema: at '/pattern'"},
		{`{"$ref":"https://example.com/other.json"}`, "external reference"},
		{`{"$ref":"file:///etc/passwd"}`, "external reference"},
		{`{"$ref":"#/$defs/missing"}`, "invalid JSON Schema"},
		{`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`, "invalid JSON Schema: $ref cycle"},
	}
	for _, tc := range tests {
		_, err := Compile(json.RawMessage(tc.schema))
		if err == nil {
			t.Errorf("Compile(%s) succeeded", tc.schema)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%s) = %q, want it to contain %q", tc.schema, err, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Compile(%s) error spans lines: %q", tc.schema, err)
		}
	}
}

// Callers build values by hand as well as by decoding; Go's own number types
// must behave like json.Number.
func TestGoValues(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"integer","minimum":5},"b":{"type":"integer"},"c":{"type":"number","maximum":1}}}`)
	got, _ := json.Marshal(s.Validate(map[string]any{"a": int64(3), "b": 2.5, "c": int(7)}, []any{"query"}))
	want := `[{"type":"greater_than_equal","loc":["query","a"],"msg":"Input should be greater than or equal to 5","input":3,"ctx":{"ge":5}},{"type":"int_from_float","loc":["query","b"],"msg":"Input should be a valid integer, got a number with a fractional part","input":2.5},{"type":"less_than_equal","loc":["query","c"],"msg":"Input should be less than or equal to 1","input":7,"ctx":{"le":1}}]`
	if string(got) != want {
		t.Errorf("\n got: %s\nwant: %s", got, want)
	}
}

func TestNotJSONValues(t *testing.T) {
	s := mustCompile(t, `{"type":"number","minimum":0}`)
	for _, v := range []any{json.Number("nope"), struct{}{}} {
		items := s.Validate(v, []any{"body"})
		if len(items) != 1 || items[0].Msg != "Input is not a valid JSON value" {
			t.Errorf("Validate(%#v) = %+v", v, items)
		}
	}
}

func TestHostileNumbers(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"integer","minimum":0,"multipleOf":3},"b":{"type":"array","items":{"enum":[0,1]},"uniqueItems":true}}}`)

	// 1e999999 overflows float64: the corpus (serde_json) rejects it, and
	// big.Rat would spend tens of milliseconds building it.
	got := render(t, s, decode(t, `{"a":1e999999,"b":[-1E+999999,0]}`))
	want := `[{"type":"finite_number","loc":["body","a"],"msg":"Input should be a finite number","input":1e999999},{"type":"finite_number","loc":["body","b","0"],"msg":"Input should be a finite number","input":-1E+999999}]`
	if got != want {
		t.Errorf("\n got: %s\nwant: %s", got, want)
	}

	// Tiny and very long numbers are rounded the way f64 parsing rounds them.
	long := "3" + strings.Repeat("0", 150)
	got = render(t, s, decode(t, `{"a":`+long+`,"b":[1e-999999,0.0]}`))
	want = `[{"type":"validation_error","loc":["body","b"],"msg":"Array items must be unique","input":[0,0.0],"ctx":{"unique_items":true}}]`
	if got != want {
		t.Errorf("\n got: %s\nwant: %s", got, want)
	}

	// Go floats that are not JSON numbers.
	items := s.Validate(map[string]any{"a": math.Inf(1)}, nil)
	if len(items) != 1 || items[0].Type != "finite_number" || items[0].Input != "+Inf" {
		t.Errorf("got %+v", items)
	}

	// The whole point: many hostile numbers stay cheap.
	arr := make([]any, 2000)
	for i := range arr {
		arr[i] = json.Number("1e-999999")
	}
	start := time.Now()
	s.Validate(map[string]any{"b": arr}, nil)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("2000 tiny numbers took %v", d)
	}
}

func TestLocIsFreshPerItem(t *testing.T) {
	s := mustCompile(t, `{"required":["a","b"]}`)
	prefix := make([]any, 1, 8)
	prefix[0] = "body"
	items := s.Validate(map[string]any{}, prefix)
	if len(items) != 2 {
		t.Fatalf("got %d items", len(items))
	}
	items[0].Loc[0] = "changed"
	if prefix[0] != "body" || items[1].Loc[0] != "body" {
		t.Fatal("items share their loc with the caller or with each other")
	}
	if items[0].Loc[1] != "a" || items[1].Loc[1] != "b" {
		t.Fatalf("unexpected locs %v %v", items[0].Loc, items[1].Loc)
	}
}

func TestDeterministic(t *testing.T) {
	s := mustCompile(t, `{"type":"object","additionalProperties":false,"dependentRequired":{"a":["x","y","z"]},"patternProperties":{"^a":{"minLength":3},"^.b":{"minLength":4}},"required":["q","r","s"]}`)
	v := decode(t, `{"a":"","ab":"","b1":1,"b2":2,"b3":3,"b4":4}`)
	first := render(t, s, v)
	for i := 0; i < 50; i++ {
		if got := render(t, s, v); got != first {
			t.Fatalf("run %d differs:\n%s\n%s", i, got, first)
		}
	}
}

func TestConcurrent(t *testing.T) {
	schemas := []string{
		`{"type":"object","properties":{"name":{"type":"string","minLength":3},"age":{"type":"integer","minimum":0}},"required":["name","age"],"additionalProperties":false}`,
		`{"type":"array","items":{"enum":["a","b"]},"uniqueItems":true}`,
		`{"oneOf":[{"type":"string","format":"uuid"},{"type":"integer"}]}`,
	}
	inputs := []string{`{"name":"x","extra":1}`, `["a","c","a"]`, `"nope"`}
	want := make([]string, len(schemas))
	for i := range schemas {
		want[i] = render(t, mustCompile(t, schemas[i]), decode(t, inputs[i]))
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			compiled := make([]*Schema, len(schemas))
			for i, raw := range schemas {
				s, err := Compile(json.RawMessage(raw))
				if err != nil {
					t.Error(err)
					return
				}
				compiled[i] = s
			}
			for n := 0; n < 50; n++ {
				i := (g + n) % len(schemas)
				if got := render(t, compiled[i], decode(t, inputs[i])); got != want[i] {
					t.Errorf("schema %d: got %s want %s", i, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}

func TestSharedSchemaParallel(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer","maximum":3}},"required":["n","m"]}`)
	v := decode(t, `{"n":4}`)
	want := render(t, s, v)
	for i := 0; i < 8; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			for n := 0; n < 200; n++ {
				if got := render(t, s, v); got != want {
					t.Fatalf("got %s want %s", got, want)
				}
			}
		})
	}
}

var fuzzSchemas = []string{
	`{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":5,"pattern":"^[a-z]+$"},"age":{"type":"integer","minimum":0,"exclusiveMaximum":150,"multipleOf":1},"tags":{"type":"array","items":{"enum":["a","b",1,null]},"uniqueItems":true,"minItems":1,"maxItems":3}},"required":["name"],"additionalProperties":false}`,
	`{"oneOf":[{"type":"string","format":"date-time"},{"type":"number","multipleOf":0.5}],"not":{"const":0}}`,
	`{"anyOf":[{"type":"array","contains":{"type":"object"},"minContains":2},{"type":"object","minProperties":2,"maxProperties":3,"propertyNames":{"maxLength":2},"dependentRequired":{"a":["b"]}}]}`,
	`{"$defs":{"node":{"type":"object","properties":{"v":{"type":["integer","null"]},"next":{"$ref":"#/$defs/node"}},"unevaluatedProperties":false}},"$ref":"#/$defs/node"}`,
	`{"type":"array","prefixItems":[{"type":"string","format":"email"},{"format":"uuid"}],"items":false,"unevaluatedItems":false}`,
	`{"if":{"required":["kind"]},"then":{"properties":{"kind":{"const":"x"}}},"else":{"propertyNames":false}}`,
}

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{"name":"ab","age":3,"tags":["a"]}`, `{"name":"","age":-1.5,"tags":[],"x":1}`,
		`"2024-01-01T00:00:00Z"`, `0`, `1.25`, `[{},{},1]`, `{"a":1,"bcd":2}`,
		`{"v":1,"next":{"v":"x","next":{"w":1}}}`, `["x@y.z","not-uuid",3]`, `{"kind":"y"}`,
		`null`, `true`, `1e400`, `-0`, `{"a":{"a":{"a":[[[]]]}}}`,
	} {
		f.Add([]byte(seed))
	}
	compiled := make([]*Schema, len(fuzzSchemas))
	for i, raw := range fuzzSchemas {
		s, err := Compile(json.RawMessage(raw))
		if err != nil {
			f.Fatalf("schema %d: %v", i, err)
		}
		compiled[i] = s
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		check := func(s *Schema) {
			items := s.Validate(v, []any{"body"})
			out, err := json.Marshal(items)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			for _, it := range items {
				if len(it.Loc) == 0 || it.Loc[0] != "body" || it.Type == "" || it.Msg == "" || !it.HasInput {
					t.Fatalf("malformed item %s", out)
				}
			}
			again, _ := json.Marshal(s.Validate(v, []any{"body"}))
			if !bytes.Equal(out, again) {
				t.Fatalf("nondeterministic:\n%s\n%s", out, again)
			}
		}
		for _, s := range compiled {
			check(s)
		}
		// The input doubles as a schema: Compile must reject or accept it
		// without panicking, and whatever it accepts must validate safely.
		if s, err := Compile(data); err == nil {
			check(s)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	s := mustCompile(b, `{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":50},"age":{"type":"integer","minimum":0},"email":{"type":"string","format":"email"}},"required":["name","age","email"],"additionalProperties":false}`)
	valid := decode(b, `{"name":"Ada","age":36,"email":"ada@example.com"}`)
	invalid := decode(b, `{"name":"","age":-1,"email":"nope"}`)
	loc := []any{"body"}
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s.Validate(valid, loc) != nil {
				b.Fatal("unexpected failure")
			}
		}
	})
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(s.Validate(invalid, loc)) != 3 {
				b.Fatal("expected 3 failures")
			}
		}
	})
}
