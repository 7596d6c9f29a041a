// Command richapp serves an app that uses every feature the OpenAPI
// generator documents (parameters of every source and style, JSON, form,
// multipart, text and raw bodies, file parts, $defs and recursive schemas,
// API key and JWT authentication, timeouts, rate limits) so that
// tests/docs/schemathesis.sh can check the answers against the document
// with generated requests. It listens on 127.0.0.1 only.
//
// Credentials, for the fuzzer to get past authentication: the API key is
// "st-key" (X-API-Key header), and JWTs are HS256-signed with the secret
// below (jwtSecret); /users/{id} requires a "role" claim.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"

	"github.com/spikard/spikard-go"
)

const jwtSecret = "schemathesis-secret-0123456789abcdef"

const doc = `{
  "version": 1,
  "openapi": {"title": "Spikard rich app", "version": "1.0.0"},
  "routes": [
    {"method": "GET", "path": "/users/{id:int}", "handler": "user",
     "summary": "Get a user", "tags": ["users"],
     "parameters": {
       "path": {"id": {"minimum": 1, "maximum": 1000000, "description": "User id"}},
       "query": {
         "fields": {"type": "array", "items": {"type": "string", "enum": ["name", "email"]}, "separator": ",", "optional": true},
         "limit": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
         "q": {"type": "string", "optional": true, "deprecated": true}
       },
       "headers": {"x_request_id": {"type": "string", "format": "uuid", "optional": true}},
       "cookies": {"session": {"type": "string", "minLength": 8, "optional": true}}
     },
     "response_schema": {"$ref": "#/$defs/User", "$defs": {
       "User": {"title": "User", "type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "address": {"$ref": "#/$defs/Address"}}},
       "Address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}
     }},
     "middleware": {"jwt_auth": {"secret": "` + jwtSecret + `", "required_claims": ["role"]}}},

    {"method": "POST", "path": "/users", "handler": "created", "operation_id": "createUser", "tags": ["users"],
     "body_schema": {"title": "NewUser", "type": "object", "required": ["name"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"},
                                    "address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}}},
     "response_schema": {"title": "User", "type": "object", "required": ["id", "name"],
                         "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
     "middleware": {"api_key_auth": {"keys": ["st-key"]}}},

    {"method": "PUT", "path": "/users/:id", "handler": "echo", "tags": ["users"],
     "body_schema": {"title": "NewUser", "type": "object", "required": ["name"], "additionalProperties": false,
                     "properties": {"name": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"},
                                    "address": {"title": "Address", "type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}}}},

    {"method": "POST", "path": "/login", "handler": "echo", "content_type": "application/x-www-form-urlencoded",
     "body_schema": {"type": "object", "required": ["username", "password"],
                     "properties": {"username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}, "remember": {"type": "boolean", "default": false}}}},

    {"method": "POST", "path": "/uploads", "handler": "empty",
     "body_schema": {"type": "object", "required": ["file"],
                     "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}},

    {"method": "POST", "path": "/avatars/{user_id:uuid}", "handler": "empty",
     "parameters": {"files": {"avatar": {"required": true, "content_type": ["image/png", "image/jpeg"], "max_size": 1048576},
                              "thumbnail": {"required": false}}}},

    {"method": "PUT", "path": "/blobs/{key}", "handler": "empty", "content_type": "application/octet-stream", "max_body_size": 4096},

    {"method": "POST", "path": "/notes", "handler": "echo", "content_type": "text/plain; charset=utf-8",
     "body_schema": {"type": "string", "maxLength": 1000}},

    {"method": "GET", "path": "/tree", "handler": "tree",
     "response_schema": {"title": "Node", "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}},

    {"method": "DELETE", "path": "/items/{id}", "handler": "empty",
     "middleware": {"api_key_auth": {"keys": ["st-key"], "header_name": "X-API-Key", "query_param": ["key", "token"]},
                    "request_timeout": {"seconds": 2}}},

    {"method": "GET", "path": "/", "handler": "root", "response_schema": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}},
    {"method": "OPTIONS", "path": "/health", "handler": "empty"},
    {"method": "PATCH", "path": "/settings", "handler": "echo",
     "body_schema": {"type": "object", "properties": {"theme": {"enum": ["light", "dark"]}}, "additionalProperties": false}},
    {"method": "GET", "path": "/search", "handler": "echo",
     "parameters": {"query": {
       "tag": {"type": "array", "items": {"type": "string"}, "separator": "|", "optional": true},
       "word": {"type": "array", "items": {"type": "string"}, "separator": " ", "optional": true},
       "id": {"type": "array", "items": {"type": "integer"}, "optional": true},
       "when": {"type": "string", "format": "date", "optional": true},
       "ratio": {"type": "number", "minimum": 0, "maximum": 1, "optional": true},
       "flag": {"type": "boolean", "optional": true}
     }}},
    {"method": "GET", "path": "/limited", "handler": "root",
     "response_schema": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
     "middleware": {"rate_limit": {"per_second": 50, "burst": 50}}}
  ]
}`

func main() {
	port := flag.Int("port", 8001, "listen port on 127.0.0.1")
	flag.Parse()
	app, err := spikard.ParseConfig([]byte(doc))
	if err != nil {
		log.Fatal(err)
	}
	app.Handle("user", func(c *spikard.Ctx) error {
		return c.JSON(200, map[string]any{"id": c.Path("id").Int(), "name": "Ada", "address": map[string]any{"city": "Paris", "zip": "75001"}})
	})
	app.Handle("created", func(c *spikard.Ctx) error {
		body, _ := c.Body().(map[string]any)
		return c.JSON(200, map[string]any{"id": 1, "name": body["name"]})
	})
	app.Handle("tree", func(c *spikard.Ctx) error {
		return c.JSON(200, map[string]any{"name": "root", "children": []any{map[string]any{"name": "leaf", "children": []any{}}}})
	})
	app.Handle("root", func(c *spikard.Ctx) error { return c.JSON(200, map[string]any{"ok": true}) })
	app.Handle("echo", func(c *spikard.Ctx) error { return c.Send(200, "application/json", c.Values()) })
	app.Handle("empty", func(c *spikard.Ctx) error { return c.NoContent(200) })
	if err := app.Build(); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("rich app on http://%s (/openapi.json, /docs)", ln.Addr())
	log.Fatal(app.Serve(ln))
}
