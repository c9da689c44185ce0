package promapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
)

// t0 is the fixture's clock: samples every 15 s from t0-10m to t0.
var t0 = time.Unix(1_700_000_000, 0).UTC()

func fixture(t testing.TB, opts Options) (*API, http.Handler) {
	t.Helper()
	st := samples.New(time.Hour, 0, 0)
	add := func(lset labels.Labels, f func(i int) float64) {
		for i := 0; i <= 40; i++ {
			if err := st.Append(lset, t0.Add(time.Duration(i-40)*15*time.Second).UnixMilli(), f(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(labels.FromStrings("__name__", "req_total", "host", "a", "code", "200"), func(i int) float64 { return float64(10 * i) })
	add(labels.FromStrings("__name__", "req_total", "host", "b", "code", "500"), func(i int) float64 { return float64(i) })
	add(labels.FromStrings("__name__", "temp", "host", "a"), func(int) float64 { return 1.5 })
	opts.Queryable = st
	opts.Now = func() time.Time { return t0 }
	a := New(opts)
	mux := http.NewServeMux()
	// The test's authentication: the bearer token "viewer".
	require := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer viewer" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	a.Register(mux, require)
	return a, mux
}

func do(t testing.TB, h http.Handler, method, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		path += "?" + form.Encode()
	}
	req := httptest.NewRequest(method, path, body)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth("grafana", "viewer")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// TestAnswers pins Prometheus's JSON for each endpoint, read off
// Prometheus's API documentation (querying/api.md).
func TestAnswers(t *testing.T) {
	_, h := fixture(t, Options{})
	ts := "1700000000"
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
		code               int
		want               string
	}{
		{"instant vector", "GET", "/api/v1/query", url.Values{"query": {"temp"}, "time": {ts}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"temp","host":"a"},"value":[1700000000,"1.5"]}]}}`},
		{"instant by POST, default time is now", "POST", "/api/v1/query", url.Values{"query": {"sum by (code) (rate(req_total[1m]))"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"code":"200"},"value":[1700000000,"0.6666666666666666"]},{"metric":{"code":"500"},"value":[1700000000,"0.06666666666666665"]}]}}`},
		{"scalar", "GET", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"1700000000.5"}}, 200,
			`{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"2"]}}`},
		{"string", "GET", "/api/v1/query", url.Values{"query": {`"up"`}, "time": {ts}}, 200,
			`{"status":"success","data":{"resultType":"string","result":[1700000000,"up"]}}`},
		{"range", "GET", "/api/v1/query_range", url.Values{"query": {`temp`}, "start": {"1699999970"}, "end": {"2023-11-14T22:13:20Z"}, "step": {"15s"}}, 200,
			`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"temp","host":"a"},"values":[[1699999970,"1.5"],[1699999985,"1.5"],[1700000000,"1.5"]]}]}}`},
		{"limit", "GET", "/api/v1/query", url.Values{"query": {"sort(req_total)"}, "time": {ts}, "limit": {"1"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"req_total","code":"500","host":"b"},"value":[1700000000,"40"]}]},"warnings":["results truncated due to limit"]}`},
		{"syntax error", "GET", "/api/v1/query", url.Values{"query": {"sum("}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}`},
		{"bad time", "GET", "/api/v1/query", url.Values{"query": {"1"}, "time": {"yesterday"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp"}`},
		{"zero step", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"1"}, "step": {"0"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"}`},
		{"too many points", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"11001"}, "step": {"1"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`},
		{"end before start", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"10"}, "end": {"1"}, "step": {"1"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": end timestamp must not be before start time"}`},
		{"execution error", "GET", "/api/v1/query", url.Values{"query": {`label_replace(temp, "x", "$1", "host", "(")`}, "time": {ts}}, 422,
			`{"status":"error","errorType":"execution","error":"invalid regular expression in label_replace(): ("}`},
		{"series", "GET", "/api/v1/series", url.Values{"match[]": {"req_total", `{host="a"}`}}, 200,
			`{"status":"success","data":[{"__name__":"req_total","code":"200","host":"a"},{"__name__":"req_total","code":"500","host":"b"},{"__name__":"temp","host":"a"}]}`},
		{"series needs match", "GET", "/api/v1/series", nil, 400,
			`{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}`},
		{"series refuses empty matchers", "GET", "/api/v1/series", url.Values{"match[]": {`{host=~".*"}`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"match[] must contain at least one non-empty matcher"}`},
		{"labels", "GET", "/api/v1/labels", nil, 200,
			`{"status":"success","data":["__name__","code","host"]}`},
		{"labels of a match", "POST", "/api/v1/labels", url.Values{"match[]": {"temp"}}, 200,
			`{"status":"success","data":["__name__","host"]}`},
		{"label values", "GET", "/api/v1/label/host/values", nil, 200,
			`{"status":"success","data":["a","b"]}`},
		{"metric names", "GET", "/api/v1/label/__name__/values", url.Values{"match[]": {`{host="a"}`}}, 200,
			`{"status":"success","data":["req_total","temp"]}`},
		{"no values", "GET", "/api/v1/label/nope/values", nil, 200,
			`{"status":"success","data":[]}`},
		{"no exemplars", "GET", "/api/v1/query_exemplars", url.Values{"query": {"temp"}, "start": {"1699999000"}, "end": {ts}}, 200,
			`{"status":"success","data":[]}`},
		{"exemplars of a bad query", "POST", "/api/v1/query_exemplars", url.Values{"query": {"temp{"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"1:6: parse error: unexpected end of input inside braces"}`},
		{"no metadata", "GET", "/api/v1/metadata", nil, 200,
			`{"status":"success","data":{}}`},
		{"label values limit", "GET", "/api/v1/label/host/values", url.Values{"limit": {"1"}}, 200,
			`{"status":"success","data":["a"],"warnings":["results truncated due to limit"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, h, tc.method, tc.path, tc.form)
			if code != tc.code || body != tc.want {
				t.Errorf("%s %s: got %d %s\nwant %d %s", tc.method, tc.path, code, body, tc.code, tc.want)
			}
		})
	}
}

func TestNeedsToken(t *testing.T) {
	_, h := fixture(t, Options{})
	for _, path := range []string{"/api/v1/query?query=1", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/label/host/values", "/api/v1/query_exemplars", "/api/v1/metadata", "/federate"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: got %d, want 401", path, rec.Code)
		}
	}
}

// TestLimits: a query needing more samples than MaxSamples fails as
// Prometheus's does; one finding no free slot within its timeout gets
// Prometheus's timeout answer.
func TestLimits(t *testing.T) {
	a, h := fixture(t, Options{MaxSamples: 10, MaxConcurrency: 1})
	code, body := do(t, h, "GET", "/api/v1/query", url.Values{"query": {"req_total[10m]"}, "time": {"1700000000"}})
	if want := `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}`; code != 422 || body != want {
		t.Errorf("too many samples: got %d %s, want 422 %s", code, body, want)
	}
	// The only slot is taken.
	if _, err := a.gate.Insert(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	code, body = do(t, h, "GET", "/api/v1/query", url.Values{"query": {"1"}, "timeout": {"0.05"}})
	if want := `{"status":"error","errorType":"timeout","error":"query timed out in query queue"}`; code != 503 || body != want {
		t.Errorf("no free slot: got %d %s, want 503 %s", code, body, want)
	}
	a.gate.Delete(0)
	if code, body := do(t, h, "GET", "/api/v1/query", url.Values{"query": {"1"}}); code != 200 {
		t.Errorf("slot free again: got %d %s", code, body)
	}
}

func TestFederate(t *testing.T) {
	_, h := fixture(t, Options{LookbackDelta: time.Minute})
	code, body := do(t, h, "GET", "/federate", url.Values{"match[]": {"req_total", "temp"}})
	want := `# TYPE req_total untyped
req_total{code="200",host="a",instance=""} 400 1700000000000
req_total{code="500",host="b",instance=""} 40 1700000000000
# TYPE temp untyped
temp{host="a",instance=""} 1.5 1700000000000`
	if code != 200 || body != want {
		t.Errorf("got %d\n%s\nwant\n%s", code, body, want)
	}
	code, body = do(t, h, "GET", "/federate", url.Values{"match[]": {"sum("}})
	if code != 400 || !strings.Contains(body, "parse error") {
		t.Errorf("bad selector: got %d %s, want 400 naming the parse error", code, body)
	}
}
