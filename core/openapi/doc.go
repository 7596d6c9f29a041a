// Package openapi derives an OpenAPI 3.1 document from an app's declarative
// configuration (config.App) and serves it with Swagger UI and ReDoc,
// both embedded, so the documentation works offline.
//
// # The document
//
// Generate (JSON) and GenerateYAML describe every route whose method has a
// place in a 3.1 path item (GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH,
// TRACE; the HEAD answered automatically for a GET route is not listed):
//
//   - paths in OpenAPI templating: /users/{id:int} and /users/:id are
//     /users/{id}; a typed segment's schema ({id:int} → integer) joins the
//     declared schema. {rest:path} is documented as one parameter, but an
//     OpenAPI path parameter never spans slashes, so tools will not map
//     /files/a/b to it.
//   - every declared parameter (path, query, header, cookie) with its JSON
//     Schema (2020-12 is 3.1's native dialect), required flag and default;
//     header names as on the wire ("x_token" → "x-token"); arrays with a
//     separator get the matching style (",": form/simple, "|":
//     pipeDelimited, " ": spaceDelimited, explode false).
//   - the request body by media type: Route.ContentType when set; else
//     multipart/form-data when the body schema has a "format": "binary"
//     string or the route declares file parts (added as binary properties,
//     with an encoding entry for their accepted types); else
//     application/json. A body schema makes the body required.
//   - the response schema under 200 (application/json).
//   - the framework's own answers, as shared components/responses whose
//     content is application/problem+json with the one ProblemDetails
//     schema (its errors items are ValidationError) and an example rendered
//     by core/problem: 400 (routes with a body or path parameters), 401
//     (jwt_auth, api_key_auth), 403 (jwt_auth with required_claims), 404
//     (path parameters), 408 (request_timeout), 413 and 415 (routes with a
//     body; 413 also with body_limit), 422 (routes with any input that can
//     fail validation), 429 (rate_limit; 503 too when it fails closed), 500.
//   - security: jwt_auth is an http bearer (JWT) scheme, api_key_auth an
//     apiKey scheme per place the key may be sent (header, query
//     parameters); app-wide and per-route middleware combine, alternatives
//     of one middleware are alternative requirements. In an app with
//     authentication, an operation without any says so with "security": [].
//   - operationId as declared (two routes declaring the same one is an
//     error) or derived from method and path: get_users_id, get_root,
//     with _2, _3... when derived ids clash.
//   - tags, summary and description as declared; the sorted tag list.
//
// Schemas are copied as written, member order included, with two moves
// into components/schemas: a schema's root $defs (or definitions) become
// components named by their keys, with the schema's references rewritten
// (a schema referring to its own root becomes a component as a whole), and
// a subschema carrying a "title" whose exact content appears more than once
// is stored once under its title. Names that clash with different content
// get _2, _3... Every schema is compiled with core/validate first: one that
// is not valid JSON Schema fails generation.
//
// The output depends only on the app and the options: routes are sorted by
// path then method, and every object's keys are sorted or in a fixed order,
// so the same app gives the same bytes whatever its registration order.
//
// # Serving
//
// Mount registers, on a fasthttp/router router, GET and HEAD handlers for
// /openapi.json, /openapi.yaml, /docs (Swagger UI), /redoc (ReDoc) and the
// UI files below /docs/assets; each path can be moved or turned off with
// Options (ParseOptions reads them from a configuration document's
// "openapi" member). Handlers returns the same handlers by path for other
// routers. The document is generated once, when mounting. Answers carry an
// ETag (If-None-Match gives 304) and are gzipped for clients that accept
// it; the pages carry a Content-Security-Policy that keeps every request
// on the app's origin. The UI files and their versions are described in
// assets/README.md.
package openapi
