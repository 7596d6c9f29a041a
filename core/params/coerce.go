package params

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/spikard/spikard-go/core/problem"
)

// Coerce turns one raw string into the JSON value its kind names. A failure
// is reported in the pydantic-compatible shape; loc is the caller's.
func Coerce(raw string, k Kind, loc []any) (any, *problem.ErrorItem) {
	switch k {
	case KindInteger:
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n, nil
		} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && isDigits(raw) {
			// Beyond int64 but still an integer: keep it exact, in JSON's
			// spelling (no "+", no leading zeros).
			return json.Number(canonicalInt(raw)), nil
		}
		return nil, &problem.ErrorItem{
			Type: "int_parsing", Loc: loc,
			Msg:   "Input should be a valid integer, unable to parse string as an integer",
			Input: numericOrString(raw), HasInput: true,
		}
	case KindNumber:
		if f, err := strconv.ParseFloat(raw, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && looksNumeric(raw) {
			return f, nil
		}
		return nil, &problem.ErrorItem{
			Type: "float_parsing", Loc: loc,
			Msg:   "Input should be a valid number, unable to parse string as a number",
			Input: raw, HasInput: true,
		}
	case KindBoolean:
		switch strings.ToLower(raw) {
		case "true", "1", "yes", "on", "t", "y":
			return true, nil
		case "false", "0", "no", "off", "f", "n", "":
			return false, nil
		}
		return nil, &problem.ErrorItem{
			Type: "bool_parsing", Loc: loc,
			Msg:   "Input should be a valid boolean, unable to interpret input",
			Input: raw, HasInput: true,
		}
	case KindNull:
		if raw == "" || raw == "null" {
			return nil, nil
		}
		return raw, nil
	case KindObject:
		var v any
		if json.Unmarshal([]byte(raw), &v) == nil {
			if m, ok := v.(map[string]any); ok {
				return m, nil
			}
		}
		return nil, &problem.ErrorItem{
			Type: "dict_type", Loc: loc, Msg: "Input should be a valid dictionary",
			Input: raw, HasInput: true,
		}
	}
	return raw, nil
}

// numericOrString reports a non-integer number as a number (the corpus shows
// "42.5" for an int parameter as input 42.5) and anything else as the string.
func numericOrString(raw string) any {
	if looksNumeric(raw) {
		if f, err := strconv.ParseFloat(raw, 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
	}
	return raw
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// looksNumeric rejects the spellings ParseFloat accepts but JSON does not
// (inf, nan, hex floats, underscores).
func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

func canonicalInt(s string) string {
	neg := s[0] == '-'
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	if neg {
		return "-" + s
	}
	return s
}
