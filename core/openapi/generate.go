package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/problem"
	"github.com/spikard/spikard-go/core/router"
	"github.com/spikard/spikard-go/core/validate"
)

// Version is the OpenAPI version of generated documents.
const Version = "3.1.0"

// Generate renders the OpenAPI 3.1 document of an app as indented JSON.
// The output depends only on the app and the options: routes are documented
// in path order whatever their registration order, and every object's keys
// are sorted (or in the specification's order), so the same app always
// gives the same bytes.
//
// It fails when two routes document the same operation or share an
// operationId, when a route's path or parameters do not agree, and when a
// schema is not valid JSON Schema.
func Generate(doc config.App, opts Options) ([]byte, error) {
	d, err := build(doc, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return buf.Bytes(), nil
}

// GenerateYAML renders the same document as YAML (same member order).
func GenerateYAML(doc config.App, opts Options) ([]byte, error) {
	j, err := Generate(doc, opts)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(j)
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the
// member order (JSON is YAML, so yaml.v3 reads it into a node tree).
func jsonToYAML(j []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, fmt.Errorf("openapi: yaml: %w", err)
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		// Drop JSON's flow and quoting styles; the encoder quotes strings
		// that would otherwise read as another type ("200", "true").
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("openapi: yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("openapi: yaml: %w", err)
	}
	return buf.Bytes(), nil
}

var templateName = regexp.MustCompile(`\{[^}/]*\}`)

// routeInfo is a route with what is derived from its path.
type routeInfo struct {
	cfg   config.Route
	path  string // OpenAPI form
	segs  []router.Segment
	label string // "GET /users/{id:int}" for messages
	opID  string
}

func build(app config.App, opts Options) (*document, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	var appEff effects
	if err := readMiddleware(app.Middleware, &appEff); err != nil {
		return nil, fmt.Errorf("openapi: app %w", err)
	}

	routes := make([]*routeInfo, 0, len(app.Routes))
	for _, rc := range app.Routes {
		rc.Method = strings.ToUpper(strings.TrimSpace(rc.Method))
		ri := &routeInfo{cfg: rc, label: rc.Method + " " + rc.Path}
		if _, segs, err := router.Translate(rc.Path); err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		} else {
			ri.segs = segs
		}
		if (&pathItem{}).slot(rc.Method) == nil {
			// CONNECT and extension methods have no place in a 3.1 path
			// item: the route is served but not documented.
			continue
		}
		ri.path = router.OpenAPIPath(rc.Path)
		routes = append(routes, ri)
	}
	sort.SliceStable(routes, func(i, j int) bool {
		a, b := routes[i], routes[j]
		if a.path != b.path {
			return a.path < b.path
		}
		if a.cfg.Method != b.cfg.Method {
			return methodRank[a.cfg.Method] < methodRank[b.cfg.Method]
		}
		return a.cfg.Path < b.cfg.Path
	})
	for i := 1; i < len(routes); i++ {
		a, b := routes[i-1], routes[i]
		if a.path == b.path && a.cfg.Method == b.cfg.Method {
			return nil, fmt.Errorf("openapi: routes %s and %s are the same operation %s %s", a.label, b.label, a.cfg.Method, a.path)
		}
	}
	// OpenAPI: "templated paths with the same hierarchy but different
	// templated names MUST NOT exist as they are identical".
	shapes := map[string]*routeInfo{}
	for _, ri := range routes {
		shape := templateName.ReplaceAllString(ri.path, "{}")
		if prev, ok := shapes[shape]; ok && prev.path != ri.path {
			return nil, fmt.Errorf("openapi: routes %s and %s differ only in path parameter names; OpenAPI requires one name per position", prev.label, ri.label)
		}
		shapes[shape] = ri
	}
	if err := assignOperationIDs(routes); err != nil {
		return nil, err
	}

	d := &document{
		OpenAPI: Version,
		Info:    info{Title: opts.Title, Summary: opts.Summary, Description: opts.Description, Version: opts.Version},
		Servers: opts.Servers,
		Paths:   map[string]*pathItem{},
	}
	schemas := newSchemaSet()
	schemes := map[string]schemeDef{}
	type secUse struct {
		op   *operation
		auth [][]schemeDef
	}
	var secUses []secUse
	tags := map[string]bool{}
	usedResponses := map[int]bool{}

	for _, ri := range routes {
		eff := appEff
		eff.auth = append([][]schemeDef(nil), appEff.auth...)
		if err := readMiddleware(ri.cfg.Middleware, &eff); err != nil {
			return nil, fmt.Errorf("openapi: route %s: %w", ri.label, err)
		}
		op, err := buildOperation(ri, eff, schemas, usedResponses)
		if err != nil {
			return nil, err
		}
		for _, alts := range eff.auth {
			for _, s := range alts {
				schemes[s.key()] = s
			}
		}
		if len(eff.auth) > 0 {
			secUses = append(secUses, secUse{op, eff.auth})
		}
		for _, t := range op.Tags {
			tags[t] = true
		}
		item := d.Paths[ri.path]
		if item == nil {
			item = &pathItem{}
			d.Paths[ri.path] = item
		}
		*item.slot(ri.cfg.Method) = op
	}

	schemas.finish()
	comp := &components{Schemas: schemas.comps}
	for c := range usedResponses {
		if comp.Responses == nil {
			comp.Responses = map[string]*response{}
		}
		comp.Responses[frameworkResponses[c].name] = frameworkResponse(c)
	}
	if len(schemes) > 0 {
		names := schemeNames(schemes)
		comp.SecuritySchemes = map[string]securityScheme{}
		for k, s := range schemes {
			comp.SecuritySchemes[names[k]] = s.object()
		}
		for _, u := range secUses {
			reqs := requirements(u.auth, names)
			u.op.Security = &reqs
		}
		for _, item := range d.Paths {
			for _, op := range []*operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
				if op != nil && op.Security == nil {
					op.Security = &[]map[string][]string{}
				}
			}
		}
	}
	d.Components = comp
	for _, t := range sortedKeys(tags) {
		d.Tags = append(d.Tags, tag{Name: t})
	}
	return d, nil
}

