package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/spikard/spikard-go/core/validate"
)

const refPrefix = "#/components/schemas/"

// schemaSet holds every schema of the document while it is built, then
// moves shared ones into components:
//
//  1. Each schema's root "$defs" (and draft-07 "definitions") become
//     components, named by their keys, and the schema's local references
//     are rewritten to point at them. A schema referring to its own root
//     ("#", "#/properties/...") becomes a component as a whole. Without
//     this, "#/$defs/X" would resolve against the OpenAPI document.
//  2. Every subschema carrying a "title" whose exact content appears more
//     than once in the document becomes a component named by the title and
//     is replaced by a reference.
//
// Names are sanitised to OpenAPI's component key syntax; names that clash
// with different content get a suffix (_2, _3, ...) in a deterministic order.
type schemaSet struct {
	slots []slot
	comps map[string]any
	taken map[string]bool
	// byKey maps a definition's identity to the component holding it.
	byKey map[string]string
	// pinned components are targets of JSON pointers below their root:
	// nothing inside them may be replaced by a reference.
	pinned map[string]bool
	// order remembers the member order of every object read from a schema
	// (and of the objects built here), so the document shows properties
	// in their declaration order. Keyed by the map's identity; the entry
	// holds the map so that its address is never reused.
	order map[uintptr]*ordered
}

type ordered struct {
	m    map[string]any
	keys []string
}

type slot struct {
	v        *any
	fallback string // component name if the root has to become one
}

func newSchemaSet() *schemaSet {
	s := &schemaSet{
		comps:  map[string]any{},
		taken:  map[string]bool{},
		byKey:  map[string]string{},
		pinned: map[string]bool{},
		order:  map[uintptr]*ordered{},
	}
	for _, name := range sortedKeys(builtinSchemas) {
		v, err := s.decode([]byte(builtinSchemas[name]))
		if err != nil {
			panic("openapi: builtin schema " + name + ": " + err.Error())
		}
		s.comps[name] = v
		s.taken[name] = true
	}
	return s
}

// add checks a schema, decodes it into *dst and remembers the slot.
func (s *schemaSet) add(raw json.RawMessage, dst *any, fallback, where string) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage(`{}`)
	}
	if _, err := validate.Compile(raw); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	v, err := s.decode(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	*dst = v
	s.slots = append(s.slots, slot{v: dst, fallback: fallback})
	return nil
}

// addValue remembers a schema built here (already known to be valid).
func (s *schemaSet) addValue(v any, dst *any, fallback string) {
	*dst = v
	s.slots = append(s.slots, slot{v: dst, fallback: fallback})
}

// decode reads JSON keeping numbers as written and recording member order.
func (s *schemaSet) decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := s.read(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the schema")
	}
	return v, nil
}

