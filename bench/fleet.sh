#!/usr/bin/env bash
# A simulated fleet against nines-collector: AGENTS agents (default 30,000)
# pushing SERIES series (60) every INTERVAL (15s) with the native protocol
# for DURATION (75s), nines-loadgen running beside the collector on the
# same machine. One agent stops without a goodbye after KILL_AFTER (15s),
# as a host that dies; the collector must find it DOWN within its deadline
# (down_after_intervals x interval, plus one check_interval tick).
#
# Prints each figure next to its target (issue 20 item 3): collector CPU
# once the fleet has registered (after the first interval + 5 s) under
# 1.2 cores, p99 push latency under 100 ms, zero rejected pushes, the
# load generator on schedule (due pushes all started), every other host
# UP, the killed host DOWN in time; RSS and the load generator's own CPU
# reported. Exits 1 when a target is missed.
source "$(dirname "$0")/lib.sh"
AGENTS=${AGENTS:-30000}
SERIES=${SERIES:-60}
INTERVAL=${INTERVAL:-15s}
DURATION=${DURATION:-75s}
KILL_AFTER=${KILL_AFTER:-15s}
DOWN_AFTER=3    # availability.down_after_intervals (the default)
CHECK_EVERY=1s  # availability.check_interval (the default)
POLL=0.25       # how often the killed host's state is read
build_nines
PORT=$(free_port)
API="http://127.0.0.1:$PORT"
secs() { python3 -c 'import sys,re; v,u=re.fullmatch(r"([0-9.]+)(ms|s|m)",sys.argv[1]).groups(); print(float(v)*{"ms":.001,"s":1,"m":60}[u])' "$1"; }
echo "load before: $(uptime)"
# The whole fleet registers within the first interval: lift the inventory
# limits meant for strangers (inventory.max_targets, 10,000 by default,
# and max_new_targets_per_minute, 600), as an installation that size does.
start_collector "$PORT" "availability: {default_push_interval: $INTERVAL, down_after_intervals: $DOWN_AFTER, check_interval: $CHECK_EVERY}
inventory: {max_targets: 0, max_new_targets_per_minute: 0}"
cpu0=$(cpu_seconds "$COLLECTOR_PID"); t0=$(date +%s.%N)
"$WORK/nines-loadgen" fleet -url "$API" -token bench-token -agents "$AGENTS" -series "$SERIES" \
  -interval "$INTERVAL" -duration "$DURATION" -kill-after "$KILL_AFTER" ${LOADGEN_FLAGS:-} > "$WORK/loadgen.out" 2> "$WORK/loadgen.err" &
LOADGEN_PID=$!
PIDS+=("$LOADGEN_PID")
# The killed host (the loadgen's middle agent) is watched from shortly
# before its deadline can pass until it is seen DOWN (or 15 s after the
# loadgen ends), every POLL (0.25 s): the time it was first seen DOWN, less its
# last push, is how long detection took (the collector dates the outage
# back to the first missed push, so its "since" does not tell).
VICTIM="sim-$((AGENTS / 2))"
watch_down() {
  sleep "$(python3 -c "print(max($(secs "$KILL_AFTER") + ($DOWN_AFTER - 1) * $(secs "$INTERVAL") - 5, 0))")"
  local stop=0
  while :; do
    if curl -fsS -H "Authorization: Bearer bench-token" "$API/api/v1/targets?state=down" 2>/dev/null | grep -q "\"name\":\"$VICTIM\""; then
      date +%s.%N > "$WORK/down_seen"; return
    fi
    kill -0 "$LOADGEN_PID" 2>/dev/null || stop=$((stop + 1))
    [ "$stop" -gt 60 ] && return
    sleep "$POLL"
  done
}
watch_down &
WATCH_PID=$!
PIDS+=("$WATCH_PID")
# Steady state: from when every agent has pushed once (plus 5 s for the
# registrations to settle) to the end.
sleep "$(python3 -c "print($(secs "$INTERVAL") + 5)")"
cpuS=$(cpu_seconds "$COLLECTOR_PID"); tS=$(date +%s.%N)
lg_rc=0; wait "$LOADGEN_PID" || lg_rc=$?
cpu1=$(cpu_seconds "$COLLECTOR_PID"); t1=$(date +%s.%N)
wait "$WATCH_PID" || true
echo "load after:  $(uptime)"
cat "$WORK/loadgen.out"
[ -s "$WORK/loadgen.err" ] && sed 's/^/loadgen: /' "$WORK/loadgen.err"
curl -fsS -H "Authorization: Bearer bench-token" "$API/metrics" > "$WORK/metrics"
curl -fsS -H "Authorization: Bearer bench-token" "$API/api/v1/targets" > "$WORK/targets.json"
python3 - "$WORK/loadgen.out" "$WORK/metrics" "$WORK/targets.json" "$lg_rc" "$AGENTS" "$(secs "$INTERVAL")" "$DOWN_AFTER" "$(secs "$CHECK_EVERY")" "$POLL" \
  "$cpu0" "$cpuS" "$cpu1" "$t0" "$tS" "$t1" "$(rss_mb "$COLLECTOR_PID")" "$(peak_rss_mb "$COLLECTOR_PID")" "$(cat "$WORK/down_seen" 2>/dev/null || echo 0)" <<'PY'
