package body

import (
	"bytes"
	"strings"
)

// class is the decoding family of a media type.
type class uint8

const (
	classNone      class = iota // no Content-Type header
	classJSON                   // application/json, */*+json
	classForm                   // application/x-www-form-urlencoded
	classMultipart              // multipart/form-data
	classText                   // text/*
	classOther                  // anything else, or an unparsable header
)

// mediaType is a parsed Content-Type value. Only the parameters the decoders
// use are kept; the token is compared without allocating.
type mediaType struct {
	class class
	// token is the type/subtype as sent (trimmed, not lowercased): it aliases
	// the header bytes and is only valid during Decode.
	token       []byte
	charset     string // unquoted, as sent
	hasCharset  bool
	boundary    string // unquoted, case preserved
	hasBoundary bool
}

// parseMediaType reads `type/subtype *( ";" name=value )`. Names are
// case-insensitive; values are tokens or quoted-strings with backslash
// escapes (RFC 9110 §8.3.1, §5.6.4). A malformed header yields classOther.
func parseMediaType(h []byte) mediaType {
	var mt mediaType
	if string(h) == "application/json" { // nearly every JSON request
		mt.class, mt.token = classJSON, h
		return mt
	}
	h = trimOWS(h)
	if len(h) == 0 {
		mt.class = classNone
		return mt
	}
	end := bytes.IndexByte(h, ';')
	if end < 0 {
		end = len(h)
	}
	mt.token = trimOWS(h[:end])
	mt.class = classify(mt.token)
	rest := h[end:]
	for len(rest) > 0 {
		// rest starts at ';'
		rest = trimOWS(rest[1:])
		eq := bytes.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			// A parameter without a value: skip it.
			if eq < 0 {
				return mt
			}
			rest = rest[eq:]
			continue
		}
		name := trimOWS(rest[:eq])
		rest = rest[eq+1:]
		rest = trimLeftOWS(rest)
		var val string
		if len(rest) > 0 && rest[0] == '"' {
			v, n, ok := unquote(rest)
			if !ok {
				// Unterminated quoted-string: the header is malformed.
				mt.class = classOther
				return mt
			}
			val = v
			rest = trimLeftOWS(rest[n:])
			if len(rest) > 0 && rest[0] != ';' {
				mt.class = classOther
				return mt
			}
		} else {
			semi := bytes.IndexByte(rest, ';')
			if semi < 0 {
				semi = len(rest)
			}
			val = string(trimOWS(rest[:semi]))
			rest = rest[semi:]
		}
		switch {
		case asciiEqualFold(name, "charset") && !mt.hasCharset:
			mt.charset, mt.hasCharset = val, true
		case asciiEqualFold(name, "boundary") && !mt.hasBoundary:
			mt.boundary, mt.hasBoundary = val, true
		}
	}
	return mt
}

func classify(tok []byte) class {
	slash := bytes.IndexByte(tok, '/')
	if slash <= 0 || slash == len(tok)-1 || bytes.IndexByte(tok[slash+1:], '/') >= 0 {
		return classOther
	}
	for _, c := range tok {
		if c <= ' ' || c >= 0x7f {
			return classOther
		}
	}
	switch {
	case asciiEqualFold(tok, "application/json"):
		return classJSON
	case len(tok) > 5 && asciiEqualFold(tok[len(tok)-5:], "+json"):
		return classJSON
	case asciiEqualFold(tok, "application/x-www-form-urlencoded"):
		return classForm
	case asciiEqualFold(tok, "multipart/form-data"):
		return classMultipart
	case len(tok) > 5 && asciiEqualFold(tok[:5], "text/"):
		return classText
	}
	return classOther
}

// unquote reads a quoted-string at the start of b; n is the bytes consumed.
func unquote(b []byte) (s string, n int, ok bool) {
	var out []byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return string(out), i + 1, true
		case '\\':
			if i+1 < len(b) {
				i++
				out = append(out, b[i])
			}
		default:
			out = append(out, c)
		}
	}
	return "", 0, false
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimLeftOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	return b
}

func trimOWS(b []byte) []byte {
	b = trimLeftOWS(b)
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold compares b with the lower-case ASCII string s.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// isUTF8Charset reports whether a charset parameter names UTF-8 (or its
// ASCII subset).
func isUTF8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}
