package agent

import (
	"context"
	"sync"
	"time"

	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/probe"
)

// serviceChecks runs the checks of the services on this host, each on its
// own interval, and adds their latest results to every batch, with the
// collector's metric names (nines_check_*). A check that is still running
// when due is not started again.
type serviceChecks struct {
	mu      sync.Mutex
	specs   []probe.Spec
	last    map[string]checkRun
	running map[string]bool
	wg      sync.WaitGroup
}

type checkRun struct {
	at  time.Time
	res probe.Result
}

func newServiceChecks() *serviceChecks {
	return &serviceChecks{last: map[string]checkRun{}, running: map[string]bool{}}
}

// set replaces the checks (after a reload).
func (s *serviceChecks) set(specs []probe.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.specs = specs
	keep := map[string]checkRun{}
	for _, sp := range specs {
		if r, ok := s.last[sp.Name]; ok {
			keep[sp.Name] = r
		}
	}
	s.last = keep
}

// start launches the checks that are due at now; they finish in the
// background within their timeouts.
func (s *serviceChecks) start(ctx context.Context, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.specs {
		sp := s.specs[i]
		if s.running[sp.Name] {
			continue
		}
		if r, ok := s.last[sp.Name]; ok && now.Sub(r.at) < sp.Interval {
			continue
		}
		s.running[sp.Name] = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			res := probe.Run(ctx, &sp)
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.running, sp.Name)
			s.last[sp.Name] = checkRun{at: now, res: res}
		}()
	}
}

// wait waits for running checks (at shutdown).
func (s *serviceChecks) wait() { s.wg.Wait() }

// add appends the latest result of every check to b.
func (s *serviceChecks) add(b *host.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.specs {
		r, ok := s.last[sp.Name]
		if !ok {
			continue
		}
		l := []string{"check", sp.Name, "type", sp.Type}
		for k, v := range sp.Labels {
			l = append(l, k, v)
		}
		ok1 := 0.0
		if r.res.Success {
			ok1 = 1
		}
		b.Add("nines_check", "success", ok1, l...)
		b.Add("nines_check", "duration_seconds", r.res.Duration.Seconds(), l...)
		if r.res.HTTPStatus != 0 {
			b.Add("nines_check", "http_status_code", float64(r.res.HTTPStatus), l...)
		}
		if !r.res.CertExpiry.IsZero() {
			b.Add("nines_check", "tls_cert_expiry_timestamp_seconds", float64(r.res.CertExpiry.Unix()), l...)
		}
	}
}

func specs(cfgChecks []probe.Config) []probe.Spec {
	out := make([]probe.Spec, 0, len(cfgChecks))
	for i := range cfgChecks {
		out = append(out, cfgChecks[i].Spec())
	}
	return out
}
