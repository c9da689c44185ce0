package main

import (
	"os"

	"github.com/kardianos/service"
)

// platformService completes c for launchd: the job's plist comes from
// launchdPlist, so what is installed is what TestLaunchdPlist checks.
func platformService(c *service.Config) {
	exe, err := os.Executable()
	if err != nil {
		return // kardianos/service's own template then applies
	}
	if p, err := launchdPlist(c, exe); err == nil {
		c.Option["LaunchdConfig"] = p
	}
}
