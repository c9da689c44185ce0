package servicelevel

import (
	"context"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/internal/promconst"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/calendar"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/rules"
)

// SLAWindows are the rolling windows every service's availability is
// published for, and SlothWindows those of the Sloth-style series.
var (
	SLAWindows   = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	SlothWindows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 30 * 24 * time.Hour}
)

// BurnWindows are the windows of nines_sla_burn_rate.
var BurnWindows = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour}

// calendarEvery is how often the calendar periods (this day ... this
// year) are recomputed: they reach back up to a year.
const calendarEvery = 5 * time.Minute

// Figures are one service's availability at the last computation.
type Figures struct {
	Service   string
	Objective float64 // ratio
	Windows   map[time.Duration]availability.Result
	// Calendar is by period (day, week, month, quarter, year), from the
	// period's start in the service's time zone.
	Calendar map[string]availability.Result
	State    string // up, degraded, down, maintenance, unknown now
	// At is the instant the figures were computed for (a multiple of
	// rules.SLOEvalInterval on the wall clock, the same at both
	// collectors of an HA pair).
	At time.Time
}

// SLA publishes every catalogue service's availability over the rolling
// windows: nines_sla_* on /metrics (it is a prometheus.Collector) and,
// for rules and SLO dashboards, Sloth's series names in the window.
// Compute runs from one goroutine at a time; Results and Collect may run
// concurrently with it.
type SLA struct {
	src Sources

	mu   sync.Mutex
	last []Figures

	calendarAt time.Time
	calendar   map[string]map[string]availability.Result // service, period
	compliance map[string][2]float64                     // priority: respond, resolve (-1: none due)
}

// NewSLA returns an SLA computer over src.
func NewSLA(src Sources) *SLA { return &SLA{src: src} }

