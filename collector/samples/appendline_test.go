package samples

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestAppendLineAgainstAppend drives random lines (random label sets,
// names in random order, repeated names, times going back, limits
// reached, prunes) into one window through AppendLine and Append mixed,
// and into another through Append alone: errors and contents must agree.
// With collide, every label set shares one index list. Replay a failure
// with its seed.
func TestAppendLineAgainstAppend(t *testing.T) {
	for _, collide := range []bool{false, true} {
		for seed := uint64(1); seed <= 30; seed++ {
			t.Run("collide="+strconv.FormatBool(collide)+"/"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				appendLineRun(t, seed, collide)
			})
		}
	}
}

func appendLineRun(t *testing.T, seed uint64, collide bool) {
	r := rand.New(rand.NewPCG(seed, seed))
	const retention = 10 * time.Minute
	maxSeries, perTarget := 0, 0
	if r.IntN(2) == 0 {
		maxSeries, perTarget = 12+r.IntN(10), 5+r.IntN(5)
	}
	got, want := New(retention, maxSeries, perTarget), New(retention, maxSeries, perTarget)
	got.collide = collide
	bases := [][]labels.Label{
		{},
		{{Name: "host", Value: "a"}},
		{{Name: "host", Value: "b"}},
		{{Name: "cpu", Value: "0"}, {Name: "host", Value: "a"}},
		{{Name: "cpu", Value: "1"}, {Name: "host", Value: "a"}},
		{{Name: "A", Value: "upper"}, {Name: "host", Value: "a"}}, // sorts before __name__
		{{Name: "db", Value: "x"}, {Name: "host", Value: "b"}, {Name: "zone", Value: "z"}},
	}
	allNames := []string{"cpu_user", "cpu_system", "mem_free", "load1", "x"}
	for i := range 40 {
		allNames = append(allNames, "f"+strconv.Itoa(i))
	}
	now := int64(1_000_000)
	for step := range 400 {
		now += int64(r.IntN(20_000))
		if r.IntN(40) == 0 {
			got.Prune(time.UnixMilli(now))
			want.Prune(time.UnixMilli(now))
		}
		base := bases[r.IntN(len(bases))]
		names := make([]string, 1+r.IntN(4))
		if r.IntN(10) == 0 {
			names = make([]string, 1+r.IntN(80)) // more than one 32-series lookup
		}
		for i := range names {
			names[i] = allNames[r.IntN(len(allNames))]
		}
		ts := now - int64(r.IntN(3))*5_000 // sometimes out of order
		vs := make([]float64, len(names))
		for i := range vs {
			vs[i] = float64(r.IntN(1000)) / 10
		}
		errs := make([]error, len(names))
		if r.IntN(4) == 0 {
			for i, name := range names {
				errs[i] = got.Append(withName(base, name), ts, vs[i])
			}
		} else {
			got.AppendLine(labels.New(base...), names, ts, vs, errs)
		}
		for i, name := range names {
			if werr := want.Append(withName(base, name), ts, vs[i]); !errors.Is(errs[i], werr) {
				t.Fatalf("step %d, %v %s at %d: got error %v, want %v", step, base, name, ts, errs[i], werr)
			}
		}
	}
	if g, w := got.NumSeries(), want.NumSeries(); g != w {
		t.Fatalf("series: got %d, want %d", g, w)
	}
	if g, w := dump(t, got), dump(t, want); !slices.Equal(g, w) {
		t.Fatalf("contents differ:\ngot  %v\nwant %v", g, w)
	}
}

func withName(base []labels.Label, name string) labels.Labels {
	b := labels.NewScratchBuilder(len(base) + 1)
	for _, l := range base {
		b.Add(l.Name, l.Value)
	}
	b.Add("__name__", name)
	b.Sort()
	return b.Labels()
}

func dump(t *testing.T, s *Store) []string {
	t.Helper()
	q, _ := s.Querier(math.MinInt64, math.MaxInt64)
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var out []string
	var it chunkenc.Iterator
	for ss.Next() {
		line := ss.At().Labels().String()
		for it = ss.At().Iterator(it); it.Next() == chunkenc.ValFloat; {
			ts, v := it.At()
			line += " " + strconv.FormatInt(ts, 10) + "=" + strconv.FormatFloat(v, 'g', -1, 64)
		}
		out = append(out, line)
	}
	return out
}

// TestAppendLineAllocations: a line of known series costs no
// allocation, with 3 fields or 100.
func TestAppendLineAllocations(t *testing.T) {
	for _, fields := range []int{3, 100} {
		s := New(time.Hour, 0, 0)
		base := labels.FromStrings("cpu", "cpu0", "host", "h")
		names := make([]string, fields)
		for i := range names {
			names[i] = "cpu_usage_" + strconv.Itoa(i)
		}
		vs := make([]float64, fields)
		errs := make([]error, fields)
		ts := int64(0)
		s.AppendLine(base, names, ts, vs, errs)
		allocs := testing.AllocsPerRun(100, func() {
			ts += 15_000
			s.AppendLine(base, names, ts, vs, errs)
		})
		// The XOR chunks grow now and then.
		if limit := float64(fields) / 5; allocs > limit {
			t.Errorf("%d fields: %v allocations per line, want at most %v", fields, allocs, limit)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
