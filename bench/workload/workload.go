// Package workload is the one table of what the benchmark measures: the
// routes every server implements, the requests sent to them, the exact
// answers expected, the JSON Schemas of the validated variants and the bad
// requests those must refuse. Every server — Go, Python, Node, Ruby, PHP —
// implements the same routes; the Spikard servers read the schemas from
// here (Spec, CoreDocument), the peers declare the same constraints in their
// own idiom (pydantic, msgspec, Fastify schemas, hand checks).
//
// Each route exists twice: plain at Path (only the conversions the answer
// needs: an integer segment is parsed, a JSON body is parsed) and validated
// at "/v"+Path (every input checked against its schema). Both answer the
// same document.
package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Kinds of route, which is also how a Spikard binding's handler answers:
//
//	echo       the JSON body, as received
//	path       the path parameters as one object
//	query      the query parameters as one object
//	form       the urlencoded form fields as one object
//	multipart  {"title", "filename", "size"} of the form's title and file part
const (
	KindEcho      = "echo"
	KindPath      = "path"
	KindQuery     = "query"
	KindForm      = "form"
	KindMultipart = "multipart"
)

// Field is one path, query or form parameter: its JSON Schema in the
// validated variant (the plain variant keeps only the type), and the raw
// value the benchmark sends (several for an array sent as repeated keys).
type Field struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Plain  json.RawMessage `json:"plain_schema"`
	Values []string        `json:"-"`
}

// Route is one endpoint of the benchmark app.
type Route struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Method and Path of the plain variant; the validated one is at "/v"+Path.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Params are the path (Kind path) or query (Kind query) parameters, or
	// the urlencoded form fields (Kind form), in order.
	Params []Field `json:"params,omitempty"`
	// Body is the validated variant's body schema (echo, form, multipart);
	// PlainBody the plain variant's (nil: none).
	Body      json.RawMessage `json:"body_schema,omitempty"`
	PlainBody json.RawMessage `json:"plain_body_schema,omitempty"`
	// Bad are requests the validated variant must refuse with a 4xx.
	Bad []Bad `json:"bad"`
}

// ValidatedPath is the path of the route's validated variant.
func (r *Route) ValidatedPath() string { return "/v" + r.Path }

// Bad is a request a validated route must refuse (any 4xx).
type Bad struct {
	Why         string `json:"why"`
	Target      string `json:"target"` // path and query, relative to the validated prefix "/v"
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
}

// Workload is one request pattern the load generator sends.
type Workload struct {
	Name string `json:"name"`
	// Base is the name without "-validated"; Group is json, multipart,
	// path, query or urlencoded (charts and tables group by it).
	Base      string `json:"base"`
	Group     string `json:"group"`
	Route     *Route `json:"-"`
	Validated bool   `json:"validated"`
	Method    string `json:"method"`
	// Target is the request path and query.
	Target      string `json:"target"`
	Body        []byte `json:"-"`
	ContentType string `json:"content_type,omitempty"`
	// Expect is the JSON every server must answer with (compared JSON-equal).
	Expect []byte `json:"-"`
}

// Quick is the -quick subset.
var Quick = []string{"json-small", "json-small-validated", "path-int-validated", "query-few-validated"}

// MultipartBoundary is the boundary of the multipart workloads.
const MultipartBoundary = "----spikardbench7MA4YWxkTrZu0gW"

func s(v string) json.RawMessage { return json.RawMessage(v) }

func f(name, schema, plain string, values ...string) Field {
	return Field{Name: name, Schema: s(schema), Plain: s(plain), Values: values}
}

const (
	tStr  = `{"type":"string"}`
	tInt  = `{"type":"integer"}`
	tNum  = `{"type":"number"}`
	tBool = `{"type":"boolean"}`
	tArr  = `{"type":"array","items":{"type":"string"}}`
)

// ItemSchema is the validated JSON body: an order with line items.
const ItemSchema = `{"type":"object","required":["id","name","active","price","tags","items"],"properties":{` +
	`"id":{"type":"integer","minimum":1},` +
	`"name":{"type":"string","minLength":1,"maxLength":100},` +
	`"active":{"type":"boolean"},` +
	`"price":{"type":"number","exclusiveMinimum":0},` +
	`"tags":{"type":"array","maxItems":20,"items":{"type":"string","maxLength":30}},` +
	`"items":{"type":"array","maxItems":5000,"items":{"type":"object","required":["sku","qty","price"],"properties":{` +
	`"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"},` +
	`"qty":{"type":"integer","minimum":1,"maximum":1000},` +
	`"price":{"type":"number","minimum":0},` +
	`"note":{"type":"string","maxLength":200}}}}}}`

