// Package validate checks decoded JSON values against JSON Schema 2020-12 and
// reports failures in the pydantic-compatible shape of the reference corpus.
//
// Schemas are compiled once, at route registration, with
// github.com/santhosh-tekuri/jsonschema/v6. The library's error tree is then
// translated into problem.ErrorItem values: the keywords pydantic has a name
// for get pydantic's type, message and ctx; every other keyword becomes a
// "validation_error" carrying the message text of the Rust jsonschema crate,
// because that is what the original Spikard runtime emitted.
//
// Values embedded in messages are rendered as compact JSON, like serde_json's
// Display. The corpus shows objects with their keys in arrival order, which a
// map[string]any has already lost, so objects are rendered with sorted keys:
// identical to the corpus whenever the client sent its keys sorted.
package validate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/spikard/spikard-go/core/problem"
)

// resourceURL names the schema document inside its private compiler. Any
// absolute URL would do; an opaque URN keeps it from looking like something
// loadable, and every location the library reports starts with it.
const resourceURL = "urn:spikard:schema"

// Schema is a compiled JSON Schema. The zero value and nil accept everything.
// A Schema is immutable after Compile, so Validate may be called from many
// goroutines at once.
type Schema struct {
	sch *jsonschema.Schema
	// fast confirms common valid values without the library (see fast.go).
	fast *fast
	// kw holds what the library's errors do not carry but the messages need,
	// keyed by the JSON pointer of the subschema inside the document.
	kw map[string]kwInfo
}

type kwInfo struct {
	// notJSON is the compact JSON of the subschema's "not" value.
	notJSON string
	// firstType is the first non-null entry of "type" in document order: the
	// library only reports the wanted types as a set.
	firstType string
}

// noLoader refuses every external reference, so a schema can never make the
// server read local files or reach the network at registration time.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not supported: schemas must be self-contained", u)
}

// Compile compiles a JSON Schema 2020-12 document (other drafts are honoured
// when named by $schema). Empty input, {} and true accept anything.
func Compile(raw json.RawMessage) (*Schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &Schema{}, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: not valid JSON: %w", err)
	}
	switch d := doc.(type) {
	case bool:
		if d {
			return &Schema{}, nil
		}
	case map[string]any:
		if len(d) == 0 {
			return &Schema{}, nil
		}
	default:
		return nil, fmt.Errorf("invalid JSON Schema: must be an object or a boolean, got %s", jsonText(doc))
	}

	// One compiler per schema: compilers are not safe for concurrent use and
	// nothing is gained by sharing one, since references never leave the
	// document.
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: %w", err)
	}
	sch, err := c.Compile(resourceURL)
	if err != nil {
		return nil, compileError(err)
	}
	// The library only notices a $ref loop while validating, and then on
	// every request. Probing with null catches the loops that do not depend
	// on the shape of the input.
	if err := sch.Validate(nil); err != nil {
		if msg := refCycle(err); msg != "" {
			return nil, fmt.Errorf("invalid JSON Schema: %s", msg)
		}
	}
	s := &Schema{sch: sch, kw: map[string]kwInfo{}, fast: compileFast(doc)}
	collectKeywords(doc, "", s.kw)
	return s, nil
}

// compileError flattens the library's indented metaschema report to one line
// so it reads well in a registration error or a log.
func compileError(err error) error {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		var msgs []string
		var walk func(e *jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				msgs = append(msgs, (&jsonschema.ValidationError{
					SchemaURL:        e.SchemaURL,
					InstanceLocation: e.InstanceLocation,
					ErrorKind:        e.ErrorKind,
				}).Error())
				return
			}
			for _, c := range e.Causes {
				walk(c)
			}
		}
		walk(ve)
		return fmt.Errorf("invalid JSON Schema: %s", strings.Join(msgs, "; "))
	}
	return fmt.Errorf("invalid JSON Schema: %w", err)
}

func refCycle(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	if k, ok := ve.ErrorKind.(*kind.RefCycle); ok {
		return fmt.Sprintf("$ref cycle: %s and %s both resolve to %q", k.KeywordLocation1, k.KeywordLocation2, k.URL)
	}
	for _, c := range ve.Causes {
		if msg := refCycle(c); msg != "" {
			return msg
		}
	}
	return ""
}

