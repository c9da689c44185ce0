package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ninesmon/nines/internal/wire"
)

// Bounds of what a sender may name, besides those of the push headers
// (wire.MaxHostnameBytes and the others). Every header and tag that
// becomes a target name, a target ID or a label is checked against them
// where it enters, so one bad value can never break a page that lists
// them all (/metrics, the API, the web UI).
const (
	// MaxLineTags bounds the tags of one line-protocol line.
	MaxLineTags = 64
	// DefaultMaxAhead is how far ahead of the collector's clock a sample
	// may be (Options.MaxAhead).
	DefaultMaxAhead = 10 * time.Minute
	// DefaultMaxAge is how old a sample may be when Options.MaxAge is
	// unset: the recent window's default retention.
	DefaultMaxAge = time.Hour
)

// printable checks that a header value that becomes a name or an id is
// at most max bytes of printable UTF-8 (no control characters), so it is
// safe in JSON, logs, labels and the web UI.
func printable(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, at most %d allowed", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("unprintable character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkHostname checks a name that becomes a target: non-empty, at most
// wire.MaxHostnameBytes of printable UTF-8 without spaces.
func checkHostname(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if err := printable(s, wire.MaxHostnameBytes); err != nil {
		return err
	}
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return fmt.Errorf("space at byte %d", i)
	}
	return nil
}

// checkLabelName checks a label name chosen by an agent's configuration:
// a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), not reserved (__
// prefix), at most wire.MaxLabelNameBytes.
func checkLabelName(s string) error {
	if len(s) > wire.MaxLabelNameBytes {
		return fmt.Errorf("label name of %d bytes, at most %d allowed", len(s), wire.MaxLabelNameBytes)
	}
	if s == "" {
		return errors.New("empty label name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return fmt.Errorf("label name %q is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", s)
		}
	}
	if strings.HasPrefix(s, "__") {
		return fmt.Errorf("label name %q is reserved (__ prefix)", s)
	}
	return nil
}

// checkTagKey checks a line-protocol tag key, which becomes a label name.
// Telegraf's tags are not always Prometheus names (com.docker.compose.project),
// and the window and PromQL take any UTF-8 name, so it asks only for text
// without control characters, not reserved (__ prefix), at most
// wire.MaxLabelNameBytes.
func checkTagKey(s string) error {
	if len(s) > wire.MaxLabelNameBytes {
		return fmt.Errorf("tag key of %d bytes, at most %d allowed", len(s), wire.MaxLabelNameBytes)
	}
	if strings.HasPrefix(s, "__") {
		return fmt.Errorf("tag key %q is reserved (__ prefix)", s)
	}
	if err := plainText(s); err != nil {
		return fmt.Errorf("tag key %q: %w", s, err)
	}
	return nil
}

// checkLabelValue checks a label value: UTF-8 without control
// characters, at most wire.MaxLabelValueBytes.
func checkLabelValue(s string) error {
	if len(s) > wire.MaxLabelValueBytes {
		return fmt.Errorf("value of %d bytes, at most %d allowed", len(s), wire.MaxLabelValueBytes)
	}
	return plainText(s)
}

// plainText checks that s is valid UTF-8 without control characters. It
// runs on every tag of every line: ASCII takes a byte loop.
func plainText(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return plainUnicode(s, i)
		}
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("control character %U at byte %d", rune(c), i)
		}
	}
	return nil
}

func plainUnicode(s string, from int) error {
	for i := from; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("not valid UTF-8 at byte %d", i)
		}
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U at byte %d", r, i)
		}
		i += n
	}
	return nil
}
