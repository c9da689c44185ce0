package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/ninesmon/nines/internal/peertest"
)

// confSample is one sample of the conformance data set.
type confSample struct {
	t int64 // Unix ms
	v float64
}

// confSeries is one series: its measurement and field (the line-protocol
// name; the series is measurement_field) and its tags.
type confSeries struct {
	measurement, field string
	tags               [][2]string // sorted by name
	samples            []confSample
}

func (s confSeries) name() string { return s.measurement + "_" + s.field }

// conformanceData makes counters (with a reset), gauges, classic
// histogram buckets and a series that stops half way, every 15 s over the
// 30 minutes before end. Sample times fall between whole seconds (a
// random 100-900 ms past one): queries are evaluated at whole seconds, so
// no sample lies on the boundary of a range or lookback window, where
// Prometheus 2 (closed on the left) and 3 (open) legitimately differ.
// Counters start far from zero: where a series starts inside a rate's
// range, Prometheus 2.42 clamps the extrapolation at the counter's zero
// point before limiting it to half a sample interval and later versions
// after, a fix that legitimately changes those answers.
func conformanceData(r *rand.Rand, end time.Time) []confSeries {
	var out []confSeries
	steps := 120
	at := func(k int) int64 {
		return end.Add(time.Duration(k-steps)*15*time.Second).UnixMilli() + 100 + r.Int64N(800)
	}
	for _, host := range []string{"a", "b", "c"} {
		for _, code := range []string{"200", "500"} {
			s := confSeries{measurement: "conf", field: "requests_total", tags: [][2]string{{"code", code}, {"host", host}, {"path", "/api"}}}
			v := 5000.0
			for k := 0; k < steps; k++ {
				v += float64(r.IntN(50))
				if host == "b" && code == "200" && k == 70 {
					v = 3 // a restart: the counter resets
				}
				s.samples = append(s.samples, confSample{at(k), v})
			}
			out = append(out, s)
		}
		temp := confSeries{measurement: "conf", field: "temp_celsius", tags: [][2]string{{"host", host}}}
		for k := 0; k < steps; k++ {
			temp.samples = append(temp.samples, confSample{at(k), math.Round((15+r.Float64()*20)*100) / 100})
		}
		out = append(out, temp)
		for _, mode := range []string{"idle", "user"} {
			s := confSeries{measurement: "conf", field: "cpu_seconds_total", tags: [][2]string{{"cpu", "0"}, {"host", host}, {"mode", mode}}}
			v := 1000.0
			for k := 0; k < steps; k++ {
				v += r.Float64() * 15
				s.samples = append(s.samples, confSample{at(k), v})
			}
			out = append(out, s)
		}
		counts := [4]float64{1000, 2000, 3000, 4000}
		var ts []int64
		for k := 0; k < steps; k++ {
			ts = append(ts, at(k))
		}
		buckets := make([]confSeries, 4)
		for i, le := range []string{"0.1", "0.5", "1", "+Inf"} {
			buckets[i] = confSeries{measurement: "conf", field: "latency_seconds_bucket", tags: [][2]string{{"host", host}, {"le", le}}}
		}
		for k := 0; k < steps; k++ {
			for n := r.IntN(20); n > 0; n-- {
				x := r.Float64() * 1.5
				for i, le := range []float64{0.1, 0.5, 1, math.Inf(1)} {
					if x <= le {
						counts[i]++
					}
				}
			}
			for i := range buckets {
				buckets[i].samples = append(buckets[i].samples, confSample{ts[k], counts[i]})
			}
		}
		out = append(out, buckets...)
	}
	gone := confSeries{measurement: "conf", field: "gone", tags: [][2]string{{"host", "a"}}}
	for k := 0; k < steps/2; k++ {
		gone.samples = append(gone.samples, confSample{at(k), float64(k)})
	}
	return append(out, gone)
}

// lineProtocol encodes the data set for Nines's /write?precision=ms.
func lineProtocol(data []confSeries) []byte {
	var b bytes.Buffer
	for _, s := range data {
		for _, p := range s.samples {
			b.WriteString(s.measurement)
			for _, t := range s.tags {
				b.WriteString("," + t[0] + "=" + t[1])
			}
			fmt.Fprintf(&b, " %s=%s %d\n", s.field, strconv.FormatFloat(p.v, 'g', -1, 64), p.t)
		}
	}
	return b.Bytes()
}

