// Package gohand is the hand-written request handling shared by the two Go
// peers (raw fasthttp and net/http): each server only adapts its own
// request type; parsing, the checks of the validated variants and the
// answers are written out here by hand, as a service without a schema layer
// would, giving the same answers as every other server (bench/workload).
package gohand

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// ErrInvalid is what a check reports; servers answer 422.
var ErrInvalid = errors.New("invalid input")

// Invalid is the body of a 422 answer.
const Invalid = `{"detail":"invalid input"}`

type kind byte

const (
	str kind = iota
	integer
	number
	boolean
	array
)

// field is one parameter: its type and, for the validated variant, its
// constraint (nil: the type is the only check).
type field struct {
	name string
	kind kind
	ok   func(v any) bool
}

func strLen(min, max int) func(any) bool {
	return func(v any) bool { n := utf8.RuneCountInString(v.(string)); return n >= min && n <= max }
}
func strRe(re *regexp.Regexp, min, max int) func(any) bool {
	return func(v any) bool {
		s := v.(string)
		n := utf8.RuneCountInString(s)
		return n >= min && n <= max && re.MatchString(s)
	}
}
func intRange(min, max int64) func(any) bool {
	return func(v any) bool { n := v.(int64); return n >= min && n <= max }
}
func numMin(min float64, exclusive bool) func(any) bool {
	return func(v any) bool {
		x := v.(float64)
		if exclusive {
			return x > min
		}
		return x >= min
	}
}
func oneOf(vals ...string) func(any) bool {
	return func(v any) bool {
		for _, x := range vals {
			if v.(string) == x {
				return true
			}
		}
		return false
	}
}
func strArr(maxItems, maxLen int) func(any) bool {
	return func(v any) bool {
		a := v.([]string)
		if len(a) > maxItems {
			return false
		}
		for _, s := range a {
			if utf8.RuneCountInString(s) > maxLen {
				return false
			}
		}
		return true
	}
}

var (
	reName     = regexp.MustCompile(`^[a-z0-9-]+$`)
	reWord     = regexp.MustCompile(`^[a-z]+$`)
	reUUID     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reDate     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	reEmail    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	reSKU      = regexp.MustCompile(`^[A-Z]{3}-[0-9]{4}$`)
	reCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	reZip      = regexp.MustCompile(`^[0-9]{5}$`)
	reCountry  = regexp.MustCompile(`^[A-Z]{2}$`)
	rePhone    = regexp.MustCompile(`^\+?[0-9 ]{6,20}$`)
)

func isDate(v any) bool {
	s := v.(string)
	if !reDate.MatchString(s) {
		return false
	}
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:10])
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// Path parameters per route id.
var pathFields = map[string][]field{
	"path-simple":   {{"name", str, strRe(reName, 1, 50)}},
	"path-int":      {{"id", integer, intRange(1, 1000000)}},
	"path-uuid":     {{"id", str, func(v any) bool { return reUUID.MatchString(v.(string)) }}},
	"path-date":     {{"date", str, isDate}},
	"path-deep":     {{"a", str, strRe(reWord, 1, 20)}, {"b", str, strRe(reWord, 1, 20)}, {"c", str, strRe(reWord, 1, 20)}, {"d", str, strRe(reWord, 1, 20)}, {"e", str, strRe(reWord, 1, 20)}},
	"path-multiple": {{"user_id", integer, intRange(1, 1<<62)}, {"post_id", integer, intRange(1, 1<<62)}, {"slug", str, strRe(reName, 1, 50)}},
}

var queryMedium = []field{
	{"q", str, strLen(1, 100)}, {"category", str, strLen(1, 50)}, {"brand", str, strLen(1, 50)},
	{"min_price", number, numMin(0, false)}, {"max_price", number, numMin(0, false)}, {"in_stock", boolean, nil},
	{"sort", str, oneOf("price", "name", "rating")}, {"order", str, oneOf("asc", "desc")},
	{"limit", integer, intRange(1, 100)}, {"page", integer, intRange(1, 1<<62)},
}

// Query parameters and form fields per route id.
var valueFields = map[string][]field{
	"query-few":    {{"q", str, strLen(1, 100)}, {"limit", integer, intRange(1, 100)}, {"page", integer, intRange(1, 1<<62)}},
	"query-medium": queryMedium,
	"query-many": append(append([]field{}, queryMedium...),
		field{"tags", array, strArr(10, 30)}, field{"color", str, strLen(0, 30)}, field{"size", str, oneOf("s", "m", "l", "xl")},
		field{"rating", integer, intRange(0, 5)}, field{"currency", str, func(v any) bool { return reCurrency.MatchString(v.(string)) }},
		field{"lang", str, strLen(2, 5)}, field{"offset", integer, intRange(0, 1<<62)}, field{"include_reviews", boolean, nil},
		field{"seller", str, strLen(0, 50)}, field{"region", str, strLen(0, 50)}),
	"urlencoded-simple": {{"name", str, strLen(1, 100)}, {"email", str, strRe(reEmail, 0, 254)}, {"age", integer, intRange(0, 150)}, {"subscribe", boolean, nil}},
	"urlencoded-complex": {
		{"first_name", str, strLen(1, 100)}, {"last_name", str, strLen(1, 100)}, {"email", str, strRe(reEmail, 0, 254)},
		{"age", integer, intRange(0, 150)}, {"street", str, strLen(0, 200)}, {"city", str, strLen(0, 100)},
		{"zip", str, strRe(reZip, 0, 5)}, {"country", str, strRe(reCountry, 0, 2)}, {"phone", str, strRe(rePhone, 0, 20)},
		{"interests", array, strArr(10, 30)}, {"quantity", integer, intRange(1, 99)}, {"unit_price", number, numMin(0, true)},
		{"gift", boolean, nil}, {"comment", str, strLen(0, 500)},
	},
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return false, false
}

