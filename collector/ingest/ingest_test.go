package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/wire"
)

type sample struct {
	lset string
	t    int64
	v    float64
}

type fakeAppender struct {
	mu  sync.Mutex
	got []sample
}

func (f *fakeAppender) Append(l labels.Labels, t int64, v float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, sample{l.String(), t, v})
	return nil
}

type fakeObserver struct {
	mu       sync.Mutex
	observed []string
	goodbyes []string
	interval time.Duration
	labels   map[string]string
	address  string
	id       string
	deny     string
	ids      map[string]string // by target name, as the tracker pins them
}

func (f *fakeObserver) Admit(name string) bool { return name != f.deny }

func (f *fakeObserver) AgentID(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.ids[name]
	return id, ok
}

func (f *fakeObserver) Observe(_ context.Context, o state.Observation, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observed, f.interval, f.labels, f.address, f.id = append(f.observed, o.Name), o.Interval, o.Labels, o.MetricsAddress, o.ID
	if f.ids == nil {
		f.ids = map[string]string{}
	}
	f.ids[o.Name] = o.ID
	return nil
}

func (f *fakeObserver) Goodbye(_ context.Context, name string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.goodbyes = append(f.goodbyes, name)
	return nil
}

// TestPushHeadersPrintable: a hostname or host ID with control characters
// (or one too long) is refused with 400 naming the header; nothing of the
// push is recorded.
func TestPushHeadersPrintable(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct{ name, header, value string }{
		{"NUL in host ID", wire.HeaderHostID, "machine\x001"},
		{"newline in host ID", wire.HeaderHostID, "machine\n1"},
		{"long host ID", wire.HeaderHostID, long},
		{"escape in hostname", wire.HeaderHostname, "web\x1b[2J"},
		{"long hostname", wire.HeaderHostname, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, obs := &fakeAppender{}, &fakeObserver{}
			h := newHandler(app, obs)
			req := httptest.NewRequest(http.MethodPost, wire.PushPath, strings.NewReader("m v=1 1000\n"))
			req.Header.Set(wire.HeaderHostname, "web1")
			req.Header[http.CanonicalHeaderKey(tc.header)] = []string{tc.value}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.header) {
				t.Errorf("got %d %q, want 400 naming %s", rec.Code, rec.Body, tc.header)
			}
			if len(app.got) != 0 || len(obs.observed) != 0 {
				t.Errorf("recorded %d samples and %d observations, want none", len(app.got), len(obs.observed))
			}
		})
	}
}

func TestDecode(t *testing.T) {
	f := func(name, in string, wantSamples []string, wantErr string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var d Decoder
			for range 2 { // the reused decoder must not carry state across calls
				app := &fakeAppender{}
				res := d.Decode([]byte(in), DecodeOptions{Precision: time.Millisecond, Now: time.UnixMilli(5000),
					Extra: []labels.Label{{Name: "host", Value: "h1"}}, MaxLineBytes: 40}, app)
				var got []string
				for _, s := range app.got {
					got = append(got, s.lset+" "+strconv.FormatFloat(s.v, 'g', -1, 64)+"@"+strconv.FormatInt(s.t, 10))
				}
				if strings.Join(got, "\n") != strings.Join(wantSamples, "\n") {
					t.Errorf("samples:\ngot  %q\nwant %q", got, wantSamples)
				}
				switch {
				case wantErr == "" && res.FirstErr != nil:
					t.Errorf("got error %v", res.FirstErr)
				case wantErr != "" && (res.FirstErr == nil || !strings.Contains(res.FirstErr.Error(), wantErr)):
					t.Errorf("got error %v, want %q", res.FirstErr, wantErr)
				}
			}
		})
	}
	f("fields become measurement_field", "node_load load1=0.5,load5=1i 1000\n",
		[]string{`{__name__="node_load_load1", host="h1"} 0.5@1000`, `{__name__="node_load_load5", host="h1"} 1@1000`}, "")
	f("tags become labels, sorted; no timestamp takes now", "cpu,mode=idle,cpu=0 seconds_total=12.5\n",
		[]string{`{__name__="cpu_seconds_total", cpu="0", host="h1", mode="idle"} 12.5@5000`}, "")
	f("a sender's own host tag wins", "m,host=other v=1 1\n", []string{`{__name__="m_v", host="other"} 1@1`}, "")
	f("bool and string fields", "m ok=true,msg=\"hi\" 1\n", []string{`{__name__="m_ok", host="h1"} 1@1`}, "")
	f("bad line kept apart from good ones", "m v=1 1\nm v= 2\nm v=3 3\n",
		[]string{`{__name__="m_v", host="h1"} 1@1`, `{__name__="m_v", host="h1"} 3@3`}, "line 2:")
	f("line with only a string field: accepted, nothing stored", "m s=\"x\" 1\n", nil, "")
	f("line numbers count blank lines and comments", "# header\n\nm v=1 1\nm v=\"x 2\n", []string{`{__name__="m_v", host="h1"} 1@1`}, "line 4:")
	f("over-long line rejected, the rest kept", "m v=1 1\nmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm v=2 2\nm v=3 3\n",
		[]string{`{__name__="m_v", host="h1"} 1@1`, `{__name__="m_v", host="h1"} 3@3`}, "line 2: line is 54 bytes, longer than the limit of 40")
}

