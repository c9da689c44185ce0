package alerting_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// fakeOutbox is an in-memory outbox with the alerting.Store contract of
// DueNotifications (oldest pending per incident and receiver, limit per
// receiver). Only the methods the dispatcher calls are implemented.
type fakeOutbox struct {
	alerting.Store // nil: any other method panics

	mu   sync.Mutex
	rows []*outboxRow
	// afterRead, when set, runs after DueNotifications has read its list
	// and before it returns it.
	afterRead func()
}

type outboxRow struct {
	n                 alerting.Notification
	next              time.Time
	delivered, failed bool
}

func (f *fakeOutbox) add(incident int64, receiver, action string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := int64(len(f.rows) + 1)
	f.rows = append(f.rows, &outboxRow{n: alerting.Notification{ID: id, IncidentID: incident, Receiver: receiver, Action: action, At: at}, next: at})
}

func (f *fakeOutbox) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.rows {
		if !r.delivered && !r.failed {
			n++
		}
	}
	return n
}

func (f *fakeOutbox) DueNotifications(_ context.Context, now time.Time, limit int) ([]alerting.Notification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []alerting.Notification
	head := map[string]bool{} // incident/receiver with an earlier pending one
	count := map[string]int{} // per receiver
	for _, r := range f.rows {
		if r.delivered || r.failed {
			continue
		}
		key := fmt.Sprintf("%d/%s", r.n.IncidentID, r.n.Receiver)
		if head[key] {
			continue
		}
		head[key] = true
		if r.next.After(now) || count[r.n.Receiver] >= limit {
			continue
		}
		count[r.n.Receiver]++
		out = append(out, r.n)
	}
	if hook := f.afterRead; hook != nil {
		f.mu.Unlock()
		hook()
		f.mu.Lock()
	}
	return out, nil
}

func (f *fakeOutbox) MarkNotification(_ context.Context, id int64, o alerting.Outcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rows[id-1]
	r.n.Attempts++
	switch {
	case o.Delivered:
		r.delivered = true
	case o.Failed:
		r.failed = true
	default:
		r.next = o.Next
	}
	return nil
}

func (f *fakeOutbox) Incident(_ context.Context, id int64) (*alerting.Incident, error) {
	return &alerting.Incident{ID: id}, nil
}

// recorder is a receiver that records what it was told, in order. Until
// release is closed (when set) it blocks; each attempt takes delay; it
// fails (retryably) the first failFirst attempts of every notification.
type recorder struct {
	release   chan struct{}
	delay     time.Duration
	failFirst int

	mu  sync.Mutex
	got []alerting.Notification
}

func (r *recorder) Notify(ctx context.Context, n alerting.Notification, _ *alerting.Incident) (bool, error) {
	if r.release != nil {
		select {
		case <-r.release:
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	time.Sleep(r.delay)
	if n.Attempts < r.failFirst {
		return true, errors.New("503 Service Unavailable")
	}
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	return false, nil
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.got {
		out = append(out, fmt.Sprintf("%d:%s", n.IncidentID, n.Action))
	}
	return out
}

// TestSlowReceiverDoesNotStallOthers: a receiver that hangs holds up only
// its own notifications; the others keep being delivered, and the hung
// one's go out once it answers.
func TestSlowReceiverDoesNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		store := &fakeOutbox{}
		slow := &recorder{release: make(chan struct{})}
		fast := &recorder{}
		store.add(1, "slow", "opened", t0) // first in the outbox
		store.add(1, "fast", "opened", t0)
		store.add(2, "fast", "opened", t0)
		d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"slow": slow, "fast": fast}, slog.New(slog.DiscardHandler), nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- d.Run(ctx, time.Second) }()

		synctest.Wait()
		if got, want := fast.actions(), []string{"1:opened", "2:opened"}; !slices.Equal(got, want) {
			t.Errorf("fast receiver while slow hangs: got %v, want %v", got, want)
		}
		store.add(1, "fast", "resolved", time.Now())
		time.Sleep(time.Second)
		synctest.Wait()
		if got := fast.actions(); len(got) != 3 || got[2] != "1:resolved" {
			t.Errorf("fast receiver, next pass while slow still hangs: got %v", got)
		}
		if got := slow.actions(); len(got) != 0 {
			t.Errorf("slow receiver delivered while hanging: %v", got)
		}

		close(slow.release)
		time.Sleep(time.Second)
		synctest.Wait()
		if got, want := slow.actions(), []string{"1:opened"}; !slices.Equal(got, want) {
			t.Errorf("slow receiver once it answers: got %v, want %v (once)", got, want)
		}
		if n := store.pending(); n != 0 {
			t.Errorf("%d notifications still pending", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestOrderPerIncidentUnderRetries: a receiver that is slower than the
// dispatch interval and fails every first attempts gets each incident's
// notifications in outbox order, each once, while another receiver is
// served at once.
func TestOrderPerIncidentUnderRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		store := &fakeOutbox{}
		flaky := &recorder{failFirst: 3, delay: 1500 * time.Millisecond}
		steady := &recorder{}
		for _, a := range []string{"opened", "acknowledged", "commented", "resolved", "closed"} {
			store.add(1, "flaky", a, t0)
			store.add(2, "flaky", a, t0)
			store.add(1, "steady", a, t0)
		}
		d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"flaky": flaky, "steady": steady}, slog.New(slog.DiscardHandler), nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- d.Run(ctx, time.Second) }()
		for store.pending() > 0 && time.Since(t0) < 24*time.Hour {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		cancel()
		<-done

		want := []string{"opened", "acknowledged", "commented", "resolved", "closed"}
		perIncident := map[int64][]string{}
		for _, n := range flaky.got {
			perIncident[n.IncidentID] = append(perIncident[n.IncidentID], n.Action)
		}
		for _, id := range []int64{1, 2} {
			if got := perIncident[id]; !slices.Equal(got, want) {
				t.Errorf("flaky receiver, incident %d: got %v, want %v", id, got, want)
			}
		}
		var steadyGot []string
		for _, n := range steady.got {
			steadyGot = append(steadyGot, n.Action)
		}
		if !slices.Equal(steadyGot, want) {
			t.Errorf("steady receiver: got %v, want %v", steadyGot, want)
		}
	})
}

