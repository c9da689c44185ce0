// Package promapi serves Prometheus's HTTP query API over the collector's
// recent-sample window: /api/v1/query, /api/v1/query_range,
// /api/v1/series, /api/v1/labels, /api/v1/label/{name}/values and
// /federate, so Grafana's Prometheus data source, promtool and a
// federating Prometheus work against Nines.
//
// Queries run on the upstream PromQL engine with Prometheus's limits
// (timeout, samples per query, concurrent queries) and answer in
// Prometheus's JSON: the envelope, error types and status codes of
// Prometheus's web/api/v1, and the result values' own JSON marshalling
// from package promql. /federate writes the text exposition format with
// expfmt, as Prometheus's does. The parameter handling follows
// web/api/v1/api.go and web/federate.go of Prometheus (Apache 2.0).
package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Options configure an API. Zero limits take Prometheus's defaults.
type Options struct {
	// Queryable is the data queried: the recent window.
	Queryable storage.Queryable
	// Timeout bounds one query (Prometheus's --query.timeout, 2m).
	Timeout time.Duration
	// MaxSamples bounds the samples one query holds at once
	// (--query.max-samples, 50000000).
	MaxSamples int
	// MaxConcurrency bounds the queries running at once
	// (--query.max-concurrency, 20); more wait for a slot.
	MaxConcurrency int
	// LookbackDelta is how far back instant selectors and /federate look
	// (--query.lookback-delta, 5m).
	LookbackDelta time.Duration
	// Registerer gets the engine's prometheus_engine_* metrics; may be nil.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Prometheus's defaults for the limits.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultMaxSamples     = 50_000_000
	DefaultMaxConcurrency = 20
	DefaultLookbackDelta  = 5 * time.Minute
)

// API serves the endpoints. Create it with New; it is safe for concurrent
// use.
type API struct {
	opts   Options
	engine *promql.Engine
	parser parser.Parser
	gate   gate
}

// New returns an API over opts.Queryable.
func New(opts Options) *API {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = DefaultLookbackDelta
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := parser.NewParser(parser.Options{})
	g := newGate(opts.MaxConcurrency)
	return &API{
		opts:   opts,
		parser: p,
		gate:   g,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:               opts.Logger,
			Reg:                  opts.Registerer,
			MaxSamples:           opts.MaxSamples,
			Timeout:              opts.Timeout,
			ActiveQueryTracker:   g,
			LookbackDelta:        opts.LookbackDelta,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			Parser:               p,
		}),
	}
}

// Register adds the endpoints to mux, each wrapped by require (the
// caller's authentication: a viewer token). Requests with HTTP basic auth
// and no other credentials have the password taken as the bearer token,
// since promtool and some Grafana set-ups can only send basic auth.
func (a *API) Register(mux *http.ServeMux, require func(http.Handler) http.Handler) {
	h := func(f func(*http.Request) result) http.Handler {
		return basicAsBearer(require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.respond(w, r, f(r))
		})))
	}
	for _, m := range []string{"GET", "POST"} {
		mux.Handle(m+" /api/v1/query", h(a.query))
		mux.Handle(m+" /api/v1/query_range", h(a.queryRange))
		mux.Handle(m+" /api/v1/series", h(a.series))
		mux.Handle(m+" /api/v1/labels", h(a.labelNames))
	}
	mux.Handle("GET /api/v1/label/{name}/values", h(a.labelValues))
	// The window keeps neither exemplars nor metric metadata: these answer
	// as Prometheus does when it has none, so Grafana's Explore (which asks
	// for exemplars by default) and metrics browser do not show errors.
	mux.Handle("GET /api/v1/query_exemplars", h(a.exemplars))
	mux.Handle("POST /api/v1/query_exemplars", h(a.exemplars))
	mux.Handle("GET /api/v1/metadata", h(func(*http.Request) result { return result{data: map[string]any{}} }))
	mux.Handle("GET /federate", basicAsBearer(require(http.HandlerFunc(a.federate))))
}

