package servicelevel

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/state"
)

// maxScope bounds the targets and services an incident query names (a
// store turns each into a query parameter); a larger catalogue is
// bounded by the period only.
const maxScope = 500

// ReportInput is what BuildReport needs besides the store.
type ReportInput struct {
	Config *config.Config
	Policy alerting.Policy
	// Targets give the labels that label-selector components match (the
	// running collector's targets, or the configured inventory).
	Targets  []state.Target
	From, To time.Time
	Now      time.Time
	// Services limits the report; empty: the whole catalogue.
	Services []string
	// Workers read target histories in parallel; 0: DefaultWorkers.
	Workers int
}

// BuildReport computes the service level report over [From, To) (To is
// clipped to Now) from the durable history.
func BuildReport(ctx context.Context, st History, in ReportInput) (*report.Report, error) {
	to := in.To
	if to.After(in.Now) {
		to = in.Now
	}
	if !to.After(in.From) {
		return nil, fmt.Errorf("the period %s to %s is empty or in the future", in.From.Format(time.RFC3339), in.To.Format(time.RFC3339))
	}
	for _, name := range in.Services {
		if in.Config.Service(name) == nil {
			return nil, fmt.Errorf("unknown service %q", name)
		}
	}
	window := availability.Span{From: in.From, To: to}
	gs, err := gaps(ctx, st, in.From, to)
	if err != nil {
		return nil, err
	}
	tl := &timelines{history: st, cfg: in.Config, window: window, gaps: gs, targets: in.Targets, cache: map[string][]availability.Segment{}}
	var names []string
	seen := map[string]bool{}
	for _, sv := range in.Config.Services {
		if len(in.Services) == 0 || slices.Contains(in.Services, sv.Name) {
			names = append(names, TargetsOf(in.Config, in.Targets, sv.Name, seen)...)
		}
	}
	workers := in.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	if err := tl.prefetch(ctx, names, workers); err != nil {
		return nil, err
	}
	// The incidents that overlap the period, about the services reported
	// or their targets (outages link them, statistics count them).
	scope := alerting.Filter{OpenedBefore: to, ActiveAfter: in.From, Targets: names}
	for _, sv := range in.Config.Services {
		if len(in.Services) == 0 || slices.Contains(in.Services, sv.Name) {
			scope.Services = append(scope.Services, sv.Name)
		}
	}
	if len(scope.Targets)+len(scope.Services) > maxScope {
		scope.Targets, scope.Services = nil, nil // the period bounds it; the services filter below
	}
	incidents, err := st.Incidents(ctx, scope)
	if err != nil {
		return nil, err
	}
	rep := &report.Report{From: in.From, To: to, GeneratedAt: in.Now}
	for i := range in.Config.Services {
		sv := &in.Config.Services[i]
		if len(in.Services) > 0 && !slices.Contains(in.Services, sv.Name) {
			continue
		}
		r, err := serviceReport(ctx, tl, sv, in, incidents)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", sv.Name, err)
		}
		if r.Known {
			if r.Met {
				rep.Met++
			} else {
				rep.Breached++
			}
		}
		rep.Services = append(rep.Services, r)
	}
	return rep, nil
}

