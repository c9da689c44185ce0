// Package yamlconftest checks configuration types against the loader:
// that no `*_file` key anywhere escapes it.
package yamlconftest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// EveryFileKeyResolved fills every `*_file` key that v's type can hold
// (pointers allocated, lists given one element) with a file of its own
// in a temporary directory, runs resolve (the loader's resolution step)
// on it, and fails for every key resolve left relative, and every secret
// beside a `*_file` key that did not get its file's content. v must be a
// pointer to a zero configuration.
func EveryFileKeyResolved(t *testing.T, v any, resolve func(dir string) error) {
	t.Helper()
	dir := t.TempDir()
	var keys []string
	fill(t, reflect.ValueOf(v).Elem(), "", dir, &keys)
	if len(keys) == 0 {
		t.Fatal("the configuration type has no *_file key")
	}
	if err := resolve(dir); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	check(t, reflect.ValueOf(v).Elem(), "")
}

func key(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fill(t *testing.T, v reflect.Value, path, dir string, keys *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(t, v.Elem(), path, dir, keys)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		fill(t, v.Index(0), path+"[0]", dir, keys)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			k := key(f)
			p := path + "." + k
			if strings.HasSuffix(k, "_file") && f.Type.Kind() == reflect.String {
				name := fmt.Sprintf("file%d", len(*keys))
				if err := os.WriteFile(filepath.Join(dir, name), []byte("content of "+p+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				v.Field(i).SetString(name)
				*keys = append(*keys, p)
				continue
			}
			fill(t, v.Field(i), p, dir, keys)
		}
	}
}

func check(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			check(t, v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			check(t, v.Index(i), path+"[0]")
		}
	case reflect.Struct:
		secrets := map[string]reflect.Value{}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Type == reflect.TypeFor[yamlconf.Secret]() {
				secrets[key(f)] = v.Field(i)
			}
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			k := key(f)
			p := path + "." + k
			if strings.HasSuffix(k, "_file") && f.Type.Kind() == reflect.String {
				if !filepath.IsAbs(v.Field(i).String()) {
					t.Errorf("%s: %q was not resolved against the configuration's directory", p, v.Field(i).String())
				}
				if s, ok := secrets[strings.TrimSuffix(k, "_file")]; ok && s.String() != "content of "+p {
					t.Errorf("%s: the secret beside it is %q, not the file's content", p, s.String())
				}
				continue
			}
			check(t, v.Field(i), p)
		}
	}
}

// ReadableSecretRefused writes cfgYAML as cfgName in a temporary
// directory beside the file "secret.file" (which cfgYAML names) with mode
// 0644, and checks that load refuses it with an error naming key, the
// file and the fix; then, at 0600, that load accepts it.
func ReadableSecretRefused(t *testing.T, cfgName, cfgYAML, key string, load func(path string) error) {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.file")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, cfgName)
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	err := load(cfg)
	if want := key + ": " + secret + " holds a secret but is readable by group or others (mode 0644): run chmod 600 " + secret; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := load(cfg); err != nil {
		t.Errorf("at 0600: %v", err)
	}
}
