//go:build !linux

package exetrim

// Trim does nothing outside Linux.
func Trim() (Result, error) { return Result{}, ErrUnsupported }