// collectKeywords walks the raw document, not just its subschemas: a map that
// is not a schema (an enum value, the properties map) only adds entries no
// error will ever point at.
func collectKeywords(v any, ptr string, out map[string]kwInfo) {
	switch v := v.(type) {
	case map[string]any:
		var info kwInfo
		if n, ok := v["not"]; ok {
			info.notJSON = jsonText(n)
		}
		switch t := v["type"].(type) {
		case string:
			info.firstType = t
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok && s != "null" {
					info.firstType = s
					break
				}
			}
		}
		if info != (kwInfo{}) {
			out[ptr] = info
		}
		for k, e := range v {
			collectKeywords(e, ptr+"/"+escapePointer(k), out)
		}
	case []any:
		for i, e := range v {
			collectKeywords(e, ptr+"/"+strconv.Itoa(i), out)
		}
	}
}

func escapePointer(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// keywords returns the compile-time data of the subschema at a location the
// library reported.
func (s *Schema) keywords(schemaURL string) kwInfo {
	_, frag, ok := strings.Cut(schemaURL, "#")
	if !ok {
		return kwInfo{}
	}
	if strings.IndexByte(frag, '%') >= 0 {
		if f, err := url.PathUnescape(frag); err == nil {
			frag = f
		}
	}
	return s.kw[frag]
}

// Validate checks v, a decoded JSON value (nil, bool, string, json.Number,
// float64, int64, int, []any, map[string]any), and returns one item per
// failure, or nil when v is valid. Each item's Loc is a fresh slice: loc
// followed by the path inside v (object keys as strings, array indexes as
// ints). Items are sorted by that path, then type, then message, so the same
// input always yields the same list.
//
// Numbers are held to what a float64 can represent, as in the corpus: one that
// overflows (or a NaN or infinite float) fails with finite_number and nothing
// else is checked; one with an extreme exponent or more than 100 characters is
// rounded to float64 first.
func (s *Schema) Validate(v any, loc []any) (items []problem.ErrorItem) {
	return s.ValidateJSON(v, nil, loc)
}

// ValidateJSON is Validate for a value decoded from the JSON text src:
// messages that quote the instance then quote the client's own text, object
// members in the order the client sent them.
func (s *Schema) ValidateJSON(v any, src []byte, loc []any) (items []problem.ErrorItem) {
	if s == nil || s.sch == nil {
		return nil
	}
	if s.fast != nil && s.fast.check(v) == valid {
		return nil
	}
	// The library trusts its input; a value no JSON decoder produces (a
	// json.Number that is not a number) makes it panic. Request handling must
	// survive that, and the honest answer is that the input is not JSON.
	defer func() {
		if r := recover(); r != nil {
			items = []problem.ErrorItem{{
				Type: "validation_error", Loc: slices.Clone(loc),
				Msg: "Input is not a valid JSON value", Input: v, HasInput: true,
			}}
		}
	}()
	if bad, huge := scanNumbers(v); bad {
		return finish(notFinite(v, nil, nil), loc)
	} else if huge {
		v = tame(v)
	}
	err := s.sch.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []problem.ErrorItem{{
			Type: "validation_error", Loc: slices.Clone(loc),
			Msg: err.Error(), Input: v, HasInput: true,
		}}
	}
	c := collector{s: s, root: v, src: src}
	c.walk(ve)
	return finish(c.out, loc)
}

// finish orders the failures and gives each its own Loc.
func finish(out []entry, loc []any) []problem.ErrorItem {
	slices.SortStableFunc(out, func(a, b entry) int {
		if d := comparePath(a.path, b.path); d != 0 {
			return d
		}
		if d := strings.Compare(a.item.Type, b.item.Type); d != 0 {
			return d
		}
		return strings.Compare(a.item.Msg, b.item.Msg)
	})
	items := make([]problem.ErrorItem, len(out))
	for i, e := range out {
		l := make([]any, 0, len(loc)+len(e.path))
		l = append(l, loc...)
		// Array indexes are written as strings, as the reference corpus
		// (a JSON Pointer's segments) has them; sorting above used numbers.
		for _, seg := range e.path {
			if n, ok := seg.(int); ok {
				seg = strconv.Itoa(n)
			}
			l = append(l, seg)
		}
		e.item.Loc = l
		items[i] = e.item
	}
	return items
}