// assignOperationIDs keeps declared operationIds (two routes declaring the
// same one is an error) and derives the others from method and path
// (get_users_id), adding _2, _3 ... in path order when derived ids clash.
func assignOperationIDs(routes []*routeInfo) error {
	owner := map[string]*routeInfo{}
	for _, ri := range routes {
		id := strings.TrimSpace(ri.cfg.OperationID)
		if id == "" {
			continue
		}
		if prev, dup := owner[id]; dup {
			return fmt.Errorf("openapi: operationId %q is declared by both %s and %s; operation ids must be unique", id, prev.label, ri.label)
		}
		owner[id] = ri
		ri.opID = id
	}
	taken := map[string]bool{}
	for id := range owner {
		taken[id] = true
	}
	for _, ri := range routes {
		if ri.opID != "" {
			continue
		}
		id := uniqueName(deriveOperationID(ri.cfg.Method, ri.cfg.Path), taken)
		taken[id] = true
		ri.opID = id
	}
	return nil
}

// deriveOperationID turns "GET /users/{id:int}/posts" into
// "get_users_id_posts" ("get_root" for "/").
func deriveOperationID(method, path string) string {
	var parts []string
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			seg, _, _ = strings.Cut(seg[1:len(seg)-1], ":")
		case strings.HasPrefix(seg, ":"):
			seg = seg[1:]
		}
		var b strings.Builder
		for _, r := range seg {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		parts = append(parts, b.String())
	}
	if len(parts) == 0 {
		parts = []string{"root"}
	}
	return strings.ToLower(method) + "_" + strings.Join(parts, "_")
}

