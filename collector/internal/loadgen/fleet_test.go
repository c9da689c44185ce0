package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/wire"
)

type push struct {
	at       time.Time
	seq      uint64
	interval string
	body     string
}

// TestFleet: every agent pushes at its interval with its own name and
// increasing sequence numbers, gzip bodies of Series gauges stamped now
// (milliseconds); the victim pushes no more once killed; the report
// counts every due push started and answered.
func TestFleet(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]push{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wire.PushPath || r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Encoding") != "gzip" {
			http.Error(w, "bad request "+r.URL.Path, http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		seq, _ := strconv.ParseUint(r.Header.Get(wire.HeaderSequence), 10, 64)
		name := r.Header.Get(wire.HeaderHostname)
		if id := r.Header.Get(wire.HeaderHostID); id != name {
			http.Error(w, "host ID "+id, http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[name] = append(got[name], push{time.Now(), seq, r.Header.Get(wire.HeaderInterval), string(body)})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	f := Fleet{URL: srv.URL, Token: "tok", Agents: 20, Series: 25, Interval: 200 * time.Millisecond,
		Duration: time.Second, Concurrency: 4, KillAfter: 500 * time.Millisecond}
	rep, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Behind() != 0 || rep.Sent != rep.Due || rep.Due == 0 {
		t.Fatalf("report %+v: want every due push sent", rep)
	}
	// 5 rounds of 20 agents, less the victim's pushes due from 500 ms on
	// (its offset is 100 ms: at 500, 700 and 900 ms).
	if rep.Due != 97 {
		t.Errorf("due %d, want 97", rep.Due)
	}
	line := regexp.MustCompile(`^node_sim,group=g\d (f\d+=\d\d\.\d\d,?)+ (\d{13})$`)
	var total int64
	for i := range f.Agents {
		name := HostName(i)
		ps := got[name]
		total += int64(len(ps))
		want := 5
		if i == f.Victim() {
			want = 2
			if rep.Killed != name || rep.LastPush.IsZero() || rep.LastPush.After(rep.KilledAt) {
				t.Errorf("killed %q last push %v killed at %v", rep.Killed, rep.LastPush, rep.KilledAt)
			}
		}
		if len(ps) != want {
			t.Errorf("%s pushed %d times, want %d", name, len(ps), want)
		}
		for k, p := range ps {
			if k > 0 && p.seq != ps[k-1].seq+1 {
				t.Errorf("%s: sequence %d after %d", name, p.seq, ps[k-1].seq)
			}
			if p.interval != "200ms" {
				t.Errorf("%s: interval header %q", name, p.interval)
			}
			lines := bytes.Split(bytes.TrimSuffix([]byte(p.body), []byte("\n")), []byte("\n"))
			if len(lines) != 3 {
				t.Fatalf("%s: %d lines, want 3 for 25 series:\n%s", name, len(lines), p.body)
			}
			for _, l := range lines {
				m := line.FindSubmatch(l)
				if m == nil {
					t.Fatalf("%s: line %q is not a simulated gauge line", name, l)
				}
				ms, _ := strconv.ParseInt(string(m[2]), 10, 64)
				if d := p.at.Sub(time.UnixMilli(ms)); d < 0 || d > time.Second {
					t.Errorf("%s: timestamp %d is %s before its arrival", name, ms, d)
				}
			}
		}
	}
	if total != rep.Sent {
		t.Errorf("server got %d pushes, report says %d sent", total, rep.Sent)
	}
}

// TestFleetBehind: a collector that does not answer makes the pushes due
// meanwhile count as behind, not vanish.
func TestFleetBehind(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select { // answers nothing until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	f := Fleet{URL: srv.URL, Agents: 10, Series: 10, Interval: 100 * time.Millisecond, Duration: 300 * time.Millisecond,
		Concurrency: 1, Client: &http.Client{Timeout: 500 * time.Millisecond}}
	rep, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Due != 30 || rep.Started != 2 || rep.Behind() != 28 || rep.Failed != 2 || rep.Sent != 0 || rep.FirstErr == nil {
		t.Fatalf("report %+v (behind %d): want 30 due, 2 started (one in flight, one queued) and failed, 28 behind", rep, rep.Behind())
	}
}
