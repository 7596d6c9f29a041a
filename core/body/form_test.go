package body

import (
	"strings"
	"testing"
)

const formCT = "application/x-www-form-urlencoded"

func TestForm(t *testing.T) {
	login := `{"type":"object","required":["username","password"],"properties":{"username":{"type":"string"},"password":{"type":"string"},"email":{"type":["string","null"],"format":"email"}}}`
	typed := `{"type":"object","properties":{
		"username":{"type":"string"},"age":{"type":"integer"},"price":{"type":"number"},
		"active":{"type":"boolean"},"note":{"type":["integer","null"]},
		"tags":{"type":"array","items":{"type":"string"}},
		"ids":{"type":"array","items":{"type":"integer"}},
		"profile":{"type":"object","properties":{"age":{"type":"integer"},"address":{"type":"object","properties":{"zip":{"type":"integer"}}}}},
		"items":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"qty":{"type":"integer"}}}},
		"codes":{"type":"object"},
		"description":{"type":"string"}}}`
	bad := func(detail string) expect {
		return expect{problem: `{"type":"https://spikard.dev/errors/bad-request","title":"Bad Request","status":400,"detail":"Failed to parse URL-encoded form data: ` + detail + `"}`}
	}
	cases := []struct {
		name, schema, body string
		e                  expect
	}{
		{"simple (url_encoded/01)", login, "username=johndoe&password=secret", expect{v: `{"username":"johndoe","password":"secret"}`}},
		{"missing field is just absent (url_encoded/02)", login, "password=secret", expect{v: `{"password":"secret"}`}},
		{"special chars (url_encoded/04)", typed, "username=John+Doe&description=Test%20%26%20Development", expect{v: `{"username":"John Doe","description":"Test & Development"}`}},
		{"repeated (url_encoded/08)", typed, "tags=python&tags=fastapi&tags=web", expect{v: `{"tags":["python","fastapi","web"]}`}},
		{"single value of array field", typed, "tags=python", expect{v: `{"tags":["python"]}`}},
		{"brackets (url_encoded/13)", typed, "tags[]=python&tags[]=rust&tags[]=typescript", expect{v: `{"tags":["python","rust","typescript"]}`}},
		{"encoded brackets", typed, "tags%5B%5D=a&tags%5B%5D=b", expect{v: `{"tags":["a","b"]}`}},
		{"empty string kept (url_encoded/09)", typed, "username=johndoe&description=", expect{v: `{"username":"johndoe","description":""}`}},
		{"integer (url_encoded/11)", typed, "username=johndoe&age=30", expect{v: `{"username":"johndoe","age":30}`}},
		{"typed values", typed, "price=19.5&active=on&ids=1&ids=2", expect{v: `{"price":19.5,"active":true,"ids":[1,2]}`}},
		{"int parsing (url_encoded/21)", typed, "age=not-a-number", expect{v: "-", errs: `[{"type":"int_parsing","loc":["body","age"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"not-a-number"}]`}},
		{"int parsing in array", typed, "ids=1&ids=x", expect{v: "-", errs: `[{"type":"int_parsing","loc":["body","ids",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]`}},
		{"blank typed fields are absent", typed, "age=&price=&active=&note=&username=a", expect{v: `{"username":"a"}`}},
		{"field names with specials (url_encoded/15)", `{"type":"object","properties":{"user-name":{"type":"string"},"contact.email":{"type":"string"}}}`, "user-name=JohnDoe&contact.email=john%40example.com", expect{v: `{"user-name":"JohnDoe","contact.email":"john@example.com"}`}},
		{"nested objects", typed, "profile[age]=30&profile[address][zip]=12345&profile[address][city]=X", expect{v: `{"profile":{"age":30,"address":{"zip":12345,"city":"X"}}}`}},
		{"nested coercion error loc", typed, "profile[address][zip]=abc", expect{v: "-", errs: `[{"type":"int_parsing","loc":["body","profile","address","zip"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]`}},
		{"array of objects", typed, "items[1][name]=b&items[0][name]=a&items[0][qty]=2&items[1][qty]=3", expect{v: `{"items":[{"name":"a","qty":2},{"name":"b","qty":3}]}`}},
		{"array of objects error loc", typed, "items[0][qty]=2&items[1][qty]=x", expect{v: "-", errs: `[{"type":"int_parsing","loc":["body","items",1,"qty"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]`}},
		{"append objects", typed, "items[][name]=a&items[][name]=b", expect{v: `{"items":[{"name":"a"},{"name":"b"}]}`}},
		{"indexed scalars", typed, "ids[0]=5&ids[1]=6", expect{v: `{"ids":[5,6]}`}},
		{"index keys under object schema stay keys", typed, "codes[0]=a&codes[7]=b", expect{v: `{"codes":{"0":"a","7":"b"}}`}},
		{"index keys, untyped", "", "x[0]=a&x[1]=b", expect{v: `{"x":["a","b"]}`}},
		{"leading-zero index is a key", "", "x[00]=a&x[1]=b", expect{v: `{"x":{"00":"a","1":"b"}}`}},
		{"array with holes (edge_cases/24)", `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"string"}}}}`, "items[0]=first&items[2]=third&items[5]=sixth", bad("missing index, expected: 1 got 2")},
		{"array not starting at 0", typed, "ids[1]=1", bad("missing index, expected: 0 got 1")},
		{"conflict scalar/object", typed, "profile=1&profile[age]=2", bad("conflicting values for key 'profile'")},
		{"conflict append/key", "", "a[]=1&a[b]=2", bad("conflicting values for key 'a'")},
		{"bad percent", typed, "username=%zz", bad("invalid percent-encoding")},
		{"truncated percent", typed, "username=ab%4", bad("invalid percent-encoding")},
		{"bad utf-8", typed, "username=%ff", bad("invalid UTF-8")},
		{"malformed brackets are literal", "", "a[b=1&a]b=2&[c]=3&a[b]c=4", expect{v: `{"a[b":"1","a]b":"2","[c]":"3","a[b]c":"4"}`}},
		{"empty pairs and names skipped", typed, "&&=x&username=a&", expect{v: `{"username":"a"}`}},
		{"key without value", "", "flag&x=1", expect{v: `{"flag":"","x":"1"}`}},
		{"repeated scalar with scalar schema becomes array", typed, "age=1&age=2", expect{v: `{"age":[1,2]}`}},
		{"huge integers are JSON numbers", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}}}`,
			"a=%2B0099999999999999999999&b=-000099999999999999999999&c=99999999999999999999", expect{v: `{"a":99999999999999999999,"b":-99999999999999999999,"c":99999999999999999999}`}},
		{"object from JSON text", typed, `codes=%7B%22a%22%3A1%7D`, expect{v: `{"codes":{"a":1}}`}},
		{"too deep", "", "a" + strings.Repeat("[x]", 64) + "=1", bad("key 'a" + strings.Repeat("[x]", 21) + "…' is nested too deeply")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustDecoder(t, schemaRoute(c.schema), Limits{})
			check(t, d, newCtx(formCT, c.body), c.e)
		})
	}
}

func TestFormEmptyBody(t *testing.T) {
	d := mustDecoder(t, schemaRoute(`{"type":"object"}`), Limits{})
	check(t, d, newCtx(formCT, ""), expect{absent: true})
}
