package alerting

// Flap detection as Nagios does it: over the last 21 evaluations, the
// share of state changes, weighted from 0.8 for the oldest to 1.2 for the
// newest. Above FlapHigh a problem is flapping; it settles below FlapLow.
const (
	flapWindow = 21
	// FlapHigh and FlapLow are the thresholds, in percent.
	FlapHigh = 20.0
	FlapLow  = 5.0
)

// flapHistory is one dedup key's recent firing states, oldest first.
type flapHistory struct {
	states   []bool
	flapping bool
}

// observe adds a state and reports the weighted percent state change.
func (h *flapHistory) observe(firing bool) float64 {
	h.states = append(h.states, firing)
	if len(h.states) > flapWindow {
		h.states = h.states[len(h.states)-flapWindow:]
	}
	n := len(h.states)
	if n < 2 {
		return 0
	}
	// Weights run from 0.8 for the oldest possible change to 1.2 for the
	// newest; a history shorter than the window counts as if the missing
	// part had no changes, so a few early changes do not look like 100 %.
	weight := func(slot int) float64 { return 0.8 + 0.4*float64(slot)/float64(flapWindow-2) }
	var changed, full float64
	for slot := 0; slot < flapWindow-1; slot++ {
		full += weight(slot)
	}
	offset := flapWindow - n // slots before the history starts
	for i := 1; i < n; i++ {
		if h.states[i] != h.states[i-1] {
			changed += weight(offset + i - 1)
		}
	}
	return 100 * changed / full
}
