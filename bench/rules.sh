#!/usr/bin/env bash
# Rule evaluation, side by side with Prometheus: the same 100 alerting
# rules over 5,000 series each (500,000 series), evaluated every 10 s by
# nines-collector and by Debian's Prometheus, on the same data (loaded
# into nines-collector, which forwards it to Prometheus by remote write).
# Prints each one's CPU over a minute of evaluation and the ratio
# (target: ours at most 1.0x Prometheus's).
source "$(dirname "$0")/lib.sh"
RULES=${RULES:-100}
SERIES=${SERIES:-5000}
MEASURE=${MEASURE:-60}
need prometheus prometheus
build_nines

# Rules: rule i alerts when bench_metric_i > 0.95 (about 4 % of series).
{
  echo "groups:"
  echo "  - name: bench"
  echo "    interval: 10s"
  echo "    rules:"
  for i in $(seq 0 $((RULES - 1))); do
    echo "      - alert: Bench$i"
    echo "        expr: bench_metric_$i > 0.95"
  done
} > "$WORK/bench.rules.yml"

PP=$(free_port)
cat > "$WORK/prometheus.yml" <<YAML
global: {evaluation_interval: 10s, scrape_interval: 1h}
rule_files: ["$WORK/bench.rules.yml"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$PP" --web.enable-remote-write-receiver --log.level=warn > "$WORK/prom.log" 2>&1 &
PROM_PID=$!; PIDS+=("$PROM_PID")
wait_http "http://127.0.0.1:$PP/-/ready"

NP=$(free_port)
start_collector "$NP" "rules: {files: [$WORK/bench.rules.yml]}
ingest: {max_series_per_target: 1000000}
forward:
  remote_write: {url: 'http://127.0.0.1:$PP/api/v1/write', queue_size: 10000000, batch_size: 10000, flush_interval: 200ms}"

# Data: one line per instance and timestamp, a field per metric, six
# samples 15 s apart ending now.
python3 - "$WORK/series.lp" "$RULES" "$SERIES" <<'PY'
import sys, time
path, rules, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time())
with open(path, "w") as f:
    for k in range(5, -1, -1):
        ts = (now - 15 * k) * 10**9
        for s in range(series):
            fields = ",".join("%d=%.2f" % (r, ((s * 7 + r) % 100) / 100) for r in range(rules))
            f.write("bench_metric,instance=host-%d,job=node %s %d\n" % (s, fields, ts))
PY
"$WORK/nines-loadgen" ingest -url "http://127.0.0.1:$NP/write?precision=ns" -token bench-token -file "$WORK/series.lp" -batch 500 -concurrency 1 >&2

# Wait until Prometheus has everything (the forwarder's queue is empty).
for _ in $(seq 1 600); do
  q=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$NP/metrics" | awk '/^nines_forward_queue_samples/ {print $2}')
  [ "${q:-1}" = "0" ] && break
  sleep 0.5
done
sleep 12 # both have evaluated at least once on the full data
[ -n "${DEBUG:-}" ] && { curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$NP/api/v1/alerts" | head -c 600 >&2; echo >&2; curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$NP/metrics" | grep -E "^nines_(samples_series|ingest_samples_refused|ingest_points|forward)" >&2; tail -5 "$WORK/collector.log" >&2; }
n0=$(cpu_seconds "$COLLECTOR_PID"); p0=$(cpu_seconds "$PROM_PID")
sleep "$MEASURE"
n1=$(cpu_seconds "$COLLECTOR_PID"); p1=$(cpu_seconds "$PROM_PID")
firing_n=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$NP/api/v1/alerts" | python3 -c "import json,sys; print(sum(1 for a in json.load(sys.stdin)[\"data\"] if a[\"state\"]==\"firing\"))")
firing_p=$(curl -fsS "http://127.0.0.1:$PP/api/v1/alerts" | python3 -c "import json,sys; print(sum(1 for a in json.load(sys.stdin)[\"data\"][\"alerts\"] if a[\"state\"]==\"firing\"))")
awk -v n0="$n0" -v n1="$n1" -v p0="$p0" -v p1="$p1" -v m="$MEASURE" -v fn="$firing_n" -v fp="$firing_p" -v r="$RULES" -v s="$SERIES" 'BEGIN {
  printf "rules=%d series_per_rule=%d seconds=%d\n", r, s, m
  printf "nines-collector: %.2f CPU-s (%.1f%% of a core), firing alerts %d\n", n1-n0, 100*(n1-n0)/m, fn
  printf "prometheus:      %.2f CPU-s (%.1f%% of a core), firing alerts %d\n", p1-p0, 100*(p1-p0)/m, fp
  printf "rule evaluation CPU: nines/prometheus = %.2fx (target <= 1.0)\n", (n1-n0)/(p1-p0)
  printf "nines CPU per rule per series per evaluation: %.0f ns\n", (n1-n0)/(m/10)/r/s*1e9
}'
