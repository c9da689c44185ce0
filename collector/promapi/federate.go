package promapi

import (
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// federate serves /federate: the latest sample, within the lookback
// delta, of every series the match[] selectors select, with its
// timestamp, in the exposition format the scraper asks for (text by
// default), as Prometheus's web/federate.go does. The window holds
// floats only, so every family is untyped.
func (a *API) federate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "error parsing form values: "+err.Error(), http.StatusBadRequest)
		return
	}
	sets, err := a.parser.ParseMetricSelectors(r.Form["match[]"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := a.opts.Now()
	mint := timestamp.FromTime(now.Add(-a.opts.LookbackDelta))
	maxt := timestamp.FromTime(now)
	q, err := a.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()

	type sample struct {
		lset labels.Labels
		t    int64
		f    float64
	}
	var (
		vec   []sample
		hints = &storage.SelectHints{Start: mint, End: maxt}
		ss    []storage.SeriesSet
		it    chunkenc.Iterator
	)
	for _, ms := range sets {
		ss = append(ss, q.Select(r.Context(), true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		var last sample
		found := false
		for it.Next() == chunkenc.ValFloat {
			t, f := it.At()
			if t > maxt {
				break
			}
			last, found = sample{lset: s.Labels(), t: t, f: f}, true
		}
		if it.Err() != nil {
			http.Error(w, it.Err().Error(), http.StatusInternalServerError)
			return
		}
		// The exposition formats have no stale markers.
		if found && !value.IsStaleNaN(last.f) {
			vec = append(vec, last)
		}
	}
	if err := set.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	slices.SortStableFunc(vec, func(a, b sample) int {
		return strings.Compare(a.lset.Get(model.MetricNameLabel), b.lset.Get(model.MetricNameLabel))
	})

	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	untyped := dto.MetricType_UNTYPED
	var fam *dto.MetricFamily
	flush := func() bool {
		if fam == nil {
			return true
		}
		if err := enc.Encode(fam); err != nil {
			a.opts.Logger.Error("federation failed", "err", err)
			return false
		}
		return true
	}
	for _, s := range vec {
		name := s.lset.Get(model.MetricNameLabel)
		if name == "" {
			continue
		}
		if fam == nil || fam.GetName() != name {
			if !flush() {
				return
			}
			fam = &dto.MetricFamily{Name: ptr(name), Type: &untyped}
		}
		m := &dto.Metric{TimestampMs: ptr(s.t), Untyped: &dto.Untyped{Value: ptr(s.f)}}
		hasInstance := false
		s.lset.Range(func(l labels.Label) {
			if l.Name == model.MetricNameLabel || l.Value == "" {
				return
			}
			hasInstance = hasInstance || l.Name == model.InstanceLabel
			m.Label = append(m.Label, &dto.LabelPair{Name: ptr(l.Name), Value: ptr(l.Value)})
		})
		// Prometheus adds an empty instance label to series without one
		// (its external labels always include instance), so a federating
		// server with honor_labels keeps series without one apart from its
		// own target's.
		if !hasInstance {
			m.Label = append(m.Label, &dto.LabelPair{Name: ptr(model.InstanceLabel), Value: ptr("")})
		}
		fam.Metric = append(fam.Metric, m)
	}
	flush()
}

func ptr[T any](v T) *T { return &v }
