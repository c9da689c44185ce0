package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

// TestModel plays random scripts for NINES_MODEL_BUDGET (default 90s, 5s
// under the race detector)
// and checks each against the oracle; NINES_SEED=<n> replays one script.
func TestModel(t *testing.T) {
	ruleFiles := exampleRules(t)
	if s := os.Getenv("NINES_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("NINES_SEED=%q: not a number", s)
		}
		sc := generate(rand.New(rand.NewPCG(seed, 0)))
		if problems := check(t, sc, ruleFiles); len(problems) > 0 {
			t.Fatalf("seed %d:\n%s\nproblems:\n  %s", seed, sc, strings.Join(problems, "\n  "))
		}
		return
	}
	budget := defaultBudget
	if s := os.Getenv("NINES_MODEL_BUDGET"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("NINES_MODEL_BUDGET=%q: %v", s, err)
		}
		budget = d
	}
	base := uint64(time.Now().UnixNano())
	deadline := time.Now().Add(budget)
	// Scripts run side by side, one per core; the first failure stops the
	// others and is shrunk.
	var (
		mu     sync.Mutex
		n      int
		failed *failure
	)
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(w); ; i += uint64(runtime.GOMAXPROCS(0)) {
				mu.Lock()
				stop := failed != nil || (n > 0 && time.Now().After(deadline))
				mu.Unlock()
				if stop {
					return
				}
				seed := base + i
				sc := generate(rand.New(rand.NewPCG(seed, 0)))
				problems := check(t, sc, ruleFiles)
				mu.Lock()
				n++
				if len(problems) > 0 && failed == nil {
					failed = &failure{seed, sc, problems}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		small, smallProblems := shrink(t, failed.script, ruleFiles, failed.problems)
		t.Fatalf("seed %d (replay: NINES_SEED=%d go test ./collector/model -run TestModel) fails; shortest failing script:\n%s\nproblems:\n  %s",
			failed.seed, failed.seed, small, strings.Join(smallProblems, "\n  "))
	}
	t.Logf("%d scripts passed in %s", n, budget)
}

type failure struct {
	seed     uint64
	script   script
	problems []string
}

