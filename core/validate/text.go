package validate

import (
	"math"
	"strconv"
	"unsafe"
)

// ValidJSONText reports whether raw, a JSON text the body decoder already
// checked (syntax, UTF-8, depth), is valid against the schema, by the fast
// path's rules and without decoding it: no maps, no interfaces, no
// allocation. false means "not sure": decode and call ValidateJSON, which
// decides and writes the errors. A request whose body passes here can skip
// decoding altogether (handlers that only forward the bytes never pay for
// it).
func (s *Schema) ValidJSONText(raw []byte) bool {
	if s == nil || s.sch == nil {
		return true
	}
	if s.fast == nil {
		return false
	}
	t := textScan{b: raw}
	if len(raw) >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF {
		t.i = 3
	}
	if !s.fast.text(&t) {
		return false
	}
	t.ws()
	return t.i == len(t.b)
}

// HasFastPath reports whether ValidJSONText can ever answer true.
func (s *Schema) HasFastPath() bool { return s != nil && s.sch != nil && s.fast != nil }

// textScan walks a JSON text. It assumes the text is valid JSON but never
// reads out of bounds when it is not (it answers "not sure" instead).
type textScan struct {
	b []byte
	i int
}

func (t *textScan) ws() {
	for t.i < len(t.b) {
		switch t.b[t.i] {
		case ' ', '\t', '\n', '\r':
			t.i++
		default:
			return
		}
	}
}

// lit moves past the literal word at t.i.
func (t *textScan) lit(word string) bool {
	if len(t.b)-t.i < len(word) || string(t.b[t.i:t.i+len(word)]) != word {
		return false
	}
	t.i += len(word)
	return true
}

// str reads the string at t.i (at its quote): its raw content, and whether
// that content is the string's value (no escapes).
func (t *textScan) str() (s []byte, plain, ok bool) {
	if t.i >= len(t.b) || t.b[t.i] != '"' {
		return nil, false, false
	}
	start := t.i + 1
	plain = true
	for i := start; i < len(t.b); i++ {
		switch t.b[i] {
		case '"':
			t.i = i + 1
			return t.b[start:i], plain, true
		case '\\':
			plain = false
			i++
		}
	}
	return nil, false, false
}

// num reads the number at t.i.
func (t *textScan) num() []byte {
	start := t.i
	for t.i < len(t.b) {
		switch c := t.b[t.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			t.i++
		default:
			return t.b[start:t.i]
		}
	}
	return t.b[start:t.i]
}

// members walks the array or object at t.i (at its bracket), calling value
// once per member with t at the member's value; an object member's key
// comes with it (nil in an array), plain when it has no escapes. n counts
// the members.
func (t *textScan) members(value func(key []byte, plain bool) bool) (n int, ok bool) {
	end := byte(']')
	obj := t.b[t.i] == '{'
	if obj {
		end = '}'
	}
	t.i++
	t.ws()
	if t.i < len(t.b) && t.b[t.i] == end {
		t.i++
		return 0, true
	}
	for {
		var key []byte
		plain := true
		if obj {
			t.ws()
			if key, plain, ok = t.str(); !ok {
				return n, false
			}
			t.ws()
			if t.i >= len(t.b) || t.b[t.i] != ':' {
				return n, false
			}
			t.i++
		}
		n++
		if !value(key, plain) {
			return n, false
		}
		t.ws()
		if t.i >= len(t.b) {
			return n, false
		}
		switch t.b[t.i] {
		case ',':
			t.i++
		case end:
			t.i++
			return n, true
		default:
			return n, false
		}
	}
}

// skip moves past any value (for a property the schema says nothing about).
func (t *textScan) skip(depth int) bool {
	t.ws()
	if t.i >= len(t.b) || depth > 10000 {
		return false
	}
	switch t.b[t.i] {
	case '"':
		_, _, ok := t.str()
		return ok
	case 't':
		return t.lit("true")
	case 'f':
		return t.lit("false")
	case 'n':
		return t.lit("null")
	case '[', '{':
		_, ok := t.members(func([]byte, bool) bool { return t.skip(depth + 1) })
		return ok
	}
	return len(t.num()) > 0
}

// text is check on the value at t.i, moving past it: true for valid, false
// for "not sure". Every rule is check's, read off the text.
func (f *fast) text(t *textScan) bool {
	t.ws()
	if t.i >= len(t.b) {
		return false
	}
	switch c := t.b[t.i]; {
	case c == '{':
		return f.object(t)
	case c == '[':
		return f.array(t)
	case c == '"':
		s, plain, ok := t.str()
		if !ok || !f.is(tString) {
			return false
		}
		if f.minLen > 0 || f.maxLen >= 0 || f.pattern != nil || f.enum != nil {
			if !plain {
				return false // escapes: let the decoder say what the string is
			}
		}
		if !f.stringOK(s) {
			return false
		}
		if f.enum != nil {
			for _, e := range f.enum {
				if es, ok := e.(string); ok && es == string(s) {
					return true
				}
			}
			return false
		}
		return true
	case c == 't' || c == 'f':
		b, word := c == 't', "false"
		if b {
			word = "true"
		}
		if !t.lit(word) || !f.is(tBool) {
			return false
		}
		return f.enum == nil || f.enumHas(b)
	case c == 'n':
		if !t.lit("null") || !f.is(tNull) {
			return false
		}
		return f.enum == nil || f.enumHas(nil)
	}
	s := t.num()
	if len(s) == 0 || len(s) > 15 || f.enum != nil {
		return false // beyond 15 characters float64 may not be exact (as check)
	}
	lit := unsafe.String(unsafe.SliceData(s), len(s))
	n, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(n, 0) || n == 0 && !zeroMantissa(lit) {
		return false
	}
	typ := tNumber
	if n == math.Trunc(n) {
		typ = tInteger
	}
	if !f.is(typ) {
		return false
	}
	return !(f.min != nil && n < *f.min || f.max != nil && n > *f.max ||
		f.xmin != nil && n <= *f.xmin || f.xmax != nil && n >= *f.xmax)
}

func (f *fast) is(t jsonType) bool { return f.types == 0 || f.types&uint8(t) != 0 }

func (f *fast) enumHas(v any) bool {
	for _, e := range f.enum {
		if e == v {
			return true
		}
	}
	return false
}

func (f *fast) array(t *textScan) bool {
	if !f.is(tArray) || f.enum != nil {
		return false
	}
	n, ok := t.members(func([]byte, bool) bool {
		if f.items != nil {
			return f.items.text(t)
		}
		return t.skip(0)
	})
	return ok && n >= f.minItems && (f.maxItems < 0 || n <= f.maxItems)
}

func (f *fast) object(t *textScan) bool {
	// A duplicate key counts twice here but once in the decoded object, so
	// a lower bound on the count cannot be judged from the text.
	if !f.is(tObject) || f.enum != nil || f.minProps > 0 || len(f.required) > 64 {
		return false
	}
	var seen uint64
	n, ok := t.members(func(key []byte, plain bool) bool {
		if !plain {
			return false
		}
		// Every occurrence of a duplicated key is checked; the decoded
		// object keeps one of them.
		if p, ok := f.props[string(key)]; ok {
			if !p.text(t) {
				return false
			}
		} else if f.noAddl || f.addl != nil && !f.addl.text(t) {
			return false
		} else if f.addl == nil && !t.skip(0) {
			return false
		}
		for i, r := range f.required {
			if r == string(key) {
				seen |= 1 << i
			}
		}
		return true
	})
	return ok && (f.maxProps < 0 || n <= f.maxProps) && seen == 1<<len(f.required)-1
}
