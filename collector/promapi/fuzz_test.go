package promapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// FuzzQuery: whatever a client sends as parameters, every endpoint answers
// Prometheus's JSON envelope (or /federate's text) with a status that
// matches it, and never panics.
func FuzzQuery(f *testing.F) {
	for _, s := range [][5]string{
		{"sum by (code) (rate(req_total[1m]))", "1700000000", "1699999000", "1700000000", "15s"},
		{"temp", "2023-11-14T22:13:20Z", "0", "1", "0.001"},
		{"sum(", "yesterday", "x", "", "-1"},
		{`{host=~".*"}`, "1e300", "-1e300", "NaN", "1e308"},
		{`label_replace(temp, "x", "$1", "host", "(")`, "", "", "", ""},
		{"req_total[10m:1ms]", "1700000000.123456", "1699999999", "1700000000", "1ms"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	_, h := fixture(f, Options{MaxSamples: 100_000, Timeout: time.Second})
	f.Fuzz(func(t *testing.T, query, tm, start, end, step string) {
		form := url.Values{"query": {query}, "time": {tm}, "start": {start}, "end": {end}, "step": {step}, "match[]": {query}, "limit": {step}}
		for _, path := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/label/host/values"} {
			code, body := do(t, h, http.MethodGet, path, form)
			var r struct {
				Status    string `json:"status"`
				ErrorType string `json:"errorType"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("%s?%s: not JSON: %v: %s", path, form.Encode(), err, body)
			}
			if (code == http.StatusOK) != (r.Status == "success") || (r.Status == "error") == (r.ErrorType == "") {
				t.Fatalf("%s?%s: %d %s", path, form.Encode(), code, body)
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/federate?"+url.Values{"match[]": {query}}.Encode(), nil)
		req.Header.Set("Authorization", "Bearer viewer")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("/federate?match[]=%q: %d %s", query, rec.Code, rec.Body)
		}
	})
}
