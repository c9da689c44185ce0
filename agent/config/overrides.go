package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Overrides are settings given on the command line, over the
// configuration file: what an administrator passes to the Windows
// installer (its COLLECTOR_URL, TOKEN, TOKEN_FILE, LABELS properties) or
// to a service definition. Empty fields change nothing.
type Overrides struct {
	URLs      []string          // replace push.urls
	Token     string            // replaces push.token and push.token_file
	TokenFile string            // replaces push.token and push.token_file
	Labels    map[string]string // added to labels (a name in both: this value)
}

func (o Overrides) empty() bool {
	return len(o.URLs) == 0 && o.Token == "" && o.TokenFile == "" && len(o.Labels) == 0
}

// overridesSource names the overrides in error messages.
const overridesSource = "<command line>"

// LoadFileWith loads the configuration file at path (the defaults when
// path is empty), applies o, validates the result and resolves its files
// (relative paths in o against the working directory when there is no
// file). The file must be valid by itself; o then replaces or adds keys.
func LoadFileWith(path string, o Overrides) (*Config, error) {
	if path != "" && o.empty() {
		return LoadFile(path)
	}
	var data []byte
	name, dir := "<defaults>", "."
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		name, dir = path, filepath.Dir(path)
	}
	c, err := Load(name, data)
	if err != nil {
		return nil, err
	}
	if !o.empty() {
		if o.Token != "" || o.TokenFile != "" {
			c.Push.Token, c.Push.TokenFile = "", ""
		}
		overlay, err := o.yaml()
		if err != nil {
			return nil, err
		}
		if err := yamlconf.Decode(overridesSource, overlay, c); err != nil {
			return nil, err
		}
	}
	if err := c.Resolve(dir); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// yaml renders the overrides as a configuration document, so that they go
// through the same strict decoding and validation as a file.
func (o Overrides) yaml() ([]byte, error) {
	doc := map[string]any{}
	push := map[string]any{}
	if len(o.URLs) > 0 {
		push["urls"] = o.URLs
	}
	if o.Token != "" {
		push["token"] = o.Token
	}
	if o.TokenFile != "" {
		push["token_file"] = o.TokenFile
	}
	if len(push) > 0 {
		doc["push"] = push
	}
	if len(o.Labels) > 0 {
		doc["labels"] = o.Labels
	}
	return yaml.Marshal(doc)
}

// ParseLabels reads labels given as "name=value" pairs separated by
// commas ("site=paris,role=desk"), as the installer's LABELS property
// takes them. A value cannot hold a comma.
func ParseLabels(s string, into map[string]string) error {
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("label %q: want name=value", pair)
		}
		into[strings.TrimSpace(name)] = value
	}
	return nil
}
