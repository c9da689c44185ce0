#!/usr/bin/env bash
# The HA pair under a fleet (issue 19 item 4): two nines-collectors on one
# real PostgreSQL, AGENTS simulated agents (default 10,000; SERIES series,
# 60, every INTERVAL, 15s) pushing to both (one nines-loadgen per
# collector), DEVICES SNMP devices (default 1,000) answered by one real
# net-snmp snmpd listening on DEVICES loopback addresses 127.1.x.y, for
# DURATION (default 10m, at least 3m), with a kill -9 of the leader in the
# middle (restarted 20 s later, as an operator would, to follow).
#
# Six real nines-agents (push.mode all, to both) are killed during the
# run, two at 15 % of it, two 15 s before the leader's kill, two 15 s
# after it; the HostDown rule opens an incident for each. A webhook
# receiver counts every notification by incident and action.
#
# Prints CPU (cores) and RSS of each collector and of PostgreSQL (the
# postmaster and its backends: CPU summed, memory as PSS, so shared
# buffers count once), what each loadgen delivered of the pushes due and
# their p50/p99 latency, the rule evaluation lag (its maximum over the
# run, from /metrics sampled every 5 s, and its value at the end), SNMP
# polls, the devices each collector owned over time (nines_shard_*), the
# split of the devices before the kill and after the restart (from
# nines_snmp_device_polls_total: polled by a, by b, by both, by neither),
# who polled the leader's devices after its kill and the longest gap
# between two polls of one device, the fail-over time (kill -9 -> the
# other answers 200 on /-/leader), and the incident check: each killed agent's host has
# exactly one incident and one "opened" notification, no other incident
# was opened and no notification was sent twice. Exits 1 when the check
# fails. Needs root (PostgreSQL runs as the postgres user).
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/pair.sh needs root (PostgreSQL runs as the postgres user)" >&2; exit 1; }
need snmpd snmpd
need psql postgresql-client
need python3 python3
AGENTS=${AGENTS:-10000}
SERIES=${SERIES:-60}
INTERVAL=${INTERVAL:-15s}
DEVICES=${DEVICES:-1000}
DEVICE_INTERVAL=${DEVICE_INTERVAL:-1m}
DURATION=${DURATION:-10m}
dur_s() { case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
D=$(dur_s "$DURATION")
[ "$D" -ge 180 ] || { echo "DURATION must be at least 3m (incidents take about a minute to open)" >&2; exit 1; }
[ "$DEVICES" -le 65000 ] || { echo "DEVICES at most 65000 (127.1.x.y)" >&2; exit 1; }
build_nines
T0=$(date +%s)
log() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*"; }
at() { # second of the run: sleep until then
  local wait=$(($1 - ($(date +%s) - T0)))
  [ "$wait" -gt 0 ] && sleep "$wait"
  return 0
}

# PostgreSQL: initdb into a directory of the postgres user, a loopback
# port, trust authentication (loopback only).
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/postgres" ] || { echo "PostgreSQL server binaries missing: apt-get install postgresql" >&2; exit 1; }
PGDIR=$(mktemp -d /tmp/nines-pairpg.XXXXXX)
chown postgres: "$PGDIR"
trap 'cleanup; rm -rf "$PGDIR"' EXIT
asPG() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
asPG "$PGBIN/initdb" -D "$PGDIR/data" -U nines -A trust -E UTF8 --locale=C --no-sync > "$WORK/initdb.log"
PGPORT=$(free_port)
setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" -D "$PGDIR/data" -p "$PGPORT" -k "$PGDIR" -c listen_addresses=127.0.0.1 -c max_connections=200 > "$WORK/postgres.log" 2>&1 &
PG_PID=$!
PIDS+=("$PG_PID")
for _ in $(seq 1 100); do psql -h 127.0.0.1 -p "$PGPORT" -U nines -d postgres -qAtc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
psql -h 127.0.0.1 -p "$PGPORT" -U nines -d postgres -qc 'CREATE DATABASE nines' >/dev/null
DSN="host=127.0.0.1 port=$PGPORT user=nines dbname=nines sslmode=disable"
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
pg_pids() { echo "$PG_PID"; pgrep -P "$PG_PID" || true; }
pg_cpu() { # CPU seconds of the postmaster, its live backends and the ones it has reaped
  local hz; hz=$(getconf CLK_TCK)
  { awk '{print $14+$15+$16+$17}' "/proc/$PG_PID/stat"
    for p in $(pgrep -P "$PG_PID"); do awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null; done
  } | awk -v hz="$hz" '{s+=$1} END {printf "%.2f", s/hz}'
}
pg_pss_mb() { for p in $(pg_pids); do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{s+=$1} END {printf "%.1f", s/1024}'; }

# snmpd: one process, one UDP socket per device address.
SNMPPORT=$(free_port)
addrs=() devs=""
for i in $(seq 0 $((DEVICES - 1))); do
  a="127.1.$((i / 250)).$((i % 250 + 1))"
  addrs+=("udp:$a:$SNMPPORT")
  devs="$devs
  - {name: dev-$i, address: \"$a:$SNMPPORT\", community: public, interval: $DEVICE_INTERVAL, timeout: 5s, retries: 1, modules: [system, if_mib]}"
done
echo "rocommunity public 127.0.0.0/8" > "$WORK/snmpd.conf"
if [ "$DEVICES" -gt 0 ]; then
  ulimit -n $((DEVICES + 1024))
  MIBS= snmpd -f -C -I -smux -c "$WORK/snmpd.conf" -Lf "$WORK/snmpd.log" -p "$WORK/snmpd.pid" "$(IFS=,; echo "${addrs[*]}")" &
  SNMPD_PID=$!
  PIDS+=("$SNMPD_PID")
  for _ in $(seq 1 100); do MIBS= snmpget -v2c -c public -t 1 -r 0 "127.1.0.1:$SNMPPORT" 1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && break; sleep 0.2; done
  log "snmpd answering on $DEVICES addresses, port $SNMPPORT"
else
  devs=" []"
fi

# The webhook receiver: counts notifications by incident and action, and
# writes them (with each incident's target) to hooks.json on SIGTERM.
cat > "$WORK/hook.py" <<'PY'
import http.server, json, signal, sys, threading, time
seen, first, targets, lock = {}, {}, {}, threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        p = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        inc, act = p["incident"], p["event"]["action"]
        with lock:
            k = "%d/%s" % (inc["id"], act)
            seen[k] = seen.get(k, 0) + 1
            first.setdefault(k, time.time())
            targets[inc["id"]] = inc.get("target") or inc.get("labels", {}).get("target", "")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
def dump(*_):
    with lock, open(sys.argv[2], "w") as f:
        json.dump({"seen": seen, "first": first, "targets": {str(k): v for k, v in targets.items()}}, f)
    sys.exit(0)
signal.signal(signal.SIGTERM, dump)
srv.serve_forever()
PY
HOOKPORT=$(free_port)
python3 "$WORK/hook.py" "$HOOKPORT" "$WORK/hooks.json" &
HOOK_PID=$!
PIDS+=("$HOOK_PID")

# The pair: one configuration each (own listen address), one DSN.
(umask 077; printf %s bench-token > "$WORK/token"; printf '%s\n' "$DSN" > "$WORK/pg.dsn")
cat > "$WORK/rules.yml" <<'YAML'
groups:
  - name: hosts
    interval: 15s
    rules:
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {priority: P3}
        annotations: {summary: "Host {{ $labels.target }} is down"}
      - alert: DeviceDown
        expr: nines_target_state{kind="device",state="down"} == 1
        labels: {priority: P3}
        annotations: {summary: "Device {{ $labels.target }} is down"}
  - name: fleet
    interval: 15s
    rules:
      # Over every simulated series of one field: 10,000 at full size;
      # never true (the values are below 100), so it only costs.
      - alert: SimHot
        expr: node_sim_f0 > 1000
        for: 5m
        labels: {priority: P4}
YAML
PORT_A=$(free_port) PORT_B=$(free_port)
for m in a b; do
  port=PORT_${m^^}
  cat > "$WORK/collector-$m.yml" <<YAML
web: {listen_address: "127.0.0.1:${!port}", metrics_public: true}
storage: {driver: postgres, dsn_file: pg.dsn}
auth:
  tokens:
    - {name: bench, role: admin, token_file: token}
availability: {default_push_interval: $INTERVAL}
inventory: {max_targets: 0, max_new_targets_per_minute: 0}
rules: {files: [rules.yml]}
receivers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$HOOKPORT/", secret: bench-hook-secret}
devices:$devs
YAML
done
declare -A PID
start_member() { # a|b
  local port=PORT_${1^^}
  env ${COLLECTOR_ENV:-} "$WORK/nines-collector" --config "$WORK/collector-$1.yml" --log.level warn >> "$WORK/collector-$1.log" 2>&1 &
  PID[$1]=$!
  PIDS+=("${PID[$1]}")
  wait_http "http://127.0.0.1:${!port}/-/healthy"
}
leads() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/-/leader")" = 200 ]; }
metric() { # port name: the sum of the series named name (any labels)
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s+=$2; n++} END {if (n) printf "%.6f", s; else print "NaN"}'
}
start_member a
for _ in $(seq 1 150); do leads "$PORT_A" && break; sleep 0.1; done
leads "$PORT_A" || { echo "collector a does not lead" >&2; exit 1; }
start_member b
echo "${PID[b]}" > "$WORK/pid-b"
log "collector a leads (127.0.0.1:$PORT_A), b follows (127.0.0.1:$PORT_B)"

