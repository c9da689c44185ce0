//go:build race

package model

import "time"

// defaultBudget is short under the race detector (about ten times
// slower, and the driver is one goroutine); make test also runs the
// model without it, for the full budget.
const defaultBudget = 5 * time.Second
