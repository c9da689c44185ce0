package yamlconf

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

type fileLeaf struct {
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
}

type fileRoot struct {
	Inline   `yaml:",inline"`
	Leaf     fileLeaf    `yaml:"leaf"`
	Optional *fileLeaf   `yaml:"optional"`
	List     []fileLeaf  `yaml:"list"`
	Pointers []*fileLeaf `yaml:"pointers"`
}

type Inline struct {
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"pw": "s3cret\n", "ca.pem": "pem", "tok": "t0ken", "empty": "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := fileRoot{
		Inline:   Inline{TokenFile: "tok"},
		Leaf:     fileLeaf{PasswordFile: "pw", CAFile: filepath.Join(dir, "ca.pem")},
		Optional: &fileLeaf{PasswordFile: "pw"},
		List:     []fileLeaf{{}, {PasswordFile: "pw", CAFile: "ca.pem"}},
		Pointers: []*fileLeaf{nil, {PasswordFile: "pw"}},
	}
	if err := ResolveFiles(&c, dir); err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]Secret{"token": c.Token, "leaf": c.Leaf.Password, "optional": c.Optional.Password,
		"list[1]": c.List[1].Password, "pointers[1]": c.Pointers[1].Password} {
		want := Secret("s3cret")
		if what == "token" {
			want = "t0ken"
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", what, got.Reveal(), want.Reveal())
		}
	}
	if c.List[1].CAFile != filepath.Join(dir, "ca.pem") || c.TokenFile != filepath.Join(dir, "tok") {
		t.Errorf("paths not made absolute: %q, %q", c.List[1].CAFile, c.TokenFile)
	}

	// Every problem at once, each naming the key's path and the file.
	bad := fileRoot{
		Leaf: fileLeaf{Password: "inline", PasswordFile: "pw"},
		List: []fileLeaf{{PasswordFile: "missing"}, {CAFile: "missing.pem"}, {PasswordFile: "empty"}},
	}
	err := ResolveFiles(&bad, dir)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"leaf.password_file: at most one of password & password_file must be configured",
		"list[0].password_file: read password_file: open " + filepath.Join(dir, "missing"),
		"list[1].ca_file: open " + filepath.Join(dir, "missing.pem"),
		"list[2].password_file: password_file " + filepath.Join(dir, "empty") + " is empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestFileKeys(t *testing.T) {
	got := FileKeys(fileRoot{})
	want := []string{"token_file", "leaf.password_file", "leaf.ca_file", "optional.password_file", "optional.ca_file",
		"list[].password_file", "list[].ca_file", "pointers[].password_file", "pointers[].ca_file"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// A secret file group or others can read is refused, naming the key, the
// file and the fix; certificates and CA bundles may be public.
func TestResolveFilesRefusesReadableSecrets(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"pw": 0o644, "tok": 0o640, "ca.pem": 0o644, "ok": 0o600, "ro": 0o400} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	c := fileRoot{
		Inline: Inline{TokenFile: "tok"},
		Leaf:   fileLeaf{PasswordFile: "pw", CAFile: "ca.pem"},
		List:   []fileLeaf{{PasswordFile: "ok"}, {PasswordFile: "ro"}},
	}
	err := ResolveFiles(&c, dir)
	if err == nil {
		t.Fatal("world-readable secret files accepted")
	}
	for _, want := range []string{
		"token_file: " + filepath.Join(dir, "tok") + " holds a secret but is readable by group or others (mode 0640): run chmod 600",
		"leaf.password_file: " + filepath.Join(dir, "pw") + " holds a secret but is readable by group or others (mode 0644)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, not := range []string{"ca_file", "list["} {
		if strings.Contains(err.Error(), not) {
			t.Errorf("error names %s, which is fine:\n%v", not, err)
		}
	}
	if c.List[0].Password != "x" || c.List[1].Password != "x" {
		t.Errorf("0600 and 0400 files not read: %q %q", c.List[0].Password.Reveal(), c.List[1].Password.Reveal())
	}
}