# The agents to kill: real nines-agents pushing to both.
KILLED=()
for i in 1 2 3 4 5 6; do
  d="$WORK/agent-$i"; mkdir -p "$d"
  (umask 077; printf 'bench-token\n' > "$d/agent.token")
  cat > "$d/agent.yml" <<YAML
interval: $INTERVAL
hostname: pair-victim-$i
web: {listen_address: "127.0.0.1:$(free_port)"}
push:
  urls: ["http://127.0.0.1:$PORT_A", "http://127.0.0.1:$PORT_B"]
  mode: all
  token_file: agent.token
  spool_dir: spool
YAML
  "$WORK/nines-agent" --config "$d/agent.yml" --log.level warn > "$d/agent.log" 2>&1 &
  PID[agent$i]=$!
  PIDS+=("${PID[agent$i]}")
done
kill_agent() {
  kill -9 "${PID[agent$1]}"; wait "${PID[agent$1]}" 2>/dev/null || true
  KILLED+=("pair-victim-$1"); echo "pair-victim-$1 $(date +%s.%N)" >> "$WORK/killed"
  log "kill -9 agent pair-victim-$1"
}

# The fleet: one loadgen per collector, the same simulated hosts.
for m in a b; do
  port=PORT_${m^^}
  "$WORK/nines-loadgen" fleet -url "http://127.0.0.1:${!port}" -token bench-token -agents "$AGENTS" -series "$SERIES" \
    -interval "$INTERVAL" -duration "${D}s" > "$WORK/loadgen-$m.out" 2>&1 &
  PID[loadgen$m]=$!
  PIDS+=("${PID[loadgen$m]}")
