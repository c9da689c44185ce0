//go:build !unix

package pgtest

import (
	"os/exec"
	"os/user"
)

func setCredential(*exec.Cmd, *user.User) {}

func chown(*user.User, string) error { return nil }
