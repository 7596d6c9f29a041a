package openapi

import "encoding/json"

// The OpenAPI 3.1 objects this package writes. Structs keep the members in
// the specification's order; maps (paths, responses, content, components)
// are written with sorted keys by encoding/json, so the output depends only
// on the app.

type document struct {
	OpenAPI    string               `json:"openapi"`
	Info       info                 `json:"info"`
	Servers    []Server             `json:"servers,omitempty"`
	Paths      map[string]*pathItem `json:"paths"`
	Components *components          `json:"components,omitempty"`
	Tags       []tag                `json:"tags,omitempty"`
}

type info struct {
	Title       string `json:"title"`
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

type tag struct {
	Name string `json:"name"`
}

type pathItem struct {
	Get     *operation `json:"get,omitempty"`
	Put     *operation `json:"put,omitempty"`
	Post    *operation `json:"post,omitempty"`
	Delete  *operation `json:"delete,omitempty"`
	Options *operation `json:"options,omitempty"`
	Head    *operation `json:"head,omitempty"`
	Patch   *operation `json:"patch,omitempty"`
	Trace   *operation `json:"trace,omitempty"`
}

// slot returns where an operation of the method goes (nil: OpenAPI 3.1
// has no field for it).
func (p *pathItem) slot(method string) **operation {
	switch method {
	case "GET":
		return &p.Get
	case "PUT":
		return &p.Put
	case "POST":
		return &p.Post
	case "DELETE":
		return &p.Delete
	case "OPTIONS":
		return &p.Options
	case "HEAD":
		return &p.Head
	case "PATCH":
		return &p.Patch
	case "TRACE":
		return &p.Trace
	}
	return nil
}

// methodRank orders operations of one path as the path item lists them.
var methodRank = map[string]int{"GET": 0, "PUT": 1, "POST": 2, "DELETE": 3, "OPTIONS": 4, "HEAD": 5, "PATCH": 6, "TRACE": 7}

type operation struct {
	Tags        []string       `json:"tags,omitempty"`
	Summary     string         `json:"summary,omitempty"`
	Description string         `json:"description,omitempty"`
	OperationID string         `json:"operationId"`
	Parameters  []*parameter   `json:"parameters,omitempty"`
	RequestBody *requestBody   `json:"requestBody,omitempty"`
	Responses   map[string]any `json:"responses"` // *response or ref
	// Security is nil (absent) in apps without authentication; an
	// operation that needs none in an app with some says so with [].
	Security *[]map[string][]string `json:"security,omitempty"`
}

type ref struct {
	Ref string `json:"$ref"`
}

type parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Deprecated  bool   `json:"deprecated,omitempty"`
	Style       string `json:"style,omitempty"`
	Explode     *bool  `json:"explode,omitempty"`
	Schema      any    `json:"schema"`
}

type requestBody struct {
	Description string                `json:"description,omitempty"`
	Content     map[string]*mediaType `json:"content"`
	Required    bool                  `json:"required,omitempty"`
}

type mediaType struct {
	Schema   any                  `json:"schema,omitempty"`
	Example  json.RawMessage      `json:"example,omitempty"`
	Encoding map[string]*encoding `json:"encoding,omitempty"`
}

type encoding struct {
	ContentType string `json:"contentType,omitempty"`
}

type response struct {
	Description string                `json:"description"`
	Headers     map[string]*header    `json:"headers,omitempty"`
	Content     map[string]*mediaType `json:"content,omitempty"`
}

type header struct {
	Description string `json:"description,omitempty"`
	Schema      any    `json:"schema"`
}

type components struct {
	Schemas         map[string]any            `json:"schemas,omitempty"`
	Responses       map[string]*response      `json:"responses,omitempty"`
	SecuritySchemes map[string]securityScheme `json:"securitySchemes,omitempty"`
}

type securityScheme struct {
	Type         string `json:"type"`
	Description  string `json:"description,omitempty"`
	Name         string `json:"name,omitempty"`
	In           string `json:"in,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
}

// Names of the schemas every document carries.
const (
	ProblemSchema         = "ProblemDetails"
	ValidationErrorSchema = "ValidationError"
)

// builtinSchemas describe core/problem's documents.
var builtinSchemas = map[string]string{
	ProblemSchema: `{
		"title": "ProblemDetails",
		"description": "An RFC 9457 problem details document: every error the framework answers with.",
		"type": "object",
		"properties": {
			"type": {"type": "string", "format": "uri-reference", "description": "Problem type, https://spikard.dev/errors/<slug>.", "examples": ["https://spikard.dev/errors/validation-error"]},
			"title": {"type": "string", "description": "Short summary of the problem type.", "examples": ["Request Validation Failed"]},
			"status": {"type": "integer", "minimum": 100, "maximum": 599, "description": "HTTP status code.", "examples": [422]},
			"detail": {"type": "string", "description": "Explanation specific to this occurrence.", "examples": ["1 validation error in request"]},
			"instance": {"type": "string", "format": "uri-reference"},
			"errors": {"type": "array", "description": "Validation failures (422 only).", "items": {"$ref": "#/components/schemas/ValidationError"}}
		},
		"required": ["type", "title", "status"]
	}`,
	ValidationErrorSchema: `{
		"title": "ValidationError",
		"description": "One validation failure: where (loc), what (type, msg), the offending input and the constraint's context.",
		"type": "object",
		"properties": {
			"type": {"type": "string", "examples": ["missing"]},
			"loc": {"type": "array", "items": {"type": ["string", "integer"]}, "examples": [["query", "limit"]]},
			"msg": {"type": "string", "examples": ["Field required"]},
			"input": {},
			"ctx": {"type": "object"}
		},
		"required": ["type", "loc", "msg"]
	}`,
}