// UploadSchema is the validated multipart body: a title and one text file
// (the core decodes a file part into {"filename","content_type","size","content"}).
const UploadSchema = `{"type":"object","required":["title","file"],"properties":{` +
	`"title":{"type":"string","minLength":1,"maxLength":100},` +
	`"file":{"type":"object","required":["filename","content_type","size"],"properties":{` +
	`"filename":{"type":"string","minLength":1},"content_type":{"const":"text/plain"},` +
	`"size":{"type":"integer","minimum":1,"maximum":1048576}}}}}`

const uploadPlain = `{"type":"object","properties":{"title":{"type":"string"},"file":{"type":"object"}}}`

const (
	namePattern = `{"type":"string","minLength":1,"maxLength":50,"pattern":"^[a-z0-9-]+$"}`
	wordPattern = `{"type":"string","minLength":1,"maxLength":20,"pattern":"^[a-z]+$"}`
	emailSchema = `{"type":"string","maxLength":254,"pattern":"^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"}`
)

// Routes is the benchmark app.
var Routes = []*Route{
	{ID: "json", Kind: KindEcho, Method: "POST", Path: "/json", Body: s(ItemSchema),
		Bad: []Bad{
			{"price not positive", "/json", `{"id":1,"name":"x","active":true,"price":0,"tags":[],"items":[]}`, "application/json"},
			{"missing items", "/json", `{"id":1,"name":"x","active":true,"price":1.5,"tags":[]}`, "application/json"},
			{"bad sku", "/json", `{"id":1,"name":"x","active":true,"price":1.5,"tags":[],"items":[{"sku":"abc","qty":1,"price":1.5}]}`, "application/json"},
			{"qty is a string", "/json", `{"id":1,"name":"x","active":true,"price":1.5,"tags":[],"items":[{"sku":"ABC-0001","qty":"1","price":1.5}]}`, "application/json"},
			{"invalid JSON", "/json", `{"id":`, "application/json"},
		}},
	{ID: "multipart", Kind: KindMultipart, Method: "POST", Path: "/multipart", Body: s(UploadSchema), PlainBody: s(uploadPlain),
		Bad: []Bad{
			{"empty title", "/multipart", string(multipartBody("", "data.txt", 10)), "multipart/form-data; boundary=" + MultipartBoundary},
			{"missing file", "/multipart", string(multipartBody("report", "", 0)), "multipart/form-data; boundary=" + MultipartBoundary},
		}},
	{ID: "path-simple", Kind: KindPath, Method: "GET", Path: "/path/simple/{name}",
		Params: []Field{f("name", namePattern, tStr, "hello-world")},
		Bad:    []Bad{{Why: "name breaks the pattern", Target: "/path/simple/Hello_World"}}},
	{ID: "path-int", Kind: KindPath, Method: "GET", Path: "/path/int/{id}",
		Params: []Field{f("id", `{"type":"integer","minimum":1,"maximum":1000000}`, tInt, "42")},
		Bad:    []Bad{{Why: "id below minimum", Target: "/path/int/0"}, {Why: "id not an integer", Target: "/path/int/abc"}}},
	{ID: "path-uuid", Kind: KindPath, Method: "GET", Path: "/path/uuid/{id}",
		Params: []Field{f("id", `{"type":"string","format":"uuid"}`, tStr, "550e8400-e29b-41d4-a716-446655440000")},
		Bad:    []Bad{{Why: "not a UUID", Target: "/path/uuid/550e8400-e29b-41d4-a716-44665544000z"}}},
	{ID: "path-date", Kind: KindPath, Method: "GET", Path: "/path/date/{date}",
		Params: []Field{f("date", `{"type":"string","format":"date"}`, tStr, "2024-01-15")},
		Bad:    []Bad{{Why: "not a date", Target: "/path/date/2024-13-45"}}},
	{ID: "path-deep", Kind: KindPath, Method: "GET", Path: "/path/deep/{a}/{b}/{c}/{d}/{e}",
		Params: []Field{f("a", wordPattern, tStr, "org"), f("b", wordPattern, tStr, "team"), f("c", wordPattern, tStr, "project"),
			f("d", wordPattern, tStr, "repo"), f("e", wordPattern, tStr, "file")},
		Bad: []Bad{{Why: "segment breaks the pattern", Target: "/path/deep/org/team/project/repo/File1"}}},
	{ID: "path-multiple", Kind: KindPath, Method: "GET", Path: "/path/multiple/{user_id}/{post_id}/{slug}",
		Params: []Field{f("user_id", `{"type":"integer","minimum":1}`, tInt, "42"), f("post_id", `{"type":"integer","minimum":1}`, tInt, "7"),
			f("slug", namePattern, tStr, "hello-world")},
		Bad: []Bad{{Why: "user_id below minimum", Target: "/path/multiple/0/7/hello-world"}, {Why: "post_id not an integer", Target: "/path/multiple/42/x/hello-world"}}},
	{ID: "query-few", Kind: KindQuery, Method: "GET", Path: "/query/few",
		Params: queryFew,
		Bad: []Bad{{Why: "missing q", Target: "/query/few?limit=10&page=2"}, {Why: "empty q", Target: "/query/few?q=&limit=10&page=2"},
			{Why: "limit above maximum", Target: "/query/few?q=go&limit=101&page=2"}, {Why: "page not an integer", Target: "/query/few?q=go&limit=10&page=x"}}},
	{ID: "query-medium", Kind: KindQuery, Method: "GET", Path: "/query/medium",
		Params: queryMedium,
		Bad:    []Bad{{Why: "order not in enum", Target: "/query/medium?" + encode(replace(queryMedium, "order", "up"))}, {Why: "negative min_price", Target: "/query/medium?" + encode(replace(queryMedium, "min_price", "-1.5"))}}},
	{ID: "query-many", Kind: KindQuery, Method: "GET", Path: "/query/many",
		Params: queryMany,
		Bad:    []Bad{{Why: "rating above maximum", Target: "/query/many?" + encode(replace(queryMany, "rating", "9"))}, {Why: "currency breaks the pattern", Target: "/query/many?" + encode(replace(queryMany, "currency", "euro"))}}},
	{ID: "urlencoded-simple", Kind: KindForm, Method: "POST", Path: "/urlencoded/simple",
		Params: formSimple,
		Bad:    []Bad{{"bad email", "/urlencoded/simple", encode(replace(formSimple, "email", "alice")), "application/x-www-form-urlencoded"}, {"age above maximum", "/urlencoded/simple", encode(replace(formSimple, "age", "200")), "application/x-www-form-urlencoded"}}},
	{ID: "urlencoded-complex", Kind: KindForm, Method: "POST", Path: "/urlencoded/complex",
		Params: formComplex,
		Bad:    []Bad{{"country breaks the pattern", "/urlencoded/complex", encode(replace(formComplex, "country", "France")), "application/x-www-form-urlencoded"}, {"quantity not an integer", "/urlencoded/complex", encode(replace(formComplex, "quantity", "two")), "application/x-www-form-urlencoded"}}},
}

