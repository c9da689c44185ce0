package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/wire"
)

// pushRecorder stands in for the collector: it refuses pushes while down
// and records the sequence number of every batch it accepts.
type pushRecorder struct {
	mu   sync.Mutex
	down bool
	seqs []uint64
}

func (p *pushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get(wire.HeaderGoodbye) == "" {
		seq, _ := strconv.ParseUint(r.Header.Get(wire.HeaderSequence), 10, 64)
		p.seqs = append(p.seqs, seq)
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestAgentSpoolSurvivesKill: while the collector refuses pushes, the
// agent spools to disk; killed with SIGKILL and started again, it delivers
// every spooled batch, once each and in order.
func TestAgentSpoolSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent")
	}
	agentBin := binary(t, "agent/cmd/nines-agent")
	dir := t.TempDir()
	rec := &pushRecorder{down: true}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	write(t, filepath.Join(dir, "agent.token"), "t")
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 200ms
hostname: spool-host
web: {listen_address: %q}
push: {urls: [%q], token_file: agent.token, spool_dir: spool}
`, freeAddr(t), srv.URL))
	spooled := func() []uint64 {
		files, _ := filepath.Glob(filepath.Join(dir, "spool", "*.batch"))
		var out []uint64
		for _, f := range files {
			seq, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(f), ".batch"), 10, 64)
			out = append(out, seq)
		}
		return out
	}
	agent := start(t, "agent", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	eventually(t, 10*time.Second, "batches spooled while the collector is down", func() (bool, string) {
		return len(spooled()) >= 5, fmt.Sprint(spooled())
	})
	agent.stop(t, syscall.SIGKILL)
	before := spooled()

	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()
	start(t, "agent-restarted", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	eventually(t, 10*time.Second, "spool drained", func() (bool, string) {
		rec.mu.Lock()
		n := len(rec.seqs)
		rec.mu.Unlock()
		return n > len(before) && len(spooled()) <= 1, fmt.Sprintf("received %d, spooled %d", n, len(spooled()))
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[uint64]int{}
	for i, s := range rec.seqs {
		seen[s]++
		if i > 0 && s <= rec.seqs[i-1] {
			t.Errorf("out of order: %v", rec.seqs)
			break
		}
	}
	for _, s := range before {
		if seen[s] != 1 {
			t.Errorf("spooled batch %d received %d times, want once", s, seen[s])
		}
	}
}
