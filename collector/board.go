package collector

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/web"
	"github.com/ninesmon/nines/rules"
)

// boardData gives the web UI its figures: live states from the tracker,
// availability from the SLA computation and the durable history,
// incidents from the store.
type boardData struct{ c *Collector }

var _ web.Data = boardData{}

// liveService is a service's state now, from its components' states now.
type liveService struct {
	state      string // up, degraded, down, maintenance, unknown
	components []web.Component
	down       int
}

// liveServices decides every catalogue service's state now.
func liveServices(cfg *config.Config, targets []state.Target) map[string]*liveService {
	byName := make(map[string]state.Target, len(targets))
	for _, t := range targets {
		byName[t.Name] = t
	}
	out := map[string]*liveService{}
	var decide func(name string) *liveService
	decide = func(name string) *liveService {
		if ls, ok := out[name]; ok {
			return ls
		}
		ls := &liveService{state: "unknown"}
		out[name] = ls // the config has no cycles; this also guards
		sv := cfg.Service(name)
		if sv == nil {
			return ls
		}
		var states []state.State
		degradedParts := 0
		add := func(c web.Component, st state.State) {
			ls.components = append(ls.components, c)
			states = append(states, st)
			if c.State == "down" {
				ls.down++
			}
		}
		addTarget := func(n string) {
			t, ok := byName[n]
			st, kind := state.Unknown, "target"
			if ok {
				st, kind = t.State, string(t.Kind)
			}
			add(web.Component{Name: n, Kind: kind, State: string(st), Link: "/ui/targets/" + n}, st)
		}
		seen := map[string]bool{}
		for _, n := range sv.Components.Targets {
			seen[n] = true
			addTarget(n)
		}
		if len(sv.Components.Selector) > 0 {
			for _, t := range targets {
				if !seen[t.Name] && hasAll(t.Labels, sv.Components.Selector) {
					seen[t.Name] = true
					addTarget(t.Name)
				}
			}
		}
		for _, dep := range sv.Components.Services {
			d := decide(dep)
			st := state.Unknown
			switch d.state {
			case "degraded":
				st = state.Up
				degradedParts++
			case "up":
				st = state.Up
			case "down":
				st = state.Down
			}
			add(web.Component{Name: dep, Kind: "service", State: d.state, Link: "/ui/services/" + dep}, st)
		}
		st, degraded := availability.Mode{Kind: sv.Combine, K: sv.K}.Decide(states)
		switch {
		case degraded || (st == state.Up && degradedParts > 0):
			// A redundant part down, here or in a service it needs.
			ls.state = "degraded"
		default:
			ls.state = string(st)
		}
		return ls
	}
	for _, sv := range cfg.Services {
		decide(sv.Name)
	}
	return out
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

func (b boardData) serviceTile(sv *config.Service, live *liveService, figures map[string]serviceFigures) web.ServiceTile {
	t := web.ServiceTile{Name: sv.Name, Group: sv.Group, State: live.state, Objective: sv.ObjectiveRatio(),
		Components: len(live.components), ComponentsDown: live.down}
	if f, ok := figures[sv.Name]; ok {
		if res := f.Windows[30*24*time.Hour]; res.Eligible() > 0 {
			a, left := res.Availability(), 1-res.ErrorRatio()/(1-t.Objective)
			t.Availability, t.BudgetRemaining = &a, &left
		}
	}
	return t
}

func (b boardData) figures() map[string]serviceFigures {
	out := map[string]serviceFigures{}
	for _, f := range b.c.sla.results() {
		out[f.Service] = f
	}
	return out
}

// Board implements web.Data.
func (b boardData) Board(ctx context.Context, now time.Time) (web.Board, error) {
	cfg := b.c.config()
	targets := b.c.tracker.Snapshot()
	board := web.Board{GeneratedAt: now, Counts: map[string]int{}, Services: []web.ServiceTile{}, Groups: []web.GroupTile{}}
	groups := map[string]*web.GroupTile{}
	for _, t := range targets {
		board.Counts[string(t.State)]++
		name := t.Labels[cfg.Web.Wall.GroupBy]
		if name == "" {
			name = "other"
		}
		g := groups[name]
		if g == nil {
			g = &web.GroupTile{Name: name, Counts: map[string]int{}}
			groups[name] = g
		}
		g.Counts[string(t.State)]++
		g.Total++
	}
	for _, g := range groups {
		g.State = groupState(g.Counts)
		board.Groups = append(board.Groups, *g)
	}
	slices.SortFunc(board.Groups, func(a, b web.GroupTile) int { return cmp.Compare(a.Name, b.Name) })
	live := liveServices(cfg, targets)
	figures := b.figures()
	for i := range cfg.Services {
		board.Services = append(board.Services, b.serviceTile(&cfg.Services[i], live[cfg.Services[i].Name], figures))
	}
	incs, err := b.c.store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}, Limit: 200})
	if err != nil {
		return board, fmt.Errorf("read active incidents: %w", err)
	}
	slices.SortStableFunc(incs, func(a, b alerting.Incident) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.OpenedAt.Compare(b.OpenedAt))
	})
	board.Incidents = make([]web.IncidentRow, 0, len(incs))
	for _, inc := range incs {
		row := web.IncidentRow{ID: inc.ID, Title: inc.Title, Priority: string(inc.Priority), Status: string(inc.Status),
			Target: inc.Target, Service: inc.Service, OpenedAt: inc.OpenedAt}
		if tg, ok := b.c.incidents.TargetsFor(inc.Priority); ok {
			if tg.Respond > 0 && inc.AcknowledgedAt == nil {
				due := inc.OpenedAt.Add(tg.Respond)
				row.RespondDue = &due
			}
			if tg.Resolve > 0 {
				due := inc.OpenedAt.Add(tg.Resolve)
				row.ResolveDue = &due
			}
		}
		board.Incidents = append(board.Incidents, row)
	}
	return board, nil
}

