package main

import (
	"encoding/json"
	"strconv"
)

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		q, _ := json.Marshal(x)
		return append(b, q...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	}
	q, _ := json.Marshal(v)
	return append(b, q...)
}
