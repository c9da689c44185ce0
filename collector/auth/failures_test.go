package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/config"
)

// countingAudit is an audit.Counter that collapses as the stores do: one
// row per principal, action, object and minute, with a count.
type countingAudit struct {
	mu   sync.Mutex
	rows []audit.Entry
}

func (c *countingAudit) Record(_ context.Context, e audit.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.Count = max(e.Count, 1)
	c.rows = append(c.rows, e)
	return nil
}

func (c *countingAudit) Count(ctx context.Context, e audit.Entry, since time.Time) error {
	c.mu.Lock()
	for i := len(c.rows) - 1; i >= 0; i-- {
		r := &c.rows[i]
		if r.Principal == e.Principal && r.Action == e.Action && r.Object == e.Object && !r.At.Before(since) {
			r.Count++
			c.mu.Unlock()
			return nil
		}
	}
	c.mu.Unlock()
	return c.Record(ctx, e)
}

func (c *countingAudit) Entries(context.Context, audit.Filter) ([]audit.Entry, error) {
	return nil, nil
}

// TestWrongBearerTokensLimited: failed web logins were limited, but wrong
// bearer tokens on the API, ingest and /metrics were not: any client
// could guess tokens as fast as the collector answered. They are now
// limited per client address and overall (429 with Retry-After and a
// JSON body), one counted audit row per address and minute, and one log
// line per address and minute.
func TestWrongBearerTokensLimited(t *testing.T) {
	a := New([]config.Token{{Name: "ops", Role: config.RoleAdmin, Hash: sha256.Sum256([]byte("good-secret"))}})
	now := time.Unix(1_000_000, 0)
	var logs bytes.Buffer
	aud := &countingAudit{}
	a.LimitFailures(Failures{
		Limiter: NewLimiter(LimitOptions{PerAddressBurst: 3, PerAddressRate: 0.5, TotalBurst: 4, TotalRate: 0.5, MaxAddresses: 100}),
		Audit:   aud, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now },
	})
	h := a.Require(config.RoleViewer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	try := func(addr, authz string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = addr + ":40000"
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Requests without a token guess nothing and spend no tries.
	for range 10 {
		if rec := try("10.0.0.1", ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("no token: %d, want 401", rec.Code)
		}
	}
	for i := range 3 {
		if rec := try("10.0.0.1", "Bearer guess"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, rec.Code)
		}
	}
	rec := try("10.0.0.1", "Token guess")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("fourth wrong token: %d Retry-After %q, want 429 after 2 s", rec.Code, rec.Header().Get("Retry-After"))
	}
	var body struct{ Status, Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != "error" || !strings.Contains(body.Error, "too many wrong bearer tokens") {
		t.Errorf("429 body %q (%v), want a JSON error", rec.Body, err)
	}
	// As for logins, the address waits even with the right token: a
	// guesser must not learn which guess was right.
	if rec := try("10.0.0.1", "Bearer good-secret"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("right token from a throttled address: %d, want 429", rec.Code)
	}
	if rec := try("10.0.0.2", "Bearer good-secret"); rec.Code != http.StatusNoContent {
		t.Errorf("right token from another address: %d, want 204", rec.Code)
	}
	now = now.Add(2 * time.Second)
	if rec := try("10.0.0.1", "Bearer good-secret"); rec.Code != http.StatusNoContent {
		t.Errorf("right token after Retry-After: %d, want 204", rec.Code)
	}
	// Over all addresses: 4 at once, then one every 2 s; 3 spent, 1
	// refilled.
	codes := map[int]int{}
	for _, addr := range []string{"10.0.1.1", "10.0.1.2", "10.0.1.3"} {
		codes[try(addr, "Bearer guess").Code]++
	}
	if codes[http.StatusTooManyRequests] != 1 || codes[http.StatusUnauthorized] != 2 {
		t.Errorf("wrong tokens from 3 new addresses with 2 tries left overall: %v, want two 401 and one 429", codes)
	}

	if len(aud.rows) != 3 {
		t.Fatalf("audit rows %+v, want 3 (one per address and minute, none for 429)", aud.rows)
	}
	if r := aud.rows[0]; r.Principal != "10.0.0.1" || r.Action != "auth.token_refused" || r.Count != 3 || r.Detail != "GET /metrics" {
		t.Errorf("audit row %+v, want 3 refusals from 10.0.0.1", r)
	}
	if n := strings.Count(logs.String(), `msg="bearer token refused" remote_addr=10.0.0.1`); n != 1 {
		t.Errorf("%d log lines for 10.0.0.1's failures, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "guess") {
		t.Errorf("a token offered was logged:\n%s", logs.String())
	}
}
