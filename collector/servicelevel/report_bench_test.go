package servicelevel

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

// BenchmarkReportYear computes a year's report for 1,000 services of two
// targets each, every target down for 5 minutes every day (730 changes a
// target, 1.46 million in all): the target is under a second.
// cold opens the store afresh each time (everything read from SQLite);
// warm recomputes with the store's in-memory history, as the running
// collector does every 30 s.
func BenchmarkReportYear(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "n.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	const services = 1000
	var cfgYAML strings.Builder
	cfgYAML.WriteString("services:\n")
	var changes []state.Change
	for s := 0; s < services; s++ {
		a, c := fmt.Sprintf("a%d", s), fmt.Sprintf("b%d", s)
		fmt.Fprintf(&cfgYAML, "  - {name: s%d, combine: any, components: {targets: [%s, %s]}}\n", s, a, c)
		for i, tg := range []string{a, c} {
			changes = append(changes, state.Change{Target: tg, Kind: state.KindHost, From: state.Unknown, To: state.Up, At: start.Add(-time.Hour)})
			for d := 0; d < 365; d++ {
				down := start.Add(time.Duration(d)*24*time.Hour + time.Duration(s%1440+i*7)*time.Minute)
				changes = append(changes,
					state.Change{Target: tg, Kind: state.KindHost, From: state.Up, To: state.Down, At: down},
					state.Change{Target: tg, Kind: state.KindHost, From: state.Down, To: state.Up, At: down.Add(5 * time.Minute)})
			}
		}
	}
	if err := st.RecordChanges(ctx, changes); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load("c.yml", []byte(cfgYAML.String()))
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	in := ReportInput{Config: cfg, Policy: alerting.DefaultPolicy(), From: start, To: start.AddDate(1, 0, 0), Now: start.AddDate(1, 0, 1)}
	run := func(b *testing.B, st *sqlite.Store) {
		rep, err := BuildReport(ctx, st, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Services) != services {
			b.Fatalf("%d services", len(rep.Services))
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			st, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			run(b, st)
			st.Close()
		}
	})
	b.Run("warm", func(b *testing.B) {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st)
		b.ResetTimer()
		for b.Loop() {
			run(b, st)
		}
	})
}