// Framework answers, shared as components/responses. Each carries an
// example rendered by core/problem, so it shows the bytes the core sends.
var frameworkResponses = map[int]struct {
	name, desc string
	headers    map[string]*header
	example    *problem.Problem
}{
	400: {"BadRequest", "Bad request: a malformed body, or invalid percent-encoding in the path.", nil,
		problem.BadRequest("Invalid percent-encoding in the request path")},
	401: {"Unauthorized", "Missing or invalid credentials.", map[string]*header{
		"WWW-Authenticate": {Description: "The authentication challenge.", Schema: map[string]any{"type": "string"}},
	}, problem.New(401, "unauthorized", "Missing or invalid Authorization header", "Expected 'Authorization: Bearer <token>'")},
	403: {"Forbidden", "The token lacks required claims.", nil,
		problem.New(403, "forbidden", "Forbidden", "Required claims 'role' missing from JWT")},
	404: {"NotFound", "Not found.", nil, problem.NotFound()},
	408: {"RequestTimeout", "The handler did not answer in time.", nil,
		problem.New(408, "request-timeout", "Request Timeout", "The request did not complete within 2s")},
	413: {"PayloadTooLarge", "The request body is too large.", nil, problem.PayloadTooLarge(10 << 20)},
	415: {"UnsupportedMediaType", "Unsupported media type or charset.", nil, problem.UnsupportedMediaType()},
	422: {"ValidationFailed", "The request failed validation; the problem's errors list every failure.", nil,
		problem.Validation([]problem.ErrorItem{{Type: "missing", Loc: []any{"query", "limit"}, Msg: "Field required", HasInput: true}})},
	429: {"TooManyRequests", "Rate limit exceeded.", map[string]*header{
		"Retry-After": {Description: "Seconds until a request is admitted again.", Schema: map[string]any{"type": "integer", "minimum": 1}},
	}, problem.New(429, "too-many-requests", "Too Many Requests", "Rate limit exceeded. Try again in 1 second.")},
	500: {"InternalServerError", "Internal server error (also when the handler's answer breaks the response schema).", nil, problem.Internal()},
	503: {"ServiceUnavailable", "The rate limiter's store failed.", nil,
		problem.New(503, "service-unavailable", "Service Unavailable", "Rate limiter unavailable")},
}

func frameworkResponse(status int) *response {
	fr := frameworkResponses[status]
	return &response{
		Description: fr.desc,
		Headers:     fr.headers,
		Content: map[string]*mediaType{problem.ContentType: {
			Schema:  map[string]any{"$ref": refPrefix + ProblemSchema},
			Example: json.RawMessage(fr.example.Bytes()),
		}},
	}
}