func (s *schemaSet) read(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '{':
		m := map[string]any{}
		var keys []string
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := s.read(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; !dup {
				keys = append(keys, k)
			}
			m[k] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		s.order[mapID(m)] = &ordered{m: m, keys: keys}
		return m, nil
	case '[':
		list := []any{}
		for dec.More() {
			v, err := s.read(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return list, nil
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// obj builds an object from key, value pairs, in that order.
func (s *schemaSet) obj(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	o := &ordered{m: m}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		m[k] = kv[i+1]
		o.keys = append(o.keys, k)
	}
	s.order[mapID(m)] = o
	return m
}

// set adds or replaces a member; a new member goes first or last.
func (s *schemaSet) set(m map[string]any, k string, v any, first bool) {
	_, had := m[k]
	m[k] = v
	if had {
		return
	}
	o := s.order[mapID(m)]
	if o == nil {
		o = &ordered{m: m, keys: sortedKeys(m)}
		s.order[mapID(m)] = o
		return
	}
	if first {
		o.keys = append([]string{k}, o.keys...)
	} else {
		o.keys = append(o.keys, k)
	}
}

// render writes a value as JSON, objects in their recorded member order
// (members added without an order come last, sorted).
func (s *schemaSet) render(v any) json.RawMessage {
	var b bytes.Buffer
	s.write(&b, v)
	return b.Bytes()
}

func (s *schemaSet) write(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		n := 0
		member := func(k string) {
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			writeScalar(b, k)
			b.WriteByte(':')
			s.write(b, x[k])
		}
		done := map[string]bool{}
		if o := s.order[mapID(x)]; o != nil {
			for _, k := range o.keys {
				if _, ok := x[k]; ok && !done[k] {
					done[k] = true
					member(k)
				}
			}
		}
		for _, k := range sortedKeys(x) {
			if !done[k] {
				member(k)
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			s.write(b, e)
		}
		b.WriteByte(']')
	default:
		writeScalar(b, x)
	}
}

func writeScalar(b *bytes.Buffer, v any) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.WriteString("null")
		return
	}
	b.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
}

// canon is the canonical text of a decoded value, independent of member
// order: encoding/json sorts map keys, and json.Number keeps the number's
// text.
func canon(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

// finish runs both passes. Slots are visited in document order, which the
// caller makes independent of registration order.
func (s *schemaSet) finish() {
	for _, sl := range s.slots {
		s.hoistDefs(sl)
	}
	s.pinDeepTargets()
	s.dedupTitles()
	for _, sl := range s.slots {
		*sl.v = s.render(*sl.v)
	}
	for n, v := range s.comps {
		s.comps[n] = s.render(v)
	}
}

// ---- pass 1: $defs -------------------------------------------------------

type defRef struct{ group, name string }

func (s *schemaSet) hoistDefs(sl slot) {
	root, ok := (*sl.v).(map[string]any)
	if !ok {
		return
	}
	if _, hasID := root["$id"]; hasID {
		// An embedded resource: its references resolve against its own
		// $id, so it is self-contained as it stands.
		return
	}
	defs := map[defRef]any{}
	for _, g := range []string{"$defs", "definitions"} {
		if m, ok := root[g].(map[string]any); ok {
			for k, v := range m {
				defs[defRef{g, k}] = v
			}
		}
	}
	// Which local references exist, and which definitions each one uses.
	needRoot := false
	uses := map[defRef]map[defRef]bool{} // definition -> definitions it refers to
	usesRoot := map[defRef]bool{}
	scan := func(owner *defRef) func(string) {
		return func(ref string) {
			d, isDef, local := parseLocalRef(ref, defs)
			if !local {
				return
			}
			if !isDef {
				needRoot = true
				if owner != nil {
					usesRoot[*owner] = true
				}
				return
			}
			if owner != nil {
				if uses[*owner] == nil {
					uses[*owner] = map[defRef]bool{}
				}
				uses[*owner][d] = true
			}
		}
	}
	walkRefs(root, scan(nil))
	for d, v := range defs {
		walkRefs(v, scan(&d))
	}
	if len(defs) == 0 && !needRoot {
		return
	}

	rootKey := ""
	rootName := ""
	if needRoot {
		rootKey = "root\x00" + canon(root)
		base := sl.fallback
		if t, ok := root["title"].(string); ok && t != "" {
			base = t
		}
		rootName = s.allocate(componentName(base), rootKey)
	}
	// A definition's identity is its content together with everything it
	// refers to, transitively: two schemas sharing "Address" share one
	// component only when their Address means the same thing.
	order := make([]defRef, 0, len(defs))
	for d := range defs {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].group != order[j].group {
			return order[i].group < order[j].group
		}
		return order[i].name < order[j].name
	})
	names := map[defRef]string{}
	for _, d := range order {
		closure := map[string]any{}
		var visit func(defRef)
		reachesRoot := false
		visit = func(x defRef) {
			k := x.group + "/" + x.name
			if _, seen := closure[k]; seen {
				return
			}
			closure[k] = defs[x]
			reachesRoot = reachesRoot || usesRoot[x]
			for y := range uses[x] {
				visit(y)
			}
		}
		visit(d)
		key := "def\x00" + d.group + "/" + d.name + "\x00" + canon(closure)
		if reachesRoot {
			key += "\x00" + rootKey
		}
		names[d] = s.allocate(componentName(d.name), key)
	}

	rewrite := func(ref string) string {
		d, isDef, local := parseLocalRef(ref, defs)
		if !local {
			return ref
		}
		frag := ref[1:]
		if isDef {
			rest := ""
			// Keep the rest of the pointer as written (still escaped).
			if parts := strings.SplitN(frag, "/", 4); len(parts) == 4 {
				rest = "/" + parts[3]
			}
			return refPrefix + names[d] + rest
		}
		return refPrefix + rootName + frag
	}
	for _, d := range order {
		v := defs[d]
		walkRefsRewrite(v, rewrite)
		if _, exists := s.comps[names[d]]; !exists {
			s.comps[names[d]] = v
		}
	}
	for _, g := range []string{"$defs", "definitions"} {
		if _, ok := root[g].(map[string]any); ok {
			delete(root, g)
		}
	}
	walkRefsRewrite(root, rewrite)
	if needRoot {
		if _, exists := s.comps[rootName]; !exists {
			s.comps[rootName] = root
		}
		*sl.v = s.obj("$ref", refPrefix+rootName)
	}
}

