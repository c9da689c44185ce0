package auth

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ninesmon/nines/collector/config"
)

// TestRequireErrorsAreJSON: the API promises JSON, and its 401 and 403
// were text/plain (issue 16 item 11). WWW-Authenticate stays on 401.
func TestRequireErrorsAreJSON(t *testing.T) {
	a := New([]config.Token{
		{Name: "ops", Role: config.RoleViewer, Hash: sha256.Sum256([]byte("view-secret"))},
	})
	h := a.Require(config.RoleOperator, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, tc := range []struct {
		name, authz string
		code        int
		msg, www    string
	}{
		{"no token", "", http.StatusUnauthorized, "missing or unknown bearer token", `Bearer realm="nines"`},
		{"unknown token", "Bearer nope", http.StatusUnauthorized, "missing or unknown bearer token", `Bearer realm="nines"`},
		{"wrong role", "Bearer view-secret", http.StatusForbidden, "token ops (role viewer) may not do this: needs operator", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/targets", nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body struct{ Status, Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if rec.Code != tc.code || body.Status != "error" || body.Error != tc.msg {
				t.Errorf("got %d %+v, want %d %q", rec.Code, body, tc.code, tc.msg)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", got)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.www {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tc.www)
			}
		})
	}
}
