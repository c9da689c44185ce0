package auth

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ninesmon/nines/collector/audit"
)

// Failures limits and records wrong bearer tokens on every route Require
// guards (the API, ingest, /metrics), as failed web logins are: 4
// connections trying tokens would otherwise make thousands of tries a
// second, unlimited (issue 16 item 5). Only a request that offers a token
// spends a try; one without any gets 401 as before.
type Failures struct {
	// Limiter counts the failures. Sharing the web logins' limiter gives
	// a guesser one allowance for both ways in.
	Limiter *Limiter
	// Audit, when it is an audit.Counter, gets one counted row per client
	// address and minute (action auth.token_refused); nil: none.
	Audit audit.Log
	// Logger gets at most one line per address and minute; nil: none.
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// LimitFailures makes Require limit, count and log wrong bearer tokens
// with f.
func (a *Authenticator) LimitFailures(f Failures) {
	if f.Limiter == nil {
		f.Limiter = NewLimiter(DefaultLimitOptions())
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	a.failures.Store(&f)
}

// ClientAddr is the address failures are counted by: the peer's IP (a
// proxy in front makes them one; its own limits then count per client).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow answers 429 and returns false when the request's address has no
// tries left. As for logins, a valid token from that address waits too:
// otherwise a guesser would be told which guess was right.
func (f *Failures) allow(w http.ResponseWriter, r *http.Request) bool {
	addr := ClientAddr(r)
	wait, ok := f.Limiter.Allow(addr, f.Now())
	if !ok {
		f.throttled(w, addr, wait)
	}
	return ok
}

// fail spends a try of the request's address and of the total; false
// (answered 429) when the total is spent. Otherwise the failure is
// counted in the audit log and logged, and the caller answers 401.
func (f *Failures) fail(w http.ResponseWriter, r *http.Request) bool {
	now, addr := f.Now(), ClientAddr(r)
	if wait, ok := f.Limiter.Fail(addr, now); !ok {
		f.throttled(w, "", wait)
		return false
	}
	if f.Limiter.ShouldLog("bearer "+addr, now) {
		f.Logger.Warn("bearer token refused", "remote_addr", addr, "method", r.Method, "path", r.URL.Path)
	}
	if c, ok := f.Audit.(audit.Counter); ok {
		e := audit.Entry{At: now, Principal: addr, Action: "auth.token_refused", Object: "bearer token", Detail: r.Method + " " + r.URL.Path}
		// The row outlives the request: a client that hangs up must
		// not leave its failure uncounted.
		if err := c.Count(context.WithoutCancel(r.Context()), e, now.Truncate(time.Minute)); err != nil && f.Limiter.ShouldLog("bearer audit error", now) {
			f.Logger.Error("audit record", "action", e.Action, "err", err)
		}
	}
	return true
}

// throttled answers a request beyond the limits; addr is empty when the
// limit over all addresses was reached.
func (f *Failures) throttled(w http.ResponseWriter, addr string, wait time.Duration) {
	key := addr
	if key == "" {
		key = "all addresses"
	}
	if f.Limiter.ShouldLog("bearer throttled "+key, f.Now()) {
		f.Logger.Warn("bearer tokens throttled: too many wrong tokens", "from", key, "retry_after_seconds", wait.Seconds())
	}
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, http.StatusTooManyRequests, "too many wrong bearer tokens; retry in "+strconv.FormatInt(secs, 10)+" s")
}
