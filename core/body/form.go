package body

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/problem"
)

// Form bodies (urlencoded and multipart) are flat lists of name/value pairs.
// Names may use bracket notation:
//
//	tags=a&tags=b         repeated name          → "tags": ["a","b"]
//	tags[]=a&tags[]=b     append                 → "tags": ["a","b"]
//	a[b]=1&a[c][d]=2      nested objects         → "a": {"b":1,"c":{"d":2}}
//	items[0][name]=x      indexed array elements → "items": [{"name":"x"}]
//
// Indexes must be contiguous from 0 (in any order); a hole is a 400. A name
// that is not well-formed bracket notation ("a[b", "a]b", "[x]") is taken
// literally. Values are coerced by the body schema's shape (params.Coerce);
// repeated values become an array even when the schema says otherwise (the
// validator then reports the type error). An empty value for an integer,
// number, boolean or object property is treated as absent (as FastAPI does
// for form fields), so an optional blank field is simply missing; empty
// strings are kept for string and untyped properties.

// leafVal is one value of a name: a string or an uploaded file.
type leafVal struct {
	s    string
	file *fileLeaf
}

type kid struct {
	key  string
	node *formNode
}

// formNode is one name in the key tree.
type formNode struct {
	first   leafVal // the first value, when nleaves > 0
	more    []leafVal
	nleaves int
	kids    []kid                // children in arrival order
	index   map[string]*formNode // built once kids outgrow a linear scan
	appends []*formNode
}

func (n *formNode) addLeaf(v leafVal) {
	if n.nleaves == 0 {
		n.first = v
	} else {
		n.more = append(n.more, v)
	}
	n.nleaves++
}

func (n *formNode) leafAt(i int) leafVal {
	if i == 0 {
		return n.first
	}
	return n.more[i-1]
}

// formError is a malformed form: a 400 with the family's detail prefix.
type formError struct{ reason string }

// formTree builds the key tree of one request. Nodes come from slabs.
type formTree struct {
	root     formNode
	maxDepth int
	segs     []string
	slab     []formNode
}

func (t *formTree) newNode() *formNode {
	if len(t.slab) == cap(t.slab) {
		t.slab = make([]formNode, 0, max(8, 2*cap(t.slab)))
	}
	t.slab = t.slab[:len(t.slab)+1]
	return &t.slab[len(t.slab)-1]
}

func (t *formTree) child(n *formNode, k string) *formNode {
	if n.index != nil {
		if c, ok := n.index[k]; ok {
			return c
		}
	} else {
		for i := range n.kids {
			if n.kids[i].key == k {
				return n.kids[i].node
			}
		}
	}
	c := t.newNode()
	n.kids = append(n.kids, kid{k, c})
	switch {
	case n.index != nil:
		n.index[k] = c
	case len(n.kids) > 16:
		n.index = make(map[string]*formNode, 2*len(n.kids))
		for _, e := range n.kids {
			n.index[e.key] = e.node
		}
	}
	return c
}

// add inserts one pair. It fails only on nesting deeper than the limit.
func (t *formTree) add(name string, v leafVal) *formError {
	if name == "" {
		return nil
	}
	t.segs = splitKey(name, t.segs[:0])
	if len(t.segs) > t.maxDepth {
		return &formError{"key '" + truncate(name) + "' is nested too deeply"}
	}
	n := t.child(&t.root, t.segs[0])
	for _, s := range t.segs[1:] {
		if s == "" {
			c := t.newNode()
			n.appends = append(n.appends, c)
			n = c
		} else {
			n = t.child(n, s)
		}
	}
	n.addLeaf(v)
	return nil
}