import json, re, sys
from datetime import datetime
out, metrics, targets, lg_rc, agents, interval, down_after, check, poll = sys.argv[1:10]
cpu0, cpuS, cpu1, t0, tS, t1, rss, peak, down_seen = map(float, sys.argv[10:19])
agents, interval, down_after, check, poll = int(agents), float(interval), int(down_after), float(check), float(poll)
lg = dict(kv.split("=", 1) for line in open(out) for kv in line.split())
missed = []
def row(name, figure, target, ok=None):
    mark = "" if ok is None else (" (met)" if ok else " (MISSED)")
    if ok is False: missed.append(name)
    print(f"{name:<24} {figure:<44} target {target}{mark}")
steady = (cpu1 - cpuS) / (t1 - tS)
row("collector CPU", f"{steady:.3f} cores (steady, last {t1-tS:.0f} s)", "< 1.2 cores", steady < 1.2)
row("collector CPU, all run", f"{(cpu1-cpu0)/(t1-t0):.3f} cores (registration included)", "reported")
row("collector RSS", f"{rss:.0f} MB now, {peak:.0f} MB peak", "reported")
row("load generator CPU", f"{float(lg['loadgen_cpu_cores']):.3f} cores, {float(lg['loadgen_maxrss_mb']):.0f} MB peak RSS", "reported")
row("push latency", f"p50 {float(lg['p50_ms']):.1f} ms, p99 {float(lg['p99_ms']):.1f} ms, max {float(lg['max_ms']):.0f} ms", "p99 < 100 ms", float(lg['p99_ms']) < 100)
expected = agents / interval
row("pushes/s", f"{float(lg['pushes_per_second']):.1f} sent, {float(lg['due_per_second']):.1f} due ({expected:.1f} = agents/interval)",
    "all due pushes started", int(lg["behind"]) == 0)
print(f"{'':<24} behind {lg['behind']} of {lg['due']} due; start lag p99 {float(lg['lag_p99_ms']):.1f} ms, max {float(lg['lag_max_ms']):.0f} ms")
rejected = sum(float(l.split()[-1]) for l in open(metrics) if l.startswith("nines_ingest_requests_total") and 'code="204"' not in l)
row("rejected pushes", f"{rejected:.0f} by the collector, {lg['failed']} failed at the loadgen", "0", rejected == 0 and lg['failed'] == "0")
ts = json.load(open(targets))["data"]
def when(s):  # RFC 3339 with nanoseconds, which Python's parser does not take
    s = re.sub(r"(\.\d{6})\d+", r"\1", s).replace("Z", "+00:00")
    return datetime.fromisoformat(s)
killed = lg.get("killed")
up = sum(1 for t in ts if t["state"] == "up")
others = [t for t in ts if t["name"] != killed]
row("hosts UP", f"{up} of {len(others)} live hosts ({len(ts)} targets)", "all live hosts", up == len(others) == agents - (1 if killed else 0))
if killed:
    v = next((t for t in ts if t["name"] == killed), None)
    deadline = down_after * interval + check + poll
    target = f"<= {deadline:.2f} s ({down_after} x {interval:g} s + {check:g} s tick + {poll:g} s poll)"
    if lg["last_push"] == "never":
        row("killed host", f"{killed} never pushed", target, False)
    elif down_seen == 0:
        row("killed host", f"{killed} not seen DOWN (now {v['state'] if v else 'unknown'})", target, False)
    else:
        took = down_seen - when(lg["last_push"]).timestamp()
        row("killed host", f"{killed} seen DOWN {took:.1f} s after its last push", target, took <= deadline)
print("MISSED: " + ", ".join(missed) if missed else "all targets met")
sys.exit(1 if missed else 0)
PY
