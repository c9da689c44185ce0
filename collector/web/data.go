package web

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// Sources are what NewData builds the pages from: live states from the
// tracker, availability from the SLA computation and the durable
// history, incidents from the store. Every field is required; each is
// safe for concurrent use.
type Sources struct {
	Config  func() *config.Config
	Targets func() []state.Target
	SLA     interface {
		ByService() map[string]servicelevel.Figures
	}
	Reports interface {
		Report(ctx context.Context, from, to time.Time, services []string, now time.Time) (*report.Report, error)
	}
	Store  DataStore
	Policy interface {
		TargetsFor(p alerting.Priority) (alerting.Targets, bool)
	}
	Charts interface {
		QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Matrix, error)
	}
	Logger *slog.Logger
}

// DataStore is the part of the store the pages read.
type DataStore interface {
	Incidents(ctx context.Context, f alerting.Filter) ([]alerting.Incident, error)
	History(ctx context.Context, target string, from, to time.Time) ([]state.Change, error)
	HistorySince(ctx context.Context, target string, from, to time.Time) (state.State, []state.Change, error)
	Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error)
	Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error)
	Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error)
}

// NewData returns the Data the UI shows, built from src.
func NewData(src Sources) Data { return data{src} }

type data struct{ src Sources }

// component is a service's part as the pages link it.
func component(c servicelevel.Component) Component {
	link := "/ui/targets/" + c.Name
	if c.Kind == "service" {
		link = "/ui/services/" + c.Name
	}
	return Component{Name: c.Name, Kind: c.Kind, State: c.State, Link: link}
}

// groupState is the worst of a group's targets': down when all that
// report are down, degraded when some are.
func groupState(counts map[string]int) string {
	up, down := counts[string(state.Up)], counts[string(state.Down)]
	switch {
	case down > 0 && up > 0:
		return "degraded"
	case down > 0:
		return "down"
	case up > 0:
		return "up"
	case counts[string(state.Maintenance)] > 0:
		return "maintenance"
	case counts[string(state.Shutdown)] > 0:
		return "shutdown"
	}
	return "unknown"
}

func serviceTile(sv *config.Service, live *servicelevel.LiveService, figures map[string]servicelevel.Figures) ServiceTile {
	t := ServiceTile{Name: sv.Name, Group: sv.Group, State: live.State, Objective: sv.ObjectiveRatio(),
		Components: len(live.Components), ComponentsDown: live.Down}
	if f, ok := figures[sv.Name]; ok {
		if res := f.Windows[30*24*time.Hour]; res.Eligible() > 0 {
			a, left := res.Availability(), 1-res.ErrorRatio()/(1-t.Objective)
			t.Availability, t.BudgetRemaining = &a, &left
		}
	}
	return t
}

// Board implements Data.
func (b data) Board(ctx context.Context, now time.Time) (Board, error) {
	cfg := b.src.Config()
	targets := b.src.Targets()
	board := Board{GeneratedAt: now, Counts: map[string]int{}, Services: []ServiceTile{}, Groups: []GroupTile{}}
	groups := map[string]*GroupTile{}
	for _, t := range targets {
		board.Counts[string(t.State)]++
		name := t.Labels[cfg.Web.Wall.GroupBy]
		if name == "" {
			name = "other"
		}
		g := groups[name]
		if g == nil {
			g = &GroupTile{Name: name, Counts: map[string]int{}}
			groups[name] = g
		}
		g.Counts[string(t.State)]++
		g.Total++
	}
	for _, g := range groups {
		g.State = groupState(g.Counts)
		board.Groups = append(board.Groups, *g)
	}
	slices.SortFunc(board.Groups, func(a, b GroupTile) int { return cmp.Compare(a.Name, b.Name) })
	live := servicelevel.Live(cfg, targets)
	figures := b.src.SLA.ByService()
	for i := range cfg.Services {
		board.Services = append(board.Services, serviceTile(&cfg.Services[i], live[cfg.Services[i].Name], figures))
	}
	// All active incidents, so that the most urgent are chosen, not the
	// newest (see boardIncidents).
	incs, err := b.src.Store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}})
	if err != nil {
		return board, fmt.Errorf("read active incidents: %w", err)
	}
	boardIncidents(&board, incs, b.src.Policy.TargetsFor)
	return board, nil
}

// targetWindows are the availability windows on a target's page.
var targetWindows = []struct {
	label string
	d     time.Duration
}{{"24 h", 24 * time.Hour}, {"7 d", 7 * 24 * time.Hour}, {"30 d", 30 * 24 * time.Hour}}

