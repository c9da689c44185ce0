package collector

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
)

// storeHealth follows the store's writes that the collector's own duties
// make (the heartbeat, state changes): each failure is counted in
// nines_store_write_errors_total{op}, and while the latest write of an op
// failed the collector is not ready (/-/ready answers 503 naming it), so
// a load balancer or an operator sees a full disk at once. The counts are
// also written into the recent window, so a rule can alert on them.
type storeHealth struct {
	errors *prometheus.CounterVec

	mu     sync.Mutex
	counts map[string]float64
	failed map[string]error // op -> its latest write's error (none: ok)
}

func newStoreHealth() *storeHealth {
	return &storeHealth{counts: map[string]float64{"heartbeat": 0, "state": 0}, failed: map[string]error{},
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_store_write_errors_total",
			Help: "Writes to the store that failed, by what was written (heartbeat, state)."}, []string{"op"})}
}

// observe records the outcome of a write of op.
func (h *storeHealth) observe(op string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.failed, op)
		return
	}
	h.failed[op] = err
	h.counts[op]++
	h.errors.WithLabelValues(op).Inc()
}

// ready is nil while the latest write of every op succeeded.
func (h *storeHealth) ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for op, err := range h.failed {
		return fmt.Errorf("the store cannot be written (%s): %w", op, err)
	}
	return nil
}

// publish writes the error counts into the window at now.
func (h *storeHealth) publish(w interface {
	Append(labels.Labels, int64, float64) error
}, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for op, n := range h.counts {
		_ = w.Append(labels.FromStrings("__name__", "nines_store_write_errors_total", "op", op), now.UnixMilli(), n) // w counts
	}
}