var queryFew = []Field{
	f("q", `{"type":"string","minLength":1,"maxLength":100}`, tStr, "laptop"),
	f("limit", `{"type":"integer","minimum":1,"maximum":100}`, tInt, "10"),
	f("page", `{"type":"integer","minimum":1}`, tInt, "2"),
}

var queryMedium = []Field{
	f("q", `{"type":"string","minLength":1,"maxLength":100}`, tStr, "laptop"),
	f("category", `{"type":"string","minLength":1,"maxLength":50}`, tStr, "electronics"),
	f("brand", `{"type":"string","minLength":1,"maxLength":50}`, tStr, "acme"),
	f("min_price", `{"type":"number","minimum":0}`, tNum, "100.5"),
	f("max_price", `{"type":"number","minimum":0}`, tNum, "999.99"),
	f("in_stock", tBool, tBool, "true"),
	f("sort", `{"type":"string","enum":["price","name","rating"]}`, tStr, "price"),
	f("order", `{"type":"string","enum":["asc","desc"]}`, tStr, "asc"),
	f("limit", `{"type":"integer","minimum":1,"maximum":100}`, tInt, "20"),
	f("page", `{"type":"integer","minimum":1}`, tInt, "1"),
}

var queryMany = append(append([]Field{}, queryMedium...),
	f("tags", `{"type":"array","maxItems":10,"items":{"type":"string","maxLength":30}}`, tArr, "new", "sale", "popular"),
	f("color", `{"type":"string","maxLength":30}`, tStr, "black"),
	f("size", `{"type":"string","enum":["s","m","l","xl"]}`, tStr, "m"),
	f("rating", `{"type":"integer","minimum":0,"maximum":5}`, tInt, "4"),
	f("currency", `{"type":"string","pattern":"^[A-Z]{3}$"}`, tStr, "EUR"),
	f("lang", `{"type":"string","minLength":2,"maxLength":5}`, tStr, "en-GB"),
	f("offset", `{"type":"integer","minimum":0}`, tInt, "40"),
	f("include_reviews", tBool, tBool, "false"),
	f("seller", `{"type":"string","maxLength":50}`, tStr, "store-12"),
	f("region", `{"type":"string","maxLength":50}`, tStr, "west"),
)

