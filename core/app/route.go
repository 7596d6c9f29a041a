package app

import (
	"encoding/json"
	"fmt"

	"github.com/spikard/spikard-go/core/body"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/params"
	"github.com/spikard/spikard-go/core/router"
	"github.com/spikard/spikard-go/core/validate"
)

// route is a compiled endpoint: everything the request path needs, prepared
// at registration so that serving does no schema or reflection work.
type route struct {
	cfg      config.Route
	pattern  string // fasthttp/router form
	handler  Handler
	path     []*params.Spec
	query    []*params.Spec
	headers  []*params.Spec
	cookies  []*params.Spec
	body     *body.Decoder
	bodySch  *validate.Schema
	respSch  *validate.Schema
	maxBody  int64
	noParams bool
	// pathEscapes is set when the route has path parameters whose raw
	// values must be checked for valid percent-encoding.
	pathEscapes bool
	// x holds the route's lifecycle hooks and dependencies (ext.go); nil
	// when it has neither.
	x *routeExt
	// proto holds the route's websocket, sse and stream_request_body
	// settings (proto.go); nil when it has none.
	proto *routeProto
}

func compileRoute(rc config.Route, h Handler, srv config.Server) (*route, error) {
	pattern, segs, err := router.Translate(rc.Path)
	if err != nil {
		return nil, err
	}
	r := &route{cfg: rc, pattern: pattern, handler: h}
	// Typed segments ({id:int}) declare a schema unless the route declares
	// the parameter itself; undeclared untyped segments are strings.
	declared := map[string]bool{}
	pathParams := append([]config.Param(nil), rc.Parameters.Path...)
	for i, p := range pathParams {
		declared[p.Name] = true
		for _, s := range segs {
			if s.Name == p.Name && s.Schema != nil {
				// {n:int} with declared constraints: the segment's type
				// joins the declaration unless it names its own.
				pathParams[i].Schema = mergeType(p.Schema, s.Schema)
			}
		}
	}
	for _, s := range segs {
		if declared[s.Name] {
			continue
		}
		sch := s.Schema
		if sch == nil {
			sch = json.RawMessage(`{"type":"string"}`)
		}
		pathParams = append(pathParams, config.Param{Name: s.Name, Schema: sch, Required: true})
	}
	segNames := map[string]bool{}
	for _, s := range segs {
		segNames[s.Name] = true
	}
	for _, p := range rc.Parameters.Path {
		if !segNames[p.Name] {
			return nil, fmt.Errorf("route %s %s: path parameter %q is not in the path", rc.Method, rc.Path, p.Name)
		}
	}
	compile := func(src config.Source, ps []config.Param) ([]*params.Spec, error) {
		var out []*params.Spec
		for _, p := range ps {
			s, err := params.Compile(src, p)
			if err != nil {
				return nil, fmt.Errorf("route %s %s: %s parameter %q: %w", rc.Method, rc.Path, src, p.Name, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	if r.path, err = compile(config.Path, pathParams); err != nil {
		return nil, err
	}
	if r.query, err = compile(config.Query, rc.Parameters.Query); err != nil {
		return nil, err
	}
	if r.headers, err = compile(config.Header, rc.Parameters.Headers); err != nil {
		return nil, err
	}
	if r.cookies, err = compile(config.Cookie, rc.Parameters.Cookies); err != nil {
		return nil, err
	}
	r.maxBody = srv.MaxBodyBytes
	if rc.MaxBodyBytes > 0 {
		r.maxBody = rc.MaxBodyBytes
	}
	if r.maxBody <= 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	// A body_limit middleware may allow more than the default: the
	// middleware enforces its limit, the route must not cut below it.
	var mw struct {
		BodyLimit *struct {
			MaxBytes int64 `json:"max_bytes"`
		} `json:"body_limit"`
	}
	if len(rc.Middleware) > 0 && json.Unmarshal(rc.Middleware, &mw) == nil && mw.BodyLimit != nil &&
		mw.BodyLimit.MaxBytes > r.maxBody && rc.MaxBodyBytes == 0 {
		r.maxBody = mw.BodyLimit.MaxBytes
	}
	depth := srv.MaxJSONDepth
	if depth <= 0 {
		depth = 64
	}
	if r.body, err = body.New(rc, body.Limits{MaxBytes: r.maxBody, MaxDepth: depth}); err != nil {
		return nil, fmt.Errorf("route %s %s: body: %w", rc.Method, rc.Path, err)
	}
	if len(rc.BodySchema) > 0 {
		// The decoder's schema lets uploaded files (objects) stand where the
		// declared schema says format: binary.
		if r.bodySch, err = validate.Compile(r.body.ValidationSchema()); err != nil {
			return nil, fmt.Errorf("route %s %s: body_schema: %w", rc.Method, rc.Path, err)
		}
	}
	if len(rc.ResponseSchema) > 0 {
		if r.respSch, err = validate.Compile(rc.ResponseSchema); err != nil {
			return nil, fmt.Errorf("route %s %s: response_schema: %w", rc.Method, rc.Path, err)
		}
	}
	r.pathEscapes = len(segs) > 0
	if err := r.compileProto(); err != nil {
		return nil, err
	}
	r.noParams = len(r.path)+len(r.query)+len(r.headers)+len(r.cookies) == 0
	return r, nil
}

type (
	paramsSpec = params.Spec
	paramValue = params.Value
)

// mergeType adds the type (and format) of a typed segment to a declared
// schema that does not state them.
func mergeType(declared, typed json.RawMessage) json.RawMessage {
	var d, t map[string]json.RawMessage
	if json.Unmarshal(declared, &d) != nil || json.Unmarshal(typed, &t) != nil {
		return declared
	}
	if d == nil {
		d = map[string]json.RawMessage{}
	}
	changed := false
	for _, k := range []string{"type", "format"} {
		if _, has := d[k]; !has && t[k] != nil {
			d[k] = t[k]
			changed = true
		}
	}
	if !changed {
		return declared
	}
	out, err := json.Marshal(d)
	if err != nil {
		return declared
	}
	return out
}