// Results are the figures of the last computation, in catalogue order.
func (s *SLA) Results() []Figures {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// ByService are the figures of the last computation by service name.
func (s *SLA) ByService() map[string]Figures {
	out := map[string]Figures{}
	for _, f := range s.Results() {
		out[f.Service] = f
	}
	return out
}

// Compute works out every service's figures at now and writes them to
// the window.
func (s *SLA) Compute(ctx context.Context, now time.Time) error {
	cfg := s.src.Config()
	if len(cfg.Services) == 0 {
		s.mu.Lock()
		s.last = nil
		s.mu.Unlock()
		return nil
	}
	gs, err := gaps(ctx, s.src.History, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return err
	}
	targets := s.src.Targets()
	windows := map[time.Duration]bool{}
	for _, w := range append(append(append([]time.Duration(nil), SLAWindows...), SlothWindows...), BurnWindows...) {
		windows[w] = true
	}
	byWindow := map[time.Duration]*timelines{}
	for w := range windows {
		byWindow[w] = &timelines{history: s.src.History, cfg: cfg, window: availability.Span{From: now.Add(-w), To: now}, gaps: gs, targets: targets,
			cache: map[string][]availability.Segment{}}
	}
	if now.Sub(s.calendarAt) >= calendarEvery || now.Before(s.calendarAt) {
		if err := s.computeCalendar(ctx, cfg, targets, now); err != nil {
			return err
		}
	}
	live := Live(cfg, targets)
	ts := now.UnixMilli()
	put := func(v float64, l ...string) {
		_ = s.src.Window.Append(labels.FromStrings(l...), ts, v) // the appender counts failures
	}
	var out []Figures
	for _, sv := range cfg.Services {
		s.mu.Lock()
		cal := s.calendar[sv.Name]
		s.mu.Unlock()
		f := Figures{Service: sv.Name, Objective: sv.ObjectiveRatio(), Windows: map[time.Duration]availability.Result{},
			State: live[sv.Name].State, Calendar: cal, At: now}
		for w, tl := range byWindow {
			segs, err := tl.service(ctx, sv.Name)
			if err != nil {
				return err
			}
			res, _ := availability.Summarise(tl.window, segs)
			f.Windows[w] = res
		}
		out = append(out, f)
		// Sloth's names, so existing SLO dashboards and burn-rate alerts
		// work on Nines data.
		base := []string{"sloth_service", sv.Name, "sloth_slo", "availability", "sloth_id", sv.Name + "-availability"}
		sloth := func(name string, v float64) { put(v, append([]string{"__name__", name}, base...)...) }
		for _, w := range SlothWindows {
			sloth("slo:sli_error:ratio_rate"+rules.WindowLabel(w), f.Windows[w].ErrorRatio())
		}
		allowed := 1 - f.Objective
		sloth("slo:objective:ratio", f.Objective)
		sloth("slo:error_budget:ratio", allowed)
		sloth("slo:period_error_budget_remaining:ratio", 1-f.Windows[30*24*time.Hour].ErrorRatio()/allowed)
		// Nines's own series too, so availability rules can alert on them
		// (a fast burn over 1h and 6h, a budget nearly spent).
		for _, w := range BurnWindows {
			put(f.Windows[w].ErrorRatio()/allowed, "__name__", "nines_sla_burn_rate", "service", sv.Name, "window", rules.WindowLabel(w))
		}
		// The objective beside the figures, for dashboards (availability
		// against objective) through the query API.
		put(f.Objective, "__name__", "nines_sla_objective_ratio", "service", sv.Name)
		for _, w := range SLAWindows {
			put(f.Windows[w].Availability(), "__name__", "nines_sla_availability_ratio", "service", sv.Name, "window", rules.WindowLabel(w))
			put(1-f.Windows[w].ErrorRatio()/allowed, "__name__", "nines_sla_error_budget_remaining_ratio", "service", sv.Name, "window", rules.WindowLabel(w))
		}
	}
	s.mu.Lock()
	s.last = out
	s.mu.Unlock()
	return nil
}

// computeCalendar computes every service's calendar periods, each from its
// start in the service's time zone, and the incident target compliance
// per priority over 30 days.
func (s *SLA) computeCalendar(ctx context.Context, cfg *config.Config, targets []state.Target, now time.Time) error {
	yearAgo := now.AddDate(-1, 0, -1)
	gs, err := gaps(ctx, s.src.History, yearAgo, now)
	if err != nil {
		return err
	}
	byStart := map[int64]*timelines{}
	out := map[string]map[string]availability.Result{}
	for _, sv := range cfg.Services {
		loc := time.UTC
		if cal := cfg.Calendar(sv.Schedule); cal != nil {
			loc = cal.Location
		}
		out[sv.Name] = map[string]availability.Result{}
		for _, period := range calendar.Periods {
			from, _ := calendar.PeriodStart(period, now, loc)
			tl := byStart[from.UnixMilli()]
			if tl == nil {
				tl = &timelines{history: s.src.History, cfg: cfg, window: availability.Span{From: from, To: now}, gaps: gs, targets: targets,
					cache: map[string][]availability.Segment{}}
				byStart[from.UnixMilli()] = tl
			}
			segs, err := tl.service(ctx, sv.Name)
			if err != nil {
				return err
			}
			out[sv.Name][period], _ = availability.Summarise(tl.window, segs)
		}
	}
	window := availability.Span{From: now.Add(-30 * 24 * time.Hour), To: now}
	incs, err := s.src.History.Incidents(ctx, alerting.Filter{OpenedBefore: window.To, ActiveAfter: window.From})
	if err != nil {
		return err
	}
	policy := IncidentPolicy(cfg)
	compliance := map[string][2]float64{}
	for _, p := range alerting.Priorities {
		st := incidentStats(func(inc alerting.Incident) bool { return inc.Priority == p }, incs, policy, window, now)
		compliance[string(p)] = [2]float64{st.RespondMet, st.ResolveMet}
	}
	s.mu.Lock()
	s.calendar, s.compliance, s.calendarAt = out, compliance, now
	s.mu.Unlock()
	return nil
}

var (
	slaBurnDesc = prometheus.NewDesc("nines_sla_burn_rate",
		"How fast a service spends its error budget over a window: error ratio / (1 - objective); 1 spends it exactly over the period.", []string{"service", "window"}, nil)
	complianceDesc = prometheus.NewDesc("nines_incident_target_compliance_ratio",
		"Share of the incidents opened in the last 30 days that met their priority's response or resolution target (of those due).", []string{"priority", "target"}, nil)
	slaAvailabilityDesc = prometheus.NewDesc("nines_sla_availability_ratio",
		"A service's availability over a rolling window: up time / eligible time.", []string{"service", "window"}, nil)
	slaObjectiveDesc = prometheus.NewDesc("nines_sla_objective_ratio",
		"A service's availability objective as a ratio.", []string{"service"}, nil)
	slaBudgetDesc = prometheus.NewDesc("nines_sla_error_budget_remaining_ratio",
		"Share of the error budget left over a rolling window (negative when overspent).", []string{"service", "window"}, nil)
	slaAllowedDesc = prometheus.NewDesc("nines_sla_allowed_downtime_seconds",
		"The downtime a service's objective allows over a rolling window (eligible time x (1 - objective)).", []string{"service", "window"}, nil)
	slaDowntimeDesc = prometheus.NewDesc("nines_sla_downtime_seconds",
		"A service's downtime over a rolling window.", []string{"service", "window"}, nil)
	serviceStateDesc = prometheus.NewDesc("nines_service_state",
		"A service's state: 1 for the current one (up, degraded, down, unknown), 0 for the others.", []string{"service", "state"}, nil)
)

// Describe implements prometheus.Collector.
func (s *SLA) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{slaBurnDesc, complianceDesc, slaAvailabilityDesc, slaObjectiveDesc, slaBudgetDesc,
		slaAllowedDesc, slaDowntimeDesc, serviceStateDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the last computation's
// figures and the incident target compliance.
func (s *SLA) Collect(ch chan<- prometheus.Metric) {
	s.collectCompliance(ch)
	for _, f := range s.Results() {
		promconst.Send(ch, slaObjectiveDesc, prometheus.GaugeValue, f.Objective, f.Service)
		for _, w := range SLAWindows {
			res := f.Windows[w]
			wl := rules.WindowLabel(w)
			promconst.Send(ch, slaAvailabilityDesc, prometheus.GaugeValue, res.Availability(), f.Service, wl)
			promconst.Send(ch, slaDowntimeDesc, prometheus.GaugeValue, res.Down.Seconds(), f.Service, wl)
			promconst.Send(ch, slaAllowedDesc, prometheus.GaugeValue, res.Eligible().Seconds()*(1-f.Objective), f.Service, wl)
			promconst.Send(ch, slaBudgetDesc, prometheus.GaugeValue, 1-res.ErrorRatio()/(1-f.Objective), f.Service, wl)
		}
		for _, period := range calendar.Periods {
			res, ok := f.Calendar[period]
			if !ok {
				continue
			}
			wl := "this_" + period
			promconst.Send(ch, slaAvailabilityDesc, prometheus.GaugeValue, res.Availability(), f.Service, wl)
			promconst.Send(ch, slaDowntimeDesc, prometheus.GaugeValue, res.Down.Seconds(), f.Service, wl)
			promconst.Send(ch, slaBudgetDesc, prometheus.GaugeValue, 1-res.ErrorRatio()/(1-f.Objective), f.Service, wl)
		}
		for _, w := range BurnWindows {
			promconst.Send(ch, slaBurnDesc, prometheus.GaugeValue, f.Windows[w].ErrorRatio()/(1-f.Objective), f.Service, rules.WindowLabel(w))
		}
		for _, st := range []string{"up", "degraded", "down", "maintenance", "unknown"} {
			v := 0.0
			if st == f.State || (st == "unknown" && f.State != "up" && f.State != "degraded" && f.State != "down" && f.State != "maintenance") {
				v = 1
			}
			promconst.Send(ch, serviceStateDesc, prometheus.GaugeValue, v, f.Service, st)
		}
	}
}

// collectCompliance exports the incident target compliance per priority.
func (s *SLA) collectCompliance(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	c := s.compliance
	s.mu.Unlock()
	for _, p := range alerting.Priorities {
		v, ok := c[string(p)]
		if !ok {
			continue
		}
		for i, target := range []string{"respond", "resolve"} {
			if v[i] >= 0 {
				promconst.Send(ch, complianceDesc, prometheus.GaugeValue, v[i], string(p), target)
			}
		}
	}
}
