package push

import (
	"strings"
	"testing"
)

// TestErrorMessage: a collector's JSON error is logged as its message,
// any other answer as it is.
func TestErrorMessage(t *testing.T) {
	for in, want := range map[string]string{
		`{"error":"bad X-Nines-Labels header: label name \"1x\" is not valid"}` + "\n": `bad X-Nines-Labels header: label name "1x" is not valid`,
		"missing X-Nines-Hostname header\n":                                            "missing X-Nines-Hostname header",
		`{"data": 1}`:                                                                  `{"data": 1}`,
	} {
		if got := errorMessage(strings.NewReader(in)); got != want {
			t.Errorf("errorMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
