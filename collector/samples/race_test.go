//go:build race

package samples

// raceEnabled: the race detector makes allocations larger, so heap
// measurements are not the ones a real collector sees.
const raceEnabled = true
