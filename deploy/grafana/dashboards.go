// Package grafana builds the Grafana dashboards shipped in
// deploy/grafana/dashboards/ with the Grafana Foundation SDK (Apache 2.0;
// Grafana's own modules are AGPL and not used). Every query goes to
// Nines's Prometheus query API (collector/promapi) through the data source
// of provisioning/datasources/nines.yml, so it reads the recent window:
// agent metrics (node_exporter names), SNMP objects and the collector's
// own series (target states, open incidents, service figures).
//
// The JSON files are generated: change this file, then run
// go test ./deploy/grafana -update.
package grafana

//lint:file-ignore SA1019 The SDK marks the classic dashboard model deprecated in favour of dashboardv2, which only Grafana 12's v2 API takes; file provisioning and Grafana 10 and 11 load the classic JSON model.

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the uid of the provisioned Nines data source; the
// dashboards' datasource variable defaults to it.
const DatasourceUID = "nines"

// Dashboard is one generated dashboard and its file name.
type Dashboard struct {
	File  string
	Board dashboard.Dashboard
}

// Dashboards builds every dashboard.
func Dashboards() ([]Dashboard, error) {
	var out []Dashboard
	for _, b := range []struct {
		file  string
		build func() *dashboard.DashboardBuilder
	}{
		{"nines-fleet.json", fleet},
		{"nines-host.json", host},
		{"nines-services.json", services},
		{"nines-incidents.json", incidents},
		{"nines-snmp-interfaces.json", snmpInterfaces},
	} {
		d, err := b.build().Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.file, err)
		}
		out = append(out, Dashboard{File: b.file, Board: d})
	}
	return out, nil
}

