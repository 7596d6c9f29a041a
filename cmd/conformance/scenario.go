package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Scenario is one scenario file of a fixtures folder.
type Scenario struct {
	// Dir is the fixtures folder the file was found in; Label names it in
	// reports (relative to the repository root when it can).
	Dir, Label string
	// File is the path relative to Dir, slash separated ("json_bodies/01_x.json").
	File string
	// Category is the first folder of File.
	Category string
	// Name is the scenario's "name" member (or File when it has none).
	Name string

	// Doc is the whole document; nil when it is not a JSON object.
	Doc object
	// LoadErr is set when the file is not a JSON document at all.
	LoadErr error

	Handler  object
	Request  object
	Expected object
}

// IsHTTP reports whether the document is an HTTP scenario: a handler with a
// route, and a request.
func (s *Scenario) IsHTTP() bool {
	if s.Request == nil {
		return false
	}
	if s.Handler == nil {
		return s.ResponseOnly()
	}
	_, ok := s.Handler.Get("route")
	return ok
}

// discover lists the scenario files of a fixtures folder: every *.json file
// inside its category folders (recursively), except the categories'
// schema.json. Files at the top of the folder (the corpus schema) are not
// scenarios.
func discover(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		root := filepath.Join(dir, e.Name())
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(d.Name(), ".json") || d.Name() == "schema.json" {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// loadScenario reads one file. It never fails: a file that is not a JSON
// object is returned with LoadErr set, so it can be reported.
func loadScenario(dir, rel string) *Scenario {
	s := &Scenario{Dir: dir, Label: dir, File: rel, Name: rel}
	s.Category, _, _ = strings.Cut(rel, "/")
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		s.LoadErr = err
		return s
	}
	return parseScenario(s, b)
}

func parseScenario(s *Scenario, b []byte) *Scenario {
	var doc object
	if err := json.Unmarshal(b, &doc); err != nil {
		s.LoadErr = fmt.Errorf("not a JSON object: %v", err)
		return s
	}
	if doc == nil {
		s.LoadErr = fmt.Errorf("not a JSON object")
		return s
	}
	s.Doc = doc
	if raw, ok := doc.Get("name"); ok {
		if n, err := asString(raw); err == nil && n != "" {
			s.Name = n
		}
	}
	get := func(key string) object {
		raw, ok := doc.Get(key)
		if !ok || kind(raw) != "object" {
			return nil
		}
		var o object
		if json.Unmarshal(raw, &o) != nil {
			return nil
		}
		return o
	}
	s.Handler = get("handler")
	s.Request = get("request")
	s.Expected = get("expected_response")
	return s
}

// ResponseOnly reports a scenario that declares no handler: a request and the
// response an application answers to it. The app built for it has one route
// at the request's path whose handler answers that response; the scenario
// then checks that a handler can set every status, header and body.
func (s *Scenario) ResponseOnly() bool {
	if s.Handler != nil || s.Request == nil || s.Expected == nil {
		return false
	}
	_, hasPath := s.Request.Get("path")
	_, hasMethod := s.Request.Get("method")
	return hasPath && hasMethod
}