// testNow is the collector's clock in handler tests: the samples they
// send (at 1 s to 3 s) are in the accepted window.
var testNow = time.UnixMilli(5000)

func newHandler(app Appender, obs Observer) http.Handler {
	return NewHandler(Options{Appender: app, Observer: obs, MaxBodyBytes: 1 << 16, MaxLineBytes: 1024, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow }}).Push()
}

func push(t *testing.T, h http.Handler, body []byte, gz bool, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req := httptest.NewRequest(http.MethodPost, wire.PushPath, bytes.NewReader(body))
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set(wire.HeaderHostname, "web1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	app, obs := &fakeAppender{}, &fakeObserver{}
	h := newHandler(app, obs)
	rec := push(t, h, []byte("m v=1 1000\n"), true, map[string]string{
		wire.HeaderSequence: "10", wire.HeaderHostID: "machine-1", wire.HeaderInterval: "5s", wire.HeaderLabels: "site=hq,role=web%20front",
		wire.HeaderMetricsAddress: ":9991",
	})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("push: got %d %s, want 204", rec.Code, rec.Body)
	}
	if got := app.got[0].lset; got != `{__name__="m_v", host="web1", role="web front", site="hq"}` {
		t.Errorf("labels: got %s", got)
	}
	if obs.interval != 5*time.Second || obs.labels["site"] != "hq" || len(obs.observed) != 1 {
		t.Errorf("observer: got %+v", obs)
	}
	// The target's id is the agent's host ID as sent: opaque and printable.
	if obs.id != "machine-1" {
		t.Errorf("target id: got %q, want machine-1", obs.id)
	}
	// A wildcard listen address is completed with the sender's address.
	if obs.address != "192.0.2.1:9991" {
		t.Errorf("metrics address: got %q, want 192.0.2.1:9991", obs.address)
	}

	// A retried batch (same sequence) is dropped and counted, but answered 204.
	rec = push(t, h, []byte("m v=1 1000\n"), true, map[string]string{wire.HeaderSequence: "10", wire.HeaderHostID: "machine-1"})
	if rec.Code != http.StatusNoContent || len(app.got) != 1 {
		t.Errorf("duplicate: got %d with %d samples, want 204 and 1 sample", rec.Code, len(app.got))
	}

	// Another host sharing the machine ID (a cloned VM) with a lower
	// sequence is not a duplicate of web1's pushes.
	rec = push(t, h, []byte("m v=1 1000\n"), true, map[string]string{wire.HeaderSequence: "5", wire.HeaderHostname: "clone", wire.HeaderHostID: "machine-1"})
	if rec.Code != http.StatusNoContent || len(app.got) != 2 || app.got[1].lset != `{__name__="m_v", host="clone"}` {
		t.Errorf("same machine ID, other host: got %d with %d samples, want 204 and a sample for clone", rec.Code, len(app.got))
	}
	app.got = app.got[:1]

	// Partial write: 400 naming the first bad line; the good lines are kept.
	rec = push(t, h, []byte("m v=2 2000\nbroken line\nm v=3 3000\n"), false, map[string]string{wire.HeaderSequence: "11"})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "1 of 3 lines rejected; first: line 2:") {
		t.Errorf("partial write: got %d %q", rec.Code, rec.Body)
	}
	if len(app.got) != 3 {
		t.Errorf("samples after partial write: got %d, want 3", len(app.got))
	}

	// Goodbye, from the host's own agent.
	rec = push(t, h, nil, false, map[string]string{wire.HeaderSequence: "12", wire.HeaderGoodbye: "1", wire.HeaderHostID: "machine-1"})
	if rec.Code != http.StatusNoContent || len(obs.goodbyes) != 1 {
		t.Errorf("goodbye: got %d, goodbyes %v", rec.Code, obs.goodbyes)
	}
}