var formSimple = []Field{
	f("name", `{"type":"string","minLength":1,"maxLength":100}`, tStr, "Alice"),
	f("email", emailSchema, tStr, "alice@example.com"),
	f("age", `{"type":"integer","minimum":0,"maximum":150}`, tInt, "30"),
	f("subscribe", tBool, tBool, "true"),
}

var formComplex = []Field{
	f("first_name", `{"type":"string","minLength":1,"maxLength":100}`, tStr, "Alice"),
	f("last_name", `{"type":"string","minLength":1,"maxLength":100}`, tStr, "Example"),
	f("email", emailSchema, tStr, "alice@example.com"),
	f("age", `{"type":"integer","minimum":0,"maximum":150}`, tInt, "30"),
	f("street", `{"type":"string","maxLength":200}`, tStr, "12 Rue de l'Église"),
	f("city", `{"type":"string","maxLength":100}`, tStr, "Saint-Étienne"),
	f("zip", `{"type":"string","pattern":"^[0-9]{5}$"}`, tStr, "42000"),
	f("country", `{"type":"string","pattern":"^[A-Z]{2}$"}`, tStr, "FR"),
	f("phone", `{"type":"string","pattern":"^\\+?[0-9 ]{6,20}$"}`, tStr, "+33 4 77 00 00 00"),
	f("interests", `{"type":"array","maxItems":10,"items":{"type":"string","maxLength":30}}`, tArr, "cycling", "jazz", "go & rust"),
	f("quantity", `{"type":"integer","minimum":1,"maximum":99}`, tInt, "2"),
	f("unit_price", `{"type":"number","exclusiveMinimum":0}`, tNum, "19.95"),
	f("gift", tBool, tBool, "false"),
	f("comment", `{"type":"string","maxLength":500}`, tStr, "Please ring twice; leave it with the neighbour if nobody answers (flat 3B)."),
}

// replace returns fields with one value changed (for bad requests).
func replace(fields []Field, name, value string) []Field {
	out := append([]Field{}, fields...)
	for i := range out {
		if out[i].Name == name {
			out[i].Values = []string{value}
		}
	}
	return out
}

