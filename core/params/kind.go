package params

import "encoding/json"

// Kind is the JSON type a raw string parameter is coerced to before validation.
type Kind uint8

const (
	KindAny Kind = iota // no declared type: the raw string is kept
	KindString
	KindInteger
	KindNumber
	KindBoolean
	KindArray
	KindObject
	KindNull
)

// Shape is the coercion plan read once from a schema: the value's kind and,
// for arrays, the items' kind; for objects, each property's shape.
type Shape struct {
	Kind  Kind
	Items *Shape
	Props map[string]*Shape
}

type schemaHead struct {
	Type       json.RawMessage            `json:"type"`
	Items      json.RawMessage            `json:"items"`
	Properties map[string]json.RawMessage `json:"properties"`
	Enum       []any                      `json:"enum"`
	Const      *any                       `json:"const"`
}

// ShapeOf reads the coercion plan of a JSON Schema. Unknown or absent types
// give KindAny, which keeps strings as strings.
func ShapeOf(schema json.RawMessage) *Shape {
	s := &Shape{}
	if len(schema) == 0 {
		return s
	}
	var h schemaHead
	if json.Unmarshal(schema, &h) != nil {
		return s
	}
	s.Kind = kindOfType(h.Type)
	if s.Kind == KindAny && len(h.Enum) > 0 {
		s.Kind = kindOfValue(h.Enum[0])
	}
	if len(h.Items) > 0 {
		s.Items = ShapeOf(h.Items)
		if s.Kind == KindAny {
			s.Kind = KindArray
		}
	}
	if len(h.Properties) > 0 {
		s.Props = make(map[string]*Shape, len(h.Properties))
		for k, v := range h.Properties {
			s.Props[k] = ShapeOf(v)
		}
		if s.Kind == KindAny {
			s.Kind = KindObject
		}
	}
	return s
}

func kindOfType(raw json.RawMessage) Kind {
	if len(raw) == 0 {
		return KindAny
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return kindOfName(one)
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		// ["integer","null"]: coerce to the first non-null type; an empty
		// value then still fails validation with that type's message.
		for _, t := range many {
			if t != "null" {
				return kindOfName(t)
			}
		}
		if len(many) > 0 {
			return KindNull
		}
	}
	return KindAny
}

func kindOfName(t string) Kind {
	switch t {
	case "string":
		return KindString
	case "integer":
		return KindInteger
	case "number":
		return KindNumber
	case "boolean":
		return KindBoolean
	case "array":
		return KindArray
	case "object":
		return KindObject
	case "null":
		return KindNull
	}
	return KindAny
}

func kindOfValue(v any) Kind {
	switch v.(type) {
	case string:
		return KindString
	case float64:
		return KindNumber
	case bool:
		return KindBoolean
	}
	return KindAny
}

// typeOnly reports whether a schema asserts nothing but a scalar type (plus
// annotations), which coercion guarantees by itself.
func typeOnly(schema json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(schema, &m) != nil {
		return false
	}
	for k, v := range m {
		switch k {
		case "title", "description", "examples", "deprecated", "$comment":
		case "type":
			switch kindOfType(v) {
			case KindString, KindInteger, KindNumber, KindBoolean:
			default:
				return false
			}
			var one string
			if json.Unmarshal(v, &one) != nil {
				return false // type lists may admit null: let the validator decide
			}
		default:
			return false
		}
	}
	return len(m) > 0
}
