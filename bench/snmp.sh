#!/usr/bin/env bash
# SNMP at scale: DEVICES simulated devices (default 1,000) with INTERFACES
# interfaces each (48), polled by nines-collector every INTERVAL (60s,
# modules system and if_mib) for DURATION seconds (180). Prints the
# collector's CPU in cores, its RSS, and the polls that succeeded, failed
# or were skipped (target: every device polled every interval on 2 cores).
source "$(dirname "$0")/lib.sh"
DEVICES=${DEVICES:-1000}
INTERFACES=${INTERFACES:-48}
INTERVAL=${INTERVAL:-60s}
DURATION=${DURATION:-180}
SIMPORT=${SIMPORT:-20000}
build_nines
"$WORK/nines-loadgen" snmpsim -devices "$DEVICES" -interfaces "$INTERFACES" -port "$SIMPORT" > "$WORK/snmpsim.log" 2>&1 &
PIDS+=("$!")
devices=$(awk -v n="$DEVICES" -v p="$SIMPORT" -v i="$INTERVAL" 'BEGIN {
  print "devices:"
  for (d = 0; d < n; d++) printf "  - {name: sim-%d, address: \"127.0.0.1:%d\", community: public, interval: %s, timeout: 10s, modules: [system, if_mib]}\n", d, p + d, i
}')
PORT=$(free_port)
start_collector "$PORT" "snmp: {max_concurrent_polls: 64}
$devices"
sleep 5 # let the first polls start (they spread over the first half interval)
cpu0=$(cpu_seconds "$COLLECTOR_PID"); t0=$(date +%s.%N)
sleep "$DURATION"
cpu1=$(cpu_seconds "$COLLECTOR_PID"); t1=$(date +%s.%N)
metrics=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT/metrics")
echo "$metrics" | grep -E '^nines_snmp_polls_total' || true
up=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT/api/v1/targets?kind=device&state=up" | grep -o '"name"' | wc -l)
series=$(echo "$metrics" | awk '/^nines_samples_series / {print $2}')
awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v rss="$(rss_mb "$COLLECTOR_PID")" -v peak="$(peak_rss_mb "$COLLECTOR_PID")" -v up="$up" -v n="$DEVICES" -v s="$series" 'BEGIN {
  printf "collector CPU: %.3f cores while polling %d devices\n", (c1-c0)/(t1-t0), n
  printf "collector RSS: %s MB now, %s MB peak; series in the window: %s\n", rss, peak, s
  printf "devices UP: %d of %d\n", up, n
}'

# Side by side: snmp_exporter (Debian's prometheus-snmp-exporter) scraped
# as Prometheus would, one scrape per device every INTERVAL, reading the
# same objects (bench/snmp/snmp_exporter.yml).
kill "$COLLECTOR_PID" 2>/dev/null; wait "$COLLECTOR_PID" 2>/dev/null || true
nines_cores=$(awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.3f", (c1-c0)/(t1-t0)}')
EXPORTER=$(command -v prometheus-snmp-exporter || true)
if [ -z "$EXPORTER" ]; then
  ./scripts/test-deps.sh prometheus-snmp-exporter
  EXPORTER=$(command -v prometheus-snmp-exporter)
fi
SEPORT=$(free_port)
"$EXPORTER" --config.file="$(dirname "$0")/snmp/snmp_exporter.yml" --web.listen-address="127.0.0.1:$SEPORT" --log.level=warn > "$WORK/snmp_exporter.log" 2>&1 &
SE_PID=$!
PIDS+=("$SE_PID")
wait_http "http://127.0.0.1:$SEPORT/metrics"
scrapes_log="$WORK/exporter-scrapes.log"
"$WORK/nines-loadgen" exporter -url "http://127.0.0.1:$SEPORT/snmp?module=nines_if_mib&target=127.0.0.1:%d" \
  -devices "$DEVICES" -port "$SIMPORT" -interval "$INTERVAL" -duration "$((DURATION + 5))s" > "$scrapes_log" 2>&1 &
DRIVER=$!
sleep 5
ecpu0=$(cpu_seconds "$SE_PID"); et0=$(date +%s.%N)
sleep "$DURATION"
ecpu1=$(cpu_seconds "$SE_PID"); et1=$(date +%s.%N)
wait "$DRIVER" || true
cat "$scrapes_log"
awk -v c0="$ecpu0" -v c1="$ecpu1" -v t0="$et0" -v t1="$et1" -v n="$nines_cores" -v rss="$(peak_rss_mb "$SE_PID")" 'BEGIN {
  e = (c1-c0)/(t1-t0)
  printf "snmp_exporter CPU: %.3f cores, peak RSS %s MB (without the Prometheus that would store its output)\n", e, rss
  if (e > 0) printf "ratio nines/snmp_exporter CPU: %.2f\n", n/e
}'