func buildOperation(ri *routeInfo, eff effects, schemas *schemaSet, used map[int]bool) (*operation, error) {
	rc := ri.cfg
	op := &operation{
		Tags:        rc.Tags,
		Summary:     rc.Summary,
		Description: rc.Description,
		OperationID: ri.opID,
		Responses:   map[string]any{},
	}
	where := "openapi: route " + ri.label

	// Path parameters, in path order: a declared schema, joined by the
	// segment's type ({id:int}), or the segment's implicit schema.
	declared := map[string]config.Param{}
	for _, p := range rc.Parameters.Path {
		if _, dup := declared[p.Name]; dup {
			return nil, fmt.Errorf("%s: path parameter %q is declared twice", where, p.Name)
		}
		declared[p.Name] = p
	}
	inPath := map[string]bool{}
	typedInput := false
	for _, s := range ri.segs {
		inPath[s.Name] = true
		p, ok := declared[s.Name]
		var typed json.RawMessage
		switch {
		case ok && s.Schema != nil:
			typed = s.Schema
		case !ok && s.Schema != nil:
			p = config.Param{Name: s.Name, Schema: s.Schema}
		case !ok:
			p = config.Param{Name: s.Name, Schema: json.RawMessage(`{"type":"string"}`)}
		}
		p.Required = true
		if ok || (s.Schema != nil && string(s.Schema) != `{"type":"string"}`) {
			// A plain string segment cannot fail validation.
			typedInput = true
		}
		prm, err := buildParam(p, "path", ri, schemas, typed)
		if err != nil {
			return nil, err
		}
		if s.CatchAll {
			prm.Description = joinText(prm.Description, "Matches the rest of the path, slashes included.")
		}
		op.Parameters = append(op.Parameters, prm)
	}
	for _, p := range rc.Parameters.Path {
		if !inPath[p.Name] {
			return nil, fmt.Errorf("%s: path parameter %q is not in the path", where, p.Name)
		}
	}
	seen := map[string]bool{}
	for _, g := range []struct {
		in string
		ps []config.Param
	}{{"query", rc.Parameters.Query}, {"header", rc.Parameters.Headers}, {"cookie", rc.Parameters.Cookies}} {
		for _, p := range g.ps {
			prm, err := buildParam(p, g.in, ri, schemas, nil)
			if err != nil {
				return nil, err
			}
			k := g.in + "\x00" + prm.Name
			if g.in == "header" {
				k = strings.ToLower(k)
			}
			if seen[k] {
				return nil, fmt.Errorf("%s: %s parameter %q is declared twice", where, g.in, prm.Name)
			}
			seen[k] = true
			op.Parameters = append(op.Parameters, prm)
			typedInput = true
		}
	}

	hasBody := len(rc.BodySchema) > 0 || rc.ContentType != "" || len(rc.Parameters.Files) > 0
	if hasBody {
		rb, err := buildBody(ri, schemas)
		if err != nil {
			return nil, err
		}
		op.RequestBody = rb
		if len(rc.BodySchema) > 0 || len(rc.Parameters.Files) > 0 {
			typedInput = true
		}
	}

	// Responses: the handler's answer, then the framework's own.
	ok := &response{Description: "Successful response"}
	if len(rc.ResponseSchema) > 0 {
		mt := &mediaType{}
		if err := schemas.add(rc.ResponseSchema, &mt.Schema, ri.opID+"_response", where+": response_schema"); err != nil {
			return nil, err
		}
		ok.Content = map[string]*mediaType{"application/json": mt}
	}
	op.Responses["200"] = ok
	var codes []int
	if hasBody || len(ri.segs) > 0 {
		codes = append(codes, 400)
	}
	if len(eff.auth) > 0 {
		codes = append(codes, 401)
	}
	if eff.forbidden {
		codes = append(codes, 403)
	}
	if len(ri.segs) > 0 {
		codes = append(codes, 404)
	}
	if eff.timeout {
		codes = append(codes, 408)
	}
	if hasBody || eff.bodyLimit {
		codes = append(codes, 413)
	}
	if hasBody {
		codes = append(codes, 415)
	}
	if typedInput {
		codes = append(codes, 422)
	}
	if eff.rateLimit {
		codes = append(codes, 429)
	}
	codes = append(codes, 500)
	if eff.rl503 {
		codes = append(codes, 503)
	}
	for _, c := range codes {
		op.Responses[strconv.Itoa(c)] = ref{"#/components/responses/" + frameworkResponses[c].name}
		used[c] = true
	}
	return op, nil
}

