package e2e

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// TestHAFencing freezes the leader of a pair in the middle of its first
// write of a new incident (SIGSTOP from a failpoint) and checks that the
// other collector takes over and opens the incident itself, and that the
// old leader, woken with SIGCONT, adds nothing: one incident, told once.
//   - fence.before_check: frozen between its lease check and its
//     transaction; woken, its write is refused by the fencing epoch
//     (nines_incident_writes_fenced_total).
//   - fence.after_check: frozen inside the transaction, holding the
//     epoch's row lock, which would block the takeover: the server ends
//     the idle transaction (postgres.IdleInTransaction), so the other
//     takes over all the same and the frozen write is lost with its
//     session (nines_incident_store_errors_total).
func TestHAFencing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and two collectors")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	for _, tc := range []struct{ failpoint, refusal string }{
		{"fence.before_check", "nines_incident_writes_fenced_total"},
		{"fence.after_check", `nines_incident_store_errors_total{op="open"}`},
	} {
		t.Run(tc.failpoint, func(t *testing.T) { testFencing(t, tc.failpoint, tc.refusal) })
	}
}

func testFencing(t *testing.T, fp, refusal string) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	collectorBin := binary(t, "collector/cmd/nines-collector")
	hook, hookAddr := startHook(t)

	type member struct {
		dir string
		api client
	}
	newMember := func() member {
		m := member{dir: t.TempDir()}
		addr := freeAddr(t)
		m.api = client{base: "http://" + addr, token: e2eAdminToken}
		write(t, filepath.Join(m.dir, "rules.yml"), `groups:
  - name: g
    interval: 100ms
    rules:
      - alert: BackupFailed
        expr: vector(1)
        labels: {priority: P2}
`)
		writePairCollector(t, m.dir, addr, dsn, fmt.Sprintf(`
availability: {startup_grace: 3s}
rules: {files: [rules.yml]}
receivers:
  - name: hook
    webhook: {url: "http://%s/", secret: hook-secret}
`, hookAddr))
		return m
	}
	metric := func(m member, name string) float64 {
		return m.api.metric(t, name)
	}
	a, b := newMember(), newMember()
	old := startEnv(t, "collector a (freezes)", []string{"NINES_FAILPOINTS=" + fp + ":stop"}, collectorBin,
		"--config", filepath.Join(a.dir, "collector.yml"))
	eventually(t, 30*time.Second, "a frozen before its first fenced write", func() (bool, string) {
		return strings.Contains(old.output(), "failpoint "+fp+": SIGSTOP"), "not yet"
	})
	frozen := time.Now()
	start(t, "collector b", collectorBin, "--config", filepath.Join(b.dir, "collector.yml"))
	eventually(t, 20*time.Second, "b leads while a is frozen", func() (bool, string) {
		v := metric(b, "nines_leader")
		return v == 1, fmt.Sprintf("nines_leader %v", v)
	})
	t.Logf("takeover from the frozen leader: %s", time.Since(frozen).Round(10*time.Millisecond))
	var list struct {
		Data []incident
	}
	eventually(t, 10*time.Second, "b opened the incident", func() (bool, string) {
		b.api.get(t, "/api/v1/incidents", &list)
		return len(list.Data) == 1, fmt.Sprintf("%+v", list.Data)
	})
	id := list.Data[0].ID

	// a wakes and goes on with its write, believing it leads: refused.
	if err := old.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// A write frozen before its transaction is refused by the epoch.
	// Another transaction of a's that was open when it froze (a periodic
	// task's) is ended by the server meanwhile, and on a loaded machine
	// that can take the refused write's connection down with it: then it
	// fails as a store error, still refused, and the log says which.
	const storeErr = `nines_incident_store_errors_total{op="open"}`
	eventually(t, 10*time.Second, "a's write refused", func() (bool, string) {
		v, e := metric(a, refusal), metric(a, storeErr)
		if v < 1 && e >= 1 && refusal != storeErr && strings.Contains(old.output(), `msg="record incident change"`) {
			t.Logf("the write failed with its session, not at the epoch check:\n%s", grepLines(old.output(), "record incident change"))
			return true, ""
		}
		return v >= 1, fmt.Sprintf("%s %v", refusal, v)
	})
	eventually(t, 5*time.Second, "a follows", func() (bool, string) {
		v := metric(a, "nines_leader")
		return v == 0, fmt.Sprintf("nines_leader %v", v)
	})
	if metric(a, refusal) >= 1 && refusal != storeErr && !strings.Contains(old.output(), "refused: not the leader of the HA pair") {
		t.Errorf("a's log does not name the refusal:\n%s", old.output())
	}
	time.Sleep(2 * time.Second) // evaluations every 100 ms: a duplicate would be there by now
	b.api.get(t, "/api/v1/incidents", &list)
	if len(list.Data) != 1 || list.Data[0].ID != id {
		t.Errorf("incidents: %+v, want only %d", list.Data, id)
	}
	eventually(t, 10*time.Second, "the webhook told once", func() (bool, string) {
		c := hook.counts()
		return len(c) == 1 && c[fmt.Sprintf("%d/opened", id)] == 1, fmt.Sprintf("%v", c)
	})
}