// The library does all number arithmetic in big.Rat built from the decimal
// text, so a json.Number such as 1e999999 costs it tens of milliseconds and
// memory for a million-digit integer, and an exponent past a million makes it
// panic. A request must not be able to buy that for eight bytes. Rust's
// serde_json, which the corpus came from, reads numbers as f64: it rejects
// what overflows and rounds the rest, so doing the same here is both safe and
// what the corpus expects.
const (
	// Numbers within these bounds are cheap for big.Rat and stay exact.
	maxExactNumberLen = 100
	maxExactExponent  = 400
)

// scanNumbers reports whether v holds a number that must be refused (bad) or
// rounded (huge). It allocates nothing: it runs on every request.
func scanNumbers(v any) (bad, huge bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			b, h := scanNumbers(e)
			bad, huge = bad || b, huge || h
		}
	case []any:
		for _, e := range v {
			b, h := scanNumbers(e)
			bad, huge = bad || b, huge || h
		}
	case json.Number:
		switch numberClass(string(v)) {
		case numberOverflow:
			return true, false
		case numberHuge:
			return false, true
		}
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0), false
	case float32:
		return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), false
	}
	return bad, huge
}

// notFinite reports each number that is not finite with pydantic's error for
// inf and nan. Floats are reported as text: encoding/json cannot marshal them.
func notFinite(v any, path []any, out []entry) []entry {
	var input any
	switch n := v.(type) {
	case map[string]any:
		for k, e := range n {
			out = notFinite(e, append(path[:len(path):len(path)], k), out)
		}
		return out
	case []any:
		for i, e := range n {
			out = notFinite(e, append(path[:len(path):len(path)], i), out)
		}
		return out
	case json.Number:
		if numberClass(string(n)) != numberOverflow {
			return out
		}
		input = n
	case float64:
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return out
		}
		input = strconv.FormatFloat(n, 'g', -1, 64)
	case float32:
		if !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) {
			return out
		}
		input = strconv.FormatFloat(float64(n), 'g', -1, 32)
	default:
		return out
	}
	return append(out, entry{path: path, item: problem.ErrorItem{
		Type: "finite_number", Msg: "Input should be a finite number", Input: input, HasInput: true,
	}})
}

const (
	numberExact = iota
	numberHuge
	numberOverflow
)

func numberClass(s string) int {
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		for _, ch := range []byte(s[i+1:]) {
			if ch >= '0' && ch <= '9' && exp <= maxExactExponent {
				exp = exp*10 + int(ch-'0')
			}
		}
	}
	if len(s) <= maxExactNumberLen && exp <= 300 {
		return numberExact
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case math.IsInf(f, 0):
		return numberOverflow
	case err != nil:
		// Not a number at all; the library rejects it cheaply.
		return numberExact
	case len(s) > maxExactNumberLen || exp > maxExactExponent:
		return numberHuge
	}
	return numberExact
}

// tame copies v with every huge number rounded to float64. Only inputs that
// carry such a number pay for the copy.
func tame(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = tame(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = tame(e)
		}
		return a
	case json.Number:
		if numberClass(string(v)) == numberHuge {
			f, _ := strconv.ParseFloat(string(v), 64)
			return f
		}
	}
	return v
}

// comparePath orders array indexes numerically, so [10] sorts after [2].
func comparePath(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if d := compareSegment(a[i], b[i]); d != 0 {
			return d
		}
	}
	return cmp.Compare(len(a), len(b))
}

func compareSegment(a, b any) int {
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	as, _ := a.(string)
	bs, _ := b.(string)
	return strings.Compare(as, bs)
}

type entry struct {
	path []any
	item problem.ErrorItem
}

type collector struct {
	s    *Schema
	root any
	src  []byte
	out  []entry
}

// instanceText renders the instance at tokens, from the source text when
// there is one (it keeps member order), else from the decoded value.
func (c *collector) instanceText(tokens []string, inst any) string {
	if c.src != nil {
		if raw, ok := rawAt(c.src, tokens); ok {
			var b bytes.Buffer
			if json.Compact(&b, raw) == nil {
				return b.String()
			}
		}
	}
	return jsonText(inst)
}

