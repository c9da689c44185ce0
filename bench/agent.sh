#!/usr/bin/env bash
# nines-agent side by side with Debian's prometheus-node-exporter, the
# agents pushing to a real nines-collector as installed agents do. One run
# starts three processes under test:
#   fast:    nines-agent collecting and pushing every 1 s,
#   default: nines-agent at the default interval (15 s),
#   node_exporter (default collectors).
# Then it measures
#  1. RSS after one scrape each and IDLE seconds (60),
#  2. CPU over MEASURE seconds (60) with a scrape of each every second
#     (the agents also collecting and pushing on their interval),
#  3. scrape latency p99 over SCRAPES back-to-back scrapes (300),
# and prints the ratios the targets are stated in. Pushes delivered and
# failed are read from each agent's own metrics, so a run where the push
# did not work shows it.
source "$(dirname "$0")/lib.sh"
IDLE=${IDLE:-60}
MEASURE=${MEASURE:-60}
SCRAPES=${SCRAPES:-300}
need prometheus-node-exporter prometheus-node-exporter
build_nines

CP=$(free_port)
start_collector "$CP"

start_agent() { # name interval
  local port; port=$(free_port)
  mkdir -p "$WORK/$1"
  cp "$WORK/token" "$WORK/$1/token"; chmod 600 "$WORK/$1/token"
  cat > "$WORK/$1/agent.yml" <<YAML
interval: $2
hostname: bench-$1
web: {listen_address: "127.0.0.1:$port"}
push:
  urls: ["http://127.0.0.1:$CP"]
  token_file: token
  spool_dir: spool
YAML
  env ${AGENT_ENV:-} "$WORK/nines-agent" --config "$WORK/$1/agent.yml" --log.level warn > "$WORK/$1/agent.log" 2>&1 &
  PIDS+=("$!")
  eval "${1^^}_PID=$!; ${1^^}_URL=http://127.0.0.1:$port/metrics"
  wait_http "http://127.0.0.1:$port/-/healthy"
}
start_agent fast 1s
start_agent default 15s
NP=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$NP" --log.level=warn > "$WORK/node.log" 2>&1 &
NODE_PID=$!; PIDS+=("$NODE_PID")
NODE_URL="http://127.0.0.1:$NP/metrics"
wait_http "http://127.0.0.1:$NP/"

# One scrape each, so all have built their collectors.
for u in "$FAST_URL" "$DEFAULT_URL" "$NODE_URL"; do "$WORK/nines-loadgen" scrape -url "$u" -n 1 >/dev/null; done
sleep "$IDLE"
F_RSS=$(rss_mb "$FAST_PID"); D_RSS=$(rss_mb "$DEFAULT_PID"); N_RSS=$(rss_mb "$NODE_PID")

f0=$(cpu_seconds "$FAST_PID"); d0=$(cpu_seconds "$DEFAULT_PID"); n0=$(cpu_seconds "$NODE_PID")
s=()
for u in "$FAST_URL" "$DEFAULT_URL" "$NODE_URL"; do
  "$WORK/nines-loadgen" scrape -url "$u" -n "$MEASURE" -every 1s >/dev/null &
  s+=("$!")
done
wait "${s[@]}"
f1=$(cpu_seconds "$FAST_PID"); d1=$(cpu_seconds "$DEFAULT_PID"); n1=$(cpu_seconds "$NODE_PID")

p99() { sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
F_LAT=$("$WORK/nines-loadgen" scrape -url "$FAST_URL" -n "$SCRAPES")
D_LAT=$("$WORK/nines-loadgen" scrape -url "$DEFAULT_URL" -n "$SCRAPES")
N_LAT=$("$WORK/nines-loadgen" scrape -url "$NODE_URL" -n "$SCRAPES")
samples() { curl -fsS "$1" | grep -vc '^#'; }
pushed() { # url: batches sent/failed as the agent counts them
  curl -fsS "$1" | awk '/^nines_agent_push_batches_total\{result="sent"\}/ {s=$2} /^nines_agent_push_attempts_failed_total/ {f=$2} END {printf "%d sent, %d failed", s, f}'
}
cpu() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

echo "nines-agent 1s:  RSS ${F_RSS} MB, CPU $(cpu "$f0" "$f1") s, scrape ${F_LAT}, $(samples "$FAST_URL") samples, pushes $(pushed "$FAST_URL")"
echo "nines-agent 15s: RSS ${D_RSS} MB, CPU $(cpu "$d0" "$d1") s, scrape ${D_LAT}, $(samples "$DEFAULT_URL") samples, pushes $(pushed "$DEFAULT_URL")"
echo "node_exporter:   RSS ${N_RSS} MB, CPU $(cpu "$n0" "$n1") s, scrape ${N_LAT}, $(samples "$NODE_URL") samples"
awk -v fr="$F_RSS" -v dr="$D_RSS" -v nr="$N_RSS" -v f0="$f0" -v f1="$f1" -v d0="$d0" -v d1="$d1" -v n0="$n0" -v n1="$n1" \
    -v fp="$(p99 "$F_LAT")" -v dp="$(p99 "$D_LAT")" -v np="$(p99 "$N_LAT")" 'BEGIN {
  printf "RSS after 60 s:      1s %.2fx, 15s %.2fx of node_exporter (target <= 0.6)\n", fr/nr, dr/nr
  printf "CPU (1s collect, push and scrape): %.2fx; 15s %.2fx (target <= 0.3)\n", (f1-f0)/(n1-n0), (d1-d0)/(n1-n0)
  printf "scrape p99:          1s %.2fx, 15s %.2fx (target <= 0.3)\n", fp/np, dp/np
}'
