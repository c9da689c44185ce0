package yamlconf

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The decoder's type errors carry only a line ("line 12: cannot
// unmarshal !!seq into string", "line 3: field listen not found in type
// config.Web"). placeTypeError finds the key the error is about in the
// document, so the message names it and its column like every other
// problem, and says what was wanted in words.

var (
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	unmarshalRE    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	columnRE       = regexp.MustCompile(`^column (\d+): (.*)$`)
)

// entry is one value in the document with its key path; key is the
// mapping key node (nil for a list item).
type entry struct {
	path       string
	key, value *yaml.Node
}

func entries(root *yaml.Node) []entry {
	var out []entry
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				out = append(out, entry{path: p, key: n.Content[i], value: n.Content[i+1]})
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				out = append(out, entry{path: p, value: c})
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return out
}

// placeTypeError fills e's Key and Column, and rewords its message,
// when the key it is about can be told from its line and message; t is
// the type decoded into, for the keys an unknown one may be a typo of.
func placeTypeError(root *yaml.Node, t reflect.Type, e *Error) {
	all := entries(root)
	at := func(match func(entry) bool) (entry, bool) {
		var found []entry
		for _, en := range all {
			if match(en) {
				found = append(found, en)
			}
		}
		if len(found) != 1 {
			return entry{}, false
		}
		return found[0], true
	}
	place := func(en entry) {
		e.Key = en.path
		n := en.key
		if n == nil {
			n = en.value
		}
		e.Column = n.Column
	}
	if m := columnRE.FindStringSubmatch(e.Msg); m != nil { // from TypeError: exact
		col, _ := strconv.Atoi(m[1])
		e.Msg = m[2]
		if en, ok := at(func(en entry) bool { return en.value.Line == e.Line && en.value.Column == col }); ok {
			place(en)
		}
		return
	}
	if m := unknownFieldRE.FindStringSubmatch(e.Msg); m != nil {
		en, ok := at(func(en entry) bool { return en.key != nil && en.key.Line == e.Line && en.key.Value == m[1] })
		if !ok {
			return
		}
		place(en)
		e.Msg = "unknown key"
		parent := strings.TrimSuffix(strings.TrimSuffix(en.path, m[1]), ".")
		if s := closest(m[1], keysAt(t, parent)); s != "" {
			e.Msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return
	}
	if m := unmarshalRE.FindStringSubmatch(e.Msg); m != nil {
		en, ok := at(func(en entry) bool {
			return en.value.Line == e.Line && en.value.ShortTag() == m[1] && (m[2] == "" || strings.HasPrefix(en.value.Value, strings.TrimSuffix(m[2], "...")))
		})
		if !ok {
			return
		}
		place(en)
		got := tagWords[m[1]]
		if got == "" {
			got = m[1]
		}
		if v := en.value.Value; m[2] != "" && v != "" {
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			got += " (" + v + ")"
		}
		e.Msg = fmt.Sprintf("want %s, got %s", typeWords(m[3]), got)
	}
}

var tagWords = map[string]string{
	"!!seq": "a list", "!!map": "a mapping", "!!str": "a string", "!!int": "a whole number",
	"!!float": "a number", "!!bool": "true or false", "!!null": "nothing", "!!timestamp": "a time",
}

// typeWords names a Go type as the decoder prints it in a user's words.
func typeWords(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		elem := strings.TrimPrefix(typeWords(goType[2:]), "a ")
		switch {
		case elem == "true or false":
			return "a list of true or false values"
		case strings.HasPrefix(elem, "mapping"):
			return "a list of mappings" + strings.TrimPrefix(elem, "mapping")
		}
		return "a list of " + elem + "s"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.Contains(goType, "."): // a struct, a named type
		return "a mapping (" + goType + ")"
	}
	return goType
}

// keysAt lists the YAML keys of the struct at a key path of t.
func keysAt(t reflect.Type, path string) []string {
	for _, part := range splitPath(path) {
		t = deref(t)
		switch {
		case part.index >= 0:
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t = t.Elem()
		case t.Kind() == reflect.Map:
			t = t.Elem()
		case t.Kind() == reflect.Struct:
			f, ok := fieldByKey(t, part.key)
			if !ok {
				return nil
			}
			t = f
		default:
			return nil
		}
	}
	t = deref(t)
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	forKeys(t, func(name string, _ reflect.Type) bool { out = append(out, name); return true })
	return out
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func fieldByKey(t reflect.Type, key string) (reflect.Type, bool) {
	var found reflect.Type
	forKeys(t, func(name string, ft reflect.Type) bool {
		if name == key {
			found = ft
			return false
		}
		return true
	})
	return found, found != nil
}

// forKeys calls fn with each YAML key of struct t (inline fields
// flattened) until fn returns false.
func forKeys(t reflect.Type, fn func(name string, ft reflect.Type) bool) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") || (f.Anonymous && tag == "") {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct && !forKeys(ft, fn) {
				return false
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if !fn(name, f.Type) {
			return false
		}
	}
	return true
}

// closest is the candidate within two edits of s (a typo), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
