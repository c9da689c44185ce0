package config

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/golden"
	"github.com/ninesmon/nines/internal/yamlconf"
	"github.com/ninesmon/nines/internal/yamlconf/yamlconftest"
	"github.com/ninesmon/nines/rules"
	"go.yaml.in/yaml/v3"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown key", "web:\n  listen: x\n", []string{"c.yml:2:3: web.listen: unknown key"}},
		{"misspelt key", "availability:\n  default_push_intervall: 15s\n", []string{"c.yml:2:3: availability.default_push_intervall: unknown key (did you mean default_push_interval?)"}},
		{"list for a string", "web:\n  listen_address: [1, 2]\n", []string{"c.yml:2:3: web.listen_address: want a string, got a list"}},
		{"port out of range", "web: {listen_address: '127.0.0.1:99999'}\n", []string{"web.listen_address: address 127.0.0.1:99999: port 99999 out of range (0 to 65535)"}},
		{"unknown port name", "web: {listen_address: '127.0.0.1:nope'}\n", []string{`web.listen_address: address 127.0.0.1:nope: port "nope" is neither a number from 0 to 65535 nor a known service`}},
		{"trap port out of range", "snmp:\n  traps: {listen_address: ':70000', communities: [c]}\n", []string{"snmp.traps.listen_address: address :70000: port 70000 out of range"}},
		{"bad role and hash together", "auth:\n  tokens:\n    - name: a\n      role: root\n      token_sha256: abc\n", []string{
			"c.yml:4:7: auth.tokens[0].role: unknown role \"root\"", "c.yml:5:7: auth.tokens[0].token_sha256: must be 64 hex digits"}},
		{"no secret", "auth:\n  tokens:\n    - {name: a, role: agent}\n", []string{"auth.tokens[0]: one of token_sha256 or token_file must be set"}},
		{"duplicate token name", "auth:\n  tokens:\n    - {name: a, role: agent, token_file: x}\n    - {name: a, role: admin, token_file: y}\n", []string{"auth.tokens[1].name: token \"a\" defined twice"}},
		{"token hosts", "auth:\n  tokens:\n    - {name: a, role: viewer, token_file: x, hosts: [web1]}\n    - {name: b, role: agent, token_file: y, hosts: ['web[', '']}\n", []string{
			`auth.tokens[0].hosts: only agent tokens speak for hosts, this one has role "viewer"`, `auth.tokens[1].hosts[0]: bad host pattern "web["`, `auth.tokens[1].hosts[1]: bad host pattern ""`}},
		{"bad listen address", "web: {listen_address: nope}\n", []string{"web.listen_address: address nope: missing port"}},
		{"down after zero", "availability: {down_after_intervals: 0}\n", []string{"availability.down_after_intervals: must be at least 1"}},
		{"check errors together", "checks:\n  - {name: a, type: ftp, target: x}\n  - {name: a, type: tcp, target: nohost}\n  - {name: c, type: http, target: 'https://x', interval: 1s, timeout: 2s}\n", []string{
			`c.yml:2:15: checks[0].type: unknown check type "ftp"`, `checks[1].name: name "a" is already used`, "checks[1].target: want host:port", "checks[2].timeout: must be positive and shorter than the interval (1s)"}},
		{"maintenance window errors", "maintenance:\n  - {name: upgrade, targets: [db1], start: 'tomorrow', end: '2026-11-28T22:00:00Z'}\n  - {name: backwards, selector: {group: erp}, start: '2026-11-29T02:00:00Z', end: '2026-11-28T22:00:00Z'}\n  - {name: nothing, start: '2026-11-28T22:00:00Z', end: '2026-11-29T22:00:00Z'}\n", []string{
			`maintenance[0].start: window "upgrade": want an RFC 3339 time`, `maintenance[1].end: window "backwards": end must be after start`, `maintenance[2]: window "nothing": set targets, a selector or services`}},
		{"bad allow regexp", "inventory: {allow: ['web[']}\n", []string{"inventory.allow[0]: invalid regular expression"}},
		{"negative target limits", "inventory: {max_targets: -1, max_new_targets_per_minute: -5}\n", []string{
			"inventory.max_targets: must not be negative (0: no limit)", "inventory.max_new_targets_per_minute: must not be negative (0: no limit)"}},
		{"bad body limits", "ingest: {max_concurrent_requests: 8, max_concurrent_per_sender: 9, max_body_read_time: 500ms, min_body_rate: -1, body_rate_grace: 10ms, max_body_bytes: 4096, max_body_bytes_in_flight: 2048}\n", []string{
			"ingest.max_concurrent_per_sender: must be from 0 (a quarter of max_concurrent_requests) to max_concurrent_requests (8)",
			"ingest.max_body_read_time: must be at least 1s", "ingest.min_body_rate: must not be negative (0: no minimum)",
			"ingest.body_rate_grace: must be from 100ms to max_body_read_time", "ingest.max_body_bytes_in_flight: must be at least max_body_bytes (4096)"}},
		{"objective not a number", "services:\n  - {name: a, objective: .nan, components: {targets: [x]}}\n", []string{`services[0].objective: service "a": objective must be a percentage between 0 and 100`}},
		{"near breach not a number", "incidents: {near_breach: .nan}\n", []string{"incidents.near_breach: must be between 0 and 1"}},
		{"insecure trap user", "snmp:\n  traps:\n    listen_address: '127.0.0.1:1162'\n    v3: {username: u, security_level: authPriv, auth_protocol: MD5, auth_passphrase: aaaaaaaa, priv_protocol: DES, priv_passphrase: bbbbbbbb}\n", []string{
			"snmp.traps.v3.auth_protocol: trap receiver: MD5 is broken; set allow_insecure: true to use it anyway",
			"snmp.traps.v3.priv_protocol: trap receiver: DES is broken; set allow_insecure: true to use it anyway"}},
		{"incomplete trap user", "snmp:\n  traps:\n    listen_address: '127.0.0.1:1162'\n    v3: {security_level: authPriv, auth_protocol: SHA, priv_protocol: AES}\n", []string{
			"snmp.traps.v3.username: trap receiver: must be set", "snmp.traps.v3: trap receiver: exactly one of auth_passphrase & auth_passphrase_file must be configured"}},
		{"postgres without a dsn", "storage: {driver: postgres}\n", []string{"storage: exactly one of dsn & dsn_file must be configured for driver postgres"}},
		{"unknown storage driver", "storage: {driver: mysql}\n", []string{`storage.driver: unknown driver "mysql" (want sqlite or postgres)`}},
		{"dsn with sqlite", "storage: {dsn: 'postgres://x'}\n", []string{"storage.dsn: is for driver postgres; the sqlite driver uses path"}},
		{"devices sharing an address with traps", "snmp:\n  traps: {listen_address: '127.0.0.1:1162', communities: [c]}\ndevices:\n  - {name: a, address: '10.0.0.1', community: c}\n  - {name: b, address: '10.0.0.1:1161', community: c}\n", []string{
			`devices[1].address: device "b": 10.0.0.1 is also device "a"'s address; traps come from an address`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("c.yml", []byte(tc.in))
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("agent.token", "tok\n")
	write("r.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
	write("c.yml", "storage: {path: db/n.db}\nauth:\n  tokens:\n    - {name: a, role: agent, token_file: agent.token}\nrules:\n  files: [r*.yml]\n")
	c, err := LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Storage.Path, filepath.Join(dir, "db/n.db"); got != want {
		t.Errorf("storage path: got %s, want %s", got, want)
	}
	if got, want := c.Auth.Tokens[0].Hash, sha256.Sum256([]byte("tok")); got != want {
		t.Errorf("token hash: got %x, want %x", got, want)
	}
	if got := len(c.RuleFiles); got != 1 {
		t.Errorf("rule files: got %d, want 1", got)
	}
	if got := c.Availability.StartupGrace.D(); got != 2*c.Availability.DefaultPushInterval.D() {
		t.Errorf("startup grace default: got %s", got)
	}

	write("bad.yml", "rules:\n  files: [missing.yml, r.yml]\nauth:\n  tokens:\n    - {name: a, role: agent, token_file: nope.token}\n")
	_, err = LoadFile(filepath.Join(dir, "bad.yml"))
	if err == nil || !strings.Contains(err.Error(), `"missing.yml" matches no file`) || !strings.Contains(err.Error(), "nope.token") {
		t.Errorf("got %v, want both the missing rule file and token file named", err)
	}
}

func TestServiceErrors(t *testing.T) {
	_, err := Load("s.yml", []byte(`services:
  - name: erp
    components: {services: [db, app]}
  - name: db
    components: {services: [erp]}
  - name: app
    combine: k_of_n
    k: 3
    components: {targets: [a1, a2]}
  - name: web
    combine: most
    components: {services: [nope]}
  - name: empty
`))
	for _, want := range []string{
		`service "erp" depends on itself: erp -> db -> erp`,
		`services[2].k: service "app": k must be between 1 and the number of components (2)`,
		`services[3].combine: service "web": unknown combine "most"`,
		`services[3].components.services[0]: service "web": unknown service "nope"`,
		`services[4].components: service "empty": needs at least one component`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestCalendarErrors(t *testing.T) {
	_, err := Load("c.yml", []byte(`calendars:
  - name: office
    time_zone: Mars/Olympus
    hours:
      mon-fry: ["08:00-18:00"]
      sat: ["18:00-08:00"]
    holidays: [2026-02-30]
    extra_working_days: [someday]
  - name: office
    hours: {}
services:
  - name: erp
    schedule: nights
    no_data: maybe
    components: {targets: [a]}
`))
	for _, want := range []string{
		`calendars[0].time_zone: calendar "office": unknown time zone "Mars/Olympus"`,
		`calendars[0].hours.mon-fry: calendar "office": unknown day "fry"`,
		`calendars[0].hours.sat[0]: calendar "office": "18:00-08:00": the end must be after the start`,
		`calendars[0].holidays[0]: calendar "office": want a date YYYY-MM-DD, got "2026-02-30"`,
		`calendars[0].extra_working_days[0]`,
		`calendars[1].name: calendar "office" defined twice`,
		`calendars[1].hours: calendar "office": no working hours`,
		`services[0].schedule: service "erp": unknown calendar "nights"`,
		`services[0].no_data: service "erp": unknown policy "maybe" (want exclude, down or up)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
	cfg, err := Load("c.yml", []byte(`calendars:
  - name: office
    time_zone: Europe/Berlin
    hours: {mon-fri: ["08:00-12:00", "13:00-17:00"]}
    extra_working_days: [2026-12-27]
services:
  - {name: erp, schedule: office, components: {targets: [a]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	cal := cfg.Calendar("office")
	if cal == nil || cal.Location.String() != "Europe/Berlin" || len(cal.Hours[1]) != 2 || len(cal.ExtraHours) != 2 || cfg.Services[0].NoData != "exclude" {
		t.Errorf("calendar %+v, service %+v", cal, cfg.Services[0])
	}
}

func TestRouteErrors(t *testing.T) {
	_, err := Load("c.yml", []byte(`receivers:
  - {name: desk, webhook: {url: "http://127.0.0.1:1/", secret: s}}
routes:
  - {receiver: desk, priorities: [P1, P9]}
  - {receiver: nobody}
`))
	for _, want := range []string{`routes[0].priorities[1]: want P1 to P4, got "P9"`, `routes[1].receiver: unknown receiver "nobody"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestRecurringMaintenanceErrors(t *testing.T) {
	_, err := Load("c.yml", []byte(`calendars:
  - {name: sundays, hours: {sun: ["02:00-04:00"]}}
maintenance:
  - {name: a, targets: [x], schedule: mondays}
  - {name: b, targets: [x], schedule: sundays, start: "2026-11-28T22:00:00Z"}
  - {name: c, services: [nope], schedule: sundays}
`))
	for _, want := range []string{`maintenance[0].schedule: window "a": unknown calendar "mondays"`,
		`maintenance[1]: window "b": a recurring window (schedule) has no start and end`,
		`maintenance[2].services[0]: window "c": unknown service "nope"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestServiceNowReceiverErrors(t *testing.T) {
	_, err := Load("c.yml", []byte(`receivers:
  - {name: sn, servicenow: {url: "ftp://x", password: p, password_file: f}}
`))
	for _, want := range []string{`receivers[0].servicenow.url: receiver "sn": want an http:// or https:// URL`,
		`receivers[0].servicenow.user: receiver "sn": the user must be set`,
		`receivers[0].servicenow: receiver "sn": exactly one of password & password_file must be configured`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestScheduleReferences(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        labels: {schedule: nights}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte(`rules: {files: [r.yml]}
receivers:
  - {name: desk, webhook: {url: "http://127.0.0.1:1/", secret: s}}
routes:
  - {receiver: desk, schedule: weekends}
`), 0o600)
	if _, err := LoadFile(filepath.Join(dir, "c.yml")); err == nil || !strings.Contains(err.Error(), `routes[0].schedule: unknown calendar "weekends"`) {
		t.Errorf("unknown route calendar: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte("rules: {files: [r.yml]}\n"), 0o600)
	if _, err := LoadFile(filepath.Join(dir, "c.yml")); err == nil || !strings.Contains(err.Error(), `rule "A": label schedule: "nights" is not in the collector's calendars`) {
		t.Errorf("unknown rule calendar: %v", err)
	}
}

func TestWebhookTemplateError(t *testing.T) {
	_, err := Load("c.yml", []byte(`receivers:
  - {name: chat, webhook: {url: "http://127.0.0.1:1/", secret: s, template: "{{.Event.Action"}}
`))
	if err == nil || !strings.Contains(err.Error(), `receivers[0].webhook.template: receiver "chat":`) {
		t.Errorf("bad template: %v", err)
	}
}

func TestSNMPProfilesAndCustomModules(t *testing.T) {
	cfg, err := Load("c.yml", []byte(`snmp:
  credentials:
    - {name: core, version: "3", v3: {username: nines, security_level: authPriv, auth_protocol: SHA, auth_passphrase: a-pass-phrase, priv_protocol: AES, priv_passphrase: p-pass-phrase}}
  modules:
    - name: apc
      scalars: [{oid: 1.3.6.1.4.1.318.1.1.1.2.2.1.0, metric: upsAdvBatteryCapacity}]
      tables:
        - entry: 1.3.6.1.4.1.318.1.1.1.12.3.2.1
          indexes: [outletIndex]
          columns: [{oid: "3", metric: outletState}, {oid: 1.3.6.1.4.1.318.1.1.1.12.3.2.1.4, metric: outletLoad}]
          labels: [{oid: "2", label: outletName}]
devices:
  - {name: sw1, address: 10.0.0.2, credentials: core, modules: [if_mib, apc, ups]}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Devices[0]
	if d.Version != "3" || d.V3.Username != "nines" || d.Modules[0] != "system" || cfg.SNMP.Modules[0].Scalars[0].Type != "gauge" {
		t.Errorf("device %+v, module %+v", d, cfg.SNMP.Modules[0])
	}
	if cols := cfg.SNMP.Modules[0].Tables[0].Columns; cols[0].OID != "3" || cols[1].OID != "4" {
		t.Errorf("columns %+v: want numbers under the entry (a full column OID shortened)", cols)
	}
	_, err = Load("c.yml", []byte(`snmp:
  modules:
    - name: if_mib
      scalars: [{oid: "1.3.x", metric: "bad name", type: rate}]
    - name: empty
    - name: wrong-columns
      tables:
        - entry: 1.3.6.1.2.1.33.1.3.3.1
          columns: [{oid: 1.3.6.1.4.1.9.9.1, metric: elsewhere}]
          labels: [{oid: "x", label: name}]
devices:
  - {name: sw1, address: 10.0.0.2, community: public, credentials: nope, modules: [custom]}
`))
	for _, want := range []string{
		`snmp.modules[0].name: want a unique name that is not a built-in module, got "if_mib"`,
		`snmp.modules[0].scalars[0].oid`, `snmp.modules[0].scalars[0].metric`, `snmp.modules[0].scalars[0].type: module "if_mib": want gauge or counter`,
		`snmp.modules[1]: module "empty": no scalars and no tables`,
		`snmp.modules[2].tables[0].columns[0].oid: module "wrong-columns": want the column's number under the entry 1.3.6.1.2.1.33.1.3.3.1 (such as 2), got "1.3.6.1.4.1.9.9.1"`,
		`snmp.modules[2].tables[0].labels[0].oid: module "wrong-columns": want the column's number`,
		`devices[0].credentials: device "sw1": unknown credentials "nope"`,
		`devices[0].modules[1]: device "sw1": unknown module "custom"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

// TestDurationsAsInRuleFiles: collector.yml takes the Prometheus duration
// syntax rule files take (30d was refused before), and a bad duration
// reads as it does in a rule file.
func TestDurationsAsInRuleFiles(t *testing.T) {
	c, err := Load("c.yml", []byte("storage: {samples_retention: 30d}\nweb: {wall: {session_ttl: 1h30m}}\nincidents:\n  targets:\n    P1: {respond: 15m, resolve: 1w}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Storage.SamplesRetention.D(), 30*24*time.Hour; got != want {
		t.Errorf("samples_retention: got %s, want %s", got, want)
	}
	if got, want := c.Web.Wall.SessionTTL.D(), 90*time.Minute; got != want {
		t.Errorf("session_ttl: got %s, want %s", got, want)
	}
	if got, want := c.Incidents.Targets["P1"].Resolve.D(), 7*24*time.Hour; got != want {
		t.Errorf("resolve: got %s, want %s", got, want)
	}
	_, err = Load("c.yml", []byte("storage:\n  samples_retention: 30 days\n"))
	want := `c.yml:2:3: storage.samples_retention: invalid duration "30 days": want a value such as "30s", "5m", "1h30m" or "30d"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	_, err = rules.Parse("r.yml", []byte("groups:\n  - name: g\n    interval: 30 days\n    rules: []\n"))
	if err == nil || !strings.Contains(err.Error(), `r.yml:3:5: groups[0].interval: invalid duration "30 days": want a value such as "30s", "5m", "1h30m" or "30d"`) {
		t.Errorf("rule file: got %v, want the same message", err)
	}
}

// TestValidateChangesNothing: Validate only reads. Calling it twice, or on
// an invalid configuration, leaves the configuration as decoded: defaults
// are ApplyDefaults' job and calendars are built by Load once validation
// has passed.
func TestValidateChangesNothing(t *testing.T) {
	files := []string{"../../deploy/examples/collector.yml", "testdata/sections.good.yml"}
	invalid := "calendars:\n  - {name: office, time_zone: Mars/Olympus, hours: {mon-fry: ['08:00-18:00']}}\n" +
		"services:\n  - {name: erp, combine: most, components: {targets: [a]}, schedule: office}\n" +
		"devices:\n  - {name: sw, address: x, credentials: nope, interfaces: {include: ['[']}}\n" +
		"snmp:\n  modules:\n    - name: m\n      tables: [{entry: 1.3.6.1.2.1.2.2.1, columns: [{oid: 1.3.6.1.2.1.2.2.1.10, metric: m}]}]\n" +
		"receivers:\n  - {name: r, redmine: {url: x}}\n"
	inputs := map[string][]byte{"invalid": []byte(invalid)}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		for _, defaults := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s defaults=%t", filepath.Base(name), defaults), func(t *testing.T) {
				decode := func() *Config {
					c := Default()
					if err := yaml.Unmarshal(data, c); err != nil {
						t.Fatal(err)
					}
					if defaults {
						c.ApplyDefaults()
					}
					return c
				}
				got, want := decode(), decode()
				var p yamlconf.Problems
				got.Validate(&p)
				n := p.Len()
				got.Validate(&p)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Validate changed the configuration")
				}
				if p.Len() != 2*n {
					t.Errorf("second Validate found %d problems, the first %d", p.Len()-n, n)
				}
				for _, cal := range got.Calendars {
					if got.Calendar(cal.Name) != nil {
						t.Errorf("Validate built calendar %q", cal.Name)
					}
				}
			})
		}
	}
}

// TestLoadBuildsAfterValidation: what Validate no longer makes, Load does,
// and only for a valid configuration.
func TestLoadBuildsAfterValidation(t *testing.T) {
	c, err := LoadFile("testdata/sections.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cal := c.Calendar("office"); cal == nil || cal.Location.String() != "Europe/Berlin" {
		t.Errorf("calendar office: got %+v, want it built in Europe/Berlin", cal)
	}
	tb := c.SNMP.Modules[0].Tables[0]
	if tb.Columns[0].OID != "10" || tb.Columns[1].OID != "16" || tb.Labels[0].OID != "2" {
		t.Errorf("columns %+v, labels %+v: want numbers under the entry", tb.Columns, tb.Labels)
	}
	if d := c.Devices[0]; d.Version != "3" || d.V3.Username != "u" || d.Timeout.D() != 5*time.Second {
		t.Errorf("device sw1: got version %q, v3 user %q, timeout %s; want the profile's and the defaults", d.Version, d.V3.Username, d.Timeout)
	}
	if c.Checks[0].Timeout.D() != 5*time.Second {
		t.Errorf("check timeout: got %s, want half the interval", c.Checks[0].Timeout)
	}
	// Validating the loaded configuration again finds nothing and changes
	// nothing (a reload may validate twice).
	before, _ := LoadFile("testdata/sections.good.yml")
	var p yamlconf.Problems
	c.Validate(&p)
	if p.Len() != 0 || !reflect.DeepEqual(c, before) {
		t.Errorf("Validate on a loaded configuration: %d problems, changed: %t", p.Len(), !reflect.DeepEqual(c, before))
	}
}

// TestSectionsBadGolden pins every validation message, with its position:
// testdata/sections.bad.yml breaks each section's rules and
// sections.bad.errors is what Load reports (sorted, since map keys come
// in any order). It was made by the loader before the split into
// sections, so the split changed no message.
func TestSectionsBadGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/sections.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err = Load("sections.bad.yml", data)
		if err == nil {
			t.Fatal("got no error")
		}
		got := strings.Split(err.Error(), "\n")
		sort.Strings(got)
		if golden.Updating() {
			if err := os.WriteFile("testdata/sections.bad.errors", []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		b, err := os.ReadFile("testdata/sections.bad.errors")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		for _, l := range want {
			if !slices.Contains(got, l) {
				t.Errorf("missing: %s", l)
			}
		}
		for _, l := range got {
			if !slices.Contains(want, l) {
				t.Errorf("unexpected: %s", l)
			}
		}
	}
}

// TestEveryFileKeyResolved: every *_file key anywhere in the collector's
// configuration is resolved at load, its secret read (the trap receiver's
// v3 passphrase files were never read, and every trap was dropped).
func TestEveryFileKeyResolved(t *testing.T) {
	var c Config
	yamlconftest.EveryFileKeyResolved(t, &c, func(dir string) error {
		c.Rules.Files = nil
		return c.Resolve(dir)
	})
}

// TestLimitKeysInExample: every key of the ingest and inventory sections
// is shown in deploy/examples/collector.yml, which documents them.
func TestLimitKeysInExample(t *testing.T) {
	data, err := os.ReadFile("../../deploy/examples/collector.yml")
	if err != nil {
		t.Fatal(err)
	}
	for section, typ := range map[string]reflect.Type{"ingest": reflect.TypeFor[Ingest](), "inventory": reflect.TypeFor[Inventory]()} {
		at := strings.Index(string(data), "\n"+section+":\n")
		if at < 0 {
			t.Fatalf("no %s section", section)
		}
		body := string(data[at+len(section)+3:])
		if end := regexp.MustCompile(`\n[a-z]`).FindStringIndex(body); end != nil {
			body = body[:end[0]]
		}
		for f := range typ.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !strings.Contains(body, "\n  "+key+":") {
				t.Errorf("%s.%s is not in deploy/examples/collector.yml", section, key)
			}
		}
	}
	c, err := Load("collector.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	d.Ingest.applyDefaults()
	if c.Inventory.MaxTargets != d.Inventory.MaxTargets || c.Inventory.MaxNewTargetsPerMinute != d.Inventory.MaxNewTargetsPerMinute || c.Ingest != d.Ingest {
		t.Errorf("the example's limits differ from the defaults: got %+v %+v, want %+v %+v", c.Ingest, c.Inventory, d.Ingest, d.Inventory)
	}
}

// TestStorageDescribe: the store is named for logs without its secrets.
func TestStorageDescribe(t *testing.T) {
	for _, tc := range []struct {
		s    Storage
		want string
	}{
		{Storage{Path: "data/nines.db"}, "sqlite data/nines.db"},
		{Storage{Driver: "postgres", DSN: "postgres://nines:s3cret@db.example:5433/nines?sslmode=require"}, "postgres db.example:5433/nines"},
		{Storage{Driver: "postgres", DSN: "host=127.0.0.1 port=55432 dbname=mon user=u password=s3cret"}, "postgres 127.0.0.1:55432/mon"},
	} {
		if got := tc.s.Describe(); got != tc.want || strings.Contains(got, "s3cret") {
			t.Errorf("%s: got %q, want %q", tc.s.Driver, got, tc.want)
		}
	}
}
