package shard

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("switch-%04d.example.net", i)
	}
	return out
}

func TestOwnerBalanced(t *testing.T) {
	members := []int64{41, 42, 43}
	count := map[int64]int{}
	for _, n := range names(3000) {
		count[Owner(n, members)]++
	}
	for _, m := range members {
		// 1000 each expected; binomial sd is about 26.
		if c := count[m]; c < 850 || c > 1150 {
			t.Errorf("member %d owns %d of 3000 names, want about 1000 (%v)", m, c, count)
		}
	}
}

func TestOwnerMovesOnlyWhatItMust(t *testing.T) {
	three := []int64{7, 8, 9}
	four := []int64{7, 8, 9, 10}
	two := []int64{7, 9}
	moved, joined := 0, 0
	for _, n := range names(2000) {
		before, after := Owner(n, three), Owner(n, four)
		if before != after {
			moved++
			if after != 10 {
				t.Fatalf("%s moved from %d to %d when 10 joined; only moves to the new member are allowed", n, before, after)
			}
		}
		if after == 10 {
			joined++
		}
		if left := Owner(n, two); before != 8 && left != before {
			t.Fatalf("%s moved from %d to %d when 8 left; only 8's names may move", n, before, left)
		}
	}
	if moved != joined || joined < 400 || joined > 600 {
		t.Errorf("a fourth member took %d of 2000 names (moved %d), want about 500", joined, moved)
	}
}

func TestOwnerIndependentOfOrder(t *testing.T) {
	for _, n := range names(200) {
		if a, b := Owner(n, []int64{1, 2, 3}), Owner(n, []int64{3, 1, 2}); a != b {
			t.Fatalf("%s: owner %d or %d depending on the order of members", n, a, b)
		}
	}
}

// fakeRuns is a heartbeat table: member -> last heartbeat.
type fakeRuns struct {
	alive map[int64]time.Time
	err   error
}

func (f *fakeRuns) list(_ context.Context, since time.Time) ([]int64, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []int64
	for id, at := range f.alive {
		if !at.Before(since) {
			out = append(out, id)
		}
	}
	return out, nil
}

func TestMembershipFollowsHeartbeats(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	now := t0
	runs := &fakeRuns{alive: map[int64]time.Time{1: t0, 2: t0, 3: t0}}
	var changes [][]int64
	m := New(Options{Self: 2, List: runs.list, Fresh: 20 * time.Second, Now: func() time.Time { return now },
		OnChange: func(ms []int64) { changes = append(changes, ms) }})
	if got := m.Members(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("before the first refresh members are %v, want self alone", got)
	}
	ctx := context.Background()
	must := func() {
		t.Helper()
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	must()
	if got := fmt.Sprint(m.Members()); got != "[1 2 3]" {
		t.Fatalf("members %s, want [1 2 3]", got)
	}
	// 1 and 2 keep beating, 3 stops: live until 20 s after its last beat.
	now = t0.Add(20 * time.Second)
	runs.alive[1], runs.alive[2] = now, now
	must()
	if got := fmt.Sprint(m.Members()); got != "[1 2 3]" {
		t.Fatalf("20 s after its last heartbeat 3 is still live; members %s", got)
	}
	now = t0.Add(21 * time.Second)
	must()
	if got := fmt.Sprint(m.Members()); got != "[1 2]" {
		t.Fatalf("members %s after 3 went silent, want [1 2]", got)
	}
	owned := 0
	for _, n := range names(100) {
		if m.Owns(n) {
			owned++
			if Owner(n, []int64{1, 2}) != 2 {
				t.Fatalf("Owns(%s) but the owner is %d", n, Owner(n, []int64{1, 2}))
			}
		}
	}
	if owned == 0 || owned == 100 {
		t.Errorf("2 owns %d of 100 names with 2 members", owned)
	}
	// A failed read keeps the last view.
	runs.err = errors.New("connection refused")
	if err := m.Refresh(ctx); err == nil {
		t.Fatal("Refresh hid the failed read")
	}
	if got := fmt.Sprint(m.Members()); got != "[1 2]" {
		t.Fatalf("members %s after a failed read, want the last view [1 2]", got)
	}
	// Self counts even when its own heartbeat is late; 3 comes back.
	runs.err = nil
	runs.alive = map[int64]time.Time{3: now}
	must()
	if got := fmt.Sprint(m.Members()); got != "[2 3]" {
		t.Fatalf("members %s, want [2 3]", got)
	}
	if got := fmt.Sprint(changes); got != "[[1 2 3] [1 2] [2 3]]" {
		t.Errorf("OnChange saw %s", got)
	}
}

func TestMembershipAloneOwnsAll(t *testing.T) {
	m := New(Options{Self: 5})
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range names(50) {
		if !m.Owns(n) {
			t.Fatalf("a member alone (SQLite) does not own %s", n)
		}
	}
}