// targetWindows are the availability windows on a target's page.
var targetWindows = []struct {
	label string
	d     time.Duration
}{{"24 h", 24 * time.Hour}, {"7 d", 7 * 24 * time.Hour}, {"30 d", 30 * 24 * time.Hour}}

// Target implements web.Data.
func (b boardData) Target(ctx context.Context, name string, now time.Time) (*web.TargetView, error) {
	var tg *state.Target
	for _, t := range b.c.tracker.Snapshot() {
		if t.Name == name {
			tg = &t
			break
		}
	}
	if tg == nil {
		return nil, nil
	}
	v := &web.TargetView{Target: *tg}
	hist, err := b.c.store.History(ctx, name, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	slices.Reverse(hist)
	v.History = hist[:min(len(hist), 200)]
	raw, err := b.c.store.Gaps(ctx, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	gaps := make([]availability.Span, len(raw))
	for i, g := range raw {
		gaps[i] = availability.Span{From: g[0], To: g[1]}
	}
	for _, w := range targetWindows {
		span := availability.Span{From: now.Add(-w.d), To: now}
		initial, changes, err := b.c.store.HistorySince(ctx, name, span.From, span.To)
		if err != nil {
			return nil, err
		}
		res := availability.Compute(span, initial, changes, gaps)
		v.Availability = append(v.Availability, web.WindowFigure{Window: w.label, Known: res.Eligible() > 0,
			Availability: res.Availability(), Downtime: res.Down, Eligible: res.Eligible()})
	}
	v.Charts = b.charts(ctx, *tg, now)
	v.Incidents, err = b.c.store.Incidents(ctx, alerting.Filter{Targets: []string{name}, Limit: 20})
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

func (b boardData) charts(ctx context.Context, t state.Target, now time.Time) []web.Chart {
	from := now.Add(-time.Hour)
	var out []web.Chart
	for _, spec := range keyCharts(t) {
		c := web.Chart{Title: spec.title, Unit: spec.unit, From: from, To: now}
		mat, err := b.c.rules.QueryRange(ctx, spec.expr, from, now, 30*time.Second)
		if err != nil {
			b.c.logger.Warn("chart query", "target", t.Name, "expr", spec.expr, "err", err)
		}
		for _, s := range mat {
			ser := web.Series{Label: s.Metric.String()}
			for _, p := range s.Floats {
				ser.Points = append(ser.Points, web.Point{T: time.UnixMilli(p.T), V: p.F})
			}
			c.Series = append(c.Series, ser)
		}
		out = append(out, c)
	}
	return out
}

// Service implements web.Data.
func (b boardData) Service(ctx context.Context, name string, now time.Time) (*web.ServiceView, error) {
	cfg := b.c.config()
	sv := cfg.Service(name)
	if sv == nil {
		return nil, nil
	}
	live := liveServices(cfg, b.c.tracker.Snapshot())[name]
	figures := b.figures()
	loc := time.UTC
	if cal := cfg.Calendar(sv.Schedule); cal != nil {
		loc = cal.Location
	}
	month := time.Date(now.In(loc).Year(), now.In(loc).Month(), 1, 0, 0, 0, 0, loc)
	v := &web.ServiceView{Tile: b.serviceTile(sv, live, figures), Description: sv.Description, Owner: sv.Owner,
		Combine: sv.Combine, Components: live.components, ThisMonth: month.Format("2006-01"), LastMonth: month.AddDate(0, -1, 0).Format("2006-01"), TZ: loc.String()}
	if sv.Combine == "k_of_n" {
		v.Combine = fmt.Sprintf("k_of_n (up while at least %d are up)", sv.K)
	}
	f := figures[name]
	for _, w := range SLAWindows {
		res, ok := f.Windows[w]
		wf := web.WindowFigure{Window: rules.WindowLabel(w), Known: ok && res.Eligible() > 0}
		if wf.Known {
			wf.Availability, wf.Downtime, wf.Eligible = res.Availability(), res.Down, res.Eligible()
			wf.BudgetRemaining = 1 - res.ErrorRatio()/(1-f.Objective)
			wf.Met = wf.Availability >= f.Objective
		}
		v.Windows = append(v.Windows, wf)
	}
	var err error
	v.Incidents, err = b.c.store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged},
		Services: []string{name}, Limit: 200})
	if err != nil {
		return nil, err
	}
	return v, nil
}