// Target implements Data.
func (b data) Target(ctx context.Context, name string, now time.Time) (*TargetView, error) {
	var tg *state.Target
	for _, t := range b.src.Targets() {
		if t.Name == name {
			tg = &t
			break
		}
	}
	if tg == nil {
		return nil, nil
	}
	v := &TargetView{Target: *tg}
	hist, err := b.src.Store.History(ctx, name, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	slices.Reverse(hist)
	v.History = hist[:min(len(hist), 200)]
	raw, err := b.src.Store.Gaps(ctx, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	gaps := make([]availability.Span, len(raw))
	for i, g := range raw {
		gaps[i] = availability.Span{From: g[0], To: g[1]}
	}
	for _, w := range targetWindows {
		span := availability.Span{From: now.Add(-w.d), To: now}
		initial, changes, err := b.src.Store.HistorySince(ctx, name, span.From, span.To)
		if err != nil {
			return nil, err
		}
		res := availability.Compute(span, initial, changes, gaps)
		v.Availability = append(v.Availability, WindowFigure{Window: w.label, Known: res.Eligible() > 0,
			Availability: res.Availability(), Downtime: res.Down, Eligible: res.Eligible()})
	}
	v.Charts = b.charts(ctx, *tg, now)
	v.Incidents, err = b.src.Store.Incidents(ctx, alerting.Filter{Targets: []string{name}, Limit: 20})
	if err != nil {
		return nil, err
	}
	return v, nil
}

type chartSpec struct{ title, unit, expr string }

// keyCharts are the last hour's key metrics per kind of target.
func keyCharts(t state.Target) []chartSpec {
	q := strconv.Quote(t.Name)
	up := chartSpec{"Up (1) or not (0)", "", `nines_target_up{target=` + q + `}`}
	switch t.Kind {
	case state.KindHost:
		return []chartSpec{
			{"CPU busy", "%", `100 * (1 - avg(rate(node_cpu_seconds_total{host=` + q + `,mode="idle"}[2m])))`},
			{"Memory used", "%", `100 * (1 - node_memory_MemAvailable_bytes{host=` + q + `} / node_memory_MemTotal_bytes{host=` + q + `})`},
			{"Load (1 min)", "", `node_load1{host=` + q + `}`},
			{"Network received", "bytes", `sum(rate(node_network_receive_bytes_total{host=` + q + `}[2m]))`},
			up,
		}
	case state.KindCheck:
		return []chartSpec{{"Check duration", "s", `nines_check_duration_seconds{check=` + q + `}`}, up}
	default:
		return []chartSpec{up}
	}
}

func (b data) charts(ctx context.Context, t state.Target, now time.Time) []Chart {
	from := now.Add(-time.Hour)
	var out []Chart
	for _, spec := range keyCharts(t) {
		c := Chart{Title: spec.title, Unit: spec.unit, From: from, To: now}
		mat, err := b.src.Charts.QueryRange(ctx, spec.expr, from, now, 30*time.Second)
		if err != nil {
			b.src.Logger.Warn("chart query", "target", t.Name, "expr", spec.expr, "err", err)
		}
		for _, s := range mat {
			ser := Series{Label: s.Metric.String()}
			for _, p := range s.Floats {
				ser.Points = append(ser.Points, Point{T: time.UnixMilli(p.T), V: p.F})
			}
			c.Series = append(c.Series, ser)
		}
		out = append(out, c)
	}
	return out
}

// Service implements Data.
func (b data) Service(ctx context.Context, name string, now time.Time) (*ServiceView, error) {
	cfg := b.src.Config()
	sv := cfg.Service(name)
	if sv == nil {
		return nil, nil
	}
	live := servicelevel.Live(cfg, b.src.Targets())[name]
	figures := b.src.SLA.ByService()
	loc := time.UTC
	if cal := cfg.Calendar(sv.Schedule); cal != nil {
		loc = cal.Location
	}
	month := time.Date(now.In(loc).Year(), now.In(loc).Month(), 1, 0, 0, 0, 0, loc)
	var comps []Component
	for _, c := range live.Components {
		comps = append(comps, component(c))
	}
	v := &ServiceView{Tile: serviceTile(sv, live, figures), Description: sv.Description, Owner: sv.Owner,
		Combine: sv.Combine, Components: comps, ThisMonth: month.Format("2006-01"), LastMonth: month.AddDate(0, -1, 0).Format("2006-01"), TZ: loc.String()}
	if sv.Combine == "k_of_n" {
		v.Combine = fmt.Sprintf("k_of_n (up while at least %d are up)", sv.K)
	}
	f := figures[name]
	for _, w := range servicelevel.SLAWindows {
		res, ok := f.Windows[w]
		wf := WindowFigure{Window: rules.WindowLabel(w), Known: ok && res.Eligible() > 0}
		if wf.Known {
			wf.Availability, wf.Downtime, wf.Eligible = res.Availability(), res.Down, res.Eligible()
			wf.BudgetRemaining = 1 - res.ErrorRatio()/(1-f.Objective)
			wf.Met = wf.Availability >= f.Objective
		}
		v.Windows = append(v.Windows, wf)
	}
	var err error
	v.Incidents, err = b.src.Store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged},
		Services: []string{name}, Limit: 200})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Report implements Data.
func (b data) Report(ctx context.Context, req report.Request, now time.Time) (*report.Report, error) {
	from, to, err := req.Period()
	if err != nil {
		return nil, err
	}
	return b.src.Reports.Report(ctx, from, to, req.Services, now)
}

// Deliveries implements Data.
func (b data) Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error) {
	return b.src.Store.Deliveries(ctx, incidentID)
}

// Tickets implements Data.
func (b data) Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error) {
	return b.src.Store.Tickets(ctx, incidentID)
}
