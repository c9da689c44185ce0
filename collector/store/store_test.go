package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ninesmon/nines/alerting"
)

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"not found is alerting's", fmt.Errorf("incident 7: %w", ErrNotFound), alerting.ErrNotFound, true},
		{"conflict is alerting's", fmt.Errorf("incident 7 is closed: %w", ErrConflict), alerting.ErrConflict, true},
		{"maintenance over is a conflict", fmt.Errorf("%w: 3", ErrMaintenanceOver), ErrConflict, true},
		{"maintenance over is alerting's conflict", ErrMaintenanceOver, alerting.ErrConflict, true},
		{"not found is no conflict", ErrNotFound, ErrConflict, false},
		{"conflict is not maintenance over", ErrConflict, ErrMaintenanceOver, false},
		{"alerting's not found is not the store's", alerting.ErrNotFound, ErrNotFound, false},
	} {
		if got := errors.Is(tc.err, tc.target); got != tc.want {
			t.Errorf("%s: errors.Is(%v, %v) = %t, want %t", tc.name, tc.err, tc.target, got, tc.want)
		}
	}
	if got := fmt.Errorf("maintenance window 3: %w", ErrNotFound).Error(); got != "maintenance window 3: not found" {
		t.Errorf("message: got %q", got)
	}
}
