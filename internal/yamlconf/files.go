package yamlconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var secretType = reflect.TypeFor[Secret]()

// ResolveFiles resolves every `*_file` key anywhere in the configuration
// v points to, by one rule, so that no key can be forgotten:
//   - its path is made absolute against dir;
//   - where the same struct has a Secret under the key without `_file`
//     (password and password_file), the file is read into it
//     (ResolveSecret: not both, not empty, the trailing newline dropped);
//   - any other `*_file` (a certificate, a CA bundle, a token file read
//     later) must name a readable file;
//   - a file that holds a secret (every `*_file` but certificates and CA
//     bundles: keys ending in cert_file or ca_file) must not be readable
//     by group or others: it is refused, never repaired, because whoever
//     could read it may already hold the secret (see SecretFileMode).
//
// Every problem is reported, each naming the key's path and the file.
func ResolveFiles(v any, dir string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("yamlconf.ResolveFiles: want a non-nil pointer")
	}
	var errs []error
	resolveFiles(rv.Elem(), "", dir, &errs)
	return errors.Join(errs...)
}

// FileKeys lists the paths of every `*_file` key v's type can hold, with
// [] for list elements, for tests that check nothing escapes
// ResolveFiles.
func FileKeys(v any) []string {
	var out []string
	fileKeys(reflect.TypeOf(v), "", &out, map[reflect.Type]bool{})
	return out
}

// yamlKey is a struct field's YAML key ("" for fields YAML skips).
func yamlKey(f reflect.StructField) (key string, inline bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return "", false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if strings.Contains(opts, "inline") {
		return "", true
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func resolveFiles(v reflect.Value, path, dir string, errs *[]error) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			resolveFiles(v.Elem(), path, dir, errs)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			resolveFiles(v.Index(i), path+"["+strconv.Itoa(i)+"]", dir, errs)
		}
	case reflect.Struct:
		t := v.Type()
		secrets := map[string]reflect.Value{}
		for i := range t.NumField() {
			if key, _ := yamlKey(t.Field(i)); key != "" && t.Field(i).Type == secretType {
				secrets[key] = v.Field(i)
			}
		}
		for i := range t.NumField() {
			f := t.Field(i)
			key, inline := yamlKey(f)
			fv := v.Field(i)
			switch {
			case inline:
				resolveFiles(fv, path, dir, errs)
			case key == "":
			case strings.HasSuffix(key, "_file") && f.Type.Kind() == reflect.String:
				resolveFile(fv, secrets[strings.TrimSuffix(key, "_file")], join(path, key), dir, errs)
			default:
				resolveFiles(fv, join(path, key), dir, errs)
			}
		}
	}
}

func resolveFile(file, secret reflect.Value, path, dir string, errs *[]error) {
	name := file.String()
	if name == "" || !file.CanSet() {
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
		file.SetString(name)
	}
	if err := checkMode(name, path); err != nil {
		*errs = append(*errs, &KeyError{Key: path, Err: err})
		return
	}
	if secret.IsValid() && secret.CanSet() {
		inlineKey := strings.TrimSuffix(path, "_file")
		val, err := ResolveSecret(Secret(secret.String()), name, inlineKey)
		if err != nil {
			*errs = append(*errs, &KeyError{Key: path, Err: err})
			return
		}
		secret.SetString(string(val))
		return
	}
	f, err := os.Open(name)
	if err != nil {
		*errs = append(*errs, &KeyError{Key: path, Err: err})
		return
	}
	f.Close()
}

// publicFile reports whether the `*_file` key at path names a file that
// holds nothing secret (a certificate or a CA bundle), which may be
// readable by everyone.
func publicFile(path string) bool {
	return strings.HasSuffix(path, "cert_file") || strings.HasSuffix(path, "ca_file")
}

// checkMode refuses a secret file that group or others may read. Windows
// has no such mode bits; ACLs are the administrator's business there.
func checkMode(name, path string) error {
	if publicFile(path) || runtime.GOOS == "windows" {
		return nil
	}
	if _, err := os.Stat(name); err != nil {
		return nil // reported by the read that follows
	}
	return SecretFileMode(name)
}

// SecretFileMode returns an error when the file name is readable by group
// or others: `chmod 600` it (or 640 is refused too: the secret's owner
// group is not the collector's business).
func SecretFileMode(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o044 != 0 {
		return fmt.Errorf("%s holds a secret but is readable by group or others (mode %04o): run chmod 600 %s", name, m, name)
	}
	return nil
}

func fileKeys(t reflect.Type, path string, out *[]string, seen map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		p := path
		if t.Kind() != reflect.Pointer {
			p += "[]"
		}
		fileKeys(t.Elem(), p, out, seen)
	case reflect.Struct:
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			f := t.Field(i)
			key, inline := yamlKey(f)
			switch {
			case inline:
				fileKeys(f.Type, path, out, seen)
			case key == "":
			case strings.HasSuffix(key, "_file") && f.Type.Kind() == reflect.String:
				*out = append(*out, join(path, key))
			default:
				fileKeys(f.Type, join(path, key), out, seen)
			}
		}
	}
}

// KeyError is a problem with the file a key names, found after decoding
// (ResolveFiles): Place gives it the file and line of the key.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Place turns the KeyErrors in err (one or joined) into Errors at the
// line of their key in file's data, so they read as every other problem
// does; other errors pass unchanged.
func Place(file string, data []byte, err error) error {
	if err == nil {
		return nil
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // decoded before: it parses
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		if _, nested := e.(interface{ Unwrap() []error }); nested {
			out = append(out, Place(file, data, e))
			continue
		}
		var ke *KeyError
		if !errors.As(e, &ke) {
			out = append(out, e)
			continue
		}
		pe := &Error{File: file, Key: ke.Key, Msg: ke.Err.Error()}
		if n := Lookup(&root, ke.Key); n != nil {
			pe.Line, pe.Column = n.Line, n.Column
		}
		out = append(out, pe)
	}
	return errors.Join(out...)
}