done
log "fleet: $AGENTS agents x $SERIES series every $INTERVAL to each collector, for ${D}s"
T0=$(date +%s)

# Resource sampling every 10 s: peak RSS of each collector, PSS of PostgreSQL.
(
  while sleep 10; do
    printf '%s %s %s %s\n' "$(date +%s)" "$(rss_mb "$(cat "$WORK/pid-a" 2>/dev/null || echo 0)" 2>/dev/null || echo 0)" \
      "$(rss_mb "${PID[b]}" 2>/dev/null || echo 0)" "$(pg_pss_mb)"
  done
) > "$WORK/samples" &
SAMPLER=$!
PIDS+=("$SAMPLER")
echo "${PID[a]}" > "$WORK/pid-a"
# /metrics of each collector every 5 s: the rule groups' lag (each value
# stands until the group's next evaluation, 15 s on, so every one is
# seen), the shard's members and devices owned, and the polls of each
# device, from which the split, devices polled by both and the gaps
# between a device's polls are read. Lines: time, collector, its pid, series.
(
  while :; do
    t=$(date +%s.%N)
    for m in a b; do
      port=PORT_${m^^}
      curl -fsS -m 4 "http://127.0.0.1:${!port}/metrics" 2>/dev/null |
        awk -v t="$t" -v m="$m" -v p="$(cat "$WORK/pid-$m" 2>/dev/null || echo 0)" \
          '/^nines_(snmp_device_polls_total|rule_group_last_lag_seconds|shard_owned|shard_members|snmp_polls_total)/ {print t, m, p, $0}' || true
    done
    sleep 5
  done
) > "$WORK/msamples" &
MSAMPLER=$!
PIDS+=("$MSAMPLER")
cpuA0=$(cpu_seconds "${PID[a]}") cpuB0=$(cpu_seconds "${PID[b]}") cpuPG0=$(pg_cpu)

