#!/usr/bin/env bash
# One device, side by side (issue 5): a real snmpd with about 120
# interfaces (veth pairs in a network namespace this script makes, reached
# over a private veth link) polled by nines-collector, walked by
# snmpbulkwalk and scraped by snmp_exporter, in one run. Prints one poll's
# wall time against snmpbulkwalk of the same tables, CPU per poll against
# snmp_exporter's per scrape, and polls per second against scrapes per
# second. Needs root (ip netns).
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/snmp-poll.sh needs root (it makes a network namespace and interfaces)" >&2; exit 1; }
need snmpd snmpd
need snmpbulkwalk snmp
SECONDS_RUN=${SECONDS_RUN:-30}
NS=nines-snmpbench
HOST=10.253.0.1 DEV=10.253.0.2
cleanup_ns() { ip netns del "$NS" 2>/dev/null || true; ip link del nsb-h 2>/dev/null || true; }
cleanup_ns
trap 'cleanup; cleanup_ns' EXIT
ip netns add "$NS"
ip link add nsb-h type veth peer name nsb-d
ip link set nsb-d netns "$NS"
ip addr add "$HOST/30" dev nsb-h && ip link set nsb-h up
ip netns exec "$NS" ip addr add "$DEV/30" dev nsb-d
ip netns exec "$NS" ip link set nsb-d up
ip netns exec "$NS" ip link set lo up
for i in $(seq 1 59); do ip netns exec "$NS" ip link add "va$i" type veth peer name "vb$i"; done
echo "rocommunity public $HOST" > "$WORK/snmpd.conf"
ip netns exec "$NS" snmpd -f -C -c "$WORK/snmpd.conf" -Lf "$WORK/snmpd.log" -p "$WORK/snmpd.pid" "udp:$DEV:161" &
PIDS+=("$!")
for _ in $(seq 1 50); do MIBS= snmpget -v2c -c public -t 1 -r 0 "$DEV" 1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && break; sleep 0.2; done
ifaces=$(MIBS= snmpbulkwalk -v2c -c public -On "$DEV" 1.3.6.1.2.1.2.2.1.1 | wc -l)
echo "snmpd in $NS with $ifaces interfaces"

# snmpbulkwalk of ifTable and ifXTable, 25 repetitions as Nines uses.
t0=$(date +%s.%N)
for _ in $(seq 1 50); do
  MIBS= snmpbulkwalk -v2c -c public -Cr25 -On "$DEV" 1.3.6.1.2.1.2.2.1 >/dev/null
  MIBS= snmpbulkwalk -v2c -c public -Cr25 -On "$DEV" 1.3.6.1.2.1.31.1.1.1 >/dev/null
done
walk_ms=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {printf "%.2f", (t1-t0)/50*1000}')

# Nines: one device polled every second (system and if_mib).
build_nines
PORT=$(free_port)
start_collector "$PORT" "devices:
  - {name: bench-switch, address: \"$DEV\", community: public, interval: 1s, timeout: 500ms, modules: [system, if_mib]}"
sleep 3
metric() { curl -fsS -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
p0=$(metric 'nines_snmp_polls_total{result="ok"}'); s0=$(metric nines_snmp_poll_latency_seconds_sum); c0=$(cpu_seconds "$COLLECTOR_PID")
sleep "$SECONDS_RUN"
p1=$(metric 'nines_snmp_polls_total{result="ok"}'); s1=$(metric nines_snmp_poll_latency_seconds_sum); c1=$(cpu_seconds "$COLLECTOR_PID")
echo "Nines: $((${p1%.*} - ${p0%.*})) polls in ${SECONDS_RUN} s, $(metric 'nines_snmp_polls_total{result="failed"}') failed"
poll_ms=$(awk -v s0="$s0" -v s1="$s1" -v p0="$p0" -v p1="$p1" 'BEGIN {printf "%.2f", (s1-s0)/(p1-p0)*1000}')
kill "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true

# CPU per poll under load, as snmp_exporter's is measured: the same
# device entered $COPIES times (each polled every second), so the
# collector's fixed costs (rule evaluation, SLA bookkeeping) are spread
# over many polls as they are in a real estate.
COPIES=${COPIES:-20}
devs="devices:"
for i in $(seq 1 "$COPIES"); do
  devs="$devs
  - {name: bench-switch-$i, address: \"$DEV\", community: public, interval: 1s, timeout: 500ms, modules: [system, if_mib]}"
done
PORT=$(free_port)
start_collector "$PORT" "$devs"
sleep 3
p0=$(metric 'nines_snmp_polls_total{result="ok"}'); c0=$(cpu_seconds "$COLLECTOR_PID")
sleep "$SECONDS_RUN"
p1=$(metric 'nines_snmp_polls_total{result="ok"}'); c1=$(cpu_seconds "$COLLECTOR_PID")
echo "Nines under load: $((${p1%.*} - ${p0%.*})) polls in ${SECONDS_RUN} s, $(metric 'nines_snmp_polls_total{result="failed"}') failed, $(metric 'nines_snmp_polls_total{result="skipped"}') skipped, CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b-a}') s"
nines_cpu_per_poll=$(awk -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" 'BEGIN {printf "%.6f", (c1-c0)/(p1-p0)}')
kill "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true

# snmp_exporter: scrapes back to back.
EXPORTER=$(command -v prometheus-snmp-exporter || true)
[ -n "$EXPORTER" ] || { ./scripts/test-deps.sh prometheus-snmp-exporter; EXPORTER=$(command -v prometheus-snmp-exporter); }
SEPORT=$(free_port)
"$EXPORTER" --config.file="$(dirname "$0")/snmp/snmp_exporter.yml" --web.listen-address="127.0.0.1:$SEPORT" --log.level=warn > "$WORK/snmp_exporter.log" 2>&1 &
SE_PID=$!
PIDS+=("$SE_PID")
wait_http "http://127.0.0.1:$SEPORT/metrics"
"$WORK/nines-loadgen" scrape -url "http://127.0.0.1:$SEPORT/snmp?module=nines_if_mib&target=$DEV" -n 5 >/dev/null
ec0=$(cpu_seconds "$SE_PID"); et0=$(date +%s.%N)
out=$("$WORK/nines-loadgen" scrape -url "http://127.0.0.1:$SEPORT/snmp?module=nines_if_mib&target=$DEV" -n 200)
ec1=$(cpu_seconds "$SE_PID"); et1=$(date +%s.%N)
echo "$out" | tail -2
awk -v walk="$walk_ms" -v poll="$poll_ms" -v ncpu="$nines_cpu_per_poll" -v ec0="$ec0" -v ec1="$ec1" -v et0="$et0" -v et1="$et1" 'BEGIN {
  ecpu = (ec1-ec0)/200; erate = 200/(et1-et0); nrate = 1000/poll
  printf "one poll: Nines %.2f ms, snmpbulkwalk of the same tables %.2f ms: ratio %.2f (target <= 1.0)\n", poll, walk, poll/walk
  printf "CPU per poll: Nines %.2f ms, snmp_exporter per scrape %.2f ms: ratio %.2f (target <= 0.25)\n", ncpu*1000, ecpu*1000, ncpu/ecpu
  printf "rate of one device: Nines %.1f polls/s, snmp_exporter %.1f scrapes/s: ratio %.2f (target >= 2)\n", nrate, erate, nrate/erate
}'