// rawAt returns the JSON text of the member at tokens inside src.
func rawAt(src []byte, tokens []string) ([]byte, bool) {
	cur := json.RawMessage(src)
	for _, tok := range tokens {
		cur = bytes.TrimSpace(cur)
		if len(cur) == 0 {
			return nil, false
		}
		switch cur[0] {
		case '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(cur, &m) != nil {
				return nil, false
			}
			next, ok := m[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case '[':
			var a []json.RawMessage
			n, err := strconv.Atoi(tok)
			if err != nil || json.Unmarshal(cur, &a) != nil || n < 0 || n >= len(a) {
				return nil, false
			}
			cur = a[n]
		default:
			return nil, false
		}
	}
	return cur, true
}

// at resolves an instance location to the value there and its path segments,
// typed the way loc wants them.
func (c *collector) at(tokens []string) (any, []any) {
	v := c.root
	path := make([]any, len(tokens))
	for i, tok := range tokens {
		path[i] = tok
		switch cur := v.(type) {
		case map[string]any:
			v = cur[tok]
		case []any:
			n, err := strconv.Atoi(tok)
			if err == nil {
				path[i] = n
				if n >= 0 && n < len(cur) {
					v = cur[n]
					continue
				}
			}
			v = nil
		default:
			v = nil
		}
	}
	return v, path
}

func (c *collector) add(path []any, typ, msg string, input any, ctx map[string]any) {
	c.out = append(c.out, entry{path: path, item: problem.ErrorItem{
		Type: typ, Msg: msg, Input: input, HasInput: true, Ctx: ctx,
	}})
}

// walk descends through the nodes that only group errors and maps each leaf.
func (c *collector) walk(e *jsonschema.ValidationError) {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		c.walkCauses(e.Causes)
	case *kind.PropertyNames:
		c.propertyNames(e, k)
	default:
		c.leaf(e)
	}
}

// walkCauses reports unevaluated properties (or items) once per object, as
// the Rust crate does, instead of once per offending member: the library
// reports them as a false schema at each member.
func (c *collector) walkCauses(causes []*jsonschema.ValidationError) {
	var uneval map[string]*unevalGroup
	for _, e := range causes {
		if _, ok := e.ErrorKind.(*kind.FalseSchema); ok && len(e.InstanceLocation) > 0 {
			isProps := strings.HasSuffix(e.SchemaURL, "/unevaluatedProperties")
			if isProps || strings.HasSuffix(e.SchemaURL, "/unevaluatedItems") {
				parent := e.InstanceLocation[:len(e.InstanceLocation)-1]
				key := strconv.FormatBool(isProps)
				for _, tok := range parent {
					// Length-prefixed, so no key can imitate another path.
					key += "/" + strconv.Itoa(len(tok)) + ":" + tok
				}
				if uneval == nil {
					uneval = map[string]*unevalGroup{}
				}
				g := uneval[key]
				if g == nil {
					g = &unevalGroup{props: isProps, parent: parent}
					uneval[key] = g
				}
				g.members = append(g.members, e.InstanceLocation[len(e.InstanceLocation)-1])
				continue
			}
		}
		c.walk(e)
	}
	for _, g := range uneval {
		obj, path := c.at(g.parent)
		var quoted []string
		if g.props {
			sort.Strings(g.members)
			for _, m := range g.members {
				quoted = append(quoted, "'"+m+"'")
			}
		} else {
			slices.SortFunc(g.members, func(a, b string) int {
				ai, _ := strconv.Atoi(a)
				bi, _ := strconv.Atoi(b)
				return cmp.Compare(ai, bi)
			})
			arr, _ := obj.([]any)
			for _, m := range g.members {
				i, _ := strconv.Atoi(m)
				var item any
				if i >= 0 && i < len(arr) {
					item = arr[i]
				}
				quoted = append(quoted, "'"+jsonText(item)+"'")
			}
		}
		what := "items"
		if g.props {
			what = "properties"
		}
		verb := "was"
		if len(quoted) > 1 {
			verb = "were"
		}
		c.add(path, "validation_error",
			"Unevaluated "+what+" are not allowed ("+strings.Join(quoted, ", ")+" "+verb+" unexpected)", obj, nil)
	}
}

