package ingest

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// FuzzDecode: no payload may panic the decoder, and every stored sample
// has a metric name.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"node_load load1=0.5,load5=1i 1000\n",
		"cpu,mode=idle,cpu=0 seconds_total=12.5\n",
		"m v=1 1\nm v= 2\nm v=3 3\n",
		"m,a=1,a=2 v=1\n",
		"m s=\"x\",b=true,u=3u\n",
		"# comment\n\nm\\ x,t\\=a=b\\,c f=1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d Decoder
		app := &fakeAppender{}
		res := d.Decode(body, DecodeOptions{Precision: time.Nanosecond, Now: time.Unix(0, 0),
			Extra: []labels.Label{{Name: "host", Value: "h"}}, MaxLineBytes: 64, HostTag: "host"}, app)
		if res.Points != len(app.got) {
			t.Fatalf("points %d, stored %d", res.Points, len(app.got))
		}
		if res.Rejected() > res.Lines {
			t.Fatalf("rejected %d of %d lines", res.Rejected(), res.Lines)
		}
	})
}