func TestHandlerRejects(t *testing.T) {
	h := newHandler(&fakeAppender{}, &fakeObserver{deny: "intruder"})
	bomb := bytes.Repeat([]byte("m v=1 1\n"), 20000) // 160 KB, over the 64 KiB limit once inflated
	tests := []struct {
		name    string
		body    []byte
		gz      bool
		headers map[string]string
		code    int
		msg     string
	}{
		{"gzip bomb", bomb, true, nil, http.StatusRequestEntityTooLarge, "body larger than 65536 bytes"},
		{"bad gzip", []byte("not gzip"), false, map[string]string{"Content-Encoding": "gzip"}, http.StatusBadRequest, "bad gzip body"},
		{"unknown encoding", []byte("m v=1"), false, map[string]string{"Content-Encoding": "br"}, http.StatusUnsupportedMediaType, "unsupported Content-Encoding"},
		{"bad interval", []byte("m v=1"), false, map[string]string{wire.HeaderInterval: "soon"}, http.StatusBadRequest, "bad X-Nines-Interval"},
		{"bad sequence", []byte("m v=1"), false, map[string]string{wire.HeaderSequence: "-1"}, http.StatusBadRequest, "bad X-Nines-Sequence"},
		{"reserved label", []byte("m v=1"), false, map[string]string{wire.HeaderLabels: "host=x"}, http.StatusBadRequest, `label name "host" not allowed`},
		{"no hostname", []byte("m v=1"), false, map[string]string{wire.HeaderHostname: ""}, http.StatusBadRequest, "missing X-Nines-Hostname"},
		{"not in inventory", []byte("m v=1"), false, map[string]string{wire.HeaderHostname: "intruder"}, http.StatusForbidden, `host "intruder" is not in the inventory`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := push(t, h, tc.body, tc.gz, tc.headers)
			if rec.Code != tc.code || !strings.Contains(errText(rec.Body), tc.msg) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.msg)
			}
		})
	}
}

// TestTwoAgentsForOneHost: a second agent for the same host (same
// machine ID and name) starts with higher sequence numbers and says
// goodbye; the first agent's next pushes are taken, not dropped as
// duplicates, and its retries still are.
func TestTwoAgentsForOneHost(t *testing.T) {
	app, obs := &fakeAppender{}, &fakeObserver{}
	h := newHandler(app, obs)
	send := func(seq string, goodbye bool) int {
		hdr := map[string]string{wire.HeaderSequence: seq, wire.HeaderHostID: "machine-1"}
		body := []byte("m v=1 1000\n")
		if goodbye {
			hdr[wire.HeaderGoodbye], body = "1", nil
		}
		return push(t, h, body, false, hdr).Code
	}
	for _, step := range []struct {
		seq     string
		goodbye bool
	}{{"1000001", false}, {"9000001", false}, {"1000002", false}, {"9000002", true}, {"1000003", false}} {
		if code := send(step.seq, step.goodbye); code != http.StatusNoContent {
			t.Fatalf("push %s: %d", step.seq, code)
		}
	}
	if len(app.got) != 4 || len(obs.goodbyes) != 1 {
		t.Errorf("%d pushes taken, %d goodbyes; want all 4 (3 of the first agent, 1 of the second) and 1", len(app.got), len(obs.goodbyes))
	}
	send("1000003", false) // a retry
	if len(app.got) != 4 {
		t.Errorf("a retry of the first agent's batch was taken again")
	}
}
