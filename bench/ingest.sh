#!/usr/bin/env bash
# Ingest throughput, side by side: the same 1,000,000-line payload of
# realistic host metrics, posted in 5,000-line batches (4 in flight) to
# nines-collector (/write), VictoriaMetrics single-node (/write) and
# InfluxDB 1.x (/write). Prints lines/s and peak RSS of each, and the ratios
# the targets are stated in (issue 20: at least 2x VictoriaMetrics and 4x
# InfluxDB 1.x, peak RSS no higher than the 161 MB of 2026-12-04).
source "$(dirname "$0")/lib.sh"
LINES=${LINES:-1000000}
BATCH=${BATCH:-5000}
CONC=${CONC:-4}
need victoria-metrics victoria-metrics
need influxd influxdb
build_nines
"$WORK/nines-loadgen" payload -lines "$LINES" -o "$WORK/payload.lp"

run() { # name url pid
  local out
  out=$("$WORK/nines-loadgen" ingest -url "$2" -token bench-token -file "$WORK/payload.lp" -batch "$BATCH" -concurrency "$CONC")
  local lps; lps=$(sed -n 's/.*lines_per_second=\([0-9]*\).*/\1/p' <<<"$out")
  printf '%-18s lines/s=%-9s peak_rss_mb=%s   (%s)\n' "$1" "$lps" "$(peak_rss_mb "$3")" "$out" >&2
  echo "$lps $(peak_rss_mb "$3")"
}

# nines-collector
NP=$(free_port)
# The payload's 1,000 hosts all register within the first second: lift
# the limit on new targets per minute (600 by default), as an
# installation that size does.
start_collector "$NP" "inventory: {max_new_targets_per_minute: 0}"
read -r N_LPS N_RSS < <(run nines-collector "http://127.0.0.1:$NP/write?db=bench&precision=ns" "$COLLECTOR_PID")
kill "$COLLECTOR_PID"

# VictoriaMetrics
VP=$(free_port)
victoria-metrics -httpListenAddr="127.0.0.1:$VP" -storageDataPath="$WORK/vm" -retentionPeriod=1 -loggerLevel=ERROR > "$WORK/vm.log" 2>&1 &
VM_PID=$!; PIDS+=("$VM_PID")
wait_http "http://127.0.0.1:$VP/health"
read -r V_LPS V_RSS < <(run victoria-metrics "http://127.0.0.1:$VP/write?db=bench" "$VM_PID")
kill "$VM_PID"

# InfluxDB 1.x
IP=$(free_port); RP=$(free_port)
cat > "$WORK/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$RP"
[meta]
  dir = "$WORK/influx/meta"
[data]
  dir = "$WORK/influx/data"
  wal-dir = "$WORK/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$IP"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
influxd -config "$WORK/influxdb.conf" > "$WORK/influx.log" 2>&1 &
IN_PID=$!; PIDS+=("$IN_PID")
wait_http "http://127.0.0.1:$IP/ping"
curl -fsS -XPOST "http://127.0.0.1:$IP/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null
read -r I_LPS I_RSS < <(run influxdb-1.x "http://127.0.0.1:$IP/write?db=bench&precision=ns" "$IN_PID")
kill "$IN_PID"

awk -v n="$N_LPS" -v v="$V_LPS" -v i="$I_LPS" -v nr="$N_RSS" -v vr="$V_RSS" 'BEGIN {
  printf "ingest throughput: nines/victoriametrics = %.2fx (target >= 2.0)\n", n/v
  printf "ingest throughput: nines/influxdb-1.x    = %.2fx (target >= 4.0)\n", n/i
  printf "peak RSS:          nines/victoriametrics = %.2fx (target <= 1.0)  [%s MB vs %s MB]\n", nr/vr, nr, vr
}'
