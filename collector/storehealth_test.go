package collector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/store"
)

// fullStore fails the writes the collector's duties make while full is
// set, as a full disk does.
type fullStore struct {
	store.Store
	full atomic.Bool
}

var errDiskFull = errors.New("database or disk is full")

func (f *fullStore) Alive(ctx context.Context, id int64, now time.Time) error {
	if f.full.Load() {
		return errDiskFull
	}
	return f.Store.Alive(ctx, id, now)
}

// TestReadyReportsStoreFailure: while the store cannot be written, the
// collector says so: /-/ready answers 503 naming the failed write (it
// was a fixed "Ready"), and nines_store_write_errors_total counts it.
func TestReadyReportsStoreFailure(t *testing.T) {
	addr := freeAddr(t)
	c := buildCollector(t, t.TempDir(), "web: {listen_address: \""+addr+"\", metrics_public: true}\nstorage: {path: n.db}\n")
	fs := &fullStore{Store: c.store}
	fs.full.Store(true)
	c.store = fs
	runCollector(t, c)
	ctx := context.Background()
	<-c.Listening()
	get := func(p string) (int, string) {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/-/ready")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "heartbeat") && strings.Contains(body, "disk is full") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/-/ready with a full store: %d %q", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, m := get("/metrics"); !strings.Contains(m, `nines_store_write_errors_total{op="heartbeat"} 1`) {
		t.Errorf("/metrics lacks the failed heartbeat:\n%s", m)
	}
	// The next good write makes it ready again.
	fs.full.Store(false)
	c.storeHealth.observe("heartbeat", c.store.Alive(ctx, c.runID, time.Now()))
	if code, body := get("/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready after the store recovered: %d %q", code, body)
	}
}
