package collector

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/ninesmon/nines/collector/config"
)

// buildCollector writes cfgYAML to dir/c.yml, loads it as the binary does
// (LoadFile: *_file keys read) and builds the collector, not running it.
func buildCollector(t *testing.T, dir, cfgYAML string) *Collector {
	t.Helper()
	path := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(path, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runCollector runs c until stop is called (at the latest when the test
// ends); stop waits for Run and reports its error.
func runCollector(t *testing.T, c *Collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
