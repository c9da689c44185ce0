package ingest

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// FuzzDecode: no payload may panic the decoder; every stored sample has
// a metric name, labels that are valid, bounded text with distinct names,
// and a timestamp inside the accepted window.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"node_load load1=0.5,load5=1i 1000\n",
		"cpu,mode=idle,cpu=0 seconds_total=12.5\n",
		"m v=1 1\nm v= 2\nm v=3 3\n",
		"m,a=1,a=2 v=1\n",
		"m s=\"x\",b=true,u=3u\n",
		"# comment\n\nm\\ x,t\\=a=b\\,c f=1\n",
		"m,__name__=x v=1\n",
		"m,host=bad\\ host v=1\n",
		"m,k=a\u0085b v=1\n",
		"poison,host=t2 v=1 4102444800000000000\n",
	} {
		f.Add([]byte(seed))
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		var d Decoder
		stored := 0
		app := appenderFunc(func(lset labels.Labels, ts int64, _ float64) error {
			stored++
			if lset.Get("__name__") == "" {
				t.Fatalf("no metric name: %s", lset)
			}
			if _, dup := lset.HasDuplicateLabelNames(); dup {
				t.Fatalf("duplicate label names: %s", lset)
			}
			lset.Range(func(l labels.Label) {
				if l.Name != "__name__" && (checkTagKey(l.Name) != nil || checkLabelValue(l.Value) != nil) {
					t.Fatalf("invalid label %q=%q", l.Name, l.Value)
				}
			})
			if ts > now.Add(10*time.Minute).UnixMilli() || ts < now.Add(-time.Hour).UnixMilli() {
				t.Fatalf("timestamp %d outside the window", ts)
			}
			return nil
		})
		res := d.Decode(body, DecodeOptions{Precision: time.Nanosecond, Now: now,
			Extra: []labels.Label{{Name: "host", Value: "h"}}, MaxLineBytes: 64, HostTag: "host",
			MaxAge: time.Hour, MaxAhead: 10 * time.Minute}, app)
		if res.Points != stored {
			t.Fatalf("points %d, stored %d", res.Points, stored)
		}
		if res.Rejected() > res.Lines {
			t.Fatalf("rejected %d of %d lines", res.Rejected(), res.Lines)
		}
	})
}
