// Package yamlconf decodes YAML configuration strictly and reports every
// problem at once with its file, line and key.
//
// It is the one place where both binaries turn bytes into configuration:
// unknown keys are errors, type errors keep their line numbers, and semantic
// problems found by a Validate method are placed on the line of the key they
// name. Durations are written alike in every file (see Duration). Both
// binaries share it, and it imports nothing but the YAML package, so the
// agent stays small.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Validator is implemented by configuration types that check themselves
// after decoding. Validate reports problems through p; it must not stop at
// the first one.
type Validator interface {
	Validate(p *Problems)
}

// Defaulter is implemented by configuration types whose defaults depend on
// what the file says (a timeout derived from the interval, a profile's
// settings where an entry sets none). Decode calls ApplyDefaults after
// decoding and before Validate, so that Validate only reads.
type Defaulter interface {
	ApplyDefaults()
}

// Problems collects semantic errors, each tied to a key path such as
// "collector.urls[1]" or "rules[0].expr".
type Problems struct {
	list []problem
}

type problem struct {
	path string
	msg  string
}

// Addf records a problem at the key path.
func (p *Problems) Addf(path, format string, args ...any) {
	p.list = append(p.list, problem{path: path, msg: fmt.Sprintf(format, args...)})
}

// Name checks the name of list entry path (a calendar, a receiver...):
// it must be set and not taken by an earlier entry in seen, which it is
// added to. kind names the entry in the message.
func (p *Problems) Name(seen map[string]bool, path, kind, name string) {
	switch {
	case name == "":
		p.Addf(path+".name", "must be set")
	case seen[name]:
		p.Addf(path+".name", "%s %q defined twice", kind, name)
	}
	seen[name] = true
}

// Len is the number of problems recorded.
func (p *Problems) Len() int { return len(p.list) }

// Error is one configuration problem with its position.
type Error struct {
	File   string
	Line   int // 0 when unknown
	Column int
	Key    string // dotted key path, empty for syntax errors
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// Decode decodes data into v strictly: unknown keys, type errors and, when v
// implements Validator, semantic problems are all returned together as one
// error joining *Error values. file names the source in messages. An empty
// document leaves v as it was (its defaults). When v implements Defaulter,
// its ApplyDefaults runs between decoding and validation.
func Decode(file string, data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return syntaxError(file, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return syntaxError(file, err)
		}
		for _, msg := range te.Errors {
			e := &Error{File: file, Msg: msg}
			if m := lineRE.FindStringSubmatch(msg); m != nil {
				e.Line, _ = strconv.Atoi(m[1])
				e.Msg = m[2]
				placeTypeError(&root, reflect.TypeOf(v), e)
			}
			errs = append(errs, e)
		}
	}
	if d, ok := v.(Defaulter); ok {
		d.ApplyDefaults()
	}
	// Validate even after type errors: fields that failed keep their
	// (valid) defaults, and the user gets every problem in one pass.
	if val, ok := v.(Validator); ok {
		var p Problems
		val.Validate(&p)
		for _, pr := range p.list {
			e := &Error{File: file, Key: pr.path, Msg: pr.msg}
			if n := Lookup(&root, pr.path); n != nil {
				e.Line, e.Column = n.Line, n.Column
			}
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

// Lookup finds the node for a key path ("a.b[2].c") in a decoded document.
// For a mapping key it returns the key node, so positions point at the key
// the user wrote. It returns the deepest node it could reach, or nil.
func Lookup(root *yaml.Node, path string) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if path == "" {
		return n
	}
	var last *yaml.Node = n
	for _, part := range splitPath(path) {
		switch {
		case part.index >= 0:
			if n.Kind != yaml.SequenceNode || part.index >= len(n.Content) {
				return last
			}
			n = n.Content[part.index]
			last = n
		default:
			if n.Kind != yaml.MappingNode {
				return last
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part.key {
					last = n.Content[i]
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return last
			}
		}
	}
	return last
}

type pathPart struct {
	key   string
	index int
}

func splitPath(path string) []pathPart {
	var parts []pathPart
	for _, seg := range strings.Split(path, ".") {
		for seg != "" {
			i := strings.IndexByte(seg, '[')
			if i < 0 {
				parts = append(parts, pathPart{key: seg, index: -1})
				break
			}
			if i > 0 {
				parts = append(parts, pathPart{key: seg[:i], index: -1})
			}
			j := strings.IndexByte(seg[i:], ']')
			if j < 0 {
				break
			}
			idx, err := strconv.Atoi(seg[i+1 : i+j])
			if err != nil {
				break
			}
			parts = append(parts, pathPart{index: idx})
			seg = seg[i+j+1:]
		}
	}
	return parts
}
