#!/usr/bin/env bash
# nines-agent side by side with Debian's prometheus-node-exporter:
#  1. idle RSS after IDLE seconds (60; no scrapes; the agent collects every 1 s),
#  2. CPU over MEASURE seconds (60) with a scrape of each every second
#     (the agent also collecting every second),
#  3. scrape latency p99 over SCRAPES back-to-back scrapes (300).
# Prints the three ratios the targets are stated in.
source "$(dirname "$0")/lib.sh"
IDLE=${IDLE:-60}
MEASURE=${MEASURE:-60}
SCRAPES=${SCRAPES:-300}
need prometheus-node-exporter prometheus-node-exporter
build_nines

AP=$(free_port); NP=$(free_port)
cat > "$WORK/agent.yml" <<YAML
interval: 1s
web: {listen_address: "127.0.0.1:$AP"}
YAML
env ${AGENT_ENV:-} "$WORK/nines-agent" --config "$WORK/agent.yml" --log.level warn > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!; PIDS+=("$AGENT_PID")
prometheus-node-exporter --web.listen-address="127.0.0.1:$NP" --log.level=warn > "$WORK/node.log" 2>&1 &
NODE_PID=$!; PIDS+=("$NODE_PID")
wait_http "http://127.0.0.1:$AP/-/healthy"
wait_http "http://127.0.0.1:$NP/"
AGENT_URL="http://127.0.0.1:$AP/metrics"; NODE_URL="http://127.0.0.1:$NP/metrics"
# One scrape each, so both have built their collectors.
"$WORK/nines-loadgen" scrape -url "$AGENT_URL" -n 1 >/dev/null
"$WORK/nines-loadgen" scrape -url "$NODE_URL" -n 1 >/dev/null

sleep "$IDLE"
A_RSS=$(rss_mb "$AGENT_PID"); N_RSS=$(rss_mb "$NODE_PID")

a0=$(cpu_seconds "$AGENT_PID"); n0=$(cpu_seconds "$NODE_PID")
"$WORK/nines-loadgen" scrape -url "$AGENT_URL" -n "$MEASURE" -every 1s >/dev/null &
s1=$!
"$WORK/nines-loadgen" scrape -url "$NODE_URL" -n "$MEASURE" -every 1s >/dev/null &
s2=$!
wait "$s1" "$s2"
a1=$(cpu_seconds "$AGENT_PID"); n1=$(cpu_seconds "$NODE_PID")

A_LAT=$("$WORK/nines-loadgen" scrape -url "$AGENT_URL" -n "$SCRAPES")
N_LAT=$("$WORK/nines-loadgen" scrape -url "$NODE_URL" -n "$SCRAPES")
A_P99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$A_LAT"); N_P99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$N_LAT")
A_SERIES=$(curl -fsS "$AGENT_URL" | grep -vc '^#'); N_SERIES=$(curl -fsS "$NODE_URL" | grep -vc '^#')

echo "nines-agent:   idle RSS ${A_RSS} MB, CPU $(awk -v a="$a0" -v b="$a1" 'BEGIN{printf "%.2f", b-a}') s, scrape ${A_LAT}, ${A_SERIES} samples"
echo "node_exporter: idle RSS ${N_RSS} MB, CPU $(awk -v a="$n0" -v b="$n1" 'BEGIN{printf "%.2f", b-a}') s, scrape ${N_LAT}, ${N_SERIES} samples"
awk -v ar="$A_RSS" -v nr="$N_RSS" -v a0="$a0" -v a1="$a1" -v n0="$n0" -v n1="$n1" -v ap="$A_P99" -v np="$N_P99" 'BEGIN {
  printf "idle RSS:        nines/node_exporter = %.2fx (target <= 0.75)\n", ar/nr
  printf "CPU (1s/1s):     nines/node_exporter = %.2fx (target <= 0.5)\n", (a1-a0)/(n1-n0)
  printf "scrape p99:      nines/node_exporter = %.2fx (target <= 0.5)\n", ap/np
}'