// remoteWrite encodes the data set as a Prometheus remote-write request.
func remoteWrite(data []confSeries) []byte {
	var req prompb.WriteRequest
	for _, s := range data {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: s.name()}}}
		for _, t := range s.tags {
			ts.Labels = append(ts.Labels, prompb.Label{Name: t[0], Value: t[1]})
		}
		slices.SortFunc(ts.Labels, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
		for _, p := range s.samples {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: p.t, Value: p.v})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	b, err := req.Marshal()
	if err != nil {
		panic(err)
	}
	return snappy.Encode(nil, b)
}

func post(t *testing.T, url, token, contentType string, body []byte, hdr map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
}

// promAnswer is an answer of Prometheus's query API, decoded loosely.
type promAnswer struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func promGet(t *testing.T, base, token, path string, q url.Values) (int, promAnswer, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path+"?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a promAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("GET %s%s?%s: not Prometheus's JSON: %v: %s", base, path, q.Encode(), err, b)
	}
	return resp.StatusCode, a, string(b)
}

// normalise turns a query result into a canonical form: series sorted by
// their labels (the order of an unsorted result is not part of the
// contract) and values rounded to 10 significant digits (Prometheus 3
// sums with Kahan compensation, 2 does not, so the last digits of sums
// and averages legitimately differ).
func normalise(t *testing.T, data json.RawMessage) string {
	t.Helper()
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	round := func(s string) string {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return s
		}
		if math.Abs(f) < 1e-9 {
			f = 0
		}
		return strconv.FormatFloat(f, 'g', 10, 64)
	}
	point := func(p []any) string {
		return fmt.Sprintf("%v@%s", round(p[1].(string)), strconv.FormatFloat(p[0].(float64), 'f', 3, 64))
	}
	var lines []string
	switch d.ResultType {
	case "scalar", "string":
		var p []any
		if err := json.Unmarshal(d.Result, &p); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, point(p))
	case "vector", "matrix":
		var rs []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			m, _ := json.Marshal(r.Metric) // sorted keys
			var ps []string
			if r.Value != nil {
				ps = append(ps, point(r.Value))
			}
			for _, p := range r.Values {
				ps = append(ps, point(p))
			}
			lines = append(lines, string(m)+" "+strings.Join(ps, " "))
		}
		slices.Sort(lines)
	}
	return d.ResultType + "\n" + strings.Join(lines, "\n")
}