// splitKey splits "a[b][]" into ["a","b",""]. A name that is not
// well-formed bracket notation is one literal segment.
func splitKey(k string, segs []string) []string {
	open := -1
	for i := 0; i < len(k); i++ {
		if k[i] == '[' {
			open = i
			break
		}
	}
	if open <= 0 || k[len(k)-1] != ']' {
		return append(segs, k)
	}
	segs = append(segs, k[:open])
	rest := k[open:]
	for len(rest) > 0 {
		if rest[0] != '[' {
			return append(segs[:0], k)
		}
		end := -1
		for i := 1; i < len(rest); i++ {
			if rest[i] == '[' {
				return append(segs[:0], k)
			}
			if rest[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return append(segs[:0], k)
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
	}
	return segs
}

var anyShape = &params.Shape{}

func propShape(s *params.Shape, k string) *params.Shape {
	if s != nil && s.Props != nil {
		if c, ok := s.Props[k]; ok && c != nil {
			return c
		}
	}
	return anyShape
}

func itemShape(s *params.Shape) *params.Shape {
	if s != nil && s.Items != nil {
		return s.Items
	}
	return anyShape
}

// seg is one step of an error location: an object key or an array index.
type seg struct {
	key   string
	index int
	isIdx bool
}

// finisher turns the key tree into a JSON value, coercing leaves. The
// current location is a stack of segments, materialized only for errors.
type finisher struct {
	errs []problem.ErrorItem
	bad  *formError
	loc  []seg
}

func (f *finisher) push(s seg) { f.loc = append(f.loc, s) }
func (f *finisher) pop()       { f.loc = f.loc[:len(f.loc)-1] }

// where renders the current location as ["body", ...].
func (f *finisher) where() []any {
	out := make([]any, 1, len(f.loc)+1)
	out[0] = "body"
	for _, s := range f.loc {
		if s.isIdx {
			out = append(out, s.index)
		} else {
			out = append(out, s.key)
		}
	}
	return out
}

// name renders the current location as a form key (a[b][0]).
func (f *finisher) name() string {
	var b []byte
	for i, s := range f.loc {
		if i > 0 {
			b = append(b, '[')
		}
		if s.isIdx {
			b = strconv.AppendInt(b, int64(s.index), 10)
		} else {
			b = append(b, s.key...)
		}
		if i > 0 {
			b = append(b, ']')
		}
	}
	return truncate(string(b))
}

// object finalizes the children of n as an object.
func (f *finisher) object(n *formNode, shape *params.Shape) map[string]any {
	m := make(map[string]any, len(n.kids))
	for _, k := range n.kids {
		f.push(seg{key: k.key})
		v, ok := f.node(k.node, propShape(shape, k.key))
		f.pop()
		if f.bad != nil {
			return nil
		}
		if ok {
			m[k.key] = v
		}
	}
	return m
}

// node finalizes one name; ok is false when it holds no value (all its
// values were blank non-string fields).
func (f *finisher) node(n *formNode, shape *params.Shape) (any, bool) {
	hasKids := len(n.kids) > 0 || len(n.appends) > 0
	if n.nleaves > 0 && hasKids {
		f.bad = &formError{"conflicting values for key '" + f.name() + "'"}
		return nil, false
	}
	if !hasKids {
		return f.leaves(n, shape)
	}
	// Indexed children (all keys canonical indexes) form an array unless the
	// schema declares an object there.
	if len(n.kids) > 0 && shape.Kind != params.KindObject {
		if idx, ok := indexKeys(n.kids); ok {
			return f.indexed(n, idx, shape)
		}
	}
	if len(n.appends) > 0 {
		if len(n.kids) > 0 {
			f.bad = &formError{"conflicting values for key '" + f.name() + "'"}
			return nil, false
		}
		return f.array(nil, n.appends, itemShape(shape))
	}
	return f.object(n, shape), true
}

// indexed builds an array from children keyed 0..n-1 (plus trailing appends).
func (f *finisher) indexed(n *formNode, idx []int, shape *params.Shape) (any, bool) {
	ordered := make([]*formNode, len(idx))
	for i, x := range idx {
		if x >= len(idx) {
			// Some index below x is missing: report the first one.
			seen := make([]bool, len(idx))
			for _, y := range idx {
				if y < len(idx) {
					seen[y] = true
				}
			}
			want := slices.Index(seen, false)
			got := slices.Min(slices.DeleteFunc(slices.Clone(idx), func(y int) bool { return y < want }))
			f.bad = &formError{"missing index, expected: " + strconv.Itoa(want) + " got " + strconv.Itoa(got)}
			return nil, false
		}
		ordered[x] = n.kids[i].node
	}
	return f.array(ordered, n.appends, itemShape(shape))
}

func (f *finisher) array(a, b []*formNode, items *params.Shape) (any, bool) {
	out := make([]any, 0, len(a)+len(b))
	for _, list := range [2][]*formNode{a, b} {
		for _, c := range list {
			f.push(seg{index: len(out), isIdx: true})
			v, ok := f.node(c, items)
			f.pop()
			if f.bad != nil {
				return nil, false
			}
			if ok {
				out = append(out, v)
			}
		}
	}
	return out, true
}

// indexKeys parses keys that are all canonical non-negative indexes. Keys
// are distinct, so n canonical indexes are 0..n-1 exactly when none is >= n.
func indexKeys(kids []kid) ([]int, bool) {
	idx := make([]int, len(kids))
	for i, e := range kids {
		k := e.key
		if k == "" || len(k) > 9 || (len(k) > 1 && k[0] == '0') {
			return nil, false
		}
		n := 0
		for j := 0; j < len(k); j++ {
			c := k[j]
			if c < '0' || c > '9' {
				return nil, false
			}
			n = n*10 + int(c-'0')
		}
		idx[i] = n
	}
	return idx, true
}

// leaves finalizes the direct values of one name.
func (f *finisher) leaves(n *formNode, shape *params.Shape) (any, bool) {
	if shape.Kind == params.KindArray {
		items := itemShape(shape)
		// One value written as a JSON array (common in multipart clients).
		if l := n.first; n.nleaves == 1 && l.file == nil && len(l.s) > 1 && l.s[0] == '[' {
			if v, err := decodeJSON([]byte(l.s), 64); err == jsonOK {
				if arr, ok := v.([]any); ok {
					return arr, true
				}
			}
		}
		return f.leafList(n, items), true
	}
	if n.nleaves == 1 {
		return f.leaf(n.first, shape)
	}
	return f.leafList(n, shape), true
}

func (f *finisher) leafList(n *formNode, shape *params.Shape) []any {
	out := make([]any, 0, n.nleaves)
	for i := 0; i < n.nleaves; i++ {
		f.push(seg{index: len(out), isIdx: true})
		if v, ok := f.leaf(n.leafAt(i), shape); ok {
			out = append(out, v)
		}
		f.pop()
	}
	return out
}

func (f *finisher) leaf(l leafVal, shape *params.Shape) (any, bool) {
	if l.file != nil {
		return l.file.value(), true
	}
	s := l.s
	switch shape.Kind {
	case params.KindInteger, params.KindNumber, params.KindBoolean, params.KindObject:
		if s == "" {
			return nil, false
		}
	case params.KindArray:
		// An array nested in an array item: a JSON text is accepted.
		if len(s) > 1 && s[0] == '[' {
			if v, err := decodeJSON([]byte(s), 64); err == jsonOK {
				return v, true
			}
		}
		return s, true
	case params.KindAny, params.KindString:
		return s, true
	}
	v, e := params.Coerce(s, shape.Kind, nil)
	if e != nil {
		e.Loc = f.where()
		f.errs = append(f.errs, *e)
		return nil, false
	}
	if n, ok := v.(json.Number); ok {
		v = canonicalInteger(n)
	}
	return v, true
}

// canonicalInteger rewrites an integer beyond int64 that params.Coerce keeps
// as written ("+0099999999999999999999") into JSON number syntax.
func canonicalInteger(n json.Number) json.Number {
	s := string(n)
	neg := false
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		s, neg = s[1:], true
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		t = "0"
	}
	if t == s && !neg && string(n) == s {
		return n
	}
	if neg {
		t = "-" + t
	}
	return json.Number(t)
}

func truncate(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

// parseURLEncoded decodes an application/x-www-form-urlencoded body into the
// key tree. All decoded names and values share one buffer.
func parseURLEncoded(body []byte, t *formTree) *formError {
	buf := make([]byte, 0, len(body))
	for len(body) > 0 {
		amp := bytes.IndexByte(body, '&')
		var pair []byte
		if amp < 0 {
			pair, body = body, nil
		} else {
			pair, body = body[:amp], body[amp+1:]
		}
		if len(pair) == 0 {
			continue
		}
		var rk, rv []byte
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			rk, rv = pair[:eq], pair[eq+1:]
		} else {
			rk = pair
		}
		var k, v string
		var ok bool
		if buf, k, ok = unescape(buf, rk); !ok {
			return &formError{"invalid percent-encoding"}
		}
		if buf, v, ok = unescape(buf, rv); !ok {
			return &formError{"invalid percent-encoding"}
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return &formError{"invalid UTF-8"}
		}
		if err := t.add(k, leafVal{s: v}); err != nil {
			return err
		}
	}
	return nil
}

// unescape appends the decoded form of s to buf ('+' is a space) and returns
// the decoded part as a string aliasing buf. buf never reallocates: its
// capacity is the whole body, and decoding never grows a component.
func unescape(buf, s []byte) ([]byte, string, bool) {
	start := len(buf)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			buf = append(buf, ' ')
		case '%':
			if i+2 >= len(s) {
				return buf, "", false
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return buf, "", false
			}
			buf = append(buf, h<<4|l)
			i += 2
		default:
			buf = append(buf, c)
		}
	}
	return buf, alias(buf[start:]), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
