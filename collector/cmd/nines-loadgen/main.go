// Command nines-loadgen generates realistic load for a Nines collector (or
// any line-protocol receiver), to size an installation or benchmark one:
//
//	nines-loadgen payload -lines 1000000 -o payload.lp
//	nines-loadgen ingest -url http://127.0.0.1:9990/write -token T -file payload.lp -batch 5000
//	nines-loadgen fleet -url http://127.0.0.1:9990 -token T -agents 10000 -series 60 -interval 15s -duration 1m
//	nines-loadgen snmpsim -devices 1000 -interfaces 48 -port 20000
//	nines-loadgen exporter -url 'http://127.0.0.1:9116/snmp?module=m&target=127.0.0.1:%d' -devices 1000 -port 20000 -interval 60s -duration 3m
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ninesmon/nines/collector/internal/loadgen"
	"github.com/ninesmon/nines/collector/internal/snmpsim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: nines-loadgen payload|ingest|fleet|scrape|snmpsim [flags] (see -h of each)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch args[0] {
	case "payload":
		err = payloadCmd(args[1:], stdout)
	case "ingest":
		err = ingestCmd(ctx, args[1:], stdout)
	case "fleet":
		err = fleetCmd(ctx, args[1:], stdout)
	case "scrape":
		err = scrapeCmd(ctx, args[1:], stdout)
	case "snmpsim":
		err = snmpsimCmd(ctx, args[1:], stdout)
	case "exporter":
		err = exporterCmd(ctx, args[1:], stdout)
	default:
		err = fmt.Errorf("unknown command %q (want payload, ingest, fleet, scrape or snmpsim)", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "nines-loadgen:", err)
		return 1
	}
	return 0
}

func payloadCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("payload", flag.ContinueOnError)
	lines := fs.Int("lines", 1_000_000, "number of lines")
	out := fs.String("o", "-", "output file (- for standard output)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Timestamps end now, one collection per second, so receivers with a
	// retention window accept them.
	rounds := *lines/18000 + 1
	p := loadgen.Payload(*lines, time.Now().Add(-time.Duration(rounds)*time.Second).UnixNano(), *seed)
	if *out == "-" {
		_, err := stdout.Write(p)
		return err
	}
	return os.WriteFile(*out, p, 0o644)
}

