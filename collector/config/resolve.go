package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Resolve makes paths absolute against dir, hashes token files and loads
// rule files.
func (c *Config) Resolve(dir string) error {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var errs []error
	c.Storage.Path = abs(c.Storage.Path)
	c.Web.TLSCertFile, c.Web.TLSKeyFile = abs(c.Web.TLSCertFile), abs(c.Web.TLSKeyFile)
	if mr := c.Reports.Monthly; mr != nil {
		mr.Directory = abs(mr.Directory)
	}
	for i := range c.Checks {
		c.Checks[i].HTTP.CAFile = abs(c.Checks[i].HTTP.CAFile)
	}
	// secretFile reads a *_file secret into its value, naming where it
	// belongs in the error.
	secretFile := func(val *yamlconf.Secret, file *string, key, where string) {
		if *file == "" {
			return
		}
		*file = abs(*file)
		v, err := yamlconf.ResolveSecret("", *file, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		*val = v
	}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		where := fmt.Sprintf("receivers[%d] (%s)", i, r.Name)
		if pd := r.PagerDuty; pd != nil {
			secretFile(&pd.RoutingKey, &pd.RoutingKeyFile, "routing_key", where)
		}
		if am := r.Alertmanager; am != nil {
			secretFile(&am.BearerToken, &am.BearerTokenFile, "bearer_token", where)
		}
		if w := r.Webhook; w != nil {
			secretFile(&w.Secret, &w.SecretFile, "secret", where)
		}
		if rm := r.Redmine; rm != nil {
			secretFile(&rm.APIKey, &rm.APIKeyFile, "api_key", where)
		}
		if sn := r.ServiceNow; sn != nil {
			secretFile(&sn.Password, &sn.PasswordFile, "password", where)
		}
		if j := r.Jira; j != nil {
			secretFile(&j.Token, &j.TokenFile, "token", where)
		}
		if e := r.Email; e != nil && e.PasswordFile != "" {
			secretFile(&e.Password, &e.PasswordFile, "password", where)
		}
	}
	for i := range c.Devices {
		d := &c.Devices[i]
		where := fmt.Sprintf("devices[%d] (%s)", i, d.Name)
		secretFile(&d.Community, &d.CommunityFile, "community", where)
		secretFile(&d.V3.AuthPassphrase, &d.V3.AuthPassphraseFile, "auth_passphrase", where)
		secretFile(&d.V3.PrivPassphrase, &d.V3.PrivPassphraseFile, "priv_passphrase", where)
	}
	if rw := c.Forward.RemoteWrite; rw != nil {
		secretFile(&rw.BearerToken, &rw.BearerTokenFile, "bearer_token", "forward.remote_write")
	}
	for i := range c.Auth.Tokens {
		t := &c.Auth.Tokens[i]
		if t.TokenFile != "" {
			t.TokenFile = abs(t.TokenFile)
			sec, err := yamlconf.ResolveSecret("", t.TokenFile, "token")
			if err != nil {
				errs = append(errs, fmt.Errorf("auth.tokens[%d] (%s): %w", i, t.Name, err))
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
