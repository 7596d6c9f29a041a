package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Default serving paths.
const (
	DefaultJSONPath    = "/openapi.json"
	DefaultYAMLPath    = "/openapi.yaml"
	DefaultSwaggerPath = "/docs"
	DefaultRedocPath   = "/redoc"
	DefaultAssetsPath  = "/docs/assets"
)

// Options describe the document's info object and where it is served.
type Options struct {
	// Title and Version fill info.title and info.version (defaults
	// "Spikard API" and "0.1.0"); Summary and Description are optional.
	Title       string
	Version     string
	Summary     string
	Description string
	Servers     []Server

	// Serving (Mount, Handlers). Empty means the default path; the No*
	// switches turn an endpoint off.
	JSONPath    string
	YAMLPath    string
	SwaggerPath string
	RedocPath   string
	// AssetsPath prefixes the embedded Swagger UI and ReDoc files
	// (default /docs/assets).
	AssetsPath  string
	NoJSON      bool
	NoYAML      bool
	NoSwaggerUI bool
	NoRedoc     bool
}

// Server is one entry of the document's servers list.
type Server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "Spikard API"
	}
	if o.Version == "" {
		o.Version = "0.1.0"
	}
	def := func(p *string, d string) {
		if *p == "" {
			*p = d
		}
	}
	def(&o.JSONPath, DefaultJSONPath)
	def(&o.YAMLPath, DefaultYAMLPath)
	def(&o.SwaggerPath, DefaultSwaggerPath)
	def(&o.RedocPath, DefaultRedocPath)
	def(&o.AssetsPath, DefaultAssetsPath)
	o.AssetsPath = strings.TrimRight(o.AssetsPath, "/")
	return o
}

// fileOptions is the "openapi" member of a configuration document.
type fileOptions struct {
	Enabled     *bool    `json:"enabled"`
	Title       string   `json:"title"`
	Version     string   `json:"version"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Servers     []Server `json:"servers"`
	JSONPath    *string  `json:"openapi_json_path"`
	YAMLPath    *string  `json:"openapi_yaml_path"`
	SwaggerPath *string  `json:"swagger_ui_path"`
	RedocPath   *string  `json:"redoc_path"`
	AssetsPath  *string  `json:"assets_path"`
}

// ParseOptions reads the "openapi" member of a configuration document:
//
//	"openapi": {
//	  "enabled": true,                       // default true when the member is present
//	  "title": "Pets", "version": "1.2.0", "summary": "...", "description": "...",
//	  "servers": [{"url": "https://api.example.com", "description": "production"}],
//	  "openapi_json_path": "/openapi.json",  // "" turns the endpoint off
//	  "openapi_yaml_path": "/openapi.yaml",  // ""  turns it off
//	  "swagger_ui_path": "/docs",            // ""  turns Swagger UI off
//	  "redoc_path": "/redoc",                // ""  turns ReDoc off
//	  "assets_path": "/docs/assets"          // embedded UI files
//	}
//
// enabled is false when raw is empty, null or false, or says "enabled": false.
// Unknown members are an error.
func ParseOptions(raw json.RawMessage) (opts Options, enabled bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", "false":
		return Options{}, false, nil
	case "true":
		return Options{}, true, nil
	}
	var f fileOptions
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Options{}, false, fmt.Errorf("openapi: %w", err)
	}
	if f.Enabled != nil && !*f.Enabled {
		return Options{}, false, nil
	}
	opts = Options{Title: f.Title, Version: f.Version, Summary: f.Summary, Description: f.Description, Servers: f.Servers}
	path := func(src *string, dst *string, off *bool) {
		if src == nil {
			return
		}
		if *src == "" {
			*off = true
			return
		}
		*dst = *src
	}
	var noAssets bool
	path(f.JSONPath, &opts.JSONPath, &opts.NoJSON)
	path(f.YAMLPath, &opts.YAMLPath, &opts.NoYAML)
	path(f.SwaggerPath, &opts.SwaggerPath, &opts.NoSwaggerUI)
	path(f.RedocPath, &opts.RedocPath, &opts.NoRedoc)
	path(f.AssetsPath, &opts.AssetsPath, &noAssets)
	if noAssets && (!opts.NoSwaggerUI || !opts.NoRedoc) {
		return Options{}, false, errors.New("openapi: assets_path cannot be empty while a documentation UI is served")
	}
	return opts, true, nil
}

func (o Options) check() error {
	for _, s := range o.Servers {
		if s.URL == "" {
			return errors.New("openapi: a server needs a url")
		}
	}
	if o.NoJSON && (!o.NoSwaggerUI || !o.NoRedoc) {
		return errors.New("openapi: the documentation UIs load the JSON document: openapi_json_path cannot be turned off while they are served")
	}
	seen := map[string]string{}
	add := func(p, what string, off bool) error {
		if off {
			return nil
		}
		if p == "" || p[0] != '/' {
			return fmt.Errorf("openapi: %s %q must start with /", what, p)
		}
		if prev, dup := seen[p]; dup {
			return fmt.Errorf("openapi: %s and %s are both served at %s", prev, what, p)
		}
		seen[p] = what
		return nil
	}
	for _, e := range []struct {
		p, what string
		off     bool
	}{
		{o.JSONPath, "openapi_json_path", o.NoJSON},
		{o.YAMLPath, "openapi_yaml_path", o.NoYAML},
		{o.SwaggerPath, "swagger_ui_path", o.NoSwaggerUI},
		{o.RedocPath, "redoc_path", o.NoRedoc},
		{o.AssetsPath, "assets_path", o.NoSwaggerUI && o.NoRedoc},
	} {
		if err := add(e.p, e.what, e.off); err != nil {
			return err
		}
	}
	return nil
}
