package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// Formats are the package formats Build writes.
var Formats = []string{"deb", "rpm"}

// Options says what Build packages and where.
type Options struct {
	// Root is the repository's root: deploy/systemd, deploy/examples and
	// deploy/package are read from it.
	Root string
	// Bin is the directory holding the Linux binaries nines-agent and
	// nines-collector, built for Arch.
	Bin string
	// Out is where the packages are written.
	Out string
	// Version is the build's version (git describe); see PackageVersion.
	Version string
	// Arch is the Go architecture (amd64, arm64); nfpm maps it to each
	// format's name.
	Arch string
}

// component is one binary and its package.
type component struct {
	Name     string // package, binary and unit name
	Config   string // configuration file in /etc/nines
	StateDir string
	Summary  string
	Dirs     []string         // directories the package owns (rpm removes only those)
	Extra    []*files.Content // further files (rules, examples)
}

// User is the system user both services run as.
const User = "nines"

func components(root string) []component {
	examples := filepath.Join(root, "deploy", "examples")
	return []component{
		{
			Name:     "nines-agent",
			Config:   "agent.yml",
			StateDir: "/var/lib/nines-agent",
			Dirs:     []string{"/etc/nines", "/usr/share/doc/nines-agent", "/usr/share/doc/nines-agent/examples"},
			Summary:  "Nines host agent: pushes a host's metrics and checks to a Nines collector",
			Extra: []*files.Content{
				doc(filepath.Join(examples, "agent.yml"), "/usr/share/doc/nines-agent/examples/agent.yml"),
			},
		},
		{
			Name:     "nines-collector",
			Config:   "collector.yml",
			StateDir: "/var/lib/nines-collector",
			Dirs:     []string{"/etc/nines", "/etc/nines/rules", "/usr/share/doc/nines-collector", "/usr/share/doc/nines-collector/examples"},
			Summary:  "Nines collector: availability, alerting, incidents and SLA reports",
			Extra: []*files.Content{
				conffile(filepath.Join(examples, "rules.yml"), "/etc/nines/rules/rules.yml"),
				conffile(filepath.Join(examples, "nines-rules.yml"), "/etc/nines/rules/nines-rules.yml"),
				doc(filepath.Join(examples, "collector.yml"), "/usr/share/doc/nines-collector/examples/collector.yml"),
			},
		},
	}
}

func conffile(src, dst string) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: files.TypeConfigNoReplace,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644}}
}

func doc(src, dst string) *files.Content {
	return &files.Content{Source: src, Destination: dst,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644}}
}

