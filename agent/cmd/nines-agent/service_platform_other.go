//go:build !darwin

package main

import "github.com/kardianos/service"

// platformService completes c for the system's service manager; only
// launchd needs more than serviceConfig gives.
func platformService(*service.Config) {}