type unevalGroup struct {
	props   bool
	parent  []string
	members []string
}

// propertyNames reports at the object, as the Rust crate does: the message is
// the one for the failing name, the input is the whole object.
func (c *collector) propertyNames(e *jsonschema.ValidationError, k *kind.PropertyNames) {
	obj, path := c.at(e.InstanceLocation)
	var walk func(n *jsonschema.ValidationError)
	walk = func(n *jsonschema.ValidationError) {
		switch n.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
			for _, cause := range n.Causes {
				walk(cause)
			}
			return
		case *kind.FalseSchema:
			// "propertyNames": false rejects the object, not a name.
			if n.SchemaURL == e.SchemaURL {
				c.add(path, "validation_error", "False schema does not allow "+jsonText(obj), obj, nil)
				return
			}
		}
		c.add(path, "validation_error", c.rustMessage(n, k.Property), obj, nil)
	}
	for _, cause := range e.Causes {
		walk(cause)
	}
}

// leaf maps one failure. Keywords pydantic knows get pydantic's wording; the
// rest keep the Rust crate's.
func (c *collector) leaf(e *jsonschema.ValidationError) {
	inst, path := c.at(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			c.add(appendPath(path, name), "missing", "Field required", inst, nil)
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			c.add(appendPath(path, name), "validation_error", "Additional properties are not allowed", inst,
				map[string]any{"additional_properties": false, "unexpected_field": name})
		}
	case *kind.Dependency:
		c.dependentRequired(path, inst, k.Missing)
	case *kind.DependentRequired:
		c.dependentRequired(path, inst, k.Missing)
	case *kind.Type:
		typ, msg := typeError(c.s.keywords(e.SchemaURL).firstType, k)
		c.add(path, typ, msg, inst, nil)
	case *kind.MinLength:
		c.add(path, "string_too_short", "String should have at least "+strconv.Itoa(k.Want)+" characters", inst,
			map[string]any{"min_length": k.Want})
	case *kind.MaxLength:
		c.add(path, "string_too_long", "String should have at most "+strconv.Itoa(k.Want)+" characters", inst,
			map[string]any{"max_length": k.Want})
	case *kind.Pattern:
		c.add(path, "string_pattern_mismatch", "String should match pattern '"+k.Want+"'", inst,
			map[string]any{"pattern": k.Want})
	case *kind.ExclusiveMinimum:
		c.bound(path, inst, "greater_than", "greater than", "gt", k.Want)
	case *kind.Minimum:
		c.bound(path, inst, "greater_than_equal", "greater than or equal to", "ge", k.Want)
	case *kind.ExclusiveMaximum:
		c.bound(path, inst, "less_than", "less than", "lt", k.Want)
	case *kind.Maximum:
		c.bound(path, inst, "less_than_equal", "less than or equal to", "le", k.Want)
	case *kind.MultipleOf:
		c.add(path, "multiple_of", "Input should be a multiple of "+ratText(k.Want), inst,
			map[string]any{"multiple_of": ratValue(k.Want)})
	case *kind.MinItems:
		// The corpus says "item" whatever the count.
		c.add(path, "too_short", "List should have at least "+strconv.Itoa(k.Want)+" item after validation", inst,
			map[string]any{"min_length": k.Want})
	case *kind.MaxItems:
		c.add(path, "too_long", "List should have at most "+strconv.Itoa(k.Want)+" items after validation", inst,
			map[string]any{"max_length": k.Want})
	case *kind.Enum:
		expected := pyChoices(k.Want)
		c.add(path, "enum", "Input should be "+expected, inst, map[string]any{"expected": expected})
	case *kind.Format:
		typ, msg, ctx := formatError(k.Want)
		c.add(path, typ, msg, inst, ctx)
	case *kind.UniqueItems:
		c.add(path, "validation_error", "Array items must be unique", inst, map[string]any{"unique_items": true})
	default:
		c.add(path, "validation_error", c.rustMessage(e, inst), inst, nil)
	}
}

func appendPath(path []any, name string) []any {
	return append(path[:len(path):len(path)], name)
}

