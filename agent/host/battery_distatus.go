package host

import (
	"errors"
	"fmt"

	"github.com/distatus/battery"
)

// fromDistatus turns what distatus/battery read (Windows, macOS) into our
// batteries: the charge as a percentage of the last full charge, the state
// by its platform-agnostic name. A battery whose charge could not be read
// is left out; one whose state could not be read is reported as Unknown.
func fromDistatus(bats []*battery.Battery, err error) ([]Battery, error) {
	var fatal battery.ErrFatal
	if errors.As(err, &fatal) {
		return nil, fmt.Errorf("batteries: %w", err)
	}
	var each battery.Errors
	errors.As(err, &each)
	var out []Battery
	for i, b := range bats {
		if b == nil {
			continue
		}
		status := b.State.String()
		if i < len(each) && each[i] != nil {
			var partial battery.ErrPartial
			if !errors.As(each[i], &partial) || partial.Current != nil || partial.Full != nil {
				continue
			}
			if partial.State != nil {
				status = "Unknown"
			}
		}
		if b.Full <= 0 {
			continue
		}
		out = append(out, Battery{Name: fmt.Sprintf("BAT%d", i), Capacity: min(100, b.Current/b.Full*100), Present: true, Status: status})
	}
	return out, nil
}