// buildParam documents one declared parameter. typed is the schema of a
// typed path segment ({id:int}) whose type and format join a declared
// schema that does not state them.
func buildParam(p config.Param, in string, ri *routeInfo, schemas *schemaSet, typed json.RawMessage) (*parameter, error) {
	where := fmt.Sprintf("openapi: route %s: %s parameter %q", ri.label, in, p.Name)
	name := p.Name
	if in == "header" {
		// "_" in a declared header name matches "-" on the wire.
		name = strings.ReplaceAll(name, "_", "-")
	}
	prm := &parameter{Name: name, In: in, Required: p.Required || in == "path"}
	if p.HasDefault && in != "path" {
		prm.Required = false
	}
	if err := schemas.add(p.Schema, &prm.Schema, ri.opID+"_"+componentName(p.Name), where); err != nil {
		return nil, err
	}
	sm, isObj := prm.Schema.(map[string]any)
	if isObj && len(typed) > 0 {
		var t map[string]any
		_ = json.Unmarshal(typed, &t)
		// Type first, then format, ahead of the declared keywords.
		for _, k := range []string{"format", "type"} {
			if _, has := sm[k]; !has && t[k] != nil {
				schemas.set(sm, k, t[k], true)
			}
		}
	}
	if isObj && p.HasDefault {
		if _, has := sm["default"]; !has {
			schemas.set(sm, "default", p.Default, false)
		}
	}
	if isObj {
		if d, ok := sm["description"].(string); ok {
			prm.Description = d
		}
		if dep, ok := sm["deprecated"].(bool); ok && dep {
			prm.Deprecated = true
		}
	}
	if p.Separator != "" && isArraySchema(prm.Schema) {
		no := false
		switch {
		case p.Separator == "," && (in == "query" || in == "cookie"):
			prm.Style, prm.Explode = "form", &no
		case p.Separator == "," && in == "header":
			prm.Style, prm.Explode = "simple", &no
		case p.Separator == "|" && in == "query":
			prm.Style, prm.Explode = "pipeDelimited", &no
		case p.Separator == " " && in == "query":
			prm.Style, prm.Explode = "spaceDelimited", &no
		}
		prm.Description = joinText(prm.Description, fmt.Sprintf("Items may be sent as repeated parameters or in one value separated by %q.", p.Separator))
	}
	return prm, nil
}

func isArraySchema(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	switch t := m["type"].(type) {
	case string:
		return t == "array"
	case []any:
		for _, x := range t {
			if x == "array" {
				return true
			}
		}
	}
	return false
}

// buildBody documents the request body by media type:
//
//   - Route.ContentType set: that type only (JSON, form, multipart and
//     text types carry the body schema; other types are raw bytes).
//   - otherwise a body schema with a "format": "binary" string, or declared
//     file parts: multipart/form-data.
//   - otherwise: application/json.
//
// A body schema makes the body required (its absence is a 422); file parts
// alone make it required when one of them is.
func buildBody(ri *routeInfo, schemas *schemaSet) (*requestBody, error) {
	rc := ri.cfg
	where := "openapi: route " + ri.label
	hasSchema := len(bytes.TrimSpace(rc.BodySchema)) > 0
	files := rc.Parameters.Files

	var mt string
	switch {
	case rc.ContentType != "":
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(rc.ContentType, ";", 2)[0]))
		if mt == "*" {
			mt = "*/*"
		}
	case len(files) > 0 || (hasSchema && hasBinary(rc.BodySchema)):
		mt = "multipart/form-data"
	default:
		mt = "application/json"
	}
	rb := &requestBody{Content: map[string]*mediaType{}}
	m := &mediaType{}
	rb.Content[mt] = m
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if hasSchema {
			if err := schemas.add(rc.BodySchema, &m.Schema, ri.opID+"_body", where+": body_schema"); err != nil {
				return nil, err
			}
		}
		m.Encoding = addFileParts(m, files, schemas, ri.opID+"_body")
	case isStructured(mt):
		if hasSchema {
			if err := schemas.add(rc.BodySchema, &m.Schema, ri.opID+"_body", where+": body_schema"); err != nil {
				return nil, err
			}
		}
	default:
		// Raw bytes: the handler reads them. The schema is still checked.
		if hasSchema {
			if _, err := validate.Compile(rc.BodySchema); err != nil {
				return nil, fmt.Errorf("%s: body_schema: %w", where, err)
			}
		}
	}
	if hasSchema {
		rb.Required = true
	}
	for _, f := range files {
		rb.Required = rb.Required || f.Required
	}
	return rb, nil
}