// encode writes fields as a query string / urlencoded body, in order,
// arrays as repeated keys.
func encode(fields []Field) string {
	var b strings.Builder
	for _, fl := range fields {
		for _, v := range fl.Values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(fl.Name))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// typed is the answer object of fields: each value converted to its type.
func typed(fields []Field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, fl := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(fl.Name)
		b.Write(k)
		b.WriteByte(':')
		var t struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(fl.Plain, &t)
		switch t.Type {
		case "integer", "number", "boolean":
			b.WriteString(fl.Values[0])
		case "array":
			v, _ := json.Marshal(fl.Values)
			b.Write(v)
		default:
			v, _ := json.Marshal(fl.Values[0])
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// JSONDoc builds the echoed JSON document, growing its line items until it
// is at least size bytes.
func JSONDoc(size int) []byte {
	head := `{"id":1,"name":"widget","active":true,"price":19.99,"tags":["red","small"],"items":[`
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len()+2 < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"%c%c%c-%04d","qty":%d,"price":%d.%s,"note":"line %d of the order"}`,
			'A'+i%26, 'A'+(i/26)%26, 'A'+(i/676)%26, i%10000, 1+i%50, i%97, []string{"25", "5", "75"}[i%3], i+1)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// multipartBody is a form with a title field and a text file part of
// fileSize bytes (no file part when filename is "").
func multipartBody(title, filename string, fileSize int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n%s\r\n", MultipartBoundary, title)
	if filename != "" {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=%q\r\nContent-Type: text/plain\r\n\r\n", MultipartBoundary, filename)
		b.Write(fileText(fileSize))
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", MultipartBoundary)
	return b.Bytes()
}

func fileText(n int) []byte {
	const line = "The quick brown fox jumps over the lazy dog. 0123456789\n"
	out := bytes.Repeat([]byte(line), n/len(line)+1)
	return out[:n]
}

func route(id string) *Route {
	for _, r := range Routes {
		if r.ID == id {
			return r
		}
	}
	panic("workload: no route " + id)
}

// base is one plain workload; its validated twin is derived from it.
func base(name, group, routeID, target string, body []byte, ct string, expect []byte) Workload {
	r := route(routeID)
	return Workload{Name: name, Base: name, Group: group, Route: r, Method: r.Method, Target: target,
		Body: body, ContentType: ct, Expect: expect}
}

func pathTarget(r *Route) string {
	t := r.Path
	for _, p := range r.Params {
		t = strings.Replace(t, "{"+p.Name+"}", url.PathEscape(p.Values[0]), 1)
	}
	return t
}

func bases() []Workload {
	var ws []Workload
	for _, j := range []struct {
		name string
		size int
	}{{"json-small", 80}, {"json-medium", 1 << 10}, {"json-large", 10 << 10}, {"json-very-large", 100 << 10}} {
		doc := JSONDoc(j.size)
		ws = append(ws, base(j.name, "json", "json", "/json", doc, "application/json", doc))
	}
	for _, m := range []struct {
		name string
		size int
	}{{"multipart-small", 1 << 10}, {"multipart-medium", 10 << 10}, {"multipart-large", 100 << 10}} {
		ws = append(ws, base(m.name, "multipart", "multipart", "/multipart", multipartBody("quarterly report", "data.txt", m.size),
			"multipart/form-data; boundary="+MultipartBoundary,
			fmt.Appendf(nil, `{"title":"quarterly report","filename":"data.txt","size":%d}`, m.size)))
	}
	for _, id := range []string{"path-simple", "path-int", "path-uuid", "path-date", "path-deep", "path-multiple"} {
		r := route(id)
		ws = append(ws, base(id, "path", id, pathTarget(r), nil, "", typed(r.Params)))
	}
	for _, id := range []string{"query-few", "query-medium", "query-many"} {
		r := route(id)
		ws = append(ws, base(id, "query", id, r.Path+"?"+encode(r.Params), nil, "", typed(r.Params)))
	}
	for _, id := range []string{"urlencoded-simple", "urlencoded-complex"} {
		r := route(id)
		ws = append(ws, base(id, "urlencoded", id, r.Path, []byte(encode(r.Params)), "application/x-www-form-urlencoded", typed(r.Params)))
	}
	return ws
}

// All lists every workload in report order: each plain workload followed
// by its validated variant.
var All = func() []Workload {
	var all []Workload
	for _, w := range bases() {
		all = append(all, w)
		v := w
		v.Name, v.Validated, v.Target = w.Name+"-validated", true, "/v"+w.Target
		all = append(all, v)
	}
	return all
}()

// Groups lists the workload groups in report order.
var Groups = []string{"json", "multipart", "path", "query", "urlencoded"}

// ByName returns the named workload.
func ByName(name string) (Workload, bool) {
	for _, w := range All {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// Spec is the table as JSON, for the servers written in other languages:
// routes (with schemas and bad requests) and workloads (with their bodies
// and expected answers, for their own tests).
func Spec() ([]byte, error) {
	type wl struct {
		Workload
		Route  string          `json:"route"`
		Body   string          `json:"body,omitempty"`
		Expect json.RawMessage `json:"expect"`
	}
	out := struct {
		Routes    []*Route `json:"routes"`
		Workloads []wl     `json:"workloads"`
	}{Routes: Routes}
	for _, w := range All {
		out.Workloads = append(out.Workloads, wl{Workload: w, Route: w.Route.ID, Body: string(w.Body), Expect: w.Expect})
	}
	return json.MarshalIndent(out, "", " ")
}
