package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/internal/wire"
)

// The tests of this file send what a broken or hostile agent or client
// sends (issue 16): every refusal names its cause, and nothing of a
// refused push reaches the window or the tracker.

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// t0 is the collector's clock in the tests of this file.
var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newTestHandler(app Appender, obs Observer, now func() time.Time, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return NewHandler(Options{Appender: app, Observer: obs, MaxBodyBytes: 1 << 16, MaxLineBytes: 4096, Logger: logger, Now: now})
}

func post(h http.Handler, url, body string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v} // as sent, unvalidated
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorMessage is the message of an InfluxDB 1.x or 2.x JSON error.
func errorMessage(rec *httptest.ResponseRecorder) string {
	var m map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m["error"] + m["message"]
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// TestPushNonUTF8Hostname: "h\xff" once made /metrics answer 500 for
// good (issue 16 item 1). It is refused with 400 naming the header, and
// nothing of the push reaches the window or the tracker.
func TestPushNonUTF8Hostname(t *testing.T) {
	window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
	h := newTestHandler(window, obs, func() time.Time { return t0 }, nil)
	for _, goodbye := range []string{"", "1"} {
		rec := post(h.Push(), wire.PushPath, "m v=1 "+ms(t0)+"\n", map[string]string{
			wire.HeaderHostname: "h\xff", wire.HeaderHostID: "machine-1", wire.HeaderGoodbye: goodbye})
		if rec.Code != http.StatusBadRequest || !strings.Contains(errText(rec.Body), "bad X-Nines-Hostname header: not valid UTF-8") {
			t.Errorf("goodbye %q: got %d %q, want 400 naming the header", goodbye, rec.Code, rec.Body)
		}
	}
	if n := window.NumSeries(); n != 0 || len(obs.observed) != 0 || len(obs.goodbyes) != 0 {
		t.Errorf("got %d series, observations %v, goodbyes %v; want none", n, obs.observed, obs.goodbyes)
	}
}

// TestPushLabelsValidated: X-Nines-Labels become labels of every sample
// and of the target; names must be Prometheus label names, values UTF-8
// without control characters, both bounded, and their number too.
func TestPushLabelsValidated(t *testing.T) {
	var many []string
	for i := range wire.MaxLabels + 1 {
		many = append(many, "l"+strconv.Itoa(i)+"=v")
	}
	for _, tc := range []struct{ name, labels, want string }{
		{"name with a dash", "site-name=hq", `label name "site-name" is not a valid Prometheus label name`},
		{"name starting with a digit", "1site=hq", `label name "1site" is not a valid Prometheus label name`},
		{"non-UTF-8 name", "s%FFte=hq", `label name "s\xffte" is not a valid Prometheus label name`},
		{"reserved name", "__meta=x", `label name "__meta" is reserved`},
		{"empty name", "=x", "empty label name"},
		{"name too long", strings.Repeat("n", wire.MaxLabelNameBytes+1) + "=x", "label name of 129 bytes, at most 128 allowed"},
		{"non-UTF-8 value", "site=h%FF", "label site: not valid UTF-8 at byte 1"},
		{"control character in value", "site=h%0Aq", "label site: control character U+000A at byte 1"},
		{"value too long", "site=" + strings.Repeat("v", wire.MaxLabelValueBytes+1), "label site: value of 1025 bytes, at most 1024 allowed"},
		{"too many labels", strings.Join(many, ","), "33 labels, at most 32 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
			h := newTestHandler(window, obs, func() time.Time { return t0 }, nil)
			for range 2 {
				rec := post(h.Push(), wire.PushPath, "m v=1\n", map[string]string{wire.HeaderHostname: "web1", wire.HeaderLabels: tc.labels})
				if rec.Code != http.StatusBadRequest || !strings.Contains(errText(rec.Body), "bad X-Nines-Labels header: "+tc.want) {
					t.Errorf("got %d %q, want 400 with %q", rec.Code, rec.Body, tc.want)
				}
			}
			if n := window.NumSeries(); n != 0 || len(obs.observed) != 0 {
				t.Errorf("got %d series and observations %v, want none", n, obs.observed)
			}
		})
	}
	// At the limits, accepted.
	window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
	h := newTestHandler(window, obs, func() time.Time { return t0 }, nil)
	if rec := post(h.Push(), wire.PushPath, "m v=1\n", map[string]string{wire.HeaderHostname: "web1",
		wire.HeaderLabels: strings.Join(many[:wire.MaxLabels], ",")}); rec.Code != http.StatusNoContent {
		t.Errorf("32 labels: got %d %q, want 204", rec.Code, rec.Body)
	}
	rec := post(h.Push(), wire.PushPath, "m v=1\n", map[string]string{wire.HeaderHostname: "web1",
		wire.HeaderLabels: "_x=caf%C3%A9,site=h%20q," + strings.Repeat("n", wire.MaxLabelNameBytes) + "=" + strings.Repeat("v", wire.MaxLabelValueBytes)})
	if rec.Code != http.StatusNoContent || obs.labels["_x"] != "café" || obs.labels["site"] != "h q" {
		t.Errorf("labels at the limits: got %d %q, labels %v", rec.Code, rec.Body, obs.labels)
	}
}

