//go:build !race

package model

import "time"

const defaultBudget = 90 * time.Second
