package ingest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/wire"
)

// TestPushErrorsAreJSON checks README's promise "Errors are JSON:
// {"error": "..."}" for the native push endpoint, which answered plain text.
func TestPushErrorsAreJSON(t *testing.T) {
	h := newTestHandler(&fakeAppender{}, &fakeObserver{}, func() time.Time { return t0 }, nil)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"no hostname", map[string]string{}, "missing X-Nines-Hostname header"},
		{"bad interval", map[string]string{wire.HeaderHostname: "web1", wire.HeaderInterval: "soon"}, "X-Nines-Interval"},
		{"bad labels", map[string]string{wire.HeaderHostname: "web1", wire.HeaderLabels: "=x"}, "X-Nines-Labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(h.Push(), wire.PushPath, "hw v=1\n", tc.headers)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("got %d %q, want 400", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, tc.want) {
				t.Errorf("body %q (%v), want JSON error containing %q", rec.Body, err, tc.want)
			}
		})
	}
}

// errText is the message of a JSON error body, or the body itself.
func errText(rec interface{ Bytes() []byte }) string {
	var body struct{ Error string }
	if json.Unmarshal(rec.Bytes(), &body) == nil && body.Error != "" {
		return body.Error
	}
	return string(rec.Bytes())
}