// TestWriteTagsValidated: on /write and /api/v2/write, a tag that may
// not become a label, or a host tag that is no hostname, rejects its line
// (partial write naming it); the other lines are kept, and the bad host
// never becomes a target.
func TestWriteTagsValidated(t *testing.T) {
	var manyTags strings.Builder
	manyTags.WriteString("m")
	for i := range MaxLineTags + 1 {
		manyTags.WriteString(",t" + strconv.Itoa(i) + "=v")
	}
	for _, tc := range []struct{ name, line, want string }{
		{"reserved tag key", `m,__name__=x v=1`, `tag key "__name__" is reserved`},
		{"tag key too long", "m," + strings.Repeat("k", wire.MaxLabelNameBytes+1) + "=x v=1", "tag key of 129 bytes, at most 128 allowed"},
		{"tag value too long", "m,k=" + strings.Repeat("v", wire.MaxLabelValueBytes+1) + " v=1", "tag k: value of 1025 bytes, at most 1024 allowed"},
		{"C1 control in tag value", "m,k=a\u0085b v=1", "tag k: control character U+0085 at byte 1"},
		{"C1 control in tag key", "m,k\u0085=a v=1", `tag key "k\u0085": control character U+0085 at byte 1`},
		{"too many tags", manyTags.String() + " v=1", "more than 64 tags"},
		{"host tag with a space", `m,host=bad\ host v=1`, "tag host is not a valid hostname: space at byte 3"},
		{"host tag too long", "m,host=" + strings.Repeat("h", wire.MaxHostnameBytes+1) + " v=1", "tag host is not a valid hostname: 254 bytes, at most 253 allowed"},
		{"non-printable host tag", "m,host=h\u200b v=1", "tag host is not a valid hostname: unprintable character U+200B at byte 1"},
	} {
		for _, ep := range []struct {
			name, path string
			h          func(*Handler) http.Handler
		}{{EndpointWriteV1, "/write?db=x", (*Handler).WriteV1}, {EndpointWriteV2, "/api/v2/write?bucket=x", (*Handler).WriteV2}} {
			t.Run(tc.name+" "+ep.path, func(t *testing.T) {
				window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
				h := newTestHandler(window, obs, func() time.Time { return t0 }, nil)
				rec := post(ep.h(h), ep.path, "m,host=good v=1\n"+tc.line+"\n", nil)
				if msg := errorMessage(rec); rec.Code != http.StatusBadRequest || !strings.HasPrefix(msg, "partial write: 1 of 2 lines rejected; first: line 2: "+tc.want) {
					t.Errorf("got %d %q, want 400 naming line 2: %q", rec.Code, rec.Body, tc.want)
				}
				if n := window.NumSeries(); n != 1 || strings.Join(obs.observed, ",") != "good" {
					t.Errorf("got %d series and observations %v, want the good line's only", n, obs.observed)
				}
				if got := testutil.ToFloat64(h.rejected.WithLabelValues(ep.name, "invalid_tag")); got != 1 {
					t.Errorf("lines rejected for invalid_tag: got %v, want 1", got)
				}
			})
		}
	}
	// A database name becomes a label value: it is checked too.
	h := newTestHandler(&fakeAppender{}, &fakeObserver{}, func() time.Time { return t0 }, nil)
	rec := post(h.WriteV1(), "/write?db=a%01b", "m v=1\n", nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(errText(rec.Body), "bad database or bucket name: control character U+0001") {
		t.Errorf("bad db: got %d %q", rec.Code, rec.Body)
	}
}

// TestTimeWindow: a sample far in the future used to be accepted and make
// every later sample of its series refused, silently (issue 16 item 3).
// Lines older than the recent window or more than 10 minutes ahead are
// rejected with their line number; the series stays usable.
func TestTimeWindow(t *testing.T) {
	clk := &clock{t: t0}
	window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
	h := NewHandler(Options{Appender: window, Observer: obs, MaxBodyBytes: 1 << 16, MaxAge: time.Hour, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	write := func(body string) *httptest.ResponseRecorder {
		return post(h.WriteV1(), "/write?precision=s", body, nil)
	}
	rec := write("poison,host=t2 v=1 4102444800\n")
	if rec.Code != http.StatusBadRequest || !strings.Contains(errText(rec.Body),
		"partial write: 1 of 1 lines rejected; first: line 1: timestamp 2100-01-01T00:00:00Z is more than 10m0s ahead of the collector's clock (2026-12-04T12:00:00Z)") {
		t.Errorf("poison: got %d %q", rec.Code, rec.Body)
	}
	for i := range 3 {
		clk.Add(10 * time.Second)
		if rec := write("poison,host=t2 v=2 " + strconv.FormatInt(clk.Now().Unix(), 10) + "\n"); rec.Code != http.StatusNoContent {
			t.Errorf("correct sample %d after the poison: got %d %q, want 204", i, rec.Code, rec.Body)
		}
	}
	if n := window.NumSeries(); n != 1 {
		t.Errorf("series: got %d, want 1", n)
	}
	if got := testutil.ToFloat64(h.rejected.WithLabelValues(EndpointWriteV1, "out_of_window")); got != 1 {
		t.Errorf("lines rejected out_of_window: got %v, want 1", got)
	}
	t.Run("no lower bound when forwarding", func(t *testing.T) {
		// A collector that forwards to long-term storage takes old
		// samples (an agent's spool replayed after a long outage); the
		// future is refused all the same.
		h := NewHandler(Options{Appender: &fakeAppender{}, Observer: &fakeObserver{}, MaxBodyBytes: 1 << 16, MaxAge: -1, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
		hdr := map[string]string{wire.HeaderHostname: "web1"}
		if rec := post(h.Push(), wire.PushPath, "m v=1 "+ms(clk.Now().Add(-48*time.Hour))+"\n", hdr); rec.Code != http.StatusNoContent {
			t.Errorf("no lower bound, 2 days old: got %d %q, want 204", rec.Code, rec.Body)
		}
		if rec := post(h.Push(), wire.PushPath, "m v=1 "+ms(clk.Now().Add(11*time.Minute))+"\n", hdr); rec.Code != http.StatusBadRequest {
			t.Errorf("no lower bound, 11 minutes ahead: got %d %q, want 400", rec.Code, rec.Body)
		}
	})

	// The bounds, on the push endpoint (milliseconds) with a fresh series
	// per case.
	now := clk.Now()
	for i, tc := range []struct {
		at   time.Time
		code int
		want string
	}{
		{now.Add(10 * time.Minute), http.StatusNoContent, ""},
		{now.Add(10*time.Minute + time.Millisecond), http.StatusBadRequest, "line 1: timestamp 2026-12-04T12:10:30.001Z is more than 10m0s ahead of the collector's clock"},
		{now.Add(-time.Hour), http.StatusNoContent, ""},
		{now.Add(-time.Hour - time.Millisecond), http.StatusBadRequest, "line 1: timestamp 2026-12-04T11:00:29.999Z is older than 1h0m0s, the recent window"},
	} {
		rec := post(h.Push(), wire.PushPath, "b"+strconv.Itoa(i)+" v=1 "+ms(tc.at)+"\n", map[string]string{wire.HeaderHostname: "web1"})
		if rec.Code != tc.code || !strings.Contains(errText(rec.Body), tc.want) {
			t.Errorf("sample at %s: got %d %q, want %d %q", tc.at, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
}

// TestOutOfOrderReported: a sample older than its series' newest is
// refused by the window; that used to be answered 204. It is reported in
// the partial write with its line, and counted by reason.
func TestOutOfOrderReported(t *testing.T) {
	window, obs := samples.New(time.Hour, 0, 0), &fakeObserver{}
	h := newTestHandler(window, obs, func() time.Time { return t0 }, nil)
	hdr := map[string]string{wire.HeaderHostname: "web1"}
	if rec := post(h.Push(), wire.PushPath, "m v=1 "+ms(t0)+"\n", hdr); rec.Code != http.StatusNoContent {
		t.Fatalf("first push: got %d %q", rec.Code, rec.Body)
	}
	body := "n v=1 " + ms(t0) + "\nm v=2 " + ms(t0.Add(-time.Second)) + "\nm v=3 " + ms(t0.Add(-2*time.Second)) + "\n"
	rec := post(h.Push(), wire.PushPath, body, hdr)
	want := "partial write: 2 samples refused (2 out of order); first: line 2: m_v at 2026-12-04T11:59:59Z: sample older than the series' newest"
	if rec.Code != http.StatusBadRequest || !strings.Contains(errText(rec.Body), want) {
		t.Errorf("got %d %q, want 400 %q", rec.Code, rec.Body, want)
	}
	if got := testutil.ToFloat64(h.refused.WithLabelValues("out_of_order")); got != 2 {
		t.Errorf("refused out_of_order: got %v, want 2", got)
	}
	if window.NumSeries() != 2 || len(obs.observed) != 2 {
		t.Errorf("the good line and the sign of life count: got %d series, %d observations", window.NumSeries(), len(obs.observed))
	}
	// On /write, as InfluxDB's JSON error.
	rec = post(h.WriteV1(), "/write?precision=ms", "m,host=web1 v=2 "+ms(t0.Add(-time.Second))+"\n", nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"error":"partial write: 1 samples refused (1 out of order); first: line 1:`) {
		t.Errorf("v1: got %d %q", rec.Code, rec.Body)
	}
}

// TestIntervalBounded: X-Nines-Interval sets the host's down deadline;
// "100000h" made a host never go DOWN. 100ms (the agent's own lower
// bound) to 1h are accepted.
func TestIntervalBounded(t *testing.T) {
	obs := &fakeObserver{}
	h := newTestHandler(&fakeAppender{}, obs, func() time.Time { return t0 }, nil)
	for _, tc := range []struct {
		interval string
		code     int
	}{
		{"100000h", http.StatusBadRequest}, {"1h0m1s", http.StatusBadRequest}, {"99ms", http.StatusBadRequest}, {"1ns", http.StatusBadRequest},
		{"0s", http.StatusBadRequest}, {"-5s", http.StatusBadRequest},
		{"100ms", http.StatusNoContent}, {"1h", http.StatusNoContent}, {"15s", http.StatusNoContent},
	} {
		rec := post(h.Push(), wire.PushPath, "m v=1\n", map[string]string{wire.HeaderHostname: "web1", wire.HeaderInterval: tc.interval})
		if rec.Code != tc.code {
			t.Errorf("interval %s: got %d %q, want %d", tc.interval, rec.Code, rec.Body, tc.code)
		}
		if tc.code == http.StatusBadRequest && !strings.Contains(errText(rec.Body), "want a duration from 100ms to 1h0m0s") {
			t.Errorf("interval %s: got %q, want the bounds named", tc.interval, rec.Body)
		}
	}
	if len(obs.observed) != 3 {
		t.Errorf("observations: got %d, want 3", len(obs.observed))
	}
}

// TestContentEncoding: content codings are case-insensitive, and x-gzip
// is gzip.
func TestContentEncoding(t *testing.T) {
	app := &fakeAppender{}
	h := newHandler(app, &fakeObserver{})
	for _, enc := range []string{"gzip", "GZIP", "Gzip", "x-gzip", "X-GZIP"} {
		if rec := push(t, h, []byte("m v=1 1000\n"), true, map[string]string{"Content-Encoding": enc}); rec.Code != http.StatusNoContent {
			t.Errorf("Content-Encoding %s: got %d %q, want 204", enc, rec.Code, rec.Body)
		}
	}
	if rec := push(t, h, []byte("m v=1 1000\n"), false, map[string]string{"Content-Encoding": "IDENTITY"}); rec.Code != http.StatusNoContent {
		t.Errorf("Content-Encoding IDENTITY: got %d %q, want 204", rec.Code, rec.Body)
	}
	if len(app.got) != 6 {
		t.Errorf("samples: got %d, want 6", len(app.got))
	}
}

// logCounter counts log records at Warn and above.
type logCounter struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logCounter) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelWarn }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) messages(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Message == msg {
			n++
		}
	}
	return n
}

// TestIdentityPinned: any agent token could speak for any host, and a
// goodbye with any hostname put that host in SHUTDOWN (issue 16 item 9).
// A host's agent ID is pinned at first contact: another agent's push or
// goodbye is refused (409), counted and logged at most once a minute.
func TestIdentityPinned(t *testing.T) {
	clk := &clock{t: t0}
	app, obs, logs := &fakeAppender{}, &fakeObserver{}, &logCounter{}
	h := newTestHandler(app, obs, clk.Now, slog.New(logs))
	send := func(host, id, goodbye, body string) *httptest.ResponseRecorder {
		return post(h.Push(), wire.PushPath, body, map[string]string{wire.HeaderHostname: host, wire.HeaderHostID: id, wire.HeaderGoodbye: goodbye})
	}
	line := "m v=1\n"
	if rec := send("web1", "machine-1", "", line); rec.Code != http.StatusNoContent {
		t.Fatalf("first contact: got %d %q", rec.Code, rec.Body)
	}
	for _, tc := range []struct{ name, id, goodbye, want string }{
		{"push from another agent", "machine-2", "", `host "web1" is bound to another agent: its X-Nines-Host-Id differs`},
		{"goodbye from another agent", "machine-2", "1", `host "web1" is bound to another agent`},
		{"goodbye without a host ID", "", "1", `goodbye for host "web1" refused: it has no X-Nines-Host-Id header`},
		{"goodbye with the hostname as ID", "web1", "1", `host "web1" is bound to another agent`},
	} {
		rec := send("web1", tc.id, tc.goodbye, line)
		if rec.Code != http.StatusConflict || !strings.Contains(errText(rec.Body), tc.want) {
			t.Errorf("%s: got %d %q, want 409 %q", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
	if len(app.got) != 1 || len(obs.observed) != 1 || len(obs.goodbyes) != 0 || obs.ids["web1"] != "machine-1" {
		t.Errorf("refused pushes recorded: samples %d, observations %v, goodbyes %v, ids %v", len(app.got), obs.observed, obs.goodbyes, obs.ids)
	}
	if a, b := testutil.ToFloat64(h.identity.WithLabelValues(reasonIDMismatch)), testutil.ToFloat64(h.identity.WithLabelValues(reasonGoodbyeNoID)); a != 3 || b != 1 {
		t.Errorf("refusals counted: got %v mismatches and %v goodbyes without ID, want 3 and 1", a, b)
	}
	const refusal = "push refused: agent ID does not match the host's"
	if n := logs.messages(refusal); n != 1 {
		t.Errorf("log lines in the first minute: got %d, want 1", n)
	}
	clk.Add(time.Minute)
	send("web1", "machine-2", "", line)
	if n := logs.messages(refusal); n != 2 {
		t.Errorf("log lines a minute later: got %d, want 2", n)
	}

	// The host's own agent: a push without an ID keeps the pin; its
	// goodbye is accepted.
	if rec := send("web1", "", "", line); rec.Code != http.StatusNoContent || obs.id != "machine-1" {
		t.Errorf("push without host ID: got %d %q, recorded ID %q, want 204 keeping machine-1", rec.Code, rec.Body, obs.id)
	}
	if rec := send("web1", "machine-1", "1", ""); rec.Code != http.StatusNoContent || strings.Join(obs.goodbyes, ",") != "web1" {
		t.Errorf("own goodbye: got %d %q, goodbyes %v", rec.Code, rec.Body, obs.goodbyes)
	}

	// A host first seen through /write has its name as ID; the first
	// agent with a real ID takes it over, and /write keeps it.
	if rec := post(h.WriteV1(), "/write", "m,host=tele v=1\n", nil); rec.Code != http.StatusNoContent || obs.ids["tele"] != "tele" {
		t.Fatalf("write: got %d %q, ids %v", rec.Code, rec.Body, obs.ids)
	}
	if rec := send("tele", "machine-3", "", line); rec.Code != http.StatusNoContent || obs.ids["tele"] != "machine-3" {
		t.Errorf("agent after /write: got %d %q, ids %v", rec.Code, rec.Body, obs.ids)
	}
	if rec := post(h.WriteV1(), "/write", "m,host=tele v=2\n", nil); rec.Code != http.StatusNoContent || obs.ids["tele"] != "machine-3" {
		t.Errorf("write after the agent: got %d %q, ids %v, want machine-3 kept", rec.Code, rec.Body, obs.ids)
	}
	if rec := send("tele", "machine-4", "", line); rec.Code != http.StatusConflict {
		t.Errorf("another agent after the takeover: got %d %q, want 409", rec.Code, rec.Body)
	}
}

// TestIdentityAcrossRestart: the pin is the tracker's, kept in the store:
// after a restart, a goodbye from another agent still cannot put the host
// in SHUTDOWN.
func TestIdentityAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nines.db")
	logger := slog.New(slog.DiscardHandler)
	start := func() (*sqlite.Store, *state.Tracker) {
		t.Helper()
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := state.New(ctx, st, state.Options{DownAfter: 3, DefaultInterval: 10 * time.Second}, t0, logger)
		if err != nil {
			t.Fatal(err)
		}
		return st, tr
	}
	st, tr := start()
	h := newTestHandler(&fakeAppender{}, tr, func() time.Time { return t0 }, nil)
	hdr := map[string]string{wire.HeaderHostname: "web1", wire.HeaderHostID: "machine-1"}
	if rec := post(h.Push(), wire.PushPath, "m v=1\n", hdr); rec.Code != http.StatusNoContent {
		t.Fatalf("push: got %d %q", rec.Code, rec.Body)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, tr = start()
	defer st.Close()
	if id, ok := tr.AgentID("web1"); id != "machine-1" || !ok {
		t.Fatalf("restored agent ID: got %q, %v", id, ok)
	}
	if id, ok := tr.AgentID("nobody"); id != "" || ok {
		t.Errorf("unknown target: got %q, %v", id, ok)
	}
	h = newTestHandler(&fakeAppender{}, tr, func() time.Time { return t0.Add(time.Minute) }, nil)
	for _, id := range []string{"machine-2", ""} {
		rec := post(h.Push(), wire.PushPath, "", map[string]string{wire.HeaderHostname: "web1", wire.HeaderHostID: id, wire.HeaderGoodbye: "1"})
		if rec.Code != http.StatusConflict {
			t.Errorf("goodbye with ID %q: got %d %q, want 409", id, rec.Code, rec.Body)
		}
	}
	for _, tg := range tr.Snapshot() {
		if tg.Name == "web1" && tg.State != state.Up {
			t.Errorf("web1: got %s, want UP", tg.State)
		}
	}
}