at $((D * 15 / 100)); kill_agent 1; kill_agent 2
KILL_AT=$((D / 2))
at $((KILL_AT - 15)); kill_agent 3; kill_agent 4

# kill -9 of the leader; b must answer 200 on /-/leader.
at "$KILL_AT"
cpuA1=$(cpu_seconds "${PID[a]}"); rssA1=$(rss_mb "${PID[a]}"); tA1=$(date +%s.%N)
epoch_before=$(metric "$PORT_A" nines_leader_epoch)
kill -9 "${PID[a]}"
k0=$(date +%s.%N)
wait "${PID[a]}" 2>/dev/null || true
log "kill -9 of the leader a (epoch ${epoch_before%.*})"
until leads "$PORT_B"; do
  sleep 0.05
  awk -v k0="$k0" -v now="$(date +%s.%N)" 'BEGIN {exit !(now-k0 > 60)}' && { echo "b does not lead 60 s after a's kill" >&2; exit 1; }
done
FAILOVER=$(awk -v k0="$k0" -v now="$(date +%s.%N)" 'BEGIN {printf "%.2f", now-k0}')
log "b leads after ${FAILOVER} s (epoch $(metric "$PORT_B" nines_leader_epoch | cut -d. -f1))"
at $((KILL_AT + 15)); kill_agent 5; kill_agent 6
at $((KILL_AT + 20))
start_member a
echo "${PID[a]}" > "$WORK/pid-a"
cpuA2=$(cpu_seconds "${PID[a]}"); tA2=$(date +%s.%N)
log "a restarted: $(leads "$PORT_A" && echo leads || echo follows)"

# The check, just before the fleet stops (its hosts would go DOWN then).
at $((D - 5))
cpuA3=$(cpu_seconds "${PID[a]}") cpuB3=$(cpu_seconds "${PID[b]}") cpuPG3=$(pg_cpu); tEnd=$(date +%s)
rssA3=$(rss_mb "${PID[a]}") rssB3=$(rss_mb "${PID[b]}") pgPSS=$(pg_pss_mb)
for m in a b; do
  port=PORT_${m^^}
  curl -fsS "http://127.0.0.1:${!port}/metrics" > "$WORK/metrics-$m.txt"