// TestSetNotifiers: a receiver set by SetNotifiers (a reload) gets its
// notifications at the next pass; one that no notifier names is given up.
func TestSetNotifiers(t *testing.T) {
	ctx := context.Background()
	store := &fakeOutbox{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := alerting.NewDispatcher(store, map[string]alerting.Notifier{}, slog.New(slog.DiscardHandler), nil)
	d.Now = func() time.Time { return t0 }
	added := &recorder{}
	d.SetNotifiers(map[string]alerting.Notifier{"desk": added})
	if d.Notifier("desk") != added || d.Notifier("gone") != nil {
		t.Error("Notifier does not return the set notifiers")
	}
	store.add(1, "desk", "opened", t0)
	store.add(1, "gone", "opened", t0)
	d.DeliverDue(ctx)
	if got := added.actions(); !slices.Equal(got, []string{"1:opened"}) {
		t.Errorf("added receiver: got %v", got)
	}
	store.mu.Lock()
	gone := store.rows[1]
	store.mu.Unlock()
	if !gone.failed {
		t.Error("a notification to a receiver no notifier names was not given up")
	}
}

// chaosReceiver takes a random time and fails (retryably) at random.
type chaosReceiver struct {
	name string
	mu   *sync.Mutex
	rng  *rand.Rand
	got  map[int64][]string // per incident, in delivery order
}

func (c *chaosReceiver) Notify(_ context.Context, n alerting.Notification, _ *alerting.Incident) (bool, error) {
	c.mu.Lock()
	delay, fail := time.Duration(c.rng.IntN(3000))*time.Millisecond, c.rng.IntN(10) < 3
	c.mu.Unlock()
	time.Sleep(delay)
	if fail {
		return true, errors.New("503 Service Unavailable")
	}
	c.mu.Lock()
	c.got[n.IncidentID] = append(c.got[n.IncidentID], n.Action)
	c.mu.Unlock()
	return false, nil
}

// TestDispatchRandomSequences drives random notifications to receivers
// with random latency and failures on a fake clock; the oracle: every
// receiver gets every incident's notifications exactly once, in the
// order they were queued. NINES_TEST_SEED=<n> replays a seed.
func TestDispatchRandomSequences(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("NINES_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	for run := range 5 {
		seed := seed + uint64(run)
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(seed, 0))
			store := &fakeOutbox{}
			receivers := map[string]*chaosReceiver{}
			notifiers := map[string]alerting.Notifier{}
			for _, name := range []string{"a", "b", "c"} {
				r := &chaosReceiver{name: name, mu: &mu, rng: rng, got: map[int64][]string{}}
				receivers[name], notifiers[name] = r, r
			}
			d := alerting.NewDispatcher(store, notifiers, slog.New(slog.DiscardHandler), nil)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- d.Run(ctx, time.Second) }()

			want := map[string]map[int64][]string{"a": {}, "b": {}, "c": {}}
			for step := range 200 {
				mu.Lock()
				inc, name := int64(1+rng.IntN(5)), []string{"a", "b", "c"}[rng.IntN(3)]
				pause := time.Duration(rng.IntN(2000)) * time.Millisecond
				mu.Unlock()
				action := fmt.Sprintf("e%d", step)
				store.add(inc, name, action, time.Now())
				want[name][inc] = append(want[name][inc], action)
				time.Sleep(pause)
			}
			start := time.Now()
			for store.pending() > 0 && time.Since(start) < 48*time.Hour {
				time.Sleep(time.Second)
			}
			cancel()
			<-done
			for name, r := range receivers {
				for inc, w := range want[name] {
					if got := r.got[inc]; !slices.Equal(got, w) {
						t.Errorf("seed %d: receiver %s, incident %d: got %v, want %v", seed, name, inc, got, w)
					}
				}
			}
		})
	}
}

// TestNoRedeliveryOfAStaleRead: a receiver's delivery that ends while the
// next pass is reading the outbox does not make that pass deliver what
// it read (already delivered meanwhile) a second time.
func TestNoRedeliveryOfAStaleRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &fakeOutbox{}
		slow := &recorder{release: make(chan struct{})}
		store.add(1, "slow", "opened", time.Now())
		d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"slow": slow}, slog.New(slog.DiscardHandler), nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- d.Run(ctx, time.Second) }()
		synctest.Wait() // the first pass hangs in Notify
		// The next pass reads "opened" as still due; the hung delivery
		// then completes before the pass goes on.
		var once sync.Once
		store.mu.Lock()
		store.afterRead = func() {
			once.Do(func() {
				close(slow.release)
				synctest.Wait()
			})
		}
		store.mu.Unlock()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		if got := slow.actions(); !slices.Equal(got, []string{"1:opened"}) {
			t.Errorf("delivered %v, want opened once", got)
		}
	})
}
