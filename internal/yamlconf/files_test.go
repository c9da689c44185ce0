package yamlconf

import (
	"os"
	"path/filepath"
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
