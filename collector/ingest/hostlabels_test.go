package ingest

import (
	"maps"
	"testing"
	"time"
)

// TestHostLabels: the tags all of a host's lines share, once the payload
// has two measurements of it; a measurement's own tags drop out.
func TestHostLabels(t *testing.T) {
	var d Decoder
	o := DecodeOptions{Precision: time.Second, Now: time.Unix(1700000000, 0), HostTag: "host", HostLabels: true}
	res := d.Decode([]byte("cpu,cpu=cpu0,host=a,site=hq u=1 1700000000\nmem,host=a,site=hq u=2 1700000000\ncpu,cpu=cpu0,host=b,site=lab u=1 1700000000\n"), o, &fakeAppender{})
	if want := map[string]string{"site": "hq"}; !maps.Equal(res.HostLabels["a"], want) {
		t.Errorf("a: %v, want %v", res.HostLabels["a"], want)
	}
	if _, ok := res.HostLabels["b"]; ok {
		t.Errorf("b had one measurement, yet got labels %v", res.HostLabels["b"])
	}
}
