package promapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
)

// BenchmarkQueryRange: a dashboard's typical range query (an hour at a
// 15 s step) over a window of 100 hosts x 10 CPUs x 8 modes = 8,000
// counter series of 240 samples, answered in full through the handler
// (parameters, engine, JSON).
func BenchmarkQueryRange(b *testing.B) {
	st := samples.New(2*time.Hour, 0, 0)
	end := time.Unix(1_700_000_000, 0)
	for h := 0; h < 100; h++ {
		for c := 0; c < 10; c++ {
			for _, mode := range []string{"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"} {
				l := labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(c), "host", "h"+strconv.Itoa(h), "mode", mode)
				for i := 0; i < 240; i++ {
					if err := st.Append(l, end.Add(time.Duration(i-240)*15*time.Second).UnixMilli(), float64(i*(c+1))); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	a := New(Options{Queryable: st, Now: func() time.Time { return end }})
	mux := http.NewServeMux()
	a.Register(mux, func(h http.Handler) http.Handler { return h })
	q := url.Values{"query": {`1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[1m]))`},
		"start": {strconv.FormatInt(end.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}, "step": {"15"}}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/query_range?"+q.Encode(), nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}
