package validate

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// fast is a native check for the keywords request schemas use most. It only
// ever answers "valid" when the library would: on a failure, or on anything it
// is not sure about (a value near a bound, a number beyond float64's exact
// range), it answers "unsure" and the library validates and writes the errors.
// So the mapping of errors has one source, and the common, valid request skips
// the library's allocation-heavy walk.
type fast struct {
	types      uint8 // bit set of jsonType; 0 = any
	min, max   *float64
	xmin, xmax *float64
	minLen     int
	maxLen     int // -1 = none
	pattern    *regexp.Regexp
	enum       []any
	minItems   int
	maxItems   int // -1 = none
	items      *fast
	props      map[string]*fast
	required   []string
	addl       *fast // additionalProperties schema; nil with noAddl false = any
	noAddl     bool
	minProps   int
	maxProps   int // -1 = none
}

type verdict uint8

const (
	valid verdict = iota
	unsure
)

type jsonType uint8

const (
	tNull jsonType = 1 << iota
	tBool
	tInteger
	tNumber
	tString
	tArray
	tObject
)

// annotation keywords never change validity.
var annotations = map[string]bool{
	"title": true, "description": true, "examples": true, "default": true, "deprecated": true,
	"readOnly": true, "writeOnly": true, "$comment": true,
}

// compileFast returns nil when the schema uses a keyword it does not handle.
func compileFast(doc any) *fast {
	m, ok := doc.(map[string]any)
	if !ok {
		if b, ok := doc.(bool); ok && b {
			return &fast{maxLen: -1, maxItems: -1, maxProps: -1}
		}
		return nil
	}
	f := &fast{maxLen: -1, maxItems: -1, maxProps: -1}
	for k, v := range m {
		if annotations[k] {
			continue
		}
		var ok bool
		switch k {
		case "type":
			ok = f.setTypes(v)
		case "minimum":
			f.min, ok = num(v)
		case "maximum":
			f.max, ok = num(v)
		case "exclusiveMinimum":
			f.xmin, ok = num(v)
		case "exclusiveMaximum":
			f.xmax, ok = num(v)
		case "minLength":
			f.minLen, ok = count(v)
		case "maxLength":
			f.maxLen, ok = count(v)
		case "minItems":
			f.minItems, ok = count(v)
		case "maxItems":
			f.maxItems, ok = count(v)
		case "minProperties":
			f.minProps, ok = count(v)
		case "maxProperties":
			f.maxProps, ok = count(v)
		case "pattern":
			var s string
			if s, ok = v.(string); ok {
				re, err := regexp.Compile(s)
				f.pattern, ok = re, err == nil
			}
		case "enum":
			var list []any
			if list, ok = v.([]any); ok {
				for _, e := range list {
					if !scalar(e) {
						return nil
					}
				}
				f.enum = list
			}
		case "items":
			f.items = compileFast(v)
			ok = f.items != nil
		case "properties":
			var props map[string]any
			if props, ok = v.(map[string]any); ok {
				f.props = make(map[string]*fast, len(props))
				for name, sub := range props {
					if f.props[name] = compileFast(sub); f.props[name] == nil {
						return nil
					}
				}
			}
		case "required":
			var list []any
			if list, ok = v.([]any); ok {
				for _, r := range list {
					s, isStr := r.(string)
					if !isStr {
						return nil
					}
					f.required = append(f.required, s)
				}
			}
		case "additionalProperties":
			if b, isBool := v.(bool); isBool {
				f.noAddl, ok = !b, true
			} else {
				f.addl = compileFast(v)
				ok = f.addl != nil
			}
		}
		if !ok {
			return nil
		}
	}
	return f
}

func (f *fast) setTypes(v any) bool {
	add := func(name any) bool {
		switch name {
		case "null":
			f.types |= uint8(tNull)
		case "boolean":
			f.types |= uint8(tBool)
		case "integer":
			f.types |= uint8(tInteger)
		case "number":
			f.types |= uint8(tNumber | tInteger)
		case "string":
			f.types |= uint8(tString)
		case "array":
			f.types |= uint8(tArray)
		case "object":
			f.types |= uint8(tObject)
		default:
			return false
		}
		return true
	}
	if list, ok := v.([]any); ok {
		for _, t := range list {
			if !add(t) {
				return false
			}
		}
		return len(list) > 0
	}
	return add(v)
}

