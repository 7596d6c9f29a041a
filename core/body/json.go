package body

import (
	"encoding/json"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// jsonErr classifies a JSON decoding failure.
type jsonErr uint8

const (
	jsonOK     jsonErr = iota
	jsonSyntax         // malformed, truncated, trailing data or invalid UTF-8
	jsonDepth          // nesting deeper than the limit
)

// jsonParser is a strict RFC 8259 parser producing the JSON-shaped values the
// pipeline validates: nil, bool, string, json.Number, []any, map[string]any.
// It validates UTF-8 and counts nesting in the same single pass.
//
// Strings and numbers without escapes alias an owned copy of the body (one
// allocation for all of them); the copy is never written after parsing.
// Objects and arrays are collected on shared stacks and then allocated at
// their exact size.
type jsonParser struct {
	b     []byte // owned copy of the input
	i     int
	depth int
	max   int
	err   jsonErr
	// skip: check only (checkJSON) - no values are built and b is the
	// caller's bytes, not a copy.
	skip bool

	vals    []any // pending array elements
	keys    []string
	members []any // pending object member values (parallel to keys)
	scratch []byte
}

var parserPool = sync.Pool{New: func() any { return new(jsonParser) }}

// decodeJSON parses one JSON text. maxDepth counts containers: `{}` is depth 1.
func decodeJSON(raw []byte, maxDepth int) (any, jsonErr) { return parseJSON(raw, maxDepth, false) }

// checkJSON reports what decodeJSON would, without building the value or
// copying the input: for bodies nobody may ever decode (a route without a
// body schema whose handler reads the raw bytes, or a C ABI host).
func checkJSON(raw []byte, maxDepth int) jsonErr {
	_, err := parseJSON(raw, maxDepth, true)
	return err
}

func parseJSON(raw []byte, maxDepth int, skip bool) (any, jsonErr) {
	p := parserPool.Get().(*jsonParser)
	if skip {
		p.b = raw
	} else {
		p.b = append(make([]byte, 0, len(raw)), raw...)
	}
	p.i, p.depth, p.max, p.err, p.skip = 0, 0, maxDepth, jsonOK, skip
	// A UTF-8 byte order mark is tolerated (RFC 8259 §8.1 allows ignoring it).
	if len(p.b) >= 3 && p.b[0] == 0xEF && p.b[1] == 0xBB && p.b[2] == 0xBF {
		p.i = 3
	}
	v := p.value()
	if p.err == jsonOK {
		p.skipWS()
		if p.i != len(p.b) {
			p.err = jsonSyntax
		}
	}
	err := p.err
	p.b = nil
	// Entries past len were cleared when their container closed; after an
	// error some remain below len. Nothing may keep values or the body copy
	// alive from the pool, and oversized stacks are dropped.
	clear(p.vals)
	clear(p.members)
	clear(p.keys)
	p.vals, p.members, p.keys = p.vals[:0], p.members[:0], p.keys[:0]
	if cap(p.vals) > 4096 {
		p.vals = nil
	}
	if cap(p.keys) > 4096 {
		p.keys, p.members = nil, nil
	}
	if cap(p.scratch) > 64<<10 {
		p.scratch = nil
	}
	parserPool.Put(p)
	if err != jsonOK {
		return nil, err
	}
	return v, jsonOK
}

func (p *jsonParser) skipWS() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() any {
	p.skipWS()
	if p.i >= len(p.b) {
		p.err = jsonSyntax
		return nil
	}
	switch c := p.b[p.i]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		s, ok := p.str()
		if !ok || p.skip {
			return nil // skip: no interface boxing, no allocation
		}
		return s
	case 't':
		return p.literal("true", true)
	case 'f':
		return p.literal("false", false)
	case 'n':
		return p.literal("null", nil)
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			return p.number()
		}
		p.err = jsonSyntax
		return nil
	}
}

func (p *jsonParser) literal(word string, v any) any {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return v
	}
	p.err = jsonSyntax
	return nil
}

func (p *jsonParser) enter() bool {
	p.depth++
	if p.depth > p.max {
		p.err = jsonDepth
		return false
	}
	return true
}