func (c *collector) dependentRequired(path []any, inst any, missing []string) {
	for _, name := range missing {
		c.add(path, "validation_error", jsonText(name)+" is a required property", inst, nil)
	}
}

func (c *collector) bound(path []any, inst any, typ, words, ctxKey string, limit *big.Rat) {
	c.add(path, typ, "Input should be "+words+" "+ratText(limit), inst, map[string]any{ctxKey: ratValue(limit)})
}

// typeError picks the pydantic error for the type the schema asked for
// first; "parsing" variants are what pydantic reports when it is handed a
// string it cannot convert.
func typeError(want string, k *kind.Type) (string, string) {
	if want == "" || want == "null" {
		want = ""
		for _, w := range k.Want {
			if w != "null" {
				want = w
				break
			}
		}
		if want == "" && len(k.Want) > 0 {
			want = "null"
		}
	}
	switch want {
	case "integer":
		switch k.Got {
		case "string":
			return "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
		case "number":
			return "int_from_float", "Input should be a valid integer, got a number with a fractional part"
		}
		return "int_type", "Input should be a valid integer"
	case "number":
		if k.Got == "string" {
			return "float_parsing", "Input should be a valid number, unable to parse string as a number"
		}
		return "float_type", "Input should be a valid number"
	case "string":
		return "string_type", "Input should be a valid string"
	case "boolean":
		if k.Got == "string" {
			return "bool_parsing", "Input should be a valid boolean, unable to interpret input"
		}
		return "bool_type", "Input should be a valid boolean"
	case "object":
		return "dict_type", "Input should be a valid dictionary"
	case "array":
		return "list_type", "Input should be a valid list"
	case "null":
		return "none_required", "Input should be None"
	}
	return "validation_error", "Input should be a valid " + want
}

// emailPattern is the shape of an address the email format accepts, as the
// reference corpus quotes it in its errors.
const emailPattern = `^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`

func formatError(format string) (string, string, map[string]any) {
	switch format {
	case "uuid":
		return "uuid_parsing", "Input should be a valid UUID", nil
	case "date":
		return "date_parsing", "Input should be a valid date", nil
	case "date-time":
		return "datetime_parsing", "Input should be a valid datetime", nil
	case "time":
		return "time_parsing", "Input should be a valid time", nil
	case "duration":
		return "duration_parsing", "Input should be a valid duration", nil
	case "email":
		// The reference reports email as the pattern its email check uses.
		return "string_pattern_mismatch", "String should match pattern '" + emailPattern + "'",
			map[string]any{"pattern": emailPattern}
	}
	return "validation_error", "Input should be a valid " + format, map[string]any{"format": format}
}

