package deploy

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	agentconfig "github.com/ninesmon/nines/agent/config"
	collectorconfig "github.com/ninesmon/nines/collector/config"
)

// TestExamplesShowEveryKey: the example configurations say they show
// every key; each key of each configuration type appears in its example,
// as a key or, for optional sections, in a commented-out line.
func TestExamplesShowEveryKey(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  reflect.Type
	}{
		{"examples/collector.yml", reflect.TypeFor[collectorconfig.Config]()},
		{"examples/agent.yml", reflect.TypeFor[agentconfig.Config]()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			present := map[string]bool{}
			nodeKeys(&doc, "", present)
			commented := map[string]bool{}
			for _, m := range regexp.MustCompile(`(?m)^\s*#\s*(?:- )?([a-z0-9_]+):`).FindAllStringSubmatch(string(data), -1) {
				commented[m[1]] = true
			}
			var missing []string
			for _, k := range typeKeys(tc.typ, "", map[reflect.Type]bool{}) {
				leaf := k[strings.LastIndexAny(k, ".]")+1:]
				// A secret and its _file form are one choice: either shows it.
				alt := strings.TrimSuffix(k, "_file")
				if alt == k {
					alt = k + "_file"
				}
				altLeaf := alt[strings.LastIndexAny(alt, ".]")+1:]
				if !present[k] && !present[alt] && !commented[leaf] && !commented[altLeaf] {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				t.Errorf("%s does not show %d keys:\n  %s", tc.file, len(missing), strings.Join(missing, "\n  "))
			}
		})
	}
}

// nodeKeys collects the key paths of a YAML document ([] for list items).
func nodeKeys(n *yaml.Node, path string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			nodeKeys(c, path, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			nodeKeys(c, path+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[p] = true
			nodeKeys(n.Content[i+1], p, out)
		}
	}
}

// typeKeys lists every YAML key path a configuration type accepts.
func typeKeys(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeKeys(t.Elem(), path, seen)
	case reflect.Slice:
		return typeKeys(t.Elem(), path+"[]", seen)
	case reflect.Struct:
		if seen[t] || t.PkgPath() == "time" {
			return nil
		}
		seen[t] = true
		defer delete(seen, t)
		var out []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if strings.Contains(opts, "inline") {
				out = append(out, typeKeys(f.Type, path, seen)...)
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			out = append(out, p)
			out = append(out, typeKeys(f.Type, p, seen)...)
		}
		return slices.Compact(out)
	}
	return nil
}