// components names a service's parts: its targets, those its selector
// matches, and the services it needs (prefixed "service:").
func components(sv *config.Service, targets []state.Target) []string {
	names := slices.Clone(sv.Components.Targets)
	if len(sv.Components.Selector) > 0 {
		for _, t := range targets {
			if hasAll(t.Labels, sv.Components.Selector) && !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	for _, dep := range sv.Components.Services {
		names = append(names, "service:"+dep)
	}
	return names
}

func (tl *timelines) component(ctx context.Context, name string) ([]availability.Segment, error) {
	if dep, ok := strings.CutPrefix(name, "service:"); ok {
		return tl.combined(ctx, dep)
	}
	return tl.target(ctx, name)
}

func stateAt(segs []availability.Segment, t time.Time) state.State {
	for _, s := range segs {
		if !t.Before(s.From) && t.Before(s.To) {
			return s.State
		}
	}
	return state.Unknown
}

func serviceReport(ctx context.Context, tl *timelines, sv *config.Service, in ReportInput, incidents []alerting.Incident) (report.Service, error) {
	cal := in.Config.Calendar(sv.Schedule)
	loc := time.UTC
	schedule := "24x7"
	if cal != nil {
		loc, schedule = cal.Location, sv.Schedule
	}
	r := report.Service{Name: sv.Name, Description: sv.Description, Owner: sv.Owner, Criticality: sv.Criticality, Schedule: schedule, TimeZone: loc.String(),
		NoData: sv.NoData, Objective: sv.ObjectiveRatio(), Outages: []report.Outage{}, Days: []report.Day{}, Components: []report.Component{}}
	segs, err := tl.service(ctx, sv.Name)
	if err != nil {
		return r, err
	}
	res, _ := availability.Summarise(tl.window, segs)
	r.Known = res.Eligible() > 0
	r.Ratio = res.Availability()
	r.Met = r.Ratio >= r.Objective
	r.Eligible, r.Downtime = report.Seconds(res.Eligible()), report.Seconds(res.Down)
	allowed := time.Duration(float64(res.Eligible()) * (1 - r.Objective)).Round(time.Millisecond)
	r.AllowedDowntime = report.Seconds(allowed)
	budget := Budget{Allowed: allowed, Spent: res.Down}
	r.BudgetRemaining, r.BudgetOverrun = budget.Remaining(), report.Seconds(budget.Overrun())
	r.NoDataTime, r.Planned, r.NotObserved, r.OutsideSchedule = report.Seconds(res.NoData), report.Seconds(res.Planned), report.Seconds(res.NotObserved), report.Seconds(res.Outside)

	comps := components(sv, tl.targets)
	compSegs := map[string][]availability.Segment{}
	for _, c := range comps {
		if compSegs[c], err = tl.component(ctx, c); err != nil {
			return r, err
		}
	}
	// Outages: the service's down stretches inside the schedule, with
	// what was down when each began and the incidents that overlap it.
	// An incident hits the service when it names it or one of the
	// targets it needs, directly or through the services it needs.
	reach := map[string]bool{}
	for _, t := range TargetsOf(in.Config, tl.targets, sv.Name, map[string]bool{}) {
		reach[t] = true
	}
	hits := func(inc alerting.Incident) bool {
		return inc.Service == sv.Name || (inc.Target != "" && reach[inc.Target])
	}
	mine := slices.DeleteFunc(slices.Clone(incidents), func(inc alerting.Incident) bool { return !hits(inc) })
	for _, s := range segs {
		if s.State != state.Down {
			continue
		}
		if n := len(r.Outages); n > 0 && r.Outages[n-1].To.Equal(s.From) {
			r.Outages[n-1].To = s.To
			r.Outages[n-1].Duration = report.Seconds(s.To.Sub(r.Outages[n-1].From))
			continue
		}
		var cause []string
		for _, c := range comps {
			if stateAt(compSegs[c], s.From) == state.Down {
				cause = append(cause, strings.TrimPrefix(c, "service:"))
			}
		}
		r.Outages = append(r.Outages, report.Outage{From: s.From, To: s.To, Duration: report.Seconds(s.To.Sub(s.From)),
			Cause: strings.Join(cause, ", ") + " down", Incidents: []int64{}})
	}
	for i := range r.Outages {
		o := &r.Outages[i]
		for _, inc := range mine {
			end := in.Now
			if inc.ResolvedAt != nil {
				end = *inc.ResolvedAt
			}
			if inc.OpenedAt.Before(o.To) && end.After(o.From) {
				o.Incidents = append(o.Incidents, inc.ID)
			}
		}
	}
	// Components by downtime inside the service's schedule.
	for _, c := range comps {
		cs := compSegs[c]
		if cal != nil {
			cs = availability.Restrict(cs, cal.Spans(tl.window.From, tl.window.To))
		}
		cr, _ := availability.Summarise(tl.window, cs)
		if cr.Down > 0 {
			r.Components = append(r.Components, report.Component{Name: strings.TrimPrefix(c, "service:"), Downtime: report.Seconds(cr.Down)})
		}
	}
	slices.SortStableFunc(r.Components, func(a, b report.Component) int { return cmp.Compare(b.Downtime, a.Downtime) })
	r.Components = r.Components[:min(len(r.Components), 5)]
	// The day-by-day strip, in the schedule's time zone.
	var days []availability.Span
	lf := tl.window.From.In(loc)
	for day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc); day.Before(tl.window.To); {
		y, m, d := day.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		days = append(days, availability.Span{From: maxTime(day, tl.window.From), To: minTime(next, tl.window.To)})
		day = next
	}
	for i, dr := range availability.SummariseEach(segs, days) {
		lday := days[i].From.In(loc)
		r.Days = append(r.Days, report.Day{Date: lday.Format(time.DateOnly), Known: dr.Eligible() > 0, Ratio: dr.Availability(), Downtime: report.Seconds(dr.Down)})
	}
	r.Incidents = incidentStats(hits, incidents, in.Policy, tl.window, in.Now)
	return r, nil
}

// incidentStats covers the incidents opened in the window that match.
func incidentStats(match func(alerting.Incident) bool, incidents []alerting.Incident, policy alerting.Policy, window availability.Span, now time.Time) report.IncidentStats {
	st := report.IncidentStats{ByPriority: map[string]int{}, RespondMet: -1, ResolveMet: -1}
	var ackSum, resSum time.Duration
	var acked, resolved, respDue, respMet, resDue, resMet int
	for _, inc := range incidents {
		if !match(inc) || inc.OpenedAt.Before(window.From) || !inc.OpenedAt.Before(window.To) {
			continue
		}
		st.Total++
		st.ByPriority[string(inc.Priority)]++
		tg := policy.Targets[inc.Priority]
		if inc.AcknowledgedAt != nil {
			d := inc.AcknowledgedAt.Sub(inc.OpenedAt)
			ackSum += d
			acked++
			respDue++
			if tg.Respond <= 0 || d <= tg.Respond {
				respMet++
			}
		} else if tg.Respond > 0 && now.Sub(inc.OpenedAt) > tg.Respond {
			respDue++ // never acknowledged in time
		}
		if inc.ResolvedAt != nil {
			d := inc.ResolvedAt.Sub(inc.OpenedAt)
			resSum += d
			resolved++
			resDue++
			if tg.Resolve <= 0 || d <= tg.Resolve {
				resMet++
			}
		} else if tg.Resolve > 0 && now.Sub(inc.OpenedAt) > tg.Resolve {
			resDue++
		}
	}
	if acked > 0 {
		st.MTTA = report.Seconds(ackSum / time.Duration(acked))
	}
	if resolved > 0 {
		st.MTTR = report.Seconds(resSum / time.Duration(resolved))
	}
	if respDue > 0 {
		st.RespondMet = float64(respMet) / float64(respDue)
	}
	if resDue > 0 {
		st.ResolveMet = float64(resMet) / float64(resDue)
	}
	return st
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
