package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
)

func influxMux(t *testing.T) *http.ServeMux {
	t.Helper()
	a := auth.New([]config.Token{
		{Name: "telegraf", Role: config.RoleAgent, Hash: sha256.Sum256([]byte("agent-secret"))},
		{Name: "ops", Role: config.RoleViewer, Hash: sha256.Sum256([]byte("view-secret"))},
	})
	mux := http.NewServeMux()
	api := &InfluxAPI{}
	clock := time.Unix(1000, 0)
	api.Now = func() time.Time { return clock }
	api.Register(mux, a)
	clock = clock.Add(90 * time.Second)
	return mux
}

func doReq(mux http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestInfluxPingHealthReady(t *testing.T) {
	mux := influxMux(t)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rec := doReq(mux, m, "/ping", nil, nil)
		if rec.Code != http.StatusNoContent || rec.Header().Get("X-Influxdb-Version") != InfluxVersion {
			t.Errorf("%s /ping: got %d, version %q; want 204, %q", m, rec.Code, rec.Header().Get("X-Influxdb-Version"), InfluxVersion)
		}
	}
	rec := doReq(mux, http.MethodGet, "/ping?verbose=true", nil, nil)
	if got, want := strings.TrimSpace(rec.Body.String()), `{"version":"`+InfluxVersion+`"}`; rec.Code != 200 || got != want {
		t.Errorf("/ping?verbose=true: got %d %s, want 200 %s", rec.Code, got, want)
	}
	rec = doReq(mux, http.MethodGet, "/health", nil, nil)
	if got, want := strings.TrimSpace(rec.Body.String()), `{"name":"influxdb","message":"ready for queries and writes","status":"pass","checks":[],"version":"1.8.10","commit":""}`; rec.Code != 200 || got != want {
		t.Errorf("/health: got %d %s, want 200 %s", rec.Code, got, want)
	}
	rec = doReq(mux, http.MethodGet, "/ready", nil, nil)
	var ready map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &ready); err != nil || rec.Code != 200 {
		t.Fatalf("/ready: got %d %s (%v)", rec.Code, rec.Body, err)
	}
	if ready["status"] != "ready" || ready["up"] != "1m30s" || ready["started"] != "1970-01-01T00:16:40Z" {
		t.Errorf("/ready: got %v", ready)
	}
}

func TestInfluxQuery(t *testing.T) {
	mux := influxMux(t)
	post := func(q string, hdr map[string]string) *httptest.ResponseRecorder {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range hdr {
			h[k] = v
		}
		return doReq(mux, http.MethodPost, "/query", strings.NewReader(url.Values{"q": {q}}.Encode()), h)
	}
	basic := func(user, pass string) map[string]string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(user, pass)
		return map[string]string{"Authorization": req.Header.Get("Authorization")}
	}
	f := func(name string, rec *httptest.ResponseRecorder, wantCode int, wantBody string) {
		t.Helper()
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != wantCode || got != wantBody {
			t.Errorf("%s: got %d %s\nwant %d %s", name, rec.Code, got, wantCode, wantBody)
		}
	}
	// Telegraf's outputs.influxdb, with its token as password.
	f("create as Telegraf", post(`CREATE DATABASE "telegraf"`, basic("telegraf", "agent-secret")), 200, `{"results":[{"statement_id":0}]}`)
	f("create with an escaped quote and options", post(`CREATE DATABASE "a\"b" WITH DURATION 1d; create database plain`, map[string]string{"Authorization": "Token agent-secret"}), 200,
		`{"results":[{"statement_id":0},{"statement_id":1}]}`)
	f("show", doReq(mux, http.MethodGet, "/query?q=SHOW+DATABASES&p=agent-secret", nil, nil), 200,
		`{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["a\"b"],["plain"],["telegraf"]]}]}]}`)
	f("unsupported statement", post(`SELECT * FROM cpu`, basic("", "agent-secret")), 200,
		`{"results":[{"statement_id":0,"error":"statement not supported: \"SELECT * FROM cpu\": Nines takes writes only and answers CREATE DATABASE and SHOW DATABASES; query its series with PromQL"}]}`)
	f("bad name", post("CREATE DATABASE \"a\x01\"", basic("", "agent-secret")), 200,
		`{"results":[{"statement_id":0,"error":"invalid database name: control character U+0001 at byte 1"}]}`)
	f("missing q", post("", basic("", "agent-secret")), 400, `{"error":"missing required parameter \"q\""}`)
	f("unterminated quote", post(`CREATE DATABASE "x`, basic("", "agent-secret")), 400, `{"error":"error parsing query: unterminated quote at char 17"}`)
	// Auth as /write: the agent role.
	if rec := post(`SHOW DATABASES`, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token: got %d, want 401", rec.Code)
	}
	if rec := post(`SHOW DATABASES`, basic("", "view-secret")); rec.Code != http.StatusForbidden {
		t.Errorf("viewer token: got %d, want 403", rec.Code)
	}
	big := bytes.Repeat([]byte("x"), maxQueryBytes+1)
	if rec := doReq(mux, http.MethodPost, "/query?p=agent-secret", bytes.NewReader(append([]byte("q="), big...)),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); rec.Code != http.StatusBadRequest {
		t.Errorf("oversized body: got %d, want 400", rec.Code)
	}
}