// isStructured reports whether the body decoder turns the media type into a
// value checked against the body schema.
func isStructured(mt string) bool {
	switch {
	case mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded",
		strings.HasPrefix(mt, "text/"),
		mt == "*/*", strings.HasSuffix(mt, "/*"):
		return true
	}
	return false
}

// hasBinary reports whether a schema contains a "format": "binary" string.
func hasBinary(raw json.RawMessage) bool {
	if !bytes.Contains(raw, []byte(`"binary"`)) {
		return false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	found := false
	walkSchemas(v, func(m map[string]any) {
		if f, _ := m["format"].(string); f == "binary" {
			found = true
		}
	})
	return found
}

// addFileParts joins the declared file parts to the multipart schema (if
// any): each part is a binary string property, added to an object schema or
// combined with allOf; parts restricted to content types get an encoding
// entry.
func addFileParts(m *mediaType, files []config.FileParam, schemas *schemaSet, fallback string) map[string]*encoding {
	if len(files) == 0 {
		return nil
	}
	var enc map[string]*encoding
	props := schemas.obj()
	var required []any
	for _, f := range files {
		mediaType := "application/octet-stream"
		var notes []string
		if len(f.ContentTypes) > 0 {
			if enc == nil {
				enc = map[string]*encoding{}
			}
			enc[f.Name] = &encoding{ContentType: strings.Join(f.ContentTypes, ", ")}
			if len(f.ContentTypes) == 1 && !strings.Contains(f.ContentTypes[0], "*") {
				mediaType = f.ContentTypes[0]
			}
			notes = append(notes, "Accepted types: "+strings.Join(f.ContentTypes, ", ")+".")
		}
		if f.MaxSize > 0 {
			notes = append(notes, fmt.Sprintf("At most %d bytes.", f.MaxSize))
		}
		p := schemas.obj("type", "string", "format", "binary", "contentMediaType", mediaType)
		if len(notes) > 0 {
			schemas.set(p, "description", strings.Join(notes, " "), false)
		}
		schemas.set(props, f.Name, p, false)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	filesObj := schemas.obj("type", "object", "properties", props)
	if len(required) > 0 {
		schemas.set(filesObj, "required", required, false)
	}
	if m.Schema == nil {
		schemas.addValue(filesObj, &m.Schema, fallback)
		return enc
	}
	body, ok := m.Schema.(map[string]any)
	if !ok || !isPlainObject(body) {
		wrapper := schemas.obj("allOf", []any{m.Schema, filesObj})
		if ok {
			// Definitions stay at the root, where "#/$defs/..." finds them.
			for _, g := range []string{"$defs", "definitions"} {
				if d, has := body[g]; has {
					schemas.set(wrapper, g, d, false)
					delete(body, g)
				}
			}
		}
		// The slot registered by add now holds the combination.
		m.Schema = wrapper
		return enc
	}
	bp, _ := body["properties"].(map[string]any)
	if bp == nil {
		bp = schemas.obj()
		schemas.set(body, "properties", bp, false)
	}
	for _, f := range files {
		if _, has := bp[f.Name]; !has {
			schemas.set(bp, f.Name, props[f.Name], false)
		}
	}
	if len(required) > 0 {
		req, _ := body["required"].([]any)
		have := map[any]bool{}
		for _, r := range req {
			have[r] = true
		}
		for _, r := range required {
			if !have[r] {
				req = append(req, r)
			}
		}
		schemas.set(body, "required", req, false)
	}
	return enc
}

// isPlainObject reports whether file properties can be added to the schema
// directly: an object schema that is not a reference.
func isPlainObject(m map[string]any) bool {
	if _, ok := m["$ref"]; ok {
		return false
	}
	t, hasType := m["type"]
	_, hasProps := m["properties"]
	return t == "object" || (!hasType && hasProps)
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
