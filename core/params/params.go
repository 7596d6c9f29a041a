// Package params reads declared path, query, header and cookie parameters
// from a request, coerces each raw string to the JSON type its schema names
// and validates it. Everything that depends on the declaration is prepared
// once by Compile; Extract does only the per-request work.
package params

import (
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/validate"
	"github.com/valyala/fasthttp"
)

// Spec is one compiled parameter.
type Spec struct {
	Name       string
	Source     config.Source
	Required   bool
	HasDefault bool
	Default    any
	Separator  string
	Shape      *Shape
	Schema     *validate.Schema
	loc        []any
	// key is the lookup key: the canonical header name, or name+"[]" for
	// query arrays written in the bracket form.
	key, alt string
}

// Value is a coerced parameter value.
type Value struct {
	Name string
	V    any
}

// Compile prepares one declared parameter.
func Compile(src config.Source, p config.Param) (*Spec, error) {
	sch, err := validate.Compile(p.Schema)
	if err != nil {
		return nil, err
	}
	s := &Spec{
		Name: p.Name, Source: src, Required: p.Required,
		HasDefault: p.HasDefault, Default: p.Default, Separator: p.Separator,
		Shape: ShapeOf(p.Schema), Schema: sch,
	}
	if typeOnly(p.Schema) {
		// Coercion already produced a value of the declared type: running
		// the validator would only repeat that check.
		s.Schema = nil
	}
	label := string(src)
	name := p.Name
	switch src {
	case config.Header:
		// Header names are case-insensitive; "_" in a declared name matches
		// "-" on the wire, as in FastAPI.
		name = strings.ToLower(p.Name)
		s.key = strings.ReplaceAll(name, "_", "-")
		s.alt = name
	case config.Query:
		s.key = p.Name
		s.alt = p.Name + "[]"
	default:
		s.key = p.Name
	}
	s.loc = []any{label, name}
	return s, nil
}

// Loc is the error location of this parameter.
func (s *Spec) Loc() []any { return s.loc }

// PathLookup returns the decoded value of a path parameter.
type PathLookup func(ctx *fasthttp.RequestCtx, name string) (string, bool)

// Extract reads, coerces and validates the parameter. present is false when
// the parameter is absent and optional without a default.
func (s *Spec) Extract(ctx *fasthttp.RequestCtx, path PathLookup) (v any, present bool, errs []problem.ErrorItem) {
	if s.Source == config.Path && s.Shape.Kind != KindArray {
		// Path values are strings the router already owns: no copy needed.
		r, ok := path(ctx, s.Name)
		if !ok {
			return s.absent()
		}
		var e *problem.ErrorItem
		if v, e = Coerce(r, s.Shape.Kind, s.loc); e != nil {
			return nil, false, []problem.ErrorItem{*e}
		}
	} else if s.Shape.Kind != KindArray {
		raw, found := s.last(ctx, path)
		if !found {
			return s.absent()
		}
		var e *problem.ErrorItem
		if v, e = s.coerceBytes(raw); e != nil {
			return nil, false, []problem.ErrorItem{*e}
		}
	} else {
		raws := s.all(ctx, path)
		if len(raws) == 0 {
			return s.absent()
		}
		if v, errs = s.coerceArray(raws); errs != nil {
			return nil, false, errs
		}
	}
	if s.Schema != nil {
		if errs = s.Schema.Validate(v, s.loc); errs != nil {
			return nil, false, errs
		}
	}
	return v, true, nil
}

func (s *Spec) absent() (any, bool, []problem.ErrorItem) {
	if s.HasDefault {
		return s.Default, true, nil
	}
	if s.Required {
		return nil, false, []problem.ErrorItem{{
			Type: "missing", Loc: s.loc, Msg: "Field required", Input: nil, HasInput: true,
		}}
	}
	return nil, false, nil
}

// last finds a scalar parameter's raw value without copying it: the last
// one when a query key repeats, as Starlette does. The bytes are only valid
// during the request.
func (s *Spec) last(ctx *fasthttp.RequestCtx, path PathLookup) ([]byte, bool) {
	switch s.Source {
	case config.Query:
		var out []byte
		found := false
		for k, v := range ctx.QueryArgs().All() {
			if string(k) == s.key {
				out, found = v, true
			}
		}
		return out, found
	case config.Header:
		h := &ctx.Request.Header
		if b := h.Peek(s.key); len(b) > 0 {
			return b, true
		}
		if raws := s.all(ctx, path); len(raws) > 0 {
			return []byte(raws[len(raws)-1]), true
		}
	case config.Cookie:
		if b := ctx.Request.Header.Cookie(s.key); b != nil || hasCookie(ctx, s.key) {
			return b, true
		}
	}
	return nil, false
}

// all collects every raw value of an array parameter.
func (s *Spec) all(ctx *fasthttp.RequestCtx, path PathLookup) []string {
	var raws []string
	switch s.Source {
	case config.Path:
		if r, ok := path(ctx, s.Name); ok {
			raws = []string{r}
		}
	case config.Query:
		for k, v := range ctx.QueryArgs().All() {
			if string(k) == s.key || string(k) == s.alt {
				raws = append(raws, string(v))
			}
		}
	case config.Header:
		h := &ctx.Request.Header
		for _, b := range h.PeekAll(s.key) {
			raws = append(raws, string(b))
		}
		if raws == nil && s.alt != s.key {
			for _, b := range h.PeekAll(s.alt) {
				raws = append(raws, string(b))
			}
		}
	case config.Cookie:
		if b := ctx.Request.Header.Cookie(s.key); b != nil || hasCookie(ctx, s.key) {
			raws = []string{string(b)}
		}
	}
	return raws
}

// coerceBytes coerces a raw value that may point into fasthttp's buffers:
// only what is kept (a string value, an error's input) is copied.
func (s *Spec) coerceBytes(raw []byte) (any, *problem.ErrorItem) {
	switch s.Shape.Kind {
	case KindInteger, KindNumber, KindBoolean, KindNull:
		v, e := Coerce(unsafe.String(unsafe.SliceData(raw), len(raw)), s.Shape.Kind, s.loc)
		if e != nil {
			if in, ok := e.Input.(string); ok {
				e.Input = strings.Clone(in)
			}
		} else if n, ok := v.(json.Number); ok {
			v = json.Number(strings.Clone(string(n)))
		} else if str, ok := v.(string); ok {
			v = strings.Clone(str)
		}
		return v, e
	}
	return Coerce(string(raw), s.Shape.Kind, s.loc)
}

func (s *Spec) coerceArray(raws []string) (any, []problem.ErrorItem) {
	if s.Separator != "" {
		// "tags=" with a separator is the empty list, as OpenAPI's
		// non-exploded form style writes it.
		split := []string{}
		for _, r := range raws {
			if r != "" {
				split = append(split, strings.Split(r, s.Separator)...)
			}
		}
		raws = split
	}
	itemKind := KindAny
	if s.Shape.Items != nil {
		itemKind = s.Shape.Items.Kind
	}
	out := make([]any, len(raws))
	var errs []problem.ErrorItem
	for i, r := range raws {
		v, e := Coerce(r, itemKind, nil)
		if e != nil {
			loc := append(append([]any{}, s.loc...), strconv.Itoa(i))
			e.Loc = loc
			errs = append(errs, *e)
			continue
		}
		out[i] = v
	}
	return out, errs
}

func hasCookie(ctx *fasthttp.RequestCtx, name string) bool {
	found := false
	ctx.Request.Header.VisitAllCookie(func(k, _ []byte) {
		if string(k) == name {
			found = true
		}
	})
	return found
}