// Build writes a .deb and an .rpm for each binary into o.Out and
// returns their paths.
func Build(o Options) ([]string, error) {
	version := PackageVersion(o.Version)
	tmp, err := os.MkdirTemp("", "nines-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range components(o.Root) {
		for _, format := range Formats {
			info, err := c.info(o, version, format, tmp)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			p, err := write(info, format, o.Out)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", c.Name, format, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// info describes c's package in format; generated files (unit, scripts)
// go to tmp.
func (c component) info(o Options, version, format, tmp string) (*nfpm.Info, error) {
	dir := filepath.Join(tmp, c.Name+"."+format)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(o.Bin, c.Name)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the binary: %w", err)
	}
	src, err := os.ReadFile(filepath.Join(o.Root, "deploy", "systemd", c.Name+".service"))
	if err != nil {
		return nil, err
	}
	unit, err := PackagedUnit(c.Name, src)
	if err != nil {
		return nil, err
	}
	unitPath := filepath.Join(dir, c.Name+".service")
	if err := os.WriteFile(unitPath, unit, 0o644); err != nil {
		return nil, err
	}
	var scripts nfpm.Scripts
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"preinstall", &scripts.PreInstall},
		{"postinstall", &scripts.PostInstall},
		{"preremove", &scripts.PreRemove},
		{"postremove", &scripts.PostRemove},
	} {
		p, err := c.script(o.Root, s.name, dir)
		if err != nil {
			return nil, err
		}
		*s.dst = p
	}
	root := &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644}
	contents := files.Contents{
		{Source: bin, Destination: "/usr/bin/" + c.Name,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755}},
		{Source: unitPath, Destination: "/usr/lib/systemd/system/" + c.Name + ".service", FileInfo: root},
		conffile(filepath.Join(o.Root, "deploy", "package", "etc", c.Config), "/etc/nines/"+c.Config),
	}
	for _, d := range c.Dirs {
		contents = append(contents, &files.Content{Destination: d, Type: files.TypeDir,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755}})
	}
	contents = append(contents, c.Extra...)
	// The maintainer scripts create the user with these.
	depends := []string{"passwd"}
	if format == "rpm" {
		depends = []string{"/usr/sbin/useradd", "/usr/sbin/groupadd"}
	}
	info := &nfpm.Info{
		Name:          c.Name,
		Arch:          o.Arch,
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none",
		Release:       "1",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    "Nines developers <nines@ninesmon.invalid>",
		Description:   c.Summary,
		Vendor:        "Nines",
		Homepage:      "https://github.com/ninesmon/nines",
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts:  scripts,
			Depends:  depends,
			Umask:    0o022,
		},
	}
	return nfpm.WithDefaults(info), nil
}

// script renders the maintainer script name for c into dir.
func (c component) script(root, name, dir string) (string, error) {
	src := filepath.Join(root, "deploy", "package", "scripts", name+".sh")
	tmpl, err := template.ParseFiles(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, c); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, b.Bytes(), 0o755)
}

// write packages info in format into dir.
func write(info *nfpm.Info, format, dir string) (string, error) {
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	info.Target = filepath.Join(dir, pkgr.ConventionalFileName(info))
	f, err := os.Create(info.Target)
	if err != nil {
		return "", err
	}
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		os.Remove(info.Target)
		return "", err
	}
	return info.Target, f.Close()
}

var describe = regexp.MustCompile(`^v?([0-9]+\.[0-9]+(\.[0-9]+)?)(-.*)?$`)

// PackageVersion turns a git describe string into a version both dpkg
// and rpm order correctly: v1.2.0 is 1.2.0, v1.2.0-3-gabc-dirty is
// 1.2.0+3.gabc.dirty, and an untagged build (abc1234) is 0.0.0+abc1234,
// so that it never sorts above a release.
func PackageVersion(v string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.':
				return r
			}
			return '.'
		}, s)
	}
	if m := describe.FindStringSubmatch(v); m != nil {
		if m[3] == "" {
			return m[1]
		}
		return m[1] + "+" + clean(strings.TrimPrefix(m[3], "-"))
	}
	if v == "" {
		v = "dev"
	}
	return "0.0.0+" + clean(v)
}

// PackagedUnit turns the hand-installed unit from deploy/systemd into the
// package's: the binary in /usr/bin. Both run as the static user nines
// (the secrets in /etc/nines are readable by their owner alone, which a
// dynamic user cannot be) with a state directory only it can read.
func PackagedUnit(name string, src []byte) ([]byte, error) {
	s := string(src)
	i := strings.Index(s, "[Unit]")
	if i < 0 {
		return nil, errors.New("unit " + name + " has no [Unit] section")
	}
	s = "# " + name + ", as its package installs it. It is not enabled: configure\n" +
		"# /etc/nines first, then: systemctl enable --now " + name + "\n" + s[i:]
	for _, r := range []struct{ old, new string }{
		{"/usr/local/bin/" + name + " ", "/usr/bin/" + name + " "},
	} {
		if !strings.Contains(s, r.old) {
			return nil, fmt.Errorf("unit %s: no %q to replace (deploy/systemd changed: update PackagedUnit)", name, strings.TrimSpace(r.old))
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	return []byte(s), nil
}
