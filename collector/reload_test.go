package collector

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
)

// TestReloadAddsReceiver: a reload that adds a webhook receiver and a
// route to it makes the next incident reach it (the notifiers are rebuilt
// with the routes, not only the routes swapped).
func TestReloadAddsReceiver(t *testing.T) {
	got := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()
	rules := "groups:\n  - name: g\n    interval: 50ms\n    rules:\n      - alert: BackupFailed\n        expr: fixture_backup_failed > 0\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	c, base := startCollectorIn(t, dir, "rules: {files: [r.yml]}\nauth:\n  tokens:\n    - {name: root, role: admin, token_file: admin.token}\n",
		map[string]string{"r.yml": rules, "admin.token": "adm"})
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	added := string(body) + "receivers:\n  - {name: hook, webhook: {url: \"" + hook.URL + "\", secret: s, timeout: 5s}}\nroutes:\n  - receiver: hook\n"
	if err := os.WriteFile(path, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, "POST", base+"/-/reload", "adm", ""); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}

	if err := c.samples.Append(labels.FromStrings("__name__", "fixture_backup_failed", "host", "a"), time.Now().UnixMilli(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !strings.Contains(b, "BackupFailed") {
			t.Errorf("webhook payload: %s", b)
		}
	case <-time.After(15 * time.Second):
		ctx := context.Background()
		list, _ := c.store.Incidents(ctx, alerting.Filter{})
		var ds []alerting.Delivery
		if len(list) > 0 {
			ds, _ = c.store.Deliveries(ctx, list[0].ID)
		}
		t.Fatalf("the receiver added by the reload got nothing within 15 s: incidents %+v, deliveries %+v", list, ds)
	}
}

// TestConcurrentReloads: reloads by signal and by API at once run one at
// a time and leave one whole configuration in force (run with -race).
func TestConcurrentReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	c, base := startCollectorIn(t, dir, "auth:\n  tokens:\n    - {name: root, role: admin, token_file: admin.token}\n",
		map[string]string{"admin.token": "adm"})
	body, _ := os.ReadFile(path)
	hooks := string(body) + "receivers:\n  - {name: a, webhook: {url: \"http://127.0.0.1:1/\", secret: s}}\n  - {name: b, webhook: {url: \"http://127.0.0.1:1/\", secret: s}}\nroutes:\n  - receiver: a\n  - receiver: b\n"
	if err := os.WriteFile(path, []byte(hooks), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if code, body := send(t, "POST", base+"/-/reload", "adm", ""); code != http.StatusOK {
				t.Errorf("reload by API: %d %s", code, body)
			}
		})
		wg.Go(func() {
			if err := c.ReloadConfig(c.reloadFn, "signal", "SIGHUP"); err != nil {
				t.Errorf("reload by signal: %v", err)
			}
		})
	}
	wg.Wait()
	c.mu.Lock()
	n := len(c.notifiers)
	c.mu.Unlock()
	if n != 2 || len(c.config().Receivers) != 2 {
		t.Errorf("after the reloads: %d notifiers, %d receivers configured; want 2 and 2", n, len(c.config().Receivers))
	}
}

// TestReloadRefusesWhatItCannotApply: a configuration whose route names
// no receiver (one that got past validation) is refused with a clear
// error, reported by the metric, and the running one stays whole.
func TestReloadRefusesWhatItCannotApply(t *testing.T) {
	cfg, err := config.Load("c.yml", []byte("storage: {path: "+filepath.Join(t.TempDir(), "n.db")+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.store.Close()
	bad := *cfg
	bad.Routes = []config.Route{{Receiver: "nobody"}}
	if err := c.Reload(&bad); err == nil || !strings.Contains(err.Error(), `routes[0]: unknown receiver "nobody"`) {
		t.Errorf("reload with a route to no receiver: got %v", err)
	}
	if c.config() != cfg {
		t.Error("the refused configuration was swapped in")
	}
	if v := testutil.ToFloat64(c.reloadOK); v != 0 {
		t.Errorf("nines_config_last_reload_successful = %v, want 0", v)
	}
	if err := c.Reload(cfg); err != nil || testutil.ToFloat64(c.reloadOK) != 1 {
		t.Errorf("reload of a good configuration: %v", err)
	}
}
