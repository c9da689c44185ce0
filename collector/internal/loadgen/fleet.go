package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ninesmon/nines/internal/gzpool"
	"github.com/ninesmon/nines/internal/wire"
)

// Fleet simulates many agents pushing to a collector with the native
// protocol, each every Interval, their pushes spread evenly over the
// interval. One scheduler goroutine hands due pushes to Concurrency
// workers, so the load generator costs a few goroutines, not one per
// agent; every push is built from one template of line protocol with only
// its values and timestamps written in, then gzip-compressed as the agent
// does. A push starts late when every worker is busy: the report says how
// late (Lag) and how many due pushes never started (Behind), so a load
// generator that cannot keep up says so.
type Fleet struct {
	URL         string // collector base URL
	Token       string
	Agents      int
	Series      int // per agent, in lines of up to 10 fields
	Interval    time.Duration
	Duration    time.Duration
	Concurrency int // pushes in flight at most
	// KillAfter, when positive, stops one agent (Victim) after this long,
	// as a host that dies would: it pushes no more and says no goodbye.
	KillAfter time.Duration
	Client    *http.Client // nil: one with Concurrency pooled connections
}

// Victim is the agent KillAfter stops: the middle one.
func (f *Fleet) Victim() int { return f.Agents / 2 }

// HostName is the host name agent i pushes as.
func HostName(i int) string { return "sim-" + strconv.Itoa(i) }

// FleetReport is what a fleet run measured.
type FleetReport struct {
	Elapsed time.Duration
	// Due is the pushes the schedule asked for during the run, Started
	// those begun, Sent those answered 2xx, Failed the others.
	Due, Started, Sent, Failed int64
	// Latency is each push's round trip (quantiles); Lag is how late
	// pushes started after their due time.
	Latency, Lag Quantiles
	FirstErr     error
	// Killed is the victim's host name ("" without KillAfter), KilledAt
	// when it was stopped and LastPush when its last push was answered.
	Killed             string
	KilledAt, LastPush time.Time
}

// Behind is the due pushes that never started: the load generator fell
// behind its schedule.
func (r FleetReport) Behind() int64 { return r.Due - r.Started }

// Quantiles of a set of durations.
type Quantiles struct{ P50, P99, Max time.Duration }

func quantiles(d []time.Duration) Quantiles {
	if len(d) == 0 {
		return Quantiles{}
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	return Quantiles{P50: q(0.5), P99: q(0.99), Max: d[len(d)-1]}
}

type job struct {
	agent int
	seq   uint64
	due   time.Time
}

// Run pushes until Duration has passed or ctx is done, then waits for the
// pushes in flight.
func (f *Fleet) Run(ctx context.Context) (FleetReport, error) {
	if f.URL == "" || f.Agents < 1 || f.Series < 1 || f.Interval <= 0 || f.Duration <= 0 {
		return FleetReport{}, errors.New("fleet: URL, Agents, Series, Interval and Duration are required")
	}
	conc := max(f.Concurrency, 1)
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}}
	}
	tmpl := newTemplate(f.Series)
	rep := FleetReport{}
	victim := -1
	if f.KillAfter > 0 {
		victim = f.Victim()
		rep.Killed = HostName(victim)
	}
	var (
		mu       sync.Mutex
		lat, lag []time.Duration
		lastPush atomic.Int64 // victim's, unix ns
		sent     atomic.Int64
		failed   atomic.Int64
	)
	jobs := make(chan job, conc)
	start := time.Now()
	seq0 := uint64(start.UnixMicro())
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			var raw, gz bytes.Buffer
			var myLat, myLag []time.Duration
			var hdr [4]string
			for j := range jobs {
				t0 := time.Now()
				myLag = append(myLag, t0.Sub(j.due))
				raw.Reset()
				tmpl.fill(&raw, t0, r)
				gz.Reset()
				zw := gzpool.Get(&gz)
				_, _ = zw.Write(raw.Bytes())
				_ = zw.Close()
				gzpool.Put(zw)
				name := HostName(j.agent)
				hdr[0], hdr[1] = name, name
				hdr[2] = strconv.FormatUint(seq0+j.seq, 10)
				hdr[3] = f.Interval.String()
				err := f.push(client, gz.Bytes(), hdr)
				d := time.Since(t0)
				myLat = append(myLat, d)
				if err != nil {
					if failed.Add(1) == 1 {
						mu.Lock()
						rep.FirstErr = fmt.Errorf("push of %s: %w", name, err)
						mu.Unlock()
					}
					continue
				}
				sent.Add(1)
				if j.agent == victim {
					lastPush.Store(time.Now().UnixNano())
				}
			}
			mu.Lock()
			lat = append(lat, myLat...)
			lag = append(lag, myLag...)
			mu.Unlock()
		}()
	}
	end := start.Add(f.Duration)
	killAt := start.Add(f.KillAfter)
	due, started := f.schedule(ctx, start, end, killAt, victim, jobs)
	close(jobs)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.Due, rep.Started, rep.Sent, rep.Failed = due, started, sent.Load(), failed.Load()
	rep.Latency, rep.Lag = quantiles(lat), quantiles(lag)
	if victim >= 0 {
		rep.KilledAt = killAt
		if ns := lastPush.Load(); ns != 0 {
			rep.LastPush = time.Unix(0, ns)
		}
	}
	return rep, nil
}