// rustMessage is the Display text of the Rust jsonschema crate's error for
// the same failure, with inst as the failing instance.
func (c *collector) rustMessage(e *jsonschema.ValidationError, inst any) string {
	in := c.instanceText(e.InstanceLocation, inst)
	switch k := e.ErrorKind.(type) {
	case *kind.FalseSchema:
		return "False schema does not allow " + in
	case *kind.Not:
		not := c.s.keywords(e.SchemaURL).notJSON
		if not == "" {
			not = "{}"
		}
		return not + " is not allowed for " + in
	case *kind.AnyOf:
		return in + " is not valid under any of the schemas listed in the 'anyOf' keyword"
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			return in + " is not valid under any of the schemas listed in the 'oneOf' keyword"
		}
		return in + " is valid under more than one of the schemas listed in the 'oneOf' keyword"
	case *kind.Const:
		return jsonText(k.Want) + " was expected"
	case *kind.Enum:
		return in + " is not one of " + jsonText(k.Want)
	case *kind.MinProperties:
		return in + " has less than " + strconv.Itoa(k.Want) + " propert" + plural(k.Want, "y", "ies")
	case *kind.MaxProperties:
		return in + " has more than " + strconv.Itoa(k.Want) + " propert" + plural(k.Want, "y", "ies")
	case *kind.MinItems:
		return in + " has less than " + strconv.Itoa(k.Want) + " item" + plural(k.Want, "", "s")
	case *kind.MaxItems:
		return in + " has more than " + strconv.Itoa(k.Want) + " item" + plural(k.Want, "", "s")
	case *kind.MinLength:
		return in + " is shorter than " + strconv.Itoa(k.Want) + " character" + plural(k.Want, "", "s")
	case *kind.MaxLength:
		return in + " is longer than " + strconv.Itoa(k.Want) + " character" + plural(k.Want, "", "s")
	case *kind.Pattern:
		return in + ` does not match "` + k.Want + `"`
	case *kind.Format:
		return in + ` is not a "` + k.Want + `"`
	case *kind.Minimum:
		return in + " is less than the minimum of " + ratText(k.Want)
	case *kind.Maximum:
		return in + " is greater than the maximum of " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return in + " is less than or equal to the minimum of " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return in + " is greater than or equal to the maximum of " + ratText(k.Want)
	case *kind.MultipleOf:
		return in + " is not a multiple of " + ratText(k.Want)
	case *kind.UniqueItems:
		return in + " has non-unique elements"
	case *kind.Type:
		want := slices.Clone(k.Want)
		if len(want) == 1 {
			return in + ` is not of type "` + want[0] + `"`
		}
		sort.Strings(want)
		return in + ` is not of types "` + strings.Join(want, `", "`) + `"`
	case *kind.Required:
		parts := make([]string, len(k.Missing))
		for i, m := range k.Missing {
			parts[i] = jsonText(m) + " is a required property"
		}
		return strings.Join(parts, "; ")
	case *kind.Dependency:
		return jsonText(firstOr(k.Missing)) + " is a required property"
	case *kind.DependentRequired:
		return jsonText(firstOr(k.Missing)) + " is a required property"
	case *kind.AdditionalProperties:
		quoted := make([]string, len(k.Properties))
		for i, p := range k.Properties {
			quoted[i] = "'" + p + "'"
		}
		return "Additional properties are not allowed (" + strings.Join(quoted, ", ") + " " +
			plural(len(quoted), "was", "were") + " unexpected)"
	case *kind.AdditionalItems:
		arr, _ := inst.([]any)
		var extra []string
		if k.Count <= len(arr) {
			for _, item := range arr[len(arr)-k.Count:] {
				extra = append(extra, jsonText(item))
			}
		}
		return "Additional items are not allowed (" + strings.Join(extra, ", ") + " " +
			plural(len(extra), "was", "were") + " unexpected)"
	case *kind.Contains, *kind.MinContains, *kind.MaxContains:
		// The Rust crate reports minContains and maxContains as "contains".
		return "None of " + in + " are valid under the given schema"
	case *kind.ContentEncoding:
		return in + ` is not compliant with "` + k.Want + `" content encoding`
	case *kind.ContentMediaType:
		return in + ` is not compliant with "` + k.Want + `" media type`
	case *kind.InvalidJsonValue:
		return "Input is not a valid JSON value"
	}
	// Remaining kinds (reference cycles, contentSchema) have no Rust
	// counterpart; the library's own wording is the most useful left.
	return strings.TrimPrefix((&jsonschema.ValidationError{
		SchemaURL: e.SchemaURL, ErrorKind: e.ErrorKind,
	}).Error(), "at '': ")
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ratText prints a schema bound the way a JSON number is written: 3, not 3.0.
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	if f, _ := r.Float64(); !math.IsInf(f, 0) {
		b, _ := json.Marshal(f)
		return string(b)
	}
	return r.FloatString(20)
}

// ratValue is the bound as a ctx member: an integer when it is one, so ctx
// marshals as 3 rather than 3.0, and a json.Number when float64 cannot hold it.
func ratValue(r *big.Rat) any {
	if r.IsInt() {
		if r.Num().IsInt64() {
			return r.Num().Int64()
		}
		return json.Number(r.Num().String())
	}
	if f, _ := r.Float64(); !math.IsInf(f, 0) {
		return f
	}
	return json.Number(ratText(r))
}

// jsonText renders v as compact JSON without HTML escaping, as serde_json
// does.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// pyChoices lists enum values the way pydantic's literal_error does:
// 'a', 'b' or 'c'.
func pyChoices(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = pyRepr(v)
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// pyRepr approximates Python's repr() of the value json.loads would produce.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return pyString(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyString(k) + ": " + pyRepr(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return jsonText(v)
}

// pyString follows Python's choice of quote: single quotes unless the string
// contains a single quote and no double quote.
func pyString(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
