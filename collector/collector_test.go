package collector

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReload: a bad configuration is refused and the running one stays
// (reported by the metric); a good one is swapped in without a restart.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	addr := freeAddr(t)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("adm"), 0o600)
	os.WriteFile(filepath.Join(dir, "viewer.token"), []byte("view"), 0o600)
	base := "web: {listen_address: \"" + addr + "\"}\nstorage: {path: n.db}\nauth:\n  tokens:\n    - {name: admin, role: admin, token_file: admin.token}\n"
	write(base)
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), func() (*config.Config, error) { return config.LoadFile(path) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	url := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := do(t, "GET", url+"/-/ready", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("collector not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if code, _ := do(t, "GET", url+"/api/v1/targets", "view"); code != http.StatusUnauthorized {
		t.Fatalf("viewer before reload: got %d, want 401", code)
	}
	if code, _ := do(t, "POST", url+"/-/reload", "view"); code != http.StatusUnauthorized {
		t.Fatalf("reload with an unknown token: got %d, want 401", code)
	}

	write(base + "  bogus: 1\n")
	code, body := do(t, "POST", url+"/-/reload", "adm")
	if code != http.StatusBadRequest || !strings.Contains(body, "c.yml:6: field bogus not found") {
		t.Fatalf("bad reload: got %d %s", code, body)
	}
	_, metrics := do(t, "GET", url+"/metrics", "adm")
	if !strings.Contains(metrics, "nines_config_last_reload_successful 0") {
		t.Errorf("metric after failed reload:\n%s", grep(metrics, "reload"))
	}
	if code, _ := do(t, "GET", url+"/api/v1/targets", "adm"); code != http.StatusOK {
		t.Errorf("old config after a failed reload: got %d, want 200", code)
	}

	write(base + "    - {name: noc, role: viewer, token_file: viewer.token}\n")
	if code, body := do(t, "POST", url+"/-/reload", "adm"); code != http.StatusOK {
		t.Fatalf("good reload: got %d %s", code, body)
	}
	if code, _ := do(t, "GET", url+"/api/v1/targets", "view"); code != http.StatusOK {
		t.Errorf("viewer after reload: got %d, want 200", code)
	}
	if code, _ := do(t, "POST", url+"/-/reload", "view"); code != http.StatusForbidden {
		t.Errorf("reload as viewer: got %d, want 403", code)
	}
	_, metrics = do(t, "GET", url+"/metrics", "view")
	if !strings.Contains(metrics, "nines_config_last_reload_successful 1") {
		t.Errorf("metric after good reload:\n%s", grep(metrics, "reload"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// fakeSource writes one sample and one observation, then waits.
type fakeSource struct{}

func (fakeSource) Run(ctx context.Context, w Writer) error {
	now := time.Now()
	if err := w.Append(labels.FromStrings("__name__", "probe_up", "target", "sw1"), now.UnixMilli(), 1); err != nil {
		return err
	}
	if err := w.Observe(ctx, state.Observation{Name: "sw1", Kind: state.KindDevice, Interval: time.Second}, now); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func TestSourceFeedsTrackerAndWindow(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load("c.yml", []byte("web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {path: "+filepath.Join(dir, "n.db")+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.AddSource(fakeSource{})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for c.samples.NumSeries() == 0 || len(c.tracker.Snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("source data did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.tracker.Snapshot()[0]; got.Name != "sw1" || got.State != "up" || got.Kind != state.KindDevice {
		t.Errorf("tracked: got %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