// Values reads one parameter: first value and all values.
type Values interface {
	Get(name string) (string, bool)
	All(name string) []string
}

// answer converts every field, checks it when validated, and writes the
// answer object in declaration order.
func answer(fields []field, get func(f *field) (string, []string, bool), validated bool) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i := range fields {
		f := &fields[i]
		raw, all, ok := get(f)
		if !ok {
			return nil, ErrInvalid
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, f.name)
		b = append(b, ':')
		var v any
		switch f.kind {
		case str:
			v = raw
			b = appendString(b, raw)
		case integer:
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return nil, ErrInvalid
			}
			v = n
			b = strconv.AppendInt(b, n, 10)
		case number:
			x, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return nil, ErrInvalid
			}
			v = x
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		case boolean:
			x, ok := parseBool(raw)
			if !ok {
				return nil, ErrInvalid
			}
			v = x
			b = strconv.AppendBool(b, x)
		case array:
			v = all
			b = append(b, '[')
			for j, s := range all {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, s)
			}
			b = append(b, ']')
		}
		if validated && f.ok != nil && !f.ok(v) {
			return nil, ErrInvalid
		}
	}
	return append(b, '}'), nil
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// Path answers a path route from its raw segments.
func Path(route string, seg func(name string) string, validated bool) ([]byte, error) {
	return answer(pathFields[route], func(f *field) (string, []string, bool) {
		v := seg(f.name)
		return v, nil, v != ""
	}, validated)
}

// Fields answers a query or urlencoded route.
func Fields(route string, vals Values, validated bool) ([]byte, error) {
	return answer(valueFields[route], func(f *field) (string, []string, bool) {
		if f.kind == array {
			all := vals.All(f.name)
			return "", all, len(all) > 0
		}
		v, ok := vals.Get(f.name)
		return v, nil, ok
	}, validated)
}

// Order is the JSON body as the validated route decodes it; pointers tell
// "absent" from "zero" for required members.
type Order struct {
	ID     *int64   `json:"id"`
	Name   *string  `json:"name"`
	Active *bool    `json:"active"`
	Price  *float64 `json:"price"`
	Tags   []string `json:"tags"`
	Items  []struct {
		SKU   *string  `json:"sku"`
		Qty   *int64   `json:"qty"`
		Price *float64 `json:"price"`
		Note  *string  `json:"note"`
	} `json:"items"`
}

// JSON checks the echoed body: well-formed only (plain) or against every
// constraint of the order schema (validated). The answer is the body.
func JSON(body []byte, validated bool) error {
	if !validated {
		if !json.Valid(body) {
			return ErrInvalid
		}
		return nil
	}
	var o Order
	if err := json.Unmarshal(body, &o); err != nil {
		return ErrInvalid
	}
	if o.ID == nil || *o.ID < 1 || o.Name == nil || !strLen(1, 100)(*o.Name) || o.Active == nil ||
		o.Price == nil || !(*o.Price > 0) || o.Tags == nil || len(o.Tags) > 20 || o.Items == nil || len(o.Items) > 5000 {
		return ErrInvalid
	}
	for _, t := range o.Tags {
		if utf8.RuneCountInString(t) > 30 {
			return ErrInvalid
		}
	}
	for _, it := range o.Items {
		if it.SKU == nil || !reSKU.MatchString(*it.SKU) || it.Qty == nil || *it.Qty < 1 || *it.Qty > 1000 ||
			it.Price == nil || *it.Price < 0 || (it.Note != nil && utf8.RuneCountInString(*it.Note) > 200) {
			return ErrInvalid
		}
	}
	return nil
}

// Upload is what a multipart request carried.
type Upload struct {
	Title                 string
	HasTitle, HasFile     bool
	Filename, ContentType string
	Size                  int
}

// Multipart answers the multipart route.
func Multipart(u Upload, validated bool) ([]byte, error) {
	if !u.HasTitle || !u.HasFile {
		return nil, ErrInvalid
	}
	if validated && (!strLen(1, 100)(u.Title) || u.Filename == "" || u.ContentType != "text/plain" || u.Size < 1 || u.Size > 1<<20) {
		return nil, ErrInvalid
	}
	b := append([]byte(`{"title":`), appendString(nil, u.Title)...)
	b = append(b, `,"filename":`...)
	b = appendString(b, u.Filename)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(u.Size), 10)
	return append(b, '}'), nil
}
