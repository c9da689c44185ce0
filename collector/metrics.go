package collector

import (
	"github.com/ninesmon/nines/collector/internal/promconst"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/check"
	"github.com/ninesmon/nines/collector/snmp"
	"github.com/ninesmon/nines/collector/state"
)

// stateCollector exposes target states and open incidents, rendered from
// a snapshot at scrape time so that targets that disappear leave no stale
// series behind.
type stateCollector struct {
	poller    *snmp.Poller
	traps     *snmp.TrapReceiver
	tracker   *state.Tracker
	incidents *alerting.Manager
	checks    *check.Runner
}

var (
	targetUpDesc = prometheus.NewDesc("nines_target_up",
		"Whether the target is up (1) or not (0: down, unknown, maintenance or shut down).",
		[]string{"target", "kind"}, nil)
	targetStateDesc = prometheus.NewDesc("nines_target_state",
		"The target's availability state: 1 for the current state, 0 for the others.",
		[]string{"target", "kind", "state"}, nil)
	targetSinceDesc = prometheus.NewDesc("nines_target_state_since_timestamp_seconds",
		"When the target entered its current state (Unix time).",
		[]string{"target", "kind"}, nil)
	incidentsOpenDesc = prometheus.NewDesc("nines_incidents_open",
		"Incidents open or acknowledged, by priority and service (every priority is present with service=\"\", zero included).",
		[]string{"priority", "service"}, nil)
	checkSuccessDesc = prometheus.NewDesc("nines_check_success",
		"Whether the last run of an active check succeeded (1) or not (0).",
		[]string{"check", "type"}, nil)
	checkDurationDesc = prometheus.NewDesc("nines_check_duration_seconds",
		"How long the last run of an active check took.",
		[]string{"check", "type"}, nil)
	checkCertDesc = prometheus.NewDesc("nines_check_tls_cert_expiry_timestamp_seconds",
		"Earliest expiry of the certificate chain an HTTPS check was served (Unix time).",
		[]string{"check"}, nil)
	snmpPollsDesc = prometheus.NewDesc("nines_snmp_polls_total",
		"SNMP polls by result (ok, failed, skipped because the previous poll overran, panic recovered).",
		[]string{"result"}, nil)
	snmpTrapsDesc = prometheus.NewDesc("nines_snmp_traps_total",
		"SNMP traps received, by result (accepted, unknown_source, bad_community, malformed).",
		[]string{"result"}, nil)
	snmpAuthFailDesc = prometheus.NewDesc("nines_snmp_authentication_failure_traps_total",
		"authenticationFailure traps received from devices.",
		nil, nil)
	checkSkippedDesc = prometheus.NewDesc("nines_check_runs_skipped_total",
		"Check runs skipped because the previous run of the same check was still going.",
		nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- targetUpDesc
	ch <- targetStateDesc
	ch <- targetSinceDesc
	ch <- incidentsOpenDesc
	ch <- checkSuccessDesc
	ch <- checkDurationDesc
	ch <- checkCertDesc
	ch <- checkSkippedDesc
	ch <- snmpPollsDesc
	ch <- snmpTrapsDesc
	ch <- snmpAuthFailDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.tracker.Snapshot() {
		up := 0.0
		if t.State == state.Up {
			up = 1
		}
		promconst.Send(ch, targetUpDesc, prometheus.GaugeValue, up, t.Name, string(t.Kind))
		for _, s := range state.AllStates {
			v := 0.0
			if s == t.State {
				v = 1
			}
			promconst.Send(ch, targetStateDesc, prometheus.GaugeValue, v, t.Name, string(t.Kind), string(s))
		}
		promconst.Send(ch, targetSinceDesc, prometheus.GaugeValue, float64(t.Since.UnixMilli())/1000, t.Name, string(t.Kind))
	}
	open := c.incidents.OpenByService()
	for _, p := range alerting.Priorities {
		if _, ok := open[[2]string{string(p), ""}]; !ok {
			open[[2]string{string(p), ""}] = 0
		}
	}
	for k, n := range open {
		promconst.Send(ch, incidentsOpenDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for name, last := range c.checks.Results() {
		ok := 0.0
		if last.Result.Success {
			ok = 1
		}
		promconst.Send(ch, checkSuccessDesc, prometheus.GaugeValue, ok, name, last.Spec.Type)
		promconst.Send(ch, checkDurationDesc, prometheus.GaugeValue, last.Result.Duration.Seconds(), name, last.Spec.Type)
		if !last.Result.CertExpiry.IsZero() {
			promconst.Send(ch, checkCertDesc, prometheus.GaugeValue, float64(last.Result.CertExpiry.Unix()), name)
		}
	}
	promconst.Send(ch, checkSkippedDesc, prometheus.CounterValue, float64(c.checks.Skipped()))
	if p := c.poller; p != nil {
		polls, failed := p.Polls.Load(), p.Failures.Load()
		promconst.Send(ch, snmpPollsDesc, prometheus.CounterValue, float64(polls-failed), "ok")
		promconst.Send(ch, snmpPollsDesc, prometheus.CounterValue, float64(failed), "failed")
		promconst.Send(ch, snmpPollsDesc, prometheus.CounterValue, float64(p.Skipped.Load()), "skipped")
		promconst.Send(ch, snmpPollsDesc, prometheus.CounterValue, float64(p.Panics.Load()), "panic")
	}
	if tr := c.traps; tr != nil {
		for result, n := range map[string]int64{"accepted": tr.Accepted.Load(), "unknown_source": tr.UnknownSource.Load(),
			"bad_community": tr.BadCommunity.Load(), "malformed": tr.Malformed.Load()} {
			promconst.Send(ch, snmpTrapsDesc, prometheus.CounterValue, float64(n), result)
		}
		promconst.Send(ch, snmpAuthFailDesc, prometheus.CounterValue, float64(tr.AuthFailures.Load()))
	}
}
