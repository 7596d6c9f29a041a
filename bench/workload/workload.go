// Package workload defines what the benchmark measures: the requests, the
// exact answers every server must give, and the payload types and hand-written
// checks the non-Spikard servers use. Keeping all of it in one place is what
// makes the three servers do the same work, and lets the harness prove it.
package workload

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Workload is one request pattern driven by wrk.
type Workload struct {
	Name   string
	Method string
	// Target is the request path and query.
	Target      string
	Body        []byte
	ContentType string
	// Expect is the JSON every server must answer with (compared JSON-equal).
	Expect []byte
	// Validated marks workloads where Spikard validates input against a
	// schema; the issue sets a lower goal for those.
	Validated bool
	// Goal is the minimum spikard-go / raw-fasthttp req/s ratio asked for.
	Goal float64
}

// ItemJSON is the ~150 B object POSTed to /items.
const ItemJSON = `{"name":"Ergonomic Wireless Mechanical Keyboard","price":129.99,"tags":["electronics","peripherals","keyboards","wireless","usb","sale"],"in_stock":true}`

// All lists the workloads in report order.
var All = []Workload{
	{
		Name: "json-small", Method: "GET", Target: "/json",
		Expect: []byte(`{"message":"Hello, World!"}`), Goal: 0.90,
	},
	{
		// Path and query parameters are coerced and schema-checked by
		// Spikard, so they count as validated workloads.
		Name: "path-params", Method: "GET", Target: "/users/42/posts/hello-world",
		Expect: []byte(`{"id":42,"slug":"hello-world"}`), Validated: true, Goal: 0.80,
	},
	{
		Name: "query-params", Method: "GET", Target: "/search?q=go&limit=10&page=2",
		Expect: []byte(`{"q":"go","limit":10,"page":2}`), Validated: true, Goal: 0.80,
	},
	{
		Name: "json-post-validated", Method: "POST", Target: "/items",
		Body: []byte(ItemJSON), ContentType: "application/json",
		Expect: []byte(ItemJSON), Validated: true, Goal: 0.80,
	},
	{
		Name: "json-post-unvalidated", Method: "POST", Target: "/items-raw",
		Body: []byte(ItemJSON), ContentType: "application/json",
		Expect: []byte(ItemJSON), Goal: 0.90,
	},
}

// ByName returns the named workload.
func ByName(name string) (Workload, bool) {
	for _, w := range All {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// Greeting is the json-small answer.
type Greeting struct {
	Message string `json:"message"`
}

// HelloWorld is the json-small answer value; servers marshal it per request
// (as a real handler would) rather than sending cached bytes.
var HelloWorld = Greeting{Message: "Hello, World!"}

// Post is the path-params answer.
type Post struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
}

// Search is the query-params answer.
type Search struct {
	Q     string `json:"q"`
	Limit int64  `json:"limit"`
	Page  int64  `json:"page"`
}

// The schemas Spikard declares; the hand-written checks below implement the
// same constraints for the other servers.
const (
	QSchema     = `{"type":"string","minLength":1}`
	LimitSchema = `{"type":"integer","minimum":1,"maximum":100}`
	PageSchema  = `{"type":"integer","minimum":1}`
	ItemSchema  = `{
		"type": "object",
		"required": ["name", "price"],
		"properties": {
			"name": {"type": "string", "minLength": 1},
			"price": {"type": "number", "exclusiveMinimum": 0},
			"tags": {"type": "array", "items": {"type": "string"}},
			"in_stock": {"type": "boolean"}
		}
	}`
)

// ErrInvalid is what the hand-written checks report; servers answer 422.
var ErrInvalid = errors.New("invalid input")

// ParseSearch converts and checks the three query values by hand, as a
// server without a schema layer has to.
func ParseSearch(q, limit, page string, hasQ, hasLimit, hasPage bool) (Search, error) {
	if !hasQ || !hasLimit || !hasPage || utf8.RuneCountInString(q) < 1 {
		return Search{}, ErrInvalid
	}
	l, err := strconv.ParseInt(limit, 10, 64)
	if err != nil || l < 1 || l > 100 {
		return Search{}, ErrInvalid
	}
	p, err := strconv.ParseInt(page, 10, 64)
	if err != nil || p < 1 {
		return Search{}, ErrInvalid
	}
	return Search{Q: q, Limit: l, Page: p}, nil
}

// Item is the POSTed object as the hand-validating servers decode it.
// Pointers tell "absent" from "zero" for the required members.
type Item struct {
	Name    *string  `json:"name"`
	Price   *float64 `json:"price"`
	Tags    []string `json:"tags"`
	InStock *bool    `json:"in_stock"`
}

// Check applies ItemSchema's constraints to a decoded Item. encoding/json
// already rejected wrong member types; two small differences from the schema
// remain and do not matter for the benchmark: encoding/json matches member
// names case-insensitively, and accepts null for "tags".
func (it *Item) Check() error {
	if it.Name == nil || utf8.RuneCountInString(*it.Name) < 1 {
		return ErrInvalid
	}
	if it.Price == nil || !(*it.Price > 0) {
		return ErrInvalid
	}
	return nil
}
