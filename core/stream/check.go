package stream

import (
	"bytes"
	"encoding/json"

	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/validate"
)

func checkEvent(s *validate.Schema, data string) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &sse.InvalidEventError{Errors: []problem.ErrorItem{{Type: "json_invalid", Loc: []any{"event", "data"},
			Msg: "Event data is not valid JSON", Input: data, HasInput: true}}}
	}
	if errs := s.ValidateJSON(v, []byte(data), []any{"event", "data"}); len(errs) > 0 {
		return &sse.InvalidEventError{Errors: errs}
	}
	return nil
}