done
curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT_B/api/v1/incidents?limit=500" > "$WORK/incidents.json"
up=$(curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT_B/api/v1/targets?state=up" | grep -o '"name"' | wc -l)
wait "${PID[loadgena]}" || true
wait "${PID[loadgenb]}" || true
kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null || true
kill "$SAMPLER" "$MSAMPLER" 2>/dev/null || true

# What each loadgen delivered of the load due (the loadgen counts a push
# due by its schedule, started, and answered 2xx: sent).
for m in a b; do
  echo "loadgen to $m: $(cat "$WORK/loadgen-$m.out")"
  python3 - "$WORK/loadgen-$m.out" "$m" <<'PY'
import sys
lg = {}
for line in open(sys.argv[1]):
    for kv in line.split():
        if "=" in kv:
            k, v = kv.split("=", 1); lg[k] = v
if "due" not in lg:
    print("loadgen to %s: no report" % sys.argv[2]); sys.exit(0)
due, sent = int(lg["due"]), int(lg["sent"])
print("loadgen to %s: delivered %d of %d due pushes (%.1f %%), %s failed, %s never started; %.1f pushes/s (%.1f due); "
      "p50 %.2f ms, p99 %.2f ms, max %.0f ms; start lag p99 %.1f ms; loadgen CPU %.3f cores" % (
    sys.argv[2], sent, due, 100.0 * sent / max(due, 1), lg["failed"], lg["behind"], float(lg["pushes_per_second"]),
    float(lg["due_per_second"]), float(lg["p50_ms"]), float(lg["p99_ms"]), float(lg["max_ms"]), float(lg["lag_p99_ms"]),
    float(lg["loadgen_cpu_cores"])))
PY
done
log "load: $(uptime)"
from_metrics() { # file name: sum of the series named name
  awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s+=$2; n++} END {if (n) printf "%.6f", s; else print "NaN"}' "$1"
}
for m in a b; do
  f="$WORK/metrics-$m.txt"
  printf 'collector %s at the end: rule evaluation lag %.3f s, group duration %.3f s (worst group, last evaluation), missed iterations %s; SNMP polls ok %s failed %s skipped %s; rejected pushes %s\n' "$m" \
    "$(awk '/^nines_rule_group_last_lag_seconds/ {if ($2>m) m=$2} END {print m+0}' "$f")" \
    "$(awk '/^nines_rule_group_last_duration_seconds/ {if ($2>m) m=$2} END {print m+0}' "$f")" \
    "$(from_metrics "$f" nines_rule_group_iterations_missed_total)" \
    "$(awk '$1 == "nines_snmp_polls_total{result=\"ok\"}" {print $2}' "$f")" \
    "$(awk '$1 == "nines_snmp_polls_total{result=\"failed\"}" {print $2}' "$f")" \
    "$(awk '$1 == "nines_snmp_polls_total{result=\"skipped\"}" {print $2}' "$f")" \
    "$(awk '/^nines_ingest_requests_total/ && $0 !~ /code="204"/ {s+=$2} END {print s+0}' "$f")"
done
peak() { awk -v c="$1" '{if ($c>m) m=$c} END {printf "%.1f", m}' "$WORK/samples"; }
awk -v a0="$cpuA0" -v a1="$cpuA1" -v ta0="$T0" -v ta1="$tA1" -v a2="$cpuA2" -v a3="$cpuA3" -v ta2="$tA2" \
  -v b0="$cpuB0" -v b3="$cpuB3" -v p0="$cpuPG0" -v p3="$cpuPG3" -v t1="$tEnd" \
  -v ra1="$rssA1" -v ra3="$rssA3" -v rb="$rssB3" -v pk="$(peak 3)" -v pss="$pgPSS" -v ppk="$(peak 4)" 'BEGIN {
  printf "collector a: CPU %.3f cores leading (first %.0f s), %.3f cores following (after its restart); RSS %s MB at its kill, %s MB at the end\n", (a1-a0)/(ta1-ta0), ta1-ta0, (a3-a2)/(t1-ta2), ra1, ra3
  printf "collector b: CPU %.3f cores over the run; RSS %s MB at the end, %s MB peak (10 s samples)\n", (b3-b0)/(t1-ta0), rb, pk
  printf "PostgreSQL: CPU %.3f cores; PSS %s MB at the end, %s MB peak\n", (p3-p0)/(t1-ta0), pss, ppk
}'
echo "fail-over: kill -9 of the leader -> the follower leads after $FAILOVER s"
echo "hosts UP at b at the end: $up"