func TestInfluxQueryDatabaseBound(t *testing.T) {
	api := &InfluxAPI{}
	for i := range MaxInfluxDatabases {
		if r := api.statement([]string{"CREATE", "DATABASE", "db" + strconv.Itoa(i)}); r.Error != "" {
			t.Fatalf("create %d: %s", i, r.Error)
		}
	}
	if r := api.statement([]string{"CREATE", "DATABASE", "one-more"}); r.Error == "" {
		t.Error("database past the bound accepted")
	}
}

// TestStringOnlyLines: Telegraf's inputs.system writes a line whose only
// field is a string every interval; it is accepted (204), its host
// reports, and the dropped field is counted. Bad lines still get the
// partial-write 400.
func TestStringOnlyLines(t *testing.T) {
	f := func(body string, wantCode int, wantSamples, wantDropped, wantRejected int, wantHosts ...string) {
		t.Helper()
		reg := prometheus.NewRegistry()
		app, obs := &fakeAppender{}, &fakeObserver{}
		h := NewHandler(Options{Appender: app, Observer: obs, MaxBodyBytes: 1 << 16, Registerer: reg,
			Now: func() time.Time { return testNow }})
		for _, ep := range []struct {
			h      http.Handler
			target string
		}{{h.WriteV1(), "/write?db=telegraf&precision=s"}, {h.WriteV2(), "/api/v2/write?bucket=telegraf&precision=s"}} {
			rec := doReq(ep.h, http.MethodPost, ep.target, strings.NewReader(body), nil)
			if rec.Code != wantCode {
				t.Errorf("%s %q: got %d %s, want %d", ep.target, body, rec.Code, rec.Body, wantCode)
			}
		}
		if got := len(app.got); got != 2*wantSamples {
			t.Errorf("%q: got %d samples, want %d", body, got, 2*wantSamples)
		}
		if got := testutil.ToFloat64(h.dropped.WithLabelValues("string")); got != float64(2*wantDropped) {
			t.Errorf("%q: dropped %v string fields, want %d", body, got, 2*wantDropped)
		}
		rejected := 0.0
		for _, r := range rejectReasons {
			rejected += testutil.ToFloat64(h.rejected.WithLabelValues(EndpointWriteV1, r))
		}
		if rejected != float64(wantRejected) {
			t.Errorf("%q: rejected %v lines on /write, want %d", body, rejected, wantRejected)
		}
		var wantObserved []string // once per endpoint
		for range 2 {
			wantObserved = append(wantObserved, wantHosts...)
		}
		if got := strings.Join(obs.observed, ","); got != strings.Join(wantObserved, ",") {
			t.Errorf("%q: hosts observed %q, want %q", body, got, wantHosts)
		}
	}
	f(`system,host=a uptime_format="1 day" 3`, 204, 0, 1, 0, "a")
	f(`system,host=a uptime_format="1 day",uptime=86400i 3`, 204, 1, 1, 0, "a")
	f("system,host=a uptime_format=\"1 day\" 3\nsystem,host=a load1= 3", 400, 0, 1, 1, "a")
	f("system,host=a uptime_format=\"1 day\" 3\nsystem,host=a load1=1 3\nsystem,host=a x=\"y\",y=\"z\" 3", 204, 1, 3, 0, "a")
	// A bad line holding a string field: rejected, the string not counted as dropped.
	f(`system,host=a uptime_format="1 day",n=zz 3`, 400, 0, 0, 1)
}

// FuzzInfluxQuery: any query gets an answer, never a panic, and every
// statement a result.
func FuzzInfluxQuery(f *testing.F) {
	for _, q := range []string{`CREATE DATABASE "telegraf"`, `SHOW DATABASES`, `CREATE DATABASE "a\"b" WITH DURATION 1d; create database plain`,
		`SELECT * FROM cpu`, `CREATE DATABASE "x`, `;;`, `'`, "CREATE DATABASE \"\x01\""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		api := &InfluxAPI{}
		stmts, err := splitStatements(q)
		if err != nil {
			return
		}
		for _, s := range stmts {
			if len(s) == 0 {
				t.Fatalf("%q: empty statement", q)
			}
			_ = api.statement(s)
		}
	})
}
