package main

import (
	"fmt"
	"strings"

	"github.com/kardianos/service"
	"howett.net/plist"
)

// launchdJob is the launchd job the agent installs on macOS
// (launchd.plist(5)); field names are the plist keys.
type launchdJob struct {
	Label             string   `plist:"Label"`
	Disabled          bool     `plist:"Disabled"`
	ProgramArguments  []string `plist:"ProgramArguments"`
	KeepAlive         bool     `plist:"KeepAlive"`
	RunAtLoad         bool     `plist:"RunAtLoad"`
	SessionCreate     bool     `plist:"SessionCreate"`
	StandardOutPath   string   `plist:"StandardOutPath"`
	StandardErrorPath string   `plist:"StandardErrorPath"`
}

// launchdPlist renders the launchd job for c, run from exe, as the
// property list "service install" writes to
// /Library/LaunchDaemons/<name>.plist. It is rendered here, by a plist
// encoder, rather than by kardianos/service's template, so that it can be
// parsed and checked on any system (see TestLaunchdPlist).
// kardianos/service reads the result as a template of its own, so a
// "{{" in a path is refused.
func launchdPlist(c *service.Config, exe string) (string, error) {
	job := launchdJob{
		Label:             c.Name,
		ProgramArguments:  append([]string{exe}, c.Arguments...),
		KeepAlive:         optionBool(c.Option, "KeepAlive", true), // kardianos/service's defaults
		RunAtLoad:         optionBool(c.Option, "RunAtLoad", false),
		StandardOutPath:   "/var/log/" + c.Name + ".out.log",
		StandardErrorPath: "/var/log/" + c.Name + ".err.log",
	}
	out, err := plist.MarshalIndent(job, plist.XMLFormat, "\t")
	if err != nil {
		return "", fmt.Errorf("launchd job %s: %w", c.Name, err)
	}
	if strings.Contains(string(out), "{{") {
		return "", fmt.Errorf("launchd job %s: %q in a path or argument is not supported", c.Name, "{{")
	}
	return string(out), nil
}

func optionBool(kv service.KeyValue, key string, def bool) bool {
	if v, ok := kv[key].(bool); ok {
		return v
	}
	return def
}