// TestPrometheusConformance sends the same samples to Nines (line
// protocol) and to Debian's Prometheus (remote write), then asks both the
// same instant and range queries, series and label look-ups through
// Prometheus's query API and compares the answers. A Prometheus then
// federates from Nines's /federate with a viewer token, and promtool
// queries Nines.
func TestPrometheusConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prometheus and the collector")
	}
	promBin := peertest.Find(t, "prometheus", "prometheus", "NINES_SKIP_PROMETHEUS")
	promtool := peertest.Find(t, "promtool", "prometheus", "NINES_SKIP_PROMETHEUS")
	collectorBin := binary(t, "collector/cmd/nines-collector")
	dir := t.TempDir()
	ninesAddr, promAddr, fedAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	const viewerToken = "viewer-secret-token"
	write(t, filepath.Join(dir, "viewer.token"), viewerToken+"\n")
	writeCollector(t, dir, ninesAddr, `
    - {name: grafana, role: viewer, token_file: viewer.token}
`)
	write(t, filepath.Join(dir, "prometheus.yml"), "global: {scrape_interval: 1m}\n")
	start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	prom := peertest.Start(t, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"), "--web.listen-address="+promAddr,
		"--web.enable-remote-write-receiver")
	nines := client{base: "http://" + ninesAddr, token: viewerToken}
	nines.waitReady(t, "collector")
	peertest.WaitTCP(t, prom, promAddr, 30*time.Second)
	eventually(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		return (client{base: "http://" + promAddr}).get(t, "/-/ready", nil) == http.StatusOK, "not ready"
	})

	seed := time.Now().UnixNano()
	if s := os.Getenv("NINES_CONFORMANCE_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("seed %d (replay with NINES_CONFORMANCE_SEED)", seed)
	// Queries are evaluated at end plus whole minutes or quarters: 17 s
	// past a minute, end puts no evaluation at a whole minute, so no
	// subquery step ([10m:1m], aligned to whole minutes) lies on the
	// start of a subquery's range, which Prometheus 2 includes and 3 does
	// not.
	end := time.Now().Truncate(time.Minute).Add(-time.Minute + 17*time.Second)
	data := conformanceData(rand.New(rand.NewPCG(uint64(seed), 0)), end)
	post(t, "http://"+ninesAddr+"/write?precision=ms", e2eAgentToken, "text/plain", lineProtocol(data), nil)
	post(t, "http://"+promAddr+"/api/v1/write", "", "application/x-protobuf", remoteWrite(data),
		map[string]string{"Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"})

	unix := func(d time.Duration) string { return strconv.FormatInt(end.Add(d).Unix(), 10) }
	compared, withData, failed := 0, 0, 0
	compare := func(path string, q url.Values, canon func(json.RawMessage) string) {
		t.Helper()
		pc, pa, pb := promGet(t, "http://"+promAddr, "", path, q)
		nc, na, nb := promGet(t, "http://"+ninesAddr, viewerToken, path, q)
		what := path + "?" + q.Encode()
		if pc != nc || pa.Status != na.Status || pa.ErrorType != na.ErrorType {
			t.Errorf("%s:\nprometheus %d %s\nnines      %d %s", what, pc, pb, nc, nb)
			return
		}
		compared++
		if pa.Status != "success" {
			failed++
			return // the error messages of two versions differ in wording
		}
		p, n := canon(pa.Data), canon(na.Data)
		if strings.Contains(p, "\n") || (p != "" && !strings.Contains(p, "matrix") && !strings.Contains(p, "vector")) {
			withData++
		}
		if p != n {
			t.Errorf("%s:\nprometheus %s\nnines      %s", what, p, n)
		}
	}
	queries := []string{
		`conf_temp_celsius`,
		`conf_temp_celsius{host=~"a|b"}`,
		`conf_requests_total{code!="200"}`,
		`{__name__=~"conf_.+", host="c"}`,
		`count({__name__=~"conf_.+"})`,
		`conf_gone`,
		`absent(conf_gone)`,
		`absent(conf_nope{host="x"})`,
		`rate(conf_requests_total[5m])`,
		`irate(conf_requests_total[5m])`,
		`increase(conf_requests_total[10m])`,
		`resets(conf_requests_total[30m])`,
		`changes(conf_temp_celsius[10m])`,
		`sum by (code) (rate(conf_requests_total[5m]))`,
		`sum without (path) (rate(conf_requests_total[1m]))`,
		`avg(conf_temp_celsius)`, `min(conf_temp_celsius)`, `max by (host) (conf_temp_celsius)`,
		`stddev(conf_temp_celsius)`, `quantile(0.9, conf_temp_celsius)`,
		`topk(2, conf_temp_celsius)`, `bottomk(1, rate(conf_cpu_seconds_total[5m]))`,
		`count_values("t", round(conf_temp_celsius))`,
		`sort_desc(conf_temp_celsius)`,
		`avg_over_time(conf_temp_celsius[5m])`, `max_over_time(conf_temp_celsius[10m])`,
		`min_over_time(conf_temp_celsius[10m])`, `sum_over_time(conf_temp_celsius[2m])`,
		`count_over_time(conf_temp_celsius[5m])`, `last_over_time(conf_gone[30m])`,
		`quantile_over_time(0.5, conf_temp_celsius[10m])`, `stddev_over_time(conf_temp_celsius[10m])`,
		`delta(conf_temp_celsius[10m])`, `idelta(conf_temp_celsius[5m])`, `deriv(conf_temp_celsius[10m])`,
		`predict_linear(conf_cpu_seconds_total[10m], 3600)`,
		`timestamp(conf_temp_celsius)`,
		`conf_temp_celsius offset 5m`,
		`conf_temp_celsius @ ` + unix(-10*time.Minute),
		`max_over_time(rate(conf_requests_total[2m])[10m:1m])`,
		`histogram_quantile(0.9, sum by (le) (rate(conf_latency_seconds_bucket[5m])))`,
		`histogram_quantile(0.5, rate(conf_latency_seconds_bucket[10m]))`,
		`conf_temp_celsius > 25`, `conf_temp_celsius > bool 25`,
		`conf_requests_total / on (host) group_left sum by (host) (conf_requests_total)`,
		`rate(conf_cpu_seconds_total{mode="user"}[5m]) / ignoring (mode) group_left sum without (mode) (rate(conf_cpu_seconds_total[5m]))`,
		`label_replace(conf_temp_celsius, "server", "srv-$1", "host", "(.*)")`,
		`label_join(conf_temp_celsius, "hh", "-", "host", "host")`,
		`clamp_max(conf_temp_celsius, 20)`, `abs(-conf_temp_celsius)`, `round(conf_temp_celsius, 0.5)`,
		`ln(conf_temp_celsius)`, `sqrt(conf_temp_celsius)`, `-conf_temp_celsius * 2 + 1`,
		`vector(time())`, `scalar(sum(conf_temp_celsius))`, `time()`, `1 + 1`, `"text"`,
		`sum(rate(conf_requests_total{code="500"}[5m])) / sum(rate(conf_requests_total[5m]))`,
		`1 - avg by (host) (rate(conf_cpu_seconds_total{mode="idle"}[5m]))`,
		`(`, `rate(conf_temp_celsius)`, `conf_requests_total + on (host) conf_requests_total`,
		`conf_temp_celsius[5m]`,
	}
	canon := func(d json.RawMessage) string { return normalise(t, d) }
	for _, q := range queries {
		for _, at := range []time.Duration{-20 * time.Minute, -12*time.Minute - 7*time.Second, 0, 3 * time.Minute} {
			compare("/api/v1/query", url.Values{"query": {q}, "time": {unix(at)}}, canon)
		}
		if !strings.HasSuffix(q, "[5m]") { // a range vector has no range query
			compare("/api/v1/query_range", url.Values{"query": {q}, "start": {unix(-29 * time.Minute)}, "end": {unix(2 * time.Minute)}, "step": {"60"}}, canon)
			compare("/api/v1/query_range", url.Values{"query": {q}, "start": {unix(-8 * time.Minute)}, "end": {unix(0)}, "step": {"15s"}}, canon)
		}
	}
	compare("/api/v1/query_range", url.Values{"query": {"1"}, "start": {unix(0)}, "end": {unix(time.Hour)}, "step": {"0.1"}}, canon)
	compare("/api/v1/query_range", url.Values{"query": {"1"}, "start": {unix(0)}, "end": {unix(-time.Hour)}, "step": {"1"}}, canon)

	// Look-ups. Nines's window also holds the collector's own series
	// (target states), which Prometheus does not have: the look-ups are
	// restricted to the data set by match[].
	sortedJSON := func(d json.RawMessage) string {
		var v []any
		if err := json.Unmarshal(d, &v); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, x := range v {
			b, _ := json.Marshal(x)
			s = append(s, string(b))
		}
		slices.Sort(s)
		return strings.Join(s, "\n")
	}
	for _, m := range [][]string{
		{`conf_temp_celsius`},
		{`{__name__=~"conf_.+"}`},
		{`conf_requests_total{code="500"}`, `conf_temp_celsius{host="a"}`},
		{`{__name__=~"conf_.+", le="+Inf"}`},
		{`conf_nope`},
	} {
		compare("/api/v1/series", url.Values{"match[]": m}, sortedJSON)
		compare("/api/v1/labels", url.Values{"match[]": m}, sortedJSON)
		for _, name := range []string{"__name__", "host", "le", "code", "nope"} {
			compare("/api/v1/label/"+name+"/values", url.Values{"match[]": m}, sortedJSON)
		}
	}
	raw := func(d json.RawMessage) string { return string(d) }
	compare("/api/v1/query_exemplars", url.Values{"query": {`conf_temp_celsius`}, "start": {unix(-30 * time.Minute)}, "end": {unix(0)}}, raw)
	compare("/api/v1/query_exemplars", url.Values{"query": {`conf_temp_celsius{`}}, raw)
	compare("/api/v1/metadata", url.Values{}, raw)
	compare("/api/v1/series", url.Values{}, sortedJSON)                                  // no match[]: 400
	compare("/api/v1/series", url.Values{"match[]": {`{host=~".*"}`}}, sortedJSON)       // only empty-matching matchers: 400
	compare("/api/v1/series", url.Values{"match[]": {`conf_temp_celsius{`}}, sortedJSON) // bad selector: 400

	t.Logf("%d answers compared: %d with data, %d errors", compared, withData, failed)
	if withData < compared*3/4 {
		t.Errorf("only %d of %d answers had data: the data set or the queries are wrong", withData, compared)
	}

	// promtool, with the token as basic auth's password (promtool 2.42 has
	// no other way to send credentials).
	out, err := exec.Command(promtool, "query", "instant", "--time="+unix(0),
		"http://grafana:"+viewerToken+"@"+ninesAddr, `conf_temp_celsius{host="a"}`).CombinedOutput()
	var last float64
	for _, s := range data {
		if s.field == "temp_celsius" && s.tags[0][1] == "a" {
			last = s.samples[len(s.samples)-1].v
		}
	}
	want := fmt.Sprintf(`conf_temp_celsius{host="a"} => %s @[`, strconv.FormatFloat(last, 'g', -1, 64))
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("promtool query instant: %v\n%s\nwant it to contain %s", err, out, want)
	}

	// A Prometheus federating from Nines with the viewer token.
	write(t, filepath.Join(dir, "federate.yml"), fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: nines-federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{__name__=~"conf_.+"}']
    authorization: {credentials_file: %s}
    static_configs: [{targets: [%q]}]
`, filepath.Join(dir, "viewer.token"), ninesAddr))
	if out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "federate.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	fed := peertest.Start(t, promBin, "--config.file="+filepath.Join(dir, "federate.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "fed-data"), "--web.listen-address="+fedAddr)
	peertest.WaitTCP(t, fed, fedAddr, 30*time.Second)
	eventually(t, 30*time.Second, "federating prometheus ready", func() (bool, string) {
		return (client{base: "http://" + fedAddr}).get(t, "/-/ready", nil) == http.StatusOK, "not ready"
	})
	// Every series of the data set with a sample in the last 5 minutes
	// (all but conf_gone), with its labels and latest value.
	_, na, _ := promGet(t, "http://"+ninesAddr, viewerToken, "/api/v1/query", url.Values{"query": {`{__name__=~"conf_.+"}`}})
	wantFed := latest(t, na.Data)
	if _, ok := wantFed[`{"__name__":"conf_gone","host":"a"}`]; ok || len(wantFed) != len(data)-1 {
		t.Errorf("Nines should have the %d recent series of the data set, has %d: %v", len(data)-1, len(wantFed), wantFed)
	}
	eventually(t, 30*time.Second, "series federated", func() (bool, string) {
		_, fa, _ := promGet(t, "http://"+fedAddr, "", "/api/v1/query", url.Values{"query": {`{__name__=~"conf_.+", job="nines-federate"}`}})
		if fa.Status != "success" {
			return false, fa.Error
		}
		got := latest(t, fa.Data)
		return fmt.Sprint(got) == fmt.Sprint(wantFed), fmt.Sprintf("got %v\nwant %v", got, wantFed)
	})
}

// latest maps each series of an instant vector to its value, without
// the labels a federating server adds (job, and instance).
func latest(t *testing.T, data json.RawMessage) map[string]string {
	t.Helper()
	var d struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range d.Result {
		delete(r.Metric, "job")
		delete(r.Metric, "instance")
		m, _ := json.Marshal(r.Metric)
		out[string(m)] = r.Value[1].(string)
	}
	return out
}
