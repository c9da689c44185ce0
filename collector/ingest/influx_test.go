package ingest

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
)

func TestTimestampPrecision(t *testing.T) {
	for _, tc := range []struct {
		prec string
		ts   string
		want int64
	}{
		{"", "1700000000123456789", 1700000000123},
		{"ns", "1700000000123456789", 1700000000123},
		{"us", "1700000000123456", 1700000000123},
		{"ms", "1700000000123", 1700000000123},
		{"s", "1700000000", 1700000000000},
		{"m", "28333333", 1699999980000},
		{"h", "472222", 1699999200000},
	} {
		unit, err := ParsePrecision(tc.prec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := timestamp([]byte(tc.ts), unit, time.Time{})
		if err != nil || got != tc.want {
			t.Errorf("precision %q, %s: got %d, %v; want %d", tc.prec, tc.ts, got, err, tc.want)
		}
	}
	if _, err := ParsePrecision("d"); err == nil {
		t.Error("precision d: got no error")
	}
	if _, err := timestamp([]byte("99999999999999999"), time.Hour, time.Time{}); err == nil {
		t.Error("overflowing timestamp: got no error")
	}
}

func TestWriteEndpoints(t *testing.T) {
	app, obs := &fakeAppender{}, &fakeObserver{}
	h := NewHandler(Options{Appender: app, Observer: obs, MaxBodyBytes: 1 << 16, MaxLineBytes: 1024, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Unix(1700000000, 0) }})
	post := func(handler http.Handler, url, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}

	// Telegraf-style v1 write, seconds precision.
	rec := post(h.WriteV1(), "/write?db=telegraf&precision=s", "cpu,host=web1,cpu=cpu-total usage_idle=97.5 1700000000\nmem,host=web2 used_percent=40i 1700000000\n")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("v1 write: got %d %s", rec.Code, rec.Body)
	}
	if got, want := app.got[0].lset, `{__name__="cpu_usage_idle", cpu="cpu-total", db="telegraf", host="web1"}`; got != want {
		t.Errorf("v1 labels: got %s, want %s", got, want)
	}
	if app.got[0].t != 1700000000000 {
		t.Errorf("v1 timestamp: got %d", app.got[0].t)
	}
	if strings.Join(obs.observed, ",") != "web1,web2" {
		t.Errorf("hosts observed: got %v, want web1,web2", obs.observed)
	}

	// v1 partial write: 400 with InfluxDB's JSON error naming the line.
	rec = post(h.WriteV1(), "/write?db=x", "m v=1\nm v=\nm v=3\n")
	var v1 struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &v1)
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(v1.Error, "partial write: 1 of 3 lines rejected; first: line 2:") {
		t.Errorf("v1 partial write: got %d %q", rec.Code, rec.Body)
	}

	// v2 write: bucket as db label, nanosecond default precision.
	rec = post(h.WriteV2(), "/api/v2/write?org=o&bucket=b", "disk,host=db1 used=5 1700000000000000000\n")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("v2 write: got %d %s", rec.Code, rec.Body)
	}
	last := app.got[len(app.got)-1]
	if last.lset != `{__name__="disk_used", db="b", host="db1"}` || last.t != 1700000000000 {
		t.Errorf("v2 sample: got %+v", last)
	}
	rec = post(h.WriteV2(), "/api/v2/write?bucket=b&precision=fortnight", "m v=1\n")
	var v2 struct{ Code, Message string }
	_ = json.Unmarshal(rec.Body.Bytes(), &v2)
	if rec.Code != http.StatusBadRequest || v2.Code != "invalid" || !strings.Contains(v2.Message, `invalid precision "fortnight"`) {
		t.Errorf("v2 bad precision: got %d %q", rec.Code, rec.Body)
	}
}

func TestV1Credentials(t *testing.T) {
	var got string
	h := V1Credentials(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	for _, tc := range []struct {
		name, url, user, pass, header, want string
	}{
		{"query p", "/write?u=telegraf&p=tok", "", "", "", "Bearer tok"},
		{"basic auth", "/write", "telegraf", "tok2", "", "Bearer tok2"},
		{"token header kept", "/write", "", "", "Token tok3", "Token tok3"},
	} {
		req := httptest.NewRequest(http.MethodPost, tc.url, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSeriesLimitPerTarget(t *testing.T) {
	store := samples.New(time.Hour, 0, 2)
	h := NewHandler(Options{Appender: store, Observer: &fakeObserver{}, MaxBodyBytes: 1 << 16, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow }})
	req := httptest.NewRequest(http.MethodPost, "/write", strings.NewReader("m,host=a x=1,y=2,z=3 1\nm,host=b x=1 1\n"))
	rec := httptest.NewRecorder()
	h.WriteV1().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "1 samples refused (1 series limit reached); first: line 1: m_z at 1970-01-01T00:00:00Z: series limit of the target reached") {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
	if got := store.NumSeries(); got != 3 {
		t.Errorf("series stored: got %d, want 3 (two of host a, one of host b)", got)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	block := make(chan struct{})
	app := appenderFunc(func(labels.Labels, int64, float64) error { <-block; return nil })
	h := NewHandler(Options{Appender: app, Observer: &fakeObserver{}, MaxBodyBytes: 1 << 16, MaxConcurrent: 1, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.WriteV1().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/write", strings.NewReader("m v=1\n")))
		done <- rec.Code
	}()
	// Wait until the first request holds the only slot.
	for len(h.sem) == 0 {
		time.Sleep(time.Millisecond)
	}
	rec := httptest.NewRecorder()
	h.WriteV1().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/write", strings.NewReader("m v=1\n")))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second request: got %d, want 429 with Retry-After", rec.Code)
	}
	close(block)
	if code := <-done; code != http.StatusNoContent {
		t.Errorf("first request: got %d, want 204", code)
	}
}

type appenderFunc func(labels.Labels, int64, float64) error

func (f appenderFunc) Append(l labels.Labels, t int64, v float64) error { return f(l, t, v) }