// ingestCmd posts a payload file in batches of whole lines and reports the
// throughput.
func ingestCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	url := fs.String("url", "", "write endpoint, e.g. http://127.0.0.1:9990/write?precision=ns")
	token := fs.String("token", "", "bearer token")
	file := fs.String("file", "", "line-protocol file")
	batch := fs.Int("batch", 5000, "lines per request")
	conc := fs.Int("concurrency", 4, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	// One stream of batches per connection, each host's lines in one
	// stream: every host's samples arrive in time order (see
	// loadgen.Shard).
	streams, lines := loadgen.Shard(data, *conc, *batch)
	nbatches := 0
	for _, st := range streams {
		nbatches += len(st)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	var failed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	startT := time.Now()
	var wg sync.WaitGroup
	for _, batches := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				if ctx.Err() != nil {
					return
				}
				if err := post(ctx, client, *url, *token, b, nil); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(startT)
	fmt.Fprintf(stdout, "lines=%d batches=%d failed=%d seconds=%.3f lines_per_second=%.0f\n",
		lines, nbatches, failed.Load(), el.Seconds(), float64(lines)/el.Seconds())
	if firstErr != nil {
		return fmt.Errorf("%d requests failed; first: %w", failed.Load(), firstErr)
	}
	return nil
}

func post(ctx context.Context, client *http.Client, url, token string, body []byte, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// fleetCmd simulates many agents, each pushing its series every interval
// with the native protocol, spread evenly over the interval (see
// loadgen.Fleet). It prints what it measured as name=value pairs, its own
// CPU time and peak RSS included, and fails when a push failed or the
// schedule fell behind.
func fleetCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	f := loadgen.Fleet{}
	fs.StringVar(&f.URL, "url", "", "collector base URL")
	fs.StringVar(&f.Token, "token", "", "agent token")
	fs.IntVar(&f.Agents, "agents", 1000, "simulated agents")
	fs.IntVar(&f.Series, "series", 60, "series per agent")
	fs.DurationVar(&f.Interval, "interval", 15*time.Second, "push interval")
	fs.DurationVar(&f.Duration, "duration", time.Minute, "how long to run")
	fs.IntVar(&f.Concurrency, "concurrency", 64, "pushes in flight at most")
	fs.DurationVar(&f.KillAfter, "kill-after", 0, "stop one agent (the middle one) after this long, without a goodbye (0: none)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load generator to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.URL == "" {
		return errors.New("-url is required")
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := f.Run(ctx)
	if err != nil {
		return err
	}
	cpu, maxRSS := selfUsage()
	secs := rep.Elapsed.Seconds()
	fmt.Fprintf(stdout, "agents=%d series=%d interval=%s seconds=%.1f due=%d started=%d sent=%d failed=%d behind=%d "+
		"pushes_per_second=%.1f due_per_second=%.1f samples_per_second=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f lag_p99_ms=%.2f lag_max_ms=%.2f "+
		"loadgen_cpu_cores=%.3f loadgen_maxrss_mb=%.1f\n",
		f.Agents, f.Series, f.Interval, secs, rep.Due, rep.Started, rep.Sent, rep.Failed, rep.Behind(),
		float64(rep.Sent)/secs, float64(rep.Due)/secs, float64(rep.Sent)*float64(f.Series)/secs,
		ms(rep.Latency.P50), ms(rep.Latency.P99), ms(rep.Latency.Max), ms(rep.Lag.P99), ms(rep.Lag.Max),
		cpu.Seconds()/secs, maxRSS)
	if rep.Killed != "" {
		last := "never"
		if !rep.LastPush.IsZero() {
			last = rep.LastPush.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(stdout, "killed=%s killed_at=%s last_push=%s\n", rep.Killed, rep.KilledAt.UTC().Format(time.RFC3339Nano), last)
	}
	switch {
	case rep.Failed > 0:
		return fmt.Errorf("%d pushes failed; first: %v", rep.Failed, rep.FirstErr)
	case rep.Behind() > 0:
		return fmt.Errorf("the load generator fell behind: %d of %d due pushes never started", rep.Behind(), rep.Due)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// scrapeCmd scrapes a /metrics endpoint n times, every interval (0: back
// to back), as Prometheus does (gzip accepted), and reports latencies.
func scrapeCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scrape", flag.ContinueOnError)
	url := fs.String("url", "", "the /metrics URL")
	n := fs.Int("n", 100, "number of scrapes")
	every := fs.Duration("every", 0, "time between scrape starts (0: back to back)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	var bytesTotal int64
	start := time.Now()
	for i := 0; i < *n && ctx.Err() == nil; i++ {
		if *every > 0 {
			next := start.Add(time.Duration(i) * *every)
			time.Sleep(time.Until(next))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Accept", "text/plain;version=0.0.4")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		bytesTotal += b
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("scrape: %s", resp.Status)
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))].Seconds() * 1000 }
	fmt.Fprintf(stdout, "scrapes=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f avg_bytes=%d\n", len(lat), q(0.5), q(0.99), q(1), bytesTotal/int64(len(lat)))
	return nil
}

// snmpsimCmd serves simulated SNMP v2c devices (community public) on
// consecutive loopback ports until interrupted, printing the requests
// answered every minute.
func snmpsimCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("snmpsim", flag.ContinueOnError)
	devices := fs.Int("devices", 1000, "devices to simulate")
	interfaces := fs.Int("interfaces", 48, "interfaces per device")
	port := fs.Int("port", 20000, "first UDP port on 127.0.0.1 (device i listens on port+i)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sim, err := snmpsim.Start(*devices, *interfaces, *port)
	if err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "simulating %d devices x %d interfaces on 127.0.0.1:%d-%d\n", *devices, *interfaces, *port, *port+*devices-1)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fmt.Fprintf(stdout, "requests answered: %d\n", sim.Requests.Load())
		}
	}
}

// exporterCmd drives an exporter the way Prometheus would: every interval,
// one scrape per device (the URL has a %d for the device's port), at most
// -concurrency at once; it prints the scrapes that failed or overran.
func exporterCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	url := fs.String("url", "", "scrape URL with %d for the device's port")
	devices := fs.Int("devices", 1000, "devices")
	port := fs.Int("port", 20000, "first device port")
	interval := fs.Duration("interval", time.Minute, "scrape interval")
	duration := fs.Duration("duration", 3*time.Minute, "how long")
	concurrency := fs.Int("concurrency", 64, "scrapes at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: *interval}
	var ok, failed atomic.Int64
	sem := make(chan struct{}, *concurrency)
	end := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for round := time.Now(); round.Before(end) && ctx.Err() == nil; round = round.Add(*interval) {
		time.Sleep(time.Until(round))
		for d := 0; d < *devices; d++ {
			// Spread the round's scrapes over the interval, as Prometheus
			// spreads targets.
			at := round.Add(time.Duration(d) * *interval / time.Duration(*devices))
			wg.Add(1)
			go func(d int, at time.Time) {
				defer wg.Done()
				time.Sleep(time.Until(at))
				sem <- struct{}{}
				defer func() { <-sem }()
				resp, err := client.Get(fmt.Sprintf(*url, *port+d))
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					return
				}
				ok.Add(1)
			}(d, at)
		}
	}
	wg.Wait()
	fmt.Fprintf(stdout, "scrapes: %d ok, %d failed\n", ok.Load(), failed.Load())
	return nil
}
