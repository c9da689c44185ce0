//go:build !race

package model

import "time"

const defaultBudget = 60 * time.Second
