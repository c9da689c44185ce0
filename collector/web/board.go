package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// Board is everything the wall shows, as JSON.
type Board struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Services    []ServiceTile  `json:"services"`
	Groups      []GroupTile    `json:"groups"`
	Counts      map[string]int `json:"counts"` // targets by state
	// Incidents are the most urgent active incidents, at most
	// MaxBoardIncidents: by priority, then the oldest first.
	Incidents []IncidentRow `json:"incidents"`
	// Active counts all active incidents by priority, those left out of
	// Incidents included, so the wall can say what it does not show.
	Active map[string]int `json:"active"`
}

// MaxBoardIncidents is how many incidents the board carries; a wall shows
// what fits of them and counts the rest.
const MaxBoardIncidents = 200

// ServiceTile is one service on the wall.
type ServiceTile struct {
	Name  string `json:"name"`
	Group string `json:"group,omitempty"`
	// State is up, degraded, down, maintenance or unknown.
	State     string  `json:"state"`
	Objective float64 `json:"objective"` // ratio
	// Availability and BudgetRemaining are over 30 days; nil until first
	// computed.
	Availability    *float64 `json:"availability,omitempty"`
	BudgetRemaining *float64 `json:"budget_remaining,omitempty"`
	Components      int      `json:"components"`
	ComponentsDown  int      `json:"components_down"`
}

// GroupTile is one group (site) of targets on the wall.
type GroupTile struct {
	Name   string         `json:"name"`
	State  string         `json:"state"` // the worst of its targets'
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
}

// IncidentRow is one active incident on the wall.
type IncidentRow struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Priority string    `json:"priority"`
	Status   string    `json:"status"`
	Target   string    `json:"target,omitempty"`
	Service  string    `json:"service,omitempty"`
	OpenedAt time.Time `json:"opened_at"`
	// Assignee and AcknowledgedBy say who has it.
	Assignee       string     `json:"assignee,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	RespondDue     *time.Time `json:"respond_due,omitempty"` // nil once acknowledged
	ResolveDue     *time.Time `json:"resolve_due,omitempty"`
}

// boardIncidents fills b.Incidents with the most urgent of incs (by
// priority, then the oldest first) and b.Active with all of them by
// priority; targets gives each priority's respond and resolve times.
func boardIncidents(b *Board, incs []alerting.Incident, targets func(alerting.Priority) (alerting.Targets, bool)) {
	slices.SortStableFunc(incs, func(a, b alerting.Incident) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	b.Active = map[string]int{}
	for _, inc := range incs {
		b.Active[string(inc.Priority)]++
	}
	incs = incs[:min(len(incs), MaxBoardIncidents)]
	b.Incidents = make([]IncidentRow, 0, len(incs))
	for _, inc := range incs {
		row := IncidentRow{ID: inc.ID, Title: inc.Title, Priority: string(inc.Priority), Status: string(inc.Status),
			Target: inc.Target, Service: inc.Service, OpenedAt: inc.OpenedAt, Assignee: inc.Assignee, AcknowledgedBy: inc.AcknowledgedBy}
		if tg, ok := targets(inc.Priority); ok {
			if tg.Respond > 0 && inc.AcknowledgedAt == nil {
				due := inc.OpenedAt.Add(tg.Respond)
				row.RespondDue = &due
			}
			if tg.Resolve > 0 {
				due := inc.OpenedAt.Add(tg.Resolve)
				row.ResolveDue = &due
			}
		}
		b.Incidents = append(b.Incidents, row)
	}
}

// hub fans the board out to connected walls.
type hub struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
	last []byte
	done bool
}

func newHub() *hub { return &hub{subs: map[chan []byte]struct{}{}} }

func (h *hub) subscribe() (chan []byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return nil, false
	}
	ch := make(chan []byte, 4)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) listeners() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// publish sends msg to every subscriber; a wall too slow to take it
// misses this one and gets the next (each message is the whole board).
func (h *hub) publish(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- msg:
		default:
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// Run recomputes the board while walls are connected and pushes it when
// it changed, with a ping when idle. It ends the streams when ctx ends, so
// the server can shut down.
func (u *UI) Run(ctx context.Context) {
	defer u.hub.close()
	tick := time.NewTicker(u.opts.Tick)
	defer tick.Stop()
	var lastSent time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if u.hub.listeners() == 0 {
			u.hub.last = nil
			continue
		}
		now := u.now()
		b, err := u.opts.Data.Board(ctx, now)
		if err != nil {
			u.opts.Logger.Error("compute wall board", "err", err)
			continue
		}
		body, _ := json.Marshal(boardNoTime(b))
		if !bytes.Equal(body, u.hub.last) {
			u.hub.last = body
			u.hub.publish(sse("board", mustJSON(b)))
			lastSent = time.Now() // pings follow the wall clock, as walls do
		} else if time.Since(lastSent) >= u.opts.Ping {
			u.hub.publish(sse("ping", mustJSON(map[string]time.Time{"at": now})))
			lastSent = time.Now()
		}
	}
}

// boardNoTime is b without its time stamp, to tell a change.
func boardNoTime(b Board) Board {
	b.GeneratedAt = time.Time{}
	return b
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func sse(event string, data []byte) []byte {
	return []byte(fmt.Sprintf("event: %s\ndata: %s\n\n", event, data))
}

// events is the Server-Sent Events stream: the board at once, then every
// change, and a ping when nothing changed for a while.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	ch, ok := u.hub.subscribe()
	if !ok {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer u.hub.unsubscribe(ch)
	b, err := u.opts.Data.Board(r.Context(), u.now())
	if err != nil {
		u.opts.Logger.Error("compute wall board", "err", err)
		http.Error(w, "could not compute the board", http.StatusInternalServerError)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Reconnect quickly after a collector restart.
	if _, err := w.Write(append([]byte("retry: 2000\n\n"), sse("board", mustJSON(b))...)); err != nil {
		return
	}
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			if _, err := w.Write(msg); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

func (u *UI) boardJSON(w http.ResponseWriter, r *http.Request) {
	b, err := u.opts.Data.Board(r.Context(), u.now())
	if err != nil {
		u.opts.Logger.Error("compute wall board", "err", err)
		http.Error(w, "could not compute the board", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(b)
}

// wall is the NOC wall page. Kiosk options in the URL: groups=a,b (only
// those service groups and target groups), rotate=<seconds> (alternate
// services and groups pages), theme=dark|light, controls=0 (no links or
// header controls), flash=1 and sound=1 (a new P1 flashes the screen and
// beeps), stale=<seconds> (how long without news before the wall says its
// data is stale; default 15).
func (u *UI) wall(w http.ResponseWriter, r *http.Request) {
	b, err := u.opts.Data.Board(r.Context(), u.now())
	if err != nil {
		u.opts.Logger.Error("compute wall board", "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not compute the board.")
		return
	}
	q := r.URL.Query()
	theme := q.Get("theme")
	if theme != "light" {
		theme = "dark"
	}
	u.render(w, r, http.StatusOK, "wall", map[string]any{
		"Board":    string(mustJSON(b)),
		"Theme":    theme,
		"Controls": q.Get("controls") != "0",
		"Groups":   q.Get("groups"),
		"Rotate":   q.Get("rotate"),
		"Stale":    q.Get("stale"),
		"Flash":    q.Get("flash") == "1",
		"Sound":    q.Get("sound") == "1",
		"Renew":    u.opts.SessionTTL().Seconds(),
	})
}