# From the 5 s samples of /metrics: the rule lag's maximum, the shard's
# members and devices owned over time, the split of the devices in the
# steady state before the kill and after a's restart, who polled a's
# devices after its kill, and the longest gap between two polls of one
# device (at the samples' resolution, 5 s).
python3 - "$WORK/msamples" "$T0" "$k0" "$tA2" "$DEVICES" "$(dur_s "$DEVICE_INTERVAL")" <<'PY'
import re, sys
from collections import defaultdict
path, T0, k0, tA2, ndev, ival = sys.argv[1], *map(float, sys.argv[2:5]), int(sys.argv[5]), float(sys.argv[6])
rows = []   # (t, who, series, value); who: a (before its kill), a' (restarted), b
pid_a = None
for line in open(path):
    f = line.split()
    if len(f) != 5:
        continue
    t, m, pid, series, v = float(f[0]), f[1], f[2], f[3], f[4]
    if m == "a":
        pid_a = pid_a or pid
        m = "a" if pid == pid_a else "a'"
    rows.append((t, m, series, float(v)))
rel = lambda t: t - T0
snap = defaultdict(dict)   # (who, t) -> {series: value}
for t, m, series, v in rows:
    snap[(m, t)][series] = v
times = defaultdict(list)
for m, t in snap:
    times[m].append(t)
for m in times:
    times[m].sort()
dev_re = re.compile(r'^nines_snmp_device_polls_total\{device="([^"]+)"\}$')
def polls(m, t):
    return {dev_re.match(s).group(1): v for s, v in snap[(m, t)].items() if dev_re.match(s)}
whos = [m for m in ("a", "a'", "b") if m in times]

# Rule lag: the maximum over the run, per collector, with its group and time.
for m in whos:
    best = (0.0, "", 0.0)
    for t in times[m]:
        for s, v in snap[(m, t)].items():
            if s.startswith("nines_rule_group_last_lag_seconds") and v > best[0]:
                best = (v, s.split('"')[1], t)
    print("collector %s: rule evaluation lag max %.3f s over the run (group %s, at %+.0f s; %d samples, every 5 s)" % (
        m, best[0], best[1] or "-", rel(best[2]), len(times[m])))

# Members and devices owned: each change, with when.
for m in whos:
    changes, last = [], None
    for t in times[m]:
        cur = (snap[(m, t)].get("nines_shard_members"), snap[(m, t)].get('nines_shard_owned{kind="device"}'))
        if cur != last:
            changes.append("%+.0f s: %s members, %s devices" % (rel(t), *(("%g" % x) if x is not None else "?" for x in cur)))
            last = cur
    print("collector %s owned: %s" % (m, "; ".join(changes)))

# Which devices each collector polled in a window, and how many both did.
def window(label, ms, lo, hi):
    sets = {}
    for m in ms:
        ts = [t for t in times.get(m, []) if lo <= t <= hi]
        if len(ts) < 2:
            print("%s: too few samples of %s" % (label, m)); return
        p0, p1 = polls(m, ts[0]), polls(m, ts[-1])
        sets[m] = {d for d, v in p1.items() if v > p0.get(d, 0)}
        span = ts[-1] - ts[0]
    both = set.intersection(*sets.values())
    none = ndev - len(set.union(*sets.values()))
    print("%s (%+.0f s to %+.0f s, %.0f s = %.1f device intervals): %s; polled by both %d; by neither %d%s" % (
        label, rel(lo), rel(hi), span, span / ival, ", ".join("%s polled %d" % (m, len(sets[m])) for m in ms), len(both), none,
        "" if span >= ival else " (window shorter than one interval)"))
    return sets