// schedule hands out the pushes due before end, in due order: agent i's
// k-th push is due at start + (k + i/Agents) * Interval. It wakes at most
// every millisecond and blocks while every worker is busy; it returns
// the pushes due and those handed out. Agent i's k-th push has sequence
// number k (from 1).
func (f *Fleet) schedule(ctx context.Context, start, end, killAt time.Time, victim int, jobs chan<- job) (due, started int64) {
	step := f.Interval / time.Duration(f.Agents)
	if step <= 0 {
		step = 1
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for round := 0; ; round++ {
		base := start.Add(time.Duration(round) * f.Interval)
		for i := range f.Agents {
			// f.Interval*i/Agents without overflow for large fleets.
			at := base.Add(time.Duration(int64(f.Interval) / int64(f.Agents) * int64(i)))
			if !at.Before(end) {
				return due, started
			}
			for time.Now().Before(at) {
				select {
				case <-ctx.Done():
					return due, started
				case <-tick.C:
				}
			}
			if i == victim && !at.Before(killAt) {
				continue
			}
			due++
			j := job{agent: i, seq: uint64(round + 1), due: at}
			select {
			case jobs <- j:
				started++
			case <-ctx.Done():
				return due, started
			default:
				// Every worker is busy: wait, unless the run is over (the
				// pushes due meanwhile count as due, not started).
				deadline := time.NewTimer(time.Until(end))
				select {
				case jobs <- j:
					started++
					deadline.Stop()
				case <-deadline.C:
					return due + f.dueBetween(at.Add(step), end, start, victim, killAt), started
				case <-ctx.Done():
					deadline.Stop()
					return due, started
				}
			}
		}
	}
}

// dueBetween counts the pushes due in [from, end) (schedule's arithmetic).
func (f *Fleet) dueBetween(from, end, start time.Time, victim int, killAt time.Time) int64 {
	var n int64
	step := int64(f.Interval) / int64(f.Agents)
	for round := int64(from.Sub(start) / f.Interval); ; round++ {
		base := start.Add(time.Duration(round) * f.Interval)
		if !base.Before(end) {
			return n
		}
		for i := range f.Agents {
			at := base.Add(time.Duration(step * int64(i)))
			if at.Before(from) || (i == victim && !at.Before(killAt)) {
				continue
			}
			if !at.Before(end) {
				return n
			}
			n++
		}
	}
}

func (f *Fleet) push(client *http.Client, body []byte, hdr [4]string) error {
	req, err := http.NewRequest(http.MethodPost, f.URL+wire.PushPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		wire.HeaderHostname: {hdr[0]}, wire.HeaderHostID: {hdr[1]},
		wire.HeaderSequence: {hdr[2]}, wire.HeaderInterval: {hdr[3]},
		"Content-Encoding": {"gzip"}, "Content-Type": {"text/plain; charset=utf-8"},
	}
	if f.Token != "" {
		req.Header["Authorization"] = []string{"Bearer " + f.Token}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// template is one push's line protocol (series gauges in lines of up to
// 10 fields, "node_sim,group=gN f0=12.34,f1=... <ms>") with the offsets
// of its values (5 characters, dd.dd) and timestamps (13 digits).
type template struct {
	lp         []byte
	values, ts []int
}

func newTemplate(series int) *template {
	t := &template{}
	for i := 0; i < series; i += 10 {
		t.lp = append(t.lp, "node_sim,group=g"...)
		t.lp = strconv.AppendInt(t.lp, int64(i/10), 10)
		t.lp = append(t.lp, ' ')
		for j := i; j < min(i+10, series); j++ {
			if j > i {
				t.lp = append(t.lp, ',')
			}
			t.lp = append(t.lp, 'f')
			t.lp = strconv.AppendInt(t.lp, int64(j), 10)
			t.lp = append(t.lp, '=')
			t.values = append(t.values, len(t.lp))
			t.lp = append(t.lp, "00.00"...)
		}
		t.lp = append(t.lp, ' ')
		t.ts = append(t.ts, len(t.lp))
		t.lp = append(t.lp, "0000000000000\n"...)
	}
	return t
}

// fill writes the template into b with random values and now's
// millisecond timestamp.
func (t *template) fill(b *bytes.Buffer, now time.Time, r *rand.Rand) {
	b.Write(t.lp)
	p := b.Bytes()
	for _, o := range t.values {
		v := r.Uint32N(10000)
		p[o], p[o+1], p[o+3], p[o+4] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
	}
	var ts [13]byte
	ms := now.UnixMilli()
	for i := 12; i >= 0; i-- {
		ts[i] = byte('0' + ms%10)
		ms /= 10
	}
	for _, o := range t.ts {
		copy(p[o:], ts[:])
	}
}