func (p *jsonParser) object() any {
	if !p.enter() {
		return nil
	}
	p.i++ // '{'
	base := len(p.keys)
	p.skipWS()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		if p.skip {
			return nil
		}
		return map[string]any{}
	}
	for {
		p.skipWS()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			p.err = jsonSyntax
			return nil
		}
		k, ok := p.str()
		if !ok {
			return nil
		}
		p.skipWS()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			p.err = jsonSyntax
			return nil
		}
		p.i++
		v := p.value()
		if p.err != jsonOK {
			return nil
		}
		if !p.skip {
			p.keys = append(p.keys, k)
			p.members = append(p.members, v)
		}
		p.skipWS()
		if p.i >= len(p.b) {
			p.err = jsonSyntax
			return nil
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] != '}' {
			p.err = jsonSyntax
			return nil
		}
		p.i++
		break
	}
	if p.skip {
		p.depth--
		return nil
	}
	ks, vs := p.keys[base:], p.members[base:]
	m := make(map[string]any, len(ks))
	for j, k := range ks {
		m[k] = vs[j] // duplicate keys: the last one wins
	}
	clear(vs)
	clear(ks)
	p.keys, p.members = p.keys[:base], p.members[:base]
	p.depth--
	return m
}

func (p *jsonParser) array() any {
	if !p.enter() {
		return nil
	}
	p.i++ // '['
	base := len(p.vals)
	p.skipWS()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		if p.skip {
			return nil
		}
		return []any{}
	}
	for {
		v := p.value()
		if p.err != jsonOK {
			return nil
		}
		if !p.skip {
			p.vals = append(p.vals, v)
		}
		p.skipWS()
		if p.i >= len(p.b) {
			p.err = jsonSyntax
			return nil
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] != ']' {
			p.err = jsonSyntax
			return nil
		}
		p.i++
		break
	}
	if p.skip {
		p.depth--
		return nil
	}
	out := make([]any, len(p.vals)-base)
	copy(out, p.vals[base:])
	clear(p.vals[base:])
	p.vals = p.vals[:base]
	p.depth--
	return out
}

func (p *jsonParser) number() any {
	b, i := p.b, p.i
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		p.err = jsonSyntax
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			p.err = jsonSyntax
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			p.err = jsonSyntax
			return nil
		}
	}
	p.i = i
	if p.skip {
		return nil
	}
	return json.Number(alias(b[start:i]))
}

// str reads a string at p.i (which is '"').
func (p *jsonParser) str() (string, bool) {
	b := p.b
	i := p.i + 1
	start := i
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			p.i = i + 1
			return alias(b[start:i]), true
		case c == '\\':
			return p.strSlow(start, i)
		case c < 0x20:
			p.err = jsonSyntax
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				p.err = jsonSyntax
				return "", false
			}
			i += size
		}
	}
	p.err = jsonSyntax
	return "", false
}

// strSlow continues a string that contains escapes; b[start:i] is verbatim.
func (p *jsonParser) strSlow(start, i int) (string, bool) {
	b := p.b
	out := append(p.scratch[:0], b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			p.i = i + 1
			p.scratch = out
			return string(out), true
		case c == '\\':
			if i+1 >= len(b) {
				p.err = jsonSyntax
				return "", false
			}
			i++
			switch b[i] {
			case '"', '\\', '/':
				out = append(out, b[i])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(b, i+1)
				if !ok {
					p.err = jsonSyntax
					return "", false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A valid pair combines; a lone surrogate becomes U+FFFD
					// (as encoding/json does).
					r2, ok2 := rune(0), false
					if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						r2, ok2 = hex4(b, i+3)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				p.err = jsonSyntax
				return "", false
			}
			i++
		case c < 0x20:
			p.err = jsonSyntax
			return "", false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				p.err = jsonSyntax
				return "", false
			}
			out = append(out, b[i:i+size]...)
			i += size
		}
	}
	p.err = jsonSyntax
	return "", false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// alias returns b as a string without copying. Callers own b and never write
// it again.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