pre = window("steady, before the kill", ["a", "b"], T0 + 60, k0 - 1)
window("steady, after a's restart", ["a'", "b"], tA2 + 60, max(times["b"]))

# Poll events: a sample where a device's counter at one collector grew.
events = defaultdict(list)   # device -> [(t, who)]
for m in whos:
    prev = {}
    for t in times[m]:
        cur = polls(m, t)
        for d, v in cur.items():
            if v > prev.get(d, 0):
                events[d].append((t, m))
        prev = cur
if pre:
    took = defaultdict(int)
    worst = 0.0
    for d in pre["a"]:
        before = [t for t, m in events[d] if t < k0]
        after = sorted((t, m) for t, m in events[d] if t >= k0)
        if after:
            took[after[0][1]] += 1
            if before:
                worst = max(worst, after[0][0] - before[-1])
        else:
            took["nobody"] += 1
    print("a's %d devices after its kill: first polled by %s; longest gap across the kill %.0f s (device interval %.0f s, samples every 5 s)" % (
        len(pre["a"]), ", ".join("%s %d" % kv for kv in sorted(took.items())), worst, ival))
gap, gapdev = 0.0, ""
for d, ev in events.items():
    ts = sorted(t for t, m in ev if t >= T0 + 60)
    for x, y in zip(ts, ts[1:]):
        if y - x > gap:
            gap, gapdev = y - x, d
print("longest gap between two polls of one device from +60 s: %.0f s (%s; device interval %.0f s, samples every 5 s); devices polled from +60 s: %d of %d" % (
    gap, gapdev or "-", ival, sum(1 for ev in events.values() if any(t >= T0 + 60 for t, _ in ev)), ndev))
PY

# Incidents and notifications.
python3 - "$WORK/incidents.json" "$WORK/hooks.json" "$WORK/killed" "$k0" <<'PY'
import json, sys
incs = json.load(open(sys.argv[1]))["data"]
hooks = json.load(open(sys.argv[2]))
killed_at = dict((l.split()[0], float(l.split()[1])) for l in open(sys.argv[3]))
killed = list(killed_at)
leader_kill = float(sys.argv[4])
bad = []
by_target = {}
for i in incs:
    by_target.setdefault(i.get("target") or i["labels"].get("target", ""), []).append(i)
for h in killed:
    l = by_target.get(h, [])
    if len(l) != 1:
        bad.append("%s: %d incidents, want 1" % (h, len(l)))
        continue
    k = "%d/opened" % l[0]["id"]
    n = hooks["seen"].get(k, 0)
    if n != 1:
        bad.append("%s: incident %d told opened %d times, want 1" % (h, l[0]["id"], n))
    else:
        t = hooks["first"][k]
        print("%s: killed %+.0f s from the leader's kill, incident %d opened and told %.1f s after its agent's kill, by %s" % (
            h, killed_at[h] - leader_kill, l[0]["id"], t - killed_at[h], "a" if t < leader_kill else "b"))
others = [i for t, l in by_target.items() if t not in killed for i in l]
if others:
    bad.append("%d incidents for hosts not killed: %s" % (len(others), ", ".join(sorted({i["title"] for i in others}))[:300]))
dups = {k: n for k, n in hooks["seen"].items() if n != 1}
if dups:
    bad.append("notifications told more than once: %s" % dups)
print("incidents: %d for %d killed agents; notifications %d (%s); %s" % (
    len(incs), len(killed), sum(hooks["seen"].values()), ", ".join(sorted(hooks["seen"])),
    "none lost, none duplicated" if not bad else "WRONG: " + "; ".join(bad)))
sys.exit(1 if bad else 0)
PY
