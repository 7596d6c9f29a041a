package body

import (
	"bytes"
	"encoding/json"
)

// widenBinary returns schema with every `"format": "binary"` string schema
// widened to ["string","object"], so that the file objects multipart
// decoding produces validate where the schema declares an upload. It
// returns schema itself when nothing changes (or it cannot be read).
func widenBinary(schema json.RawMessage) json.RawMessage {
	if !bytes.Contains(schema, []byte(`"binary"`)) {
		return schema
	}
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return schema
	}
	if !widenSchema(doc) {
		return schema
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return schema
	}
	return out
}

// widenSchema walks a schema (object or boolean); it reports a change.
func widenSchema(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	changed := false
	if f, _ := m["format"].(string); f == "binary" {
		switch t := m["type"].(type) {
		case string:
			if t == "string" {
				m["type"] = []any{"string", "object"}
				changed = true
			}
		case []any:
			hasString, hasObject := false, false
			for _, x := range t {
				hasString = hasString || x == "string"
				hasObject = hasObject || x == "object"
			}
			if hasString && !hasObject {
				m["type"] = append(t, "object")
				changed = true
			}
		}
	}
	for k, c := range m {
		switch k {
		case "enum", "const", "default", "examples", "example", "type", "format", "required":
			// values, not schemas
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			if mm, ok := c.(map[string]any); ok {
				for _, s := range mm {
					if widenSchema(s) {
						changed = true
					}
				}
			}
		default:
			switch cc := c.(type) {
			case map[string]any:
				if widenSchema(cc) {
					changed = true
				}
			case []any:
				for _, s := range cc {
					if widenSchema(s) {
						changed = true
					}
				}
			}
		}
	}
	return changed
}
