//go:build !windows

package main

import (
	"errors"
	"io"
)

// afterInstall completes "service install"; only Windows needs more than
// kardianos/service does.
func afterInstall(string, io.Writer) error { return nil }

// configureService is Windows only: the installer runs it.
func configureService(string, io.Writer) error {
	return errors.New("only on Windows, where the installer runs it after creating the service")
}
