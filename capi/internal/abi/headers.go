package abi

import "bytes"

// The response header block of spikard_respond: "Name: value" lines
// separated by "\n"; a "\r" before the "\n" is ignored, empty lines are
// skipped, spaces and tabs around the value are trimmed.

// forEachHeader calls fn for each header of a block. Blocks are checked by
// check_headers (cside.c) before they are applied; lines without a name
// are skipped so that an unchecked block can be read safely too.
func forEachHeader(b []byte, fn func(name, value []byte)) {
	for {
		name, value, rest, ok := nextHeader(b)
		if !ok {
			return
		}
		fn(name, value)
		b = rest
	}
}

// nextHeader splits the first header off a block (the loop of
// forEachHeader, without a closure for the per-request path).
func nextHeader(b []byte) (name, value, rest []byte, ok bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		return line[:i], trimSpace(line[i+1:]), b, true
	}
	return nil, nil, nil, false
}

// trimSpace trims spaces and tabs (bytes.Trim builds a set per call).
func trimSpace(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for n := len(v); n > 0 && (v[n-1] == ' ' || v[n-1] == '\t'); n-- {
		v = v[:n-1]
	}
	return v
}

// equalFold compares an ASCII header name case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