// parseLocalRef classifies a reference: local is false for anything but a
// same-document JSON pointer ("#", "#/..."); isDef is set when it points
// into one of the root definitions.
func parseLocalRef(ref string, defs map[defRef]any) (d defRef, isDef, local bool) {
	if !strings.HasPrefix(ref, "#") {
		return d, false, false
	}
	frag := ref[1:]
	if frag != "" && frag[0] != '/' {
		// "#anchor": a plain-name fragment; left alone.
		return d, false, false
	}
	if frag == "" {
		return d, false, true
	}
	parts := strings.SplitN(frag[1:], "/", 3)
	if len(parts) >= 2 && (parts[0] == "$defs" || parts[0] == "definitions") {
		name, err := url.PathUnescape(parts[1])
		if err == nil {
			name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
			cand := defRef{parts[0], name}
			if _, ok := defs[cand]; ok {
				return cand, true, true
			}
		}
	}
	return d, false, true
}

// allocate returns the component name for a definition identity, taking a
// new name (base, base_2, ...) the first time the identity is seen.
func (s *schemaSet) allocate(base, key string) string {
	if n, ok := s.byKey[key]; ok {
		return n
	}
	n := uniqueName(base, s.taken)
	s.taken[n] = true
	s.byKey[key] = n
	return n
}

// pinDeepTargets pins components that some reference enters below the root.
func (s *schemaSet) pinDeepTargets() {
	mark := func(ref string) {
		if rest, ok := strings.CutPrefix(ref, refPrefix); ok {
			if name, _, deeper := strings.Cut(rest, "/"); deeper {
				s.pinned[name] = true
			}
		}
	}
	for _, sl := range s.slots {
		walkRefs(*sl.v, mark)
	}
	for _, v := range s.comps {
		walkRefs(v, mark)
	}
}

// ---- pass 2: titles ------------------------------------------------------