// num reads a bound; one with more than 15 characters is left to the
// library, whose comparisons are exact.
func num(v any) (*float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	if len(n) > 15 {
		// Integer bounds up to 2^53 are exact in float64, and every value
		// the fast path compares (at most 15 significant digits) orders
		// against them as the decimals do. Zod's .int() writes ±(2^53-1).
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i > 1<<53 || i < -(1<<53) {
			return nil, false
		}
		f := float64(i)
		return &f, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, false
	}
	return &f, true
}

func count(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil && i >= 0
}

func scalar(v any) bool {
	switch v.(type) {
	case nil, bool, string:
		return true
	}
	return false
}

// number reads a numeric value as float64; exact is false when float64 may
// not hold it exactly (then bounds are left to the library).
func number(v any) (f float64, isInt, exact, ok bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true, x > -1e15 && x < 1e15, true
	case int:
		return float64(x), true, x > -1e15 && x < 1e15, true
	case float64:
		// A coerced parameter: exact when it round-trips in 15 digits.
		exact := strconv.FormatFloat(x, 'g', 15, 64) == strconv.FormatFloat(x, 'g', -1, 64)
		return x, x == math.Trunc(x), exact && !math.IsInf(x, 0) && !math.IsNaN(x), true
	case json.Number:
		s := string(x)
		if len(s) > 15 {
			return 0, false, false, true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f == 0 && !zeroMantissa(s) {
			return 0, false, false, true
		}
		return f, f == math.Trunc(f), true, true
	}
	return 0, false, false, false
}

// zeroMantissa reports whether a number literal's digits before its
// exponent are all zeros: a literal that reads as 0 otherwise underflowed
// (1000e-700), and is neither 0 nor an integer.
func zeroMantissa(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// stringOK checks a string's length (in characters) and pattern.
func (f *fast) stringOK(s []byte) bool {
	if f.minLen > 0 || f.maxLen >= 0 {
		n := utf8.RuneCount(s)
		if n < f.minLen || f.maxLen >= 0 && n > f.maxLen {
			return false
		}
	}
	return f.pattern == nil || f.pattern.Match(s)
}

func (f *fast) check(v any) verdict {
	var t jsonType
	switch x := v.(type) {
	case nil:
		t = tNull
	case bool:
		t = tBool
	case string:
		t = tString
		if !f.stringOK(unsafe.Slice(unsafe.StringData(x), len(x))) {
			return unsure
		}
	case []any:
		t = tArray
		if len(x) < f.minItems || f.maxItems >= 0 && len(x) > f.maxItems {
			return unsure
		}
		if f.items != nil {
			for _, e := range x {
				if f.items.check(e) != valid {
					return unsure
				}
			}
		}
	case map[string]any:
		t = tObject
		if len(x) < f.minProps || f.maxProps >= 0 && len(x) > f.maxProps {
			return unsure
		}
		for _, r := range f.required {
			if _, ok := x[r]; !ok {
				return unsure
			}
		}
		for k, e := range x {
			if p, ok := f.props[k]; ok {
				if p.check(e) != valid {
					return unsure
				}
				continue
			}
			if f.noAddl || f.addl != nil && f.addl.check(e) != valid {
				return unsure
			}
		}
	default:
		n, isInt, exact, ok := number(v)
		if !ok || !exact {
			return unsure
		}
		t = tNumber
		if isInt {
			t = tInteger
		}
		// Value and bound both have at most 15 significant digits, so their
		// float64 forms order exactly as the decimals do.
		if f.min != nil && n < *f.min || f.max != nil && n > *f.max ||
			f.xmin != nil && n <= *f.xmin || f.xmax != nil && n >= *f.xmax {
			return unsure
		}
	}
	if f.types != 0 && f.types&uint8(t) == 0 {
		return unsure
	}
	if f.enum != nil {
		for _, e := range f.enum {
			if e == v {
				return valid
			}
		}
		return unsure
	}
	return valid
}
