package push

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// TestGroupSendsToEveryCollector: with push.mode all, every batch reaches
// both collectors of a pair once and in order, also the one that was down
// for a while (from its own spool) while the other was served at once;
// goodbye reaches both; the metrics say which collector is behind.
func TestGroupSendsToEveryCollector(t *testing.T) {
	up, down := &collectorStub{}, &collectorStub{down: true}
	srvUp, srvDown := httptest.NewServer(up), httptest.NewServer(down)
	defer srvUp.Close()
	defer srvDown.Close()
	set := metrics.NewSet()
	dir := t.TempDir()
	g, err := NewGroup(Options{URLs: []string{srvUp.URL, srvDown.URL}, Token: "tok", Hostname: "h",
		Interval: 20 * time.Millisecond, SpoolDir: dir, SpoolMaxBytes: 1 << 20, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Run(ctx); close(done) }()
	var want []string
	for i := range 5 {
		want = append(want, "m v="+strconv.Itoa(i)+" 1\n")
		if err := g.Enqueue([]byte(want[i])); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "5 batches at the collector that is up", func() bool { return len(up.received()) == 5 })
	if n := len(down.received()); n != 0 {
		t.Fatalf("the collector that is down got %d", n)
	}
	// The up collector's sender pops a batch just after the collector
	// took it: wait for that, then only the down collector's 5 remain.
	waitFor(t, "pending to be the down collector's 5", func() bool { return g.Pending() == 5 })
	var exposition strings.Builder
	set.WritePrometheus(&exposition)
	if !strings.Contains(exposition.String(), `nines_agent_push_queue_batches{collector="`+srvDown.URL+`"} 5`) {
		t.Errorf("no per-collector queue metric:\n%s", exposition.String())
	}
	down.set(func(c *collectorStub) { c.down = false })
	waitFor(t, "5 batches at the collector that was down", func() bool { return len(down.received()) == 5 })
	cancel()
	<-done
	for name, c := range map[string]*collectorStub{"up": up, "down": down} {
		if got := c.received(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s collector got %q, want %q", name, got, want)
		}
	}
	if err := g.Goodbye(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*collectorStub{"up": up, "down": down} {
		c.set(func(c *collectorStub) {
			if c.goodbyes != 1 {
				t.Errorf("%s collector: %d goodbyes", name, c.goodbyes)
			}
		})
	}
}

// TestGroupAdoptsFailoverSpool: batches a single Sender spooled (before a
// switch to push.mode all) go to every collector, none lost.
func TestGroupAdoptsFailoverSpool(t *testing.T) {
	a, b := &collectorStub{}, &collectorStub{}
	srvA, srvB := httptest.NewServer(a), httptest.NewServer(b)
	defer srvA.Close()
	defer srvB.Close()
	dir := t.TempDir()
	s := newSender(t, Options{URLs: []string{"http://127.0.0.1:1"}, Hostname: "h", SpoolDir: dir, SpoolMaxBytes: 1 << 20, Timeout: time.Second})
	_ = s.Enqueue([]byte("old-0"))
	_ = s.Enqueue([]byte("old-1"))
	g, err := NewGroup(Options{URLs: []string{srvA.URL, srvB.URL}, Hostname: "h", SpoolDir: dir, SpoolMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_ = g.Enqueue([]byte("new"))
	if left := g.Flush(context.Background()); left != 0 {
		t.Fatalf("%d left", left)
	}
	for name, c := range map[string]*collectorStub{"a": a, "b": b} {
		if got := strings.Join(c.received(), ","); got != "old-0,old-1,new" {
			t.Errorf("collector %s got %s", name, got)
		}
	}
}
