package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Resolve makes paths absolute against dir, reads every *_file secret
// and checks every other *_file (yamlconf.ResolveFiles), hashes token
// files and loads rule files.
func (c *Config) Resolve(dir string) error {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var errs []error
	c.Storage.Path = abs(c.Storage.Path)
	if mr := c.Reports.Monthly; mr != nil {
		mr.Directory = abs(mr.Directory)
	}
	// Every *_file key, wherever it is: secrets read, other files checked.
	if err := yamlconf.ResolveFiles(c, dir); err != nil {
		errs = append(errs, err)
	}
	for i := range c.Auth.Tokens {
		t := &c.Auth.Tokens[i]
		if t.TokenFile != "" {
			sec, err := yamlconf.ResolveSecret("", t.TokenFile, "token")
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				continue // ResolveFiles said so already
			}
			if err != nil {
				errs = append(errs, &yamlconf.KeyError{Key: fmt.Sprintf("auth.tokens[%d].token_file", i), Err: err})
				continue
			}
			t.Hash = sha256.Sum256([]byte(sec.Reveal()))
		} else {
			b, _ := hex.DecodeString(t.TokenSHA256) // checked by Validate
			copy(t.Hash[:], b)
		}
	}
	errs = append(errs, c.loadRuleFiles(abs)...)
	return errors.Join(errs...)
}
