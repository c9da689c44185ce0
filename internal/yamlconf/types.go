package yamlconf

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a Go duration string ("30s", "5m").
type Duration time.Duration

// UnmarshalYAML parses a duration string; a bare number is rejected so that
// "interval: 10" cannot silently mean 10 nanoseconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return TypeError(n, "duration must be a string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return TypeError(n, fmt.Sprintf("invalid duration %q: want a value such as \"30s\" or \"5m\"", s))
	}
	*d = Duration(v)
	return nil
}

// TypeError reports a bad value at node n from a custom UnmarshalYAML in
// the form the decoder collects, so decoding goes on and every problem in
// the file is reported together.
func TypeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// Secret is a string that never prints: String, MarshalYAML and slog all
// show "<secret>".
type Secret string

const redacted = "<secret>"

func (s Secret) String() string { return redacted }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return redacted, nil
}

// LogValue keeps the secret out of structured logs.
func (s Secret) LogValue() string { return redacted }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// ResolveSecret returns the value of a secret given inline or by file. It
// reports the stock error when both are set. A file's trailing newline is
// dropped. path names the inline key for messages; the file key is
// path+"_file".
func ResolveSecret(inline Secret, file, path string) (Secret, error) {
	if inline != "" && file != "" {
		return "", fmt.Errorf("at most one of %s & %s_file must be configured", lastKey(path), lastKey(path))
	}
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s_file: %w", lastKey(path), err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s_file %s is empty", lastKey(path), file)
	}
	return Secret(v), nil
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