func (s *schemaSet) dedupTitles() {
	counts := map[string]int{}
	titles := map[string]string{}
	count := func(v any) {
		walkSchemas(v, func(m map[string]any) {
			if t, ok := m["title"].(string); ok && t != "" {
				k := canon(m)
				counts[k]++
				titles[k] = t
			}
		})
	}
	compNames := sortedKeys(s.comps)
	for _, n := range compNames {
		count(s.comps[n])
	}
	for _, sl := range s.slots {
		count(*sl.v)
	}
	// Content that already is a component keeps that component's name.
	existing := map[string]string{}
	for _, n := range compNames {
		k := canon(s.comps[n])
		if _, dup := existing[k]; !dup {
			existing[k] = n
		}
	}
	var keys []string
	for k, c := range counts {
		if c >= 2 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if titles[keys[i]] != titles[keys[j]] {
			return titles[keys[i]] < titles[keys[j]]
		}
		return keys[i] < keys[j]
	})
	hoisted := map[string]string{}
	for _, k := range keys {
		if n, ok := existing[k]; ok {
			hoisted[k] = n
			continue
		}
		n := uniqueName(componentName(titles[k]), s.taken)
		s.taken[n] = true
		hoisted[k] = n
	}
	if len(hoisted) == 0 {
		return
	}
	stored := map[string]bool{}
	for _, n := range compNames {
		stored[n] = true
	}
	var replace func(v any, top bool) any
	replace = func(v any, top bool) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		if !top {
			if t, ok := m["title"].(string); ok && t != "" {
				if n, ok := hoisted[canon(m)]; ok {
					if !stored[n] {
						stored[n] = true
						forEachSubschema(m, func(c any) any { return replace(c, false) })
						s.comps[n] = m
					}
					return s.obj("$ref", refPrefix+n)
				}
			}
		}
		forEachSubschema(m, func(c any) any { return replace(c, false) })
		return m
	}
	for _, n := range compNames {
		if !s.pinned[n] {
			s.comps[n] = replace(s.comps[n], true)
		}
	}
	for _, sl := range s.slots {
		*sl.v = replace(*sl.v, false)
	}
}

// ---- walking -------------------------------------------------------------

// forEachSubschema calls f on every direct subschema of m (JSON Schema
// 2020-12 applicators plus draft-07's items array, additionalItems,
// definitions and dependencies) and stores what f returns. Keywords holding
// values (enum, const, default, examples) are never entered.
func forEachSubschema(m map[string]any, f func(any) any) {
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			if mm, ok := v.(map[string]any); ok {
				for _, kk := range sortedKeys(mm) {
					mm[kk] = f(mm[kk])
				}
			}
		case "dependencies":
			if mm, ok := v.(map[string]any); ok {
				for _, kk := range sortedKeys(mm) {
					if _, isList := mm[kk].([]any); !isList {
						mm[kk] = f(mm[kk])
					}
				}
			}
		case "items", "prefixItems", "allOf", "anyOf", "oneOf":
			if list, ok := v.([]any); ok {
				for i := range list {
					list[i] = f(list[i])
				}
			} else {
				m[k] = f(v)
			}
		case "additionalItems", "not", "if", "then", "else", "contains", "additionalProperties",
			"propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema":
			m[k] = f(v)
		}
	}
}

// walkSchemas calls f on every schema object, parents first.
func walkSchemas(v any, f func(map[string]any)) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	f(m)
	forEachSubschema(m, func(c any) any { walkSchemas(c, f); return c })
}

// walkRefs calls f with every "$ref" value.
func walkRefs(v any, f func(string)) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if r, ok := m["$ref"].(string); ok {
		f(r)
	}
	forEachSubschema(m, func(c any) any {
		walkRefs(c, f)
		return c
	})
}

// walkRefsRewrite replaces every "$ref" value by f's answer.
func walkRefsRewrite(v any, f func(string) string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if r, ok := m["$ref"].(string); ok {
		m["$ref"] = f(r)
	}
	forEachSubschema(m, func(c any) any {
		walkRefsRewrite(c, f)
		return c
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// componentName maps any text onto OpenAPI's component key syntax
// ^[a-zA-Z0-9.\-_]+$.
func componentName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "Schema"
	}
	return b.String()
}

func uniqueName(base string, taken map[string]bool) string {
	if !taken[base] {
		return base
	}
	for i := 2; ; i++ {
		n := base + "_" + strconv.Itoa(i)
		if !taken[n] {
			return n
		}
	}
}
