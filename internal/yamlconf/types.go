package yamlconf

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a string in the Prometheus
// duration syntax: a sequence of integers with units from the largest to
// the smallest, y (365d), w, d, h, m, s and ms ("30s", "1h30m", "30d",
// "0"). Go's own syntax ("1.5s", "250us") is accepted as well, so older
// files keep loading. Both binaries' configuration files and the rule
// files use this one type, so a duration means the same everywhere.
type Duration time.Duration

// UnmarshalYAML parses a duration string; a bare number is rejected so that
// "interval: 10" cannot silently mean 10 nanoseconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return TypeError(n, "duration must be a string such as \"30s\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return TypeError(n, err.Error())
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a duration in the syntax Duration documents. A
// negative duration is an error. The error reads
// `invalid duration "<s>": want a value such as "30s", "5m", "1h30m" or "30d"`.
func ParseDuration(s string) (time.Duration, error) {
	if v, ok := parsePromDuration(s); ok {
		return v, nil
	}
	if v, err := time.ParseDuration(s); err == nil && v >= 0 {
		return v, nil
	}
	return 0, fmt.Errorf("invalid duration %q: want a value such as \"30s\", \"5m\", \"1h30m\" or \"30d\"", s)
}

// promUnits are the Prometheus duration units, largest first.
var promUnits = []struct {
	name string
	mult uint64
}{
	{"y", uint64(365 * 24 * time.Hour)},
	{"w", uint64(7 * 24 * time.Hour)},
	{"d", uint64(24 * time.Hour)},
	{"h", uint64(time.Hour)},
	{"m", uint64(time.Minute)},
	{"s", uint64(time.Second)},
	{"ms", uint64(time.Millisecond)},
}

// parsePromDuration parses the syntax of prometheus/common/model's
// ParseDuration (which the agent must not link): units appear at most
// once each, from the largest to the smallest.
func parsePromDuration(s string) (time.Duration, bool) {
	if s == "0" {
		return 0, true
	}
	if s == "" {
		return 0, false
	}
	var total uint64
	next := 0 // index in promUnits of the smallest unit still allowed
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(s[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		unit := s[:j]
		s = s[j:]
		k := next
		for k < len(promUnits) && promUnits[k].name != unit {
			k++
		}
		if k == len(promUnits) {
			return 0, false
		}
		next = k + 1
		mult := promUnits[k].mult
		if v > math.MaxInt64/mult {
			return 0, false
		}
		total += v * mult
		if total > math.MaxInt64 {
			return 0, false
		}
	}
	return time.Duration(total), true
}

// FormatDuration writes d in the Prometheus syntax ("1h30m", "30d",
// "1s500ms"), or in Go's when d is not a whole number of milliseconds or
// is negative. ParseDuration reads either back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d < 0 || d%time.Millisecond != 0 {
		return d.String()
	}
	var b strings.Builder
	v := uint64(d)
	for _, u := range promUnits {
		// Years and weeks only when they divide what is left, as
		// Prometheus writes them: 90d reads better than 12w6d.
		if (u.name == "y" || u.name == "w") && v%u.mult != 0 {
			continue
		}
		if n := v / u.mult; n > 0 {
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteString(u.name)
			v -= n * u.mult
		}
	}
	return b.String()
}

// TypeError reports a bad value at node n from a custom UnmarshalYAML in
// the form the decoder collects, so decoding goes on and every problem in
// the file is reported together.
func TypeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %s", n.Line, n.Column, msg)}}
}

// MarshalYAML writes the duration as a string that ParseDuration reads
// back, in the Prometheus syntax where it can.
func (d Duration) MarshalYAML() (any, error) { return FormatDuration(time.Duration(d)), nil }

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