// JSON renders a dashboard as the file holds it.
func JSON(d dashboard.Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

func board(uid, title string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags([]string{"nines"}).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Nines").Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{"nines"}).AsDropdown(true).KeepTime(true).IncludeVars(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("Nines")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(DatasourceUID)}}))
}

// labelValues is a query variable over label_values(metric, label).
func labelValues(name, label, query string, multi bool) *dashboard.QueryVariableBuilder {
	q := "label_values(" + query + ", " + label + ")"
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(ds).
		Query(dashboard.StringOrMap{Map: map[string]any{"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1}}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(multi).
		IncludeAll(multi)
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Datasource(ds).Expr(expr).Range()
	if legend != "" {
		q.LegendFormat(legend)
	}
	return q
}

func instant(expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Datasource(ds).Expr(expr).Instant().Format(prometheus.PromQueryFormatTable)
	if legend != "" {
		q.LegendFormat(legend)
	}
	return q
}

func steps(colors ...any) *dashboard.ThresholdsConfigBuilder {
	var s []dashboard.Threshold
	for i := 0; i+1 < len(colors); i += 2 {
		var v *float64
		if f, ok := colors[i].(float64); ok {
			v = &f
		}
		s = append(s, dashboard.Threshold{Value: v, Color: colors[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

func valueText(pairs ...string) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i := 0; i+2 < len(pairs)+1; i += 3 {
		opts[pairs[i]] = dashboard.ValueMappingResult{Text: cog.ToPtr(pairs[i+1]), Color: cog.ToPtr(pairs[i+2]), Index: cog.ToPtr(int32(i / 3))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

func bigStat(title, expr, unit string, th *dashboard.ThresholdsConfigBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().Title(title).Datasource(ds).WithTarget(query(expr, "")).
		Unit(unit).Height(4).Span(6).GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if th != nil {
		p.Thresholds(th)
	}
	return p
}

func graph(title, unit string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Datasource(ds).Unit(unit).Height(8).Span(12).
		FillOpacity(10).ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{"mean", "max", "lastNotNull"}))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

// fleet: every host at a glance.
func fleet() *dashboard.DashboardBuilder {
	return board("nines-fleet", "Nines / Fleet").
		Description("Every target's state and the busiest hosts, from the collector's recent window.").
		WithRow(dashboard.NewRowBuilder("Targets")).
		WithPanel(bigStat("Hosts up", `count(nines_target_up{kind="host"} == 1) or vector(0)`, "none", steps(nil, "green"))).
		WithPanel(bigStat("Targets down", `count(nines_target_state{state="down"} == 1) or vector(0)`, "none", steps(nil, "green", 1.0, "red"))).
		WithPanel(bigStat("Targets in maintenance", `count(nines_target_state{state="maintenance"} == 1) or vector(0)`, "none", steps(nil, "blue"))).
		WithPanel(bigStat("Open incidents", `sum(nines_incidents_open)`, "none", steps(nil, "green", 1.0, "orange"))).
		WithPanel(statetimeline.NewPanelBuilder().Title("Target states").Datasource(ds).Height(8).Span(24).
			Description("1 up, 0 anything else (down, unknown, maintenance, shutdown).").
			WithTarget(query(`nines_target_up`, "{{kind}} {{target}}")).
			Mappings(valueText("1", "up", "green", "0", "not up", "red")).
			Thresholds(steps(nil, "red", 1.0, "green"))).
		WithRow(dashboard.NewRowBuilder("Hosts")).
		WithPanel(graph("CPU busy", "percentunit",
			query(`1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))`, "{{host}}")).Min(0).Max(1)).
		WithPanel(graph("Memory used", "percentunit",
			query(`1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`, "{{host}}")).Min(0).Max(1)).
		WithPanel(graph("Fullest filesystem", "percentunit",
			query(`max by (host) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)`, "{{host}}")).Min(0).Max(1)).
		WithPanel(graph("Load per core (1 min)", "none",
			query(`node_load1 / on (host) count by (host) (node_cpu_seconds_total{mode="idle"})`, "{{host}}")).Min(0)).
		WithPanel(table.NewPanelBuilder().Title("Hosts").Datasource(ds).Height(8).Span(24).
			Description("Each host's state, memory and uptime now.").
			WithTarget(instant(`nines_target_up{kind="host"}`, "").RefId("up")).
			WithTarget(instant(`node_memory_MemTotal_bytes`, "").RefId("memory")).
			WithTarget(instant(`node_time_seconds - node_boot_time_seconds`, "").RefId("uptime")).
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}))
}

// host: one host, node_exporter style.
func host() *dashboard.DashboardBuilder {
	h := `host="$host"`
	return board("nines-host", "Nines / Host").
		Description("One host's agent metrics (node_exporter names).").
		WithVariable(labelValues("host", "host", "node_memory_MemTotal_bytes", false)).
		WithRow(dashboard.NewRowBuilder("$host")).
		WithPanel(bigStat("State", `nines_target_up{kind="host",target="$host"}`, "none", steps(nil, "red", 1.0, "green")).
			Mappings(valueText("1", "UP", "green", "0", "NOT UP", "red"))).
		WithPanel(bigStat("Uptime", `node_time_seconds{`+h+`} - node_boot_time_seconds{`+h+`}`, "s", nil)).
		WithPanel(bigStat("CPU cores", `count(node_cpu_seconds_total{`+h+`,mode="idle"})`, "none", nil)).
		WithPanel(bigStat("Memory", `node_memory_MemTotal_bytes{`+h+`}`, "bytes", nil)).
		WithPanel(graph("CPU by mode", "percentunit",
			query(`sum by (mode) (rate(node_cpu_seconds_total{`+h+`,mode!="idle"}[$__rate_interval])) / scalar(count(node_cpu_seconds_total{`+h+`,mode="idle"}))`, "{{mode}}")).
			Min(0).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(graph("Load", "none",
			query(`node_load1{`+h+`}`, "1 min"), query(`node_load5{`+h+`}`, "5 min"), query(`node_load15{`+h+`}`, "15 min")).Min(0)).
		WithPanel(graph("Memory", "bytes",
			query(`node_memory_MemTotal_bytes{`+h+`} - node_memory_MemAvailable_bytes{`+h+`}`, "used"),
			query(`node_memory_Cached_bytes{`+h+`} + node_memory_Buffers_bytes{`+h+`}`, "cache and buffers"),
			query(`node_memory_MemFree_bytes{`+h+`}`, "free"),
			query(`node_memory_SwapTotal_bytes{`+h+`} - node_memory_SwapFree_bytes{`+h+`}`, "swap used")).Min(0)).
		WithPanel(graph("Filesystem used", "percentunit",
			query(`1 - node_filesystem_avail_bytes{`+h+`} / node_filesystem_size_bytes{`+h+`}`, "{{mountpoint}}")).Min(0).Max(1)).
		WithPanel(graph("Disk throughput", "Bps",
			query(`rate(node_disk_read_bytes_total{`+h+`}[$__rate_interval])`, "{{device}} read"),
			query(`rate(node_disk_written_bytes_total{`+h+`}[$__rate_interval])`, "{{device}} written"))).
		WithPanel(graph("Network traffic", "bps",
			query(`rate(node_network_receive_bytes_total{`+h+`}[$__rate_interval]) * 8`, "{{device}} in"),
			query(`rate(node_network_transmit_bytes_total{`+h+`}[$__rate_interval]) * 8`, "{{device}} out"))).
		WithPanel(graph("Processes", "none",
			query(`node_procs_running{`+h+`}`, "running"), query(`node_procs_blocked{`+h+`}`, "blocked"))).
		WithPanel(graph("Collectors", "s",
			query(`node_scrape_collector_duration_seconds{`+h+`}`, "{{collector}}")))
}

// services: availability against objective, error budget and burn rate.
func services() *dashboard.DashboardBuilder {
	sv := `service=~"$service"`
	return board("nines-services", "Nines / Services and SLAs").
		Description("Each service's availability against its objective, the error budget left and how fast it burns.").
		WithVariable(labelValues("service", "service", "nines_sla_availability_ratio", true)).
		WithRow(dashboard.NewRowBuilder("Service levels")).
		WithPanel(bargauge.NewPanelBuilder().Title("Availability, 30 days").Datasource(ds).Height(8).Span(8).
			WithTarget(instant(`nines_sla_availability_ratio{`+sv+`,window="30d"}`, "{{service}}")).
			Unit("percentunit").Decimals(3).Min(0.99).Max(1).
			Thresholds(steps(nil, "red", 0.999, "green"))).
		WithPanel(table.NewPanelBuilder().Title("Availability against objective").Datasource(ds).Height(8).Span(16).
			Description("Availability over 1 hour, 1, 7 and 30 days beside the objective.").
			WithTarget(instant(`nines_sla_availability_ratio{`+sv+`}`, "").RefId("availability")).
			WithTarget(instant(`nines_sla_objective_ratio{`+sv+`}`, "").RefId("objective")).
			Unit("percentunit").Decimals(4)).
		WithPanel(graph("Availability and objective", "percentunit",
			query(`nines_sla_availability_ratio{`+sv+`,window="1d"}`, "{{service}} (1 day)"),
			query(`nines_sla_objective_ratio{`+sv+`}`, "{{service}} objective")).Decimals(4)).
		WithPanel(graph("Error budget remaining (30 days)", "percentunit",
			query(`nines_sla_error_budget_remaining_ratio{`+sv+`,window="30d"}`, "{{service}}")).
			Thresholds(steps(nil, "red", 0.0, "orange", 0.25, "green"))).
		WithPanel(graph("Burn rate", "none",
			query(`nines_sla_burn_rate{`+sv+`}`, "{{service}} over {{window}}")).
			Description("How fast the error budget is spent: 1 spends it exactly over the 30 days; above 14.4 over 1 h (2% of the budget in an hour) or 6 over 6 h is the usual page.").
			Thresholds(steps(nil, "green", 6.0, "orange", 14.4, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine))).
		WithPanel(bigStat("Services below objective (30 days)",
			`count(nines_sla_availability_ratio{`+sv+`,window="30d"} < on (service) group_left nines_sla_objective_ratio) or vector(0)`,
			"none", steps(nil, "green", 1.0, "red")).Span(12))
}

// incidents: what is open, by priority and service.
func incidents() *dashboard.DashboardBuilder {
	return board("nines-incidents", "Nines / Incidents").
		Description("Open incidents by priority and service, and the targets behind them.").
		WithRow(dashboard.NewRowBuilder("Open incidents")).
		WithPanel(bigStat("P1 open", `sum(nines_incidents_open{priority="P1"})`, "none", steps(nil, "green", 1.0, "red"))).
		WithPanel(bigStat("P2 open", `sum(nines_incidents_open{priority="P2"})`, "none", steps(nil, "green", 1.0, "orange"))).
		WithPanel(bigStat("P3 open", `sum(nines_incidents_open{priority="P3"})`, "none", steps(nil, "green", 1.0, "yellow"))).
		WithPanel(bigStat("P4 open", `sum(nines_incidents_open{priority="P4"})`, "none", steps(nil, "green", 1.0, "blue"))).
		WithPanel(graph("Open incidents by priority", "none",
			query(`sum by (priority) (nines_incidents_open)`, "{{priority}}")).
			Min(0).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(graph("Open incidents by service", "none",
			query(`sum by (service) (nines_incidents_open{service!=""})`, "{{service}}")).Min(0)).
		WithPanel(table.NewPanelBuilder().Title("Targets not up").Datasource(ds).Height(8).Span(12).
			Description("The targets whose state is down, unknown or shut down now: the usual cause of host and device incidents.").
			WithTarget(instant(`nines_target_state{state=~"down|unknown|shutdown"} == 1`, ""))).
		WithPanel(statetimeline.NewPanelBuilder().Title("Services' state").Datasource(ds).Height(8).Span(12).
			Description("Availability over the last hour of each service (1 = up all the hour).").
			WithTarget(query(`nines_sla_availability_ratio{window="1h"}`, "{{service}}")).
			Thresholds(steps(nil, "red", 0.99, "orange", 0.999, "green")))
}

// snmpInterfaces: traffic, errors and status of network interfaces.
func snmpInterfaces() *dashboard.DashboardBuilder {
	sel := `device="$device",ifName=~"$interface"`
	return board("nines-snmp-interfaces", "Nines / SNMP interfaces").
		Description("Interfaces of SNMP devices (if_mib): status, traffic, utilisation, errors and discards.").
		WithVariable(labelValues("device", "device", "ifOperStatus", false)).
		WithVariable(labelValues("interface", "ifName", `ifOperStatus{device="$device"}`, true)).
		WithRow(dashboard.NewRowBuilder("$device")).
		WithPanel(bigStat("Polls succeeding", `nines_snmp_poll_success{device="$device"}`, "none", steps(nil, "red", 1.0, "green")).
			Mappings(valueText("1", "OK", "green", "0", "FAILING", "red"))).
		WithPanel(bigStat("Poll duration", `nines_snmp_poll_duration_seconds{device="$device"}`, "s", nil)).
		WithPanel(bigStat("Interfaces up", `count(ifOperStatus{device="$device"} == 1) or vector(0)`, "none", nil)).
		WithPanel(bigStat("Interfaces down (admin up)", `count(ifOperStatus{device="$device"} == 2 and on (device, ifIndex) ifAdminStatus == 1) or vector(0)`, "none", steps(nil, "green", 1.0, "red"))).
		WithPanel(statetimeline.NewPanelBuilder().Title("Operational status").Datasource(ds).Height(8).Span(24).
			WithTarget(query(`ifOperStatus{`+sel+`}`, "{{ifName}}")).
			Mappings(valueText("1", "up", "green", "2", "down", "red", "3", "testing", "blue", "5", "dormant", "yellow", "7", "lower layer down", "orange"))).
		WithPanel(graph("Traffic", "bps",
			query(`rate(ifHCInOctets{`+sel+`}[$__rate_interval]) * 8`, "{{ifName}} in"),
			query(`rate(ifHCOutOctets{`+sel+`}[$__rate_interval]) * 8`, "{{ifName}} out"))).
		WithPanel(graph("Utilisation", "percentunit",
			query(`max by (ifName) (rate(ifHCInOctets{`+sel+`}[$__rate_interval]) * 8 / (ifHighSpeed{`+sel+`} * 1e6) > 0)`, "{{ifName}} in"),
			query(`max by (ifName) (rate(ifHCOutOctets{`+sel+`}[$__rate_interval]) * 8 / (ifHighSpeed{`+sel+`} * 1e6) > 0)`, "{{ifName}} out")).
			Description("Traffic against the interface's speed (ifHighSpeed); interfaces reporting no speed are left out.")).
		WithPanel(graph("Packets", "pps",
			query(`rate(ifHCInUcastPkts{`+sel+`}[$__rate_interval])`, "{{ifName}} in"),
			query(`rate(ifHCOutUcastPkts{`+sel+`}[$__rate_interval])`, "{{ifName}} out"))).
		WithPanel(graph("Errors and discards", "pps",
			query(`rate(ifInErrors{`+sel+`}[$__rate_interval]) + rate(ifInDiscards{`+sel+`}[$__rate_interval])`, "{{ifName}} in"),
			query(`rate(ifOutErrors{`+sel+`}[$__rate_interval]) + rate(ifOutDiscards{`+sel+`}[$__rate_interval])`, "{{ifName}} out")))
}
