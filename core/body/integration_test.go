package body

import (
	"testing"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/validate"
)

// TestFilesValidate checks that decoded uploads satisfy ValidationSchema
// where the body schema declares "format": "binary" (multipart/01, 07).
func TestFilesValidate(t *testing.T) {
	schema := `{"type":"object","properties":{
		"test":{"type":"string","format":"binary"},
		"files":{"type":"array","items":{"type":"string","format":"binary"}},
		"tags":{"type":"array","items":{"type":"string"}}},
		"additionalProperties":false,"required":["test"]}`
	d := mustDecoder(t, schemaRoute(schema), Limits{})
	v, present, p, errs := d.Decode(newCtx(mpCT, mpBody(
		file("test", "test.txt", "text/plain", "<file content>"),
		file("files", "a.txt", "text/plain", "a"), file("files", "b.bin", "", "\xff"),
		field("tags", "x"))))
	if p != nil || errs != nil || !present {
		t.Fatalf("decode: %v %v %v", p, errs, present)
	}
	sch, err := validate.Compile(d.ValidationSchema())
	if err != nil {
		t.Fatal(err)
	}
	if items := sch.Validate(v, []any{"body"}); items != nil {
		t.Fatalf("file objects do not validate: %s", errsJSON(t, items))
	}
	// The original schema rejects them: that is why ValidationSchema exists.
	orig, _ := validate.Compile(d.route.BodySchema)
	if items := orig.Validate(v, []any{"body"}); items == nil {
		t.Fatal("original schema unexpectedly accepts file objects")
	}
	// A missing required upload is still reported by the schema.
	v, _, _, _ = d.Decode(newCtx(mpCT, mpBody(field("tags", "x"))))
	if got := errsJSON(t, sch.Validate(v, []any{"body"})); got != `[{"type":"missing","loc":["body","test"],"msg":"Field required","input":{"tags":["x"]}}]` {
		t.Fatalf("missing: %s", got)
	}
}

// TestFormValidate runs corpus form scenarios through the validator.
func TestFormValidate(t *testing.T) {
	cases := []struct{ schema, body, want string }{
		{`{"type":"object","required":["quantity"],"properties":{"quantity":{"type":"integer","minimum":1}}}`, "quantity=0",
			`[{"type":"greater_than_equal","loc":["body","quantity"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]`},
		{`{"type":"object","required":["tags"],"properties":{"tags":{"type":"array","items":{"type":"string"},"minItems":2}}}`, "tags[]=single",
			`[{"type":"too_short","loc":["body","tags"],"msg":"List should have at least 2 item after validation","input":["single"],"ctx":{"min_length":2}}]`},
		{`{"type":"object","required":["username","password"],"properties":{"username":{"type":"string"},"password":{"type":"string"}}}`, "password=secret",
			`[{"type":"missing","loc":["body","username"],"msg":"Field required","input":{"password":"secret"}}]`},
	}
	for _, c := range cases {
		d := mustDecoder(t, schemaRoute(c.schema), Limits{})
		v, _, p, errs := d.Decode(newCtx(formCT, c.body))
		if p != nil || errs != nil {
			t.Fatalf("%s: %v %v", c.body, p, errs)
		}
		sch, err := validate.Compile(d.ValidationSchema())
		if err != nil {
			t.Fatal(err)
		}
		if got := errsJSON(t, sch.Validate(v, []any{"body"})); got != c.want {
			t.Fatalf("%s:\n got %s\nwant %s", c.body, got, c.want)
		}
	}
}

func TestDeclared(t *testing.T) {
	cases := []struct {
		r    config.Route
		want bool
	}{
		{config.Route{}, false},
		{schemaRoute(`{"type":"object"}`), true},
		{config.Route{ContentType: "multipart/form-data"}, true},
		{config.Route{Parameters: config.Parameters{Files: []config.FileParam{{Name: "f"}}}}, true},
	}
	for i, c := range cases {
		if got := mustDecoder(t, c.r, Limits{}).Declared(); got != c.want {
			t.Errorf("%d: Declared() = %v", i, got)
		}
	}
	// content_types/15: a content_type route without schema answers 400 to a
	// multipart request without boundary, even without a body.
	d := mustDecoder(t, config.Route{ContentType: "multipart/form-data",
		Parameters: config.Parameters{Files: []config.FileParam{{Name: "document", Required: true}}}}, Limits{})
	check(t, d, newCtx("multipart/form-data", ""), expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"multipart/form-data requires 'boundary' parameter"}`})
}