// basicAsBearer turns HTTP basic auth (the password being the token) into
// a bearer token when the request has no other credentials.
func basicAsBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok && pw != "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+pw)
		}
		next.ServeHTTP(w, r)
	})
}

// gate bounds the queries running at once: the engine calls Insert before
// a query runs (waiting for a slot until the query's context ends) and
// Delete after.
type gate chan struct{}

func newGate(n int) gate { return make(gate, n) }

func (g gate) GetMaxConcurrent() int { return cap(g) }

func (g gate) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case g <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g gate) Delete(int)   { <-g }
func (g gate) Close() error { return nil }

// errorType is one of Prometheus's API error types.
type errorType string

const (
	errorTimeout  errorType = "timeout"
	errorCanceled errorType = "canceled"
	errorExec     errorType = "execution"
	errorBadData  errorType = "bad_data"
	errorInternal errorType = "internal"
)

// statusClientClosedConnection is what Prometheus answers when the client
// went away (nginx's 499).
const statusClientClosedConnection = 499

func (t errorType) code() int {
	switch t {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientClosedConnection
	case errorTimeout:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type apiError struct {
	typ errorType
	err error
}

// result is what an endpoint returns: data or an error, and warnings.
type result struct {
	data     any
	err      *apiError
	warnings annotations.Annotations
	query    string // for the position information of warnings
	// close, when set, is called once the data is written: a query's
	// result lives in the engine's pooled slices until its Close.
	close func()
}

// response is Prometheus's JSON envelope.
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// queryData is the data of /query and /query_range.
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
	Stats      stats.QueryStats `json:"stats,omitempty"`
}

func (a *API) respond(w http.ResponseWriter, r *http.Request, res result) {
	if res.close != nil {
		defer res.close()
	}
	resp := response{Status: "success", Data: res.data}
	code := http.StatusOK
	if res.err != nil {
		resp = response{Status: "error", ErrorType: string(res.err.typ), Error: res.err.err.Error(), Data: res.data}
		code = res.err.typ.code()
	} else {
		resp.Warnings, resp.Infos = res.warnings.AsStrings(res.query, 10, 10)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		a.opts.Logger.Error("encode query API response", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func invalidParam(err error, name string) result {
	return result{err: &apiError{errorBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}}
}

func badData(err error) result { return result{err: &apiError{errorBadData, err}} }

// apiErr classifies an error of the engine or the storage as Prometheus
// does.
func apiErr(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
	)
	switch {
	case errors.As(err, &eqc):
		return &apiError{errorCanceled, err}
	case errors.As(err, &eqt):
		return &apiError{errorTimeout, err}
	case errors.As(err, &es):
		return &apiError{errorInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{errorCanceled, err}
	}
	return &apiError{errorExec, err}
}

func (a *API) query(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	ts, err := parseTimeParam(r, "time", a.opts.Now())
	if err != nil {
		return invalidParam(err, "time")
	}
	ctx, cancel, res := a.timeout(r)
	if cancel == nil {
		return res
	}
	defer cancel()
	opts, err := queryOpts(r)
	if err != nil {
		return badData(err)
	}
	expr := r.FormValue("query")
	qry, err := a.engine.NewInstantQuery(ctx, a.opts.Queryable, opts, expr, ts)
	if err != nil {
		return newQueryErr(ctx, err)
	}
	res = a.exec(ctx, r, qry, expr, limit)
	res.close = qry.Close
	return res
}

func (a *API) queryRange(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return invalidParam(err, "start")
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return invalidParam(err, "end")
	}
	if end.Before(start) {
		return invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return invalidParam(err, "step")
	}
	if step <= 0 {
		return invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	// Prometheus's bound on points per series.
	if end.Sub(start)/step > 11000 {
		return badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	ctx, cancel, res := a.timeout(r)
	if cancel == nil {
		return res
	}
	defer cancel()
	opts, err := queryOpts(r)
	if err != nil {
		return badData(err)
	}
	expr := r.FormValue("query")
	qry, err := a.engine.NewRangeQuery(ctx, a.opts.Queryable, opts, expr, start, end, step)
	if err != nil {
		return newQueryErr(ctx, err)
	}
	res = a.exec(ctx, r, qry, expr, limit)
	res.close = qry.Close
	return res
}

// timeout bounds the query, its wait for a slot included, by the
// configured timeout or the request's shorter timeout parameter. A nil
// cancel means the parameter was bad and res says why.
func (a *API) timeout(r *http.Request) (context.Context, context.CancelFunc, result) {
	d := a.opts.Timeout
	if to := r.FormValue("timeout"); to != "" {
		p, err := parseDuration(to)
		if err != nil {
			return nil, nil, invalidParam(err, "timeout")
		}
		d = min(d, p)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, result{}
}

// newQueryErr classifies an error of creating a query: the engine parses
// it and, since Prometheus 3, waits for a slot among the concurrent
// queries. Prometheus answers a wait cut short as a bad query parameter;
// here it is the timeout (or cancellation) it is.
func newQueryErr(ctx context.Context, err error) result {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if errors.Is(err, context.DeadlineExceeded) {
			return result{err: &apiError{errorTimeout, errors.New("query timed out in query queue")}}
		}
		return result{err: &apiError{errorCanceled, errors.New("query was canceled in query queue")}}
	}
	return invalidParam(err, "query")
}

// exec runs a query and shapes its result. The caller closes the query
// after the data is written (result.close).
func (a *API) exec(ctx context.Context, r *http.Request, qry promql.Query, expr string, limit int) result {
	res := qry.Exec(ctx)
	if res.Err != nil {
		return result{err: apiErr(res.Err), warnings: res.Warnings, query: expr}
	}
	warnings := res.Warnings
	if limit > 0 && truncate(res, limit) {
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	var qs stats.QueryStats
	if r.FormValue("stats") != "" {
		qs = stats.NewQueryStats(qry.Stats())
	}
	return result{data: &queryData{ResultType: res.Value.Type(), Result: res.Value, Stats: qs}, warnings: warnings, query: expr}
}

// exemplars validates a /query_exemplars request as Prometheus does and
// answers that there are none.
func (a *API) exemplars(r *http.Request) result {
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return invalidParam(err, "start")
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return invalidParam(err, "end")
	}
	if end.Before(start) {
		return badData(errors.New("end timestamp must not be before start timestamp"))
	}
	if _, err := a.parser.ParseExpr(r.FormValue("query")); err != nil {
		return badData(err)
	}
	return result{data: []any{}}
}

func truncate(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}

func queryOpts(r *http.Request) (promql.QueryOpts, error) {
	var lookback time.Duration
	if s := r.FormValue("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("error parsing lookback delta duration: %w", err)
		}
		lookback = d
	}
	return promql.NewPrometheusQueryOpts(r.FormValue("stats") == "all", lookback), nil
}

// Prometheus's defaults for the start and end of optional time ranges.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// lookup is the common part of /series, /labels and /label/{}/values:
// limit, time range and match[] selectors.
type lookup struct {
	limit      int
	start, end time.Time
	matchers   [][]*labels.Matcher
}

func (a *API) parseLookup(r *http.Request) (lookup, *result) {
	var l lookup
	var err error
	if err := r.ParseForm(); err != nil {
		res := badData(fmt.Errorf("error parsing form values: %w", err))
		return l, &res
	}
	if l.limit, err = parseLimit(r.FormValue("limit")); err != nil {
		res := invalidParam(err, "limit")
		return l, &res
	}
	if l.start, err = parseTimeParam(r, "start", minTime); err != nil {
		res := invalidParam(err, "start")
		return l, &res
	}
	if l.end, err = parseTimeParam(r, "end", maxTime); err != nil {
		res := invalidParam(err, "end")
		return l, &res
	}
	if l.matchers, err = a.parseMatchers(r.Form["match[]"]); err != nil {
		res := badData(err)
		return l, &res
	}
	return l, nil
}

func (a *API) parseMatchers(in []string) ([][]*labels.Matcher, error) {
	sets, err := a.parser.ParseMetricSelectors(in)
	if err != nil {
		return nil, err
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, errors.New("match[] must contain at least one non-empty matcher")
	}
	return sets, nil
}

// hintLimit is one more than the limit, so truncation can be noticed.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

func (a *API) labelNames(r *http.Request) result {
	l, bad := a.parseLookup(r)
	if bad != nil {
		return *bad
	}
	q, err := a.opts.Queryable.Querier(timestamp.FromTime(l.start), timestamp.FromTime(l.end))
	if err != nil {
		return result{err: apiErr(err)}
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(l.limit)}
	names, warnings, err := collect(l.matchers, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(r.Context(), hints, ms...)
	})
	if err != nil {
		return result{err: &apiError{errorExec, err}, warnings: warnings}
	}
	if l.limit > 0 && len(names) > l.limit {
		names = names[:l.limit]
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	return result{data: names, warnings: warnings}
}

func (a *API) labelValues(r *http.Request) result {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return badData(fmt.Errorf("invalid label name: %q", name))
	}
	l, bad := a.parseLookup(r)
	if bad != nil {
		return *bad
	}
	q, err := a.opts.Queryable.Querier(timestamp.FromTime(l.start), timestamp.FromTime(l.end))
	if err != nil {
		return result{err: &apiError{errorExec, err}}
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(l.limit)}
	vals, warnings, err := collect(l.matchers, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(r.Context(), name, hints, ms...)
	})
	if err != nil {
		return result{err: &apiError{errorExec, err}, warnings: warnings}
	}
	if l.limit > 0 && len(vals) > l.limit {
		vals = vals[:l.limit]
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	return result{data: vals, warnings: warnings}
}

// collect runs get for each matcher set (once with none when there are
// none) and returns the sorted union, never nil.
func collect(sets [][]*labels.Matcher, get func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, annotations.Annotations, error) {
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	var warnings annotations.Annotations
	set := map[string]struct{}{}
	for _, ms := range sets {
		vals, ws, err := get(ms)
		warnings.Merge(ws)
		if err != nil {
			return nil, warnings, err
		}
		for _, v := range vals {
			set[v] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, warnings, nil
}

func (a *API) series(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	if len(r.Form["match[]"]) == 0 {
		return badData(errors.New("no match[] parameter provided"))
	}
	l, bad := a.parseLookup(r)
	if bad != nil {
		return *bad
	}
	ctx := r.Context()
	q, err := a.opts.Queryable.Querier(timestamp.FromTime(l.start), timestamp.FromTime(l.end))
	if err != nil {
		return result{err: apiErr(err)}
	}
	defer q.Close()
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(l.start),
		End:   timestamp.FromTime(l.end),
		Func:  "series", // no samples needed
		Limit: hintLimit(l.limit),
	}
	var set storage.SeriesSet
	if len(l.matchers) > 1 {
		var sets []storage.SeriesSet
		for _, ms := range l.matchers {
			sets = append(sets, q.Select(ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	} else {
		set = q.Select(ctx, false, hints, l.matchers[0]...)
	}
	metrics := []labels.Labels{}
	warnings := set.Warnings()
	for i := 1; set.Next(); i++ {
		if i%128 == 0 {
			if err := ctx.Err(); err != nil {
				return result{err: apiErr(err), warnings: warnings}
			}
		}
		metrics = append(metrics, set.At().Labels())
		if l.limit > 0 && len(metrics) > l.limit {
			metrics = metrics[:l.limit]
			warnings = warnings.Add(errors.New("results truncated due to limit"))
			break
		}
	}
	if err := set.Err(); err != nil {
		return result{err: apiErr(err), warnings: warnings}
	}
	return result{data: metrics, warnings: warnings}
}

func parseTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseTime accepts Unix seconds (with up to millisecond fractions) or
// RFC 3339, as Prometheus does.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration accepts seconds (a float) or a Prometheus duration (5m).
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return n, nil
}
