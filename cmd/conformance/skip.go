package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
)

// skipEntry is one member of skip.json: a whole category, or one file
// (path relative to the fixtures folder, e.g. "json_bodies/xx.json").
type skipEntry struct {
	Category string `json:"category,omitempty"`
	File     string `json:"file,omitempty"`
	Reason   string `json:"reason"`
}

type skipList struct {
	entries []skipEntry
}

func loadSkipList(file string) (*skipList, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseSkipList(b)
}

func parseSkipList(b []byte) (*skipList, error) {
	var entries []skipEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("skip list: %w", err)
	}
	for i, e := range entries {
		if (e.Category == "") == (e.File == "") {
			return nil, fmt.Errorf("skip list entry %d: give exactly one of category or file", i)
		}
		if strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("skip list entry %d (%s%s): a reason is required", i, e.Category, e.File)
		}
		if e.File != "" {
			entries[i].File = path.Clean(strings.TrimPrefix(e.File, "./"))
		}
	}
	return &skipList{entries: entries}, nil
}

// match returns the reason a scenario is skipped. A file entry wins over
// its category's.
func (l *skipList) match(s *Scenario) (string, bool) {
	if l == nil {
		return "", false
	}
	for _, e := range l.entries {
		if e.File != "" && e.File == s.File {
			return e.Reason, true
		}
	}
	for _, e := range l.entries {
		if e.Category != "" && e.Category == s.Category {
			return e.Reason, true
		}
	}
	return "", false
}
