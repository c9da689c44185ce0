package collector

import (
	"context"
	"errors"
	"testing"

	"github.com/ninesmon/nines/collector/leader"
	"github.com/ninesmon/nines/rules"
)

// savesCounted counts the alert state writes that reach the store.
type savesCounted struct{ saves int }

func (s *savesCounted) SaveAlerts(context.Context, string, []rules.SavedAlert) error {
	s.saves++
	return nil
}

func (s *savesCounted) LoadAlerts(context.Context) ([]rules.SavedAlert, error) { return nil, nil }

// TestAlertStateIsTheLeaders: a follower leaves the alert state to the
// leader (rules.ErrNotSaved, so it writes at its first evaluation as
// leader); a leader, and a collector alone on SQLite, write it.
func TestAlertStateIsTheLeaders(t *testing.T) {
	ctx := context.Background()
	st := &savesCounted{}
	follower := leaderAlerts{StateStore: st, lease: leader.New(leader.Options{})} // never acquired
	if err := follower.SaveAlerts(ctx, "g", nil); !errors.Is(err, rules.ErrNotSaved) || st.saves != 0 {
		t.Errorf("a follower's save: %v, %d writes; want rules.ErrNotSaved and none", err, st.saves)
	}
	alone := leaderAlerts{StateStore: st, lease: leader.Always()}
	if err := alone.SaveAlerts(ctx, "g", nil); err != nil || st.saves != 1 {
		t.Errorf("a leader's save: %v, %d writes; want it written", err, st.saves)
	}
}