// exampleRules are the availability rules of deploy/examples/rules.yml,
// as shipped.
func exampleRules(t *testing.T) []*rules.File {
	t.Helper()
	f, err := rules.ParseFile(filepath.Join("..", "..", "deploy", "examples", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	f.Groups = slices.DeleteFunc(f.Groups, func(g rules.GroupSpec) bool { return g.Name != "availability" })
	f.SLOs = nil
	if len(f.Groups) != 1 {
		t.Fatal("deploy/examples/rules.yml has no availability group")
	}
	return []*rules.File{f}
}

// scratch is a directory for one script's store, in memory where the
// machine has /dev/shm (fsync is free there).
func scratch(t *testing.T) string {
	t.Helper()
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "nines-model-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// check plays s and returns every way the run differs from the oracle.
func check(t *testing.T, s script, ruleFiles []*rules.File) []string {
	t.Helper()
	ctx := context.Background()
	dir := scratch(t)
	defer os.RemoveAll(dir)
	r, err := play(ctx, s, dir, ruleFiles)
	if err != nil {
		return []string{"run: " + err.Error()}
	}
	problems := append(slices.Clone(r.facts.violation), r.recv.wrong...)
	end := t0.Add(s.End)
	incidents, err := hostIncidents(ctx, r.proc.store)
	if err != nil {
		return append(problems, err.Error())
	}
	// The collector is killed at the end, and the figures read from the
	// store half an hour later, as a report made while it is down would:
	// time past its last heartbeat is not observed.
	if err := r.stop(ctx, false); err != nil {
		return append(problems, err.Error())
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nines.db"))
	if err != nil {
		return append(problems, err.Error())
	}
	defer st.Close()
	reportAt := end.Add(30 * time.Minute)
	raw, err := st.Gaps(ctx, t0, reportAt)
	if err != nil {
		return append(problems, err.Error())
	}
	var gaps []availability.Span
	for _, g := range raw {
		gaps = append(gaps, availability.Span{From: g[0], To: g[1]})
	}
	win := availability.Span{From: t0, To: reportAt}
	for _, h := range hostNames {
		m := oracle(s, r.facts, h, end)
		// Incidents: one per outage (per alert identity: all of a script
		// is within the reopen window), none while not down.
		eps := m.episodes(r.facts, h)
		if got, want := len(incidents[h]), labelSets(eps); got != want {
			problems = append(problems, fmt.Sprintf("%s: %d incidents, want %d (outages: %s)", h, got, want, describe(eps)))
		}
		if len(incidents[h]) > 0 && len(eps) > 0 {
			last := eps[len(eps)-1]
			inc := incidentOf(incidents[h], last.Labels)
			// A hand close counts against the last outage only once the
			// collector has seen it: the outage starts (backdated) at the
			// host's last push plus an interval, but its incident opens or
			// reopens at the tick that detects it, after the events of
			// that tick; a ticket closed in between is reopened.
			handClosed := slices.ContainsFunc(r.facts.resolved[h], func(at time.Time) bool { return at.After(last.Seen) })
			switch {
			case inc == nil:
			case last.To.IsZero() && !handClosed && !inc.Status.Active():
				problems = append(problems, fmt.Sprintf("%s: still down at the end, but incident %d is %s", h, inc.ID, inc.Status))
			case (!last.To.IsZero() || handClosed) && inc.Status.Active():
				problems = append(problems, fmt.Sprintf("%s: incident %d still %s at the end (outages: %s)", h, inc.ID, inc.Status, describe(eps)))
			}
		}
		for _, inc := range incidents[h] {
			problems = append(problems, ticketProblems(inc, r.recv.log[inc.ID])...)
		}
		// The durable history read as a report reads it.
		initial, changes, err := st.HistorySince(ctx, h, win.From, win.To)
		if err != nil {
			return append(problems, err.Error())
		}
		res, _ := availability.Summarise(win, availability.Timeline(win, initial, changes, gaps))
		got := figures{Up: res.Up, Down: res.Down, NoData: res.NoData, Planned: res.Planned, NotObserved: res.NotObserved}
		if want := m.expectedFigures(r.facts, win.From, win.To); got != want {
			problems = append(problems, fmt.Sprintf("%s: availability %s, want %s\n    history: %s\n    oracle:  %s", h, got, want, history(changes), m))
		}
	}
	return problems
}

func incidentOf(list []alerting.Incident, lbls map[string]string) *alerting.Incident {
	for i := len(list) - 1; i >= 0; i-- {
		match := true
		for k, v := range lbls {
			if list[i].Labels[k] != v {
				match = false
			}
		}
		if match {
			return &list[i]
		}
	}
	return nil
}

// ticketProblems: the ticketing system got the incident's opening once,
// first, and the last word it got matches how the incident ended.
func ticketProblems(inc alerting.Incident, log []string) []string {
	var out []string
	opened := 0
	var lifecycle []string
	for _, a := range log {
		switch a {
		case "opened":
			opened++
			lifecycle = append(lifecycle, a)
		case "reopened", "resolved", "closed":
			lifecycle = append(lifecycle, a)
		}
	}
	if opened != 1 || len(lifecycle) == 0 || lifecycle[0] != "opened" {
		out = append(out, fmt.Sprintf("incident %d: the ticketing system was told %v; want one opening, first", inc.ID, log))
		return out
	}
	lastWord := lifecycle[len(lifecycle)-1]
	if active := lastWord == "opened" || lastWord == "reopened"; active != inc.Status.Active() {
		out = append(out, fmt.Sprintf("incident %d is %s, but the ticketing system's last word is %q (%v)", inc.ID, inc.Status, lastWord, log))
	}
	return out
}

func (f figures) String() string {
	return fmt.Sprintf("up %s down %s no-data %s planned %s not-observed %s", f.Up, f.Down, f.NoData, f.Planned, f.NotObserved)
}

func (m *hostModel) String() string {
	var parts []string
	for _, c := range m.changes {
		parts = append(parts, fmt.Sprintf("%s@%s", c.To, c.At.Sub(t0)))
	}
	return strings.Join(parts, " ")
}

func history(changes []state.Change) string {
	var parts []string
	for _, c := range changes {
		parts = append(parts, fmt.Sprintf("%s@%s", c.To, c.At.Sub(t0)))
	}
	return strings.Join(parts, " ")
}

func describe(eps []episode) string {
	var parts []string
	for _, e := range eps {
		to := "end"
		if !e.To.IsZero() {
			to = e.To.Sub(t0).String()
		}
		parts = append(parts, fmt.Sprintf("%s-%s %v", e.From.Sub(t0), to, e.Labels))
	}
	return strings.Join(parts, ", ")
}

// shrink removes events and windows one at a time while the script
// still fails, for at most a minute, and returns the smallest.
func shrink(t *testing.T, s script, ruleFiles []*rules.File, problems []string) (script, []string) {
	deadline := time.Now().Add(time.Minute)
	for progress := true; progress && time.Now().Before(deadline); {
		progress = false
		for i := 0; i < len(s.Events)+len(s.Windows) && time.Now().Before(deadline); i++ {
			c := script{End: s.End, Events: slices.Clone(s.Events), Windows: slices.Clone(s.Windows)}
			if i < len(c.Events) {
				c.Events = slices.Delete(c.Events, i, i+1)
			} else {
				c.Windows = slices.Delete(c.Windows, i-len(c.Events), i-len(c.Events)+1)
			}
			if p := check(t, c, ruleFiles); len(p) > 0 {
				s, problems, progress = c, p, true
				i--
			}
		}
	}
	return s, problems
}
