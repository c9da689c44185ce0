package yamlconf

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name     string   `yaml:"name"`
	Interval Duration `yaml:"interval"`
	Items    []item   `yaml:"items"`
	Token    Secret   `yaml:"token"`
}

type item struct {
	URL string `yaml:"url"`
}

func (s *sample) Validate(p *Problems) {
	if s.Name == "" {
		p.Addf("name", "must not be empty")
	}
	for i, it := range s.Items {
		if !strings.HasPrefix(it.URL, "http") {
			p.Addf("items["+itoa(i)+"].url", "want an http URL, got %q", it.URL)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestDecode(t *testing.T) {
	f := func(name, in string, want ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			for range 2 { // twice: no state may leak between calls
				var s sample
				err := Decode("cfg.yml", []byte(in), &s)
				if len(want) == 0 {
					if err != nil {
						t.Fatalf("got error %v, want none", err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("got no error, want %q", want)
				}
				got := err.Error()
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("error %q lacks %q", got, w)
					}
				}
			}
		})
	}
	f("valid", "name: a\ninterval: 30s\nitems:\n  - url: http://x\n")
	f("unknown key with line", "name: a\nintervall: 30s\n", "cfg.yml:2:1: intervall: unknown key (did you mean interval?)")
	f("unknown key far from any", "name: a\nzzz: 30s\n", "cfg.yml:2:1: zzz: unknown key")
	f("unknown key in a list item", "name: a\nitems:\n  - {url: 'http://x', ulr: y}\n", "cfg.yml:3:23: items[0].ulr: unknown key (did you mean url?)")
	f("bad duration", "name: a\ninterval: 30\n", "cfg.yml:2:1: interval: invalid duration \"30\"")
	f("bad duration in a flow mapping", "name: a\nitems: [{url: 'http://x'}]\ninterval: 5 seconds\n", "cfg.yml:3:1: interval: invalid duration \"5 seconds\"")
	f("list for a string", "name: [1, 2]\n", "cfg.yml:1:1: name: want a string, got a list")
	f("string for a list", "name: a\nitems: http://x\n", "cfg.yml:2:1: items: want a list of mappings (yamlconf.item), got a string (http://x)")
	f("semantic errors all at once with lines",
		"name: \"\"\nitems:\n  - url: http://ok\n  - url: ftp://bad\n",
		"cfg.yml:1:1: name: must not be empty", "cfg.yml:4:5: items[1].url: want an http URL, got \"ftp://bad\"")
	f("syntax error", "name: [\n", "cfg.yml:")
	f("two unknown keys both reported", "name: a\nfoo: 1\nbar: 2\n", "cfg.yml:2:1: foo: unknown key", "cfg.yml:3:1: bar: unknown key")
}

func TestDecodeJoinsErrors(t *testing.T) {
	var s sample
	err := Decode("c.yml", []byte("name: \"\"\nitems: [{url: x}, {url: y}]\n"), &s)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T, want *Error inside", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("got %d errors, want 3: %v", n, err)
	}
}

func TestDurationAndSecret(t *testing.T) {
	var s sample
	if err := Decode("c.yml", []byte("name: a\ninterval: 1m30s\ntoken: hunter2\n"), &s); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Interval.D(), 90*time.Second; got != want {
		t.Errorf("interval: got %s, want %s", got, want)
	}
	if got := s.Token.String(); got != "<secret>" {
		t.Errorf("secret String: got %q, want <secret>", got)
	}
	if got := s.Token.Reveal(); got != "hunter2" {
		t.Errorf("secret Reveal: got %q", got)
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/tok"
	if err := os.WriteFile(path, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ResolveSecret("", path, "push.token")
	if err != nil || got.Reveal() != "abc" {
		t.Errorf("from file: got %q, %v; want abc", got.Reveal(), err)
	}
	if _, err := ResolveSecret("x", path, "push.token"); err == nil || !strings.Contains(err.Error(), "at most one of token & token_file") {
		t.Errorf("both set: got %v", err)
	}
	if _, err := ResolveSecret("", dir+"/missing", "push.token"); err == nil {
		t.Error("missing file: got no error")
	}
}
