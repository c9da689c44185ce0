package yamlconf

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	good := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0s", 0},
		{"30s", 30 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"30d", 30 * day},
		{"2w", 14 * day},
		{"1y", 365 * day},
		{"1y2w3d4h5m6s7ms", 365*day + 14*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second + 7*time.Millisecond},
		{"1s500ms", 1500 * time.Millisecond},
		{"90m", 90 * time.Minute},
		// Go's syntax, which collector.yml and agent.yml took before.
		{"1.5s", 1500 * time.Millisecond},
		{"250us", 250 * time.Microsecond},
		{"1h0m0s", time.Hour},
		{"0.5h", 30 * time.Minute},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseDuration(%q): got %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
	bad := []string{"", "30", "5 minutes", "-5s", "1d1h1d", "1d1d", "1x", "d", "s30", "1h 30m", "9999999999y", "30D", " 30s"}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			_, err := ParseDuration(in)
			want := `invalid duration "` + in + `": want a value such as "30s", "5m", "1h30m" or "30d"`
			if err == nil || err.Error() != want {
				t.Errorf("ParseDuration(%q): got %v, want %q", in, err, want)
			}
		})
	}
}

// TestParseDurationMatchesPrometheus: whatever Prometheus reads as a
// duration, ParseDuration reads the same.
func TestParseDurationMatchesPrometheus(t *testing.T) {
	for _, in := range []string{"0", "1ms", "15s", "1m30s", "2h", "30d", "1w", "1y", "1y1w1d1h1m1s1ms", "100d", "52w"} {
		want, err := model.ParseDuration(in)
		if err != nil {
			t.Fatalf("prometheus refuses %q: %v", in, err)
		}
		if got, err := ParseDuration(in); err != nil || got != time.Duration(want) {
			t.Errorf("ParseDuration(%q): got %s, %v; want %s", in, got, err, time.Duration(want))
		}
	}
}

func TestDurationYAML(t *testing.T) {
	type doc struct {
		D Duration `yaml:"d"`
	}
	f := func(in string, want time.Duration, wantErr string) {
		t.Helper()
		var v doc
		err := Decode("c.yml", []byte(in), &v)
		switch {
		case wantErr != "":
			if err == nil || err.Error() != wantErr {
				t.Errorf("%q: got error %v, want %q", in, err, wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", in, err)
		case v.D.D() != want:
			t.Errorf("%q: got %s, want %s", in, v.D.D(), want)
		}
	}
	f("d: 30d\n", 30*24*time.Hour, "")
	f("d: 1h30m\n", 90*time.Minute, "")
	f("d: 10\n", 0, `c.yml:1:1: d: invalid duration "10": want a value such as "30s", "5m", "1h30m" or "30d"`)
	f("d: [1s]\n", 0, `c.yml:1:1: d: duration must be a string such as "30s"`)

	// A marshalled duration reads back as itself.
	for _, d := range []time.Duration{0, time.Millisecond, 1500 * time.Millisecond, 90 * time.Minute, 30 * 24 * time.Hour, 400 * 24 * time.Hour, 250 * time.Microsecond} {
		out, err := yaml.Marshal(doc{D: Duration(d)})
		if err != nil {
			t.Fatal(err)
		}
		var back doc
		if err := Decode("m.yml", out, &back); err != nil || back.D.D() != d {
			t.Errorf("%s marshalled as %q reads back as %s, %v", d, strings.TrimSpace(string(out)), back.D.D(), err)
		}
	}
	if got, want := FormatDuration(30*24*time.Hour+90*time.Minute), "30d1h30m"; got != want {
		t.Errorf("FormatDuration: got %q, want %q", got, want)
	}
}

// FuzzParseDuration: ParseDuration agrees with Prometheus on every string
// Prometheus accepts, and what it accepts formats and parses back.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "30s", "1h30m", "30d", "1y2w", "1.5s", "-1s", "1m1h", "5 minutes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDuration(s)
		if want, perr := model.ParseDuration(s); perr == nil {
			if err != nil || got != time.Duration(want) {
				t.Fatalf("ParseDuration(%q): got %s, %v; prometheus says %s", s, got, err, time.Duration(want))
			}
		}
		if err != nil {
			return
		}
		if got < 0 {
			t.Fatalf("ParseDuration(%q) = %s, negative", s, got)
		}
		back, err := ParseDuration(FormatDuration(got))
		if err != nil || back != got {
			t.Fatalf("%s formats as %q, which parses as %s, %v", got, FormatDuration(got), back, err)
		}
		if got%time.Millisecond == 0 && got > 0 {
			if f, want := FormatDuration(got), model.Duration(got).String(); f != want {
				t.Fatalf("FormatDuration(%s) = %q, prometheus writes %q", got, f, want)
			}
		}
	})
}
