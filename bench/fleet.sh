#!/usr/bin/env bash
# A simulated fleet against nines-collector: AGENTS agents (default 10,000)
# pushing SERIES series (60) every INTERVAL (15s) with the native protocol,
# for DURATION (60s). Prints the collector's CPU use in cores, its RSS,
# and rejected pushes (target: under 0.5 core, zero rejected).
source "$(dirname "$0")/lib.sh"
AGENTS=${AGENTS:-10000}
SERIES=${SERIES:-60}
INTERVAL=${INTERVAL:-15s}
DURATION=${DURATION:-60s}
build_nines
PORT=$(free_port)
# The whole fleet registers within the first interval: lift the inventory
# limits meant for strangers (inventory.max_targets, 10,000 by default,
# and max_new_targets_per_minute, 600), as an installation that size does.
start_collector "$PORT" "availability: {default_push_interval: $INTERVAL}
inventory: {max_targets: 0, max_new_targets_per_minute: 0}"
cpu0=$(cpu_seconds "$COLLECTOR_PID"); t0=$(date +%s.%N)
out=$("$WORK/nines-loadgen" fleet -url "http://127.0.0.1:$PORT" -token bench-token -agents "$AGENTS" -series "$SERIES" -interval "$INTERVAL" -duration "$DURATION") || true
cpu1=$(cpu_seconds "$COLLECTOR_PID"); t1=$(date +%s.%N)
echo "$out"
rejected=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT/metrics" | awk '/^nines_ingest_requests_total/ && $0 !~ /code="204"/ {s+=$2} END {print s+0}')
targets=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT/api/v1/targets?state=up" | grep -o '"name"' | wc -l)
awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v rss="$(rss_mb "$COLLECTOR_PID")" -v peak="$(peak_rss_mb "$COLLECTOR_PID")" -v rej="$rejected" -v up="$targets" 'BEGIN {
  printf "collector CPU: %.3f cores (target < 0.5)\n", (c1-c0)/(t1-t0)
  printf "collector RSS: %s MB now, %s MB peak\n", rss, peak
  printf "rejected pushes: %d (target 0); hosts UP: %d\n", rej, up
}'
