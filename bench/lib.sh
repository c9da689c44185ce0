# Shared helpers for the side-by-side benchmarks (sourced).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /tmp/nines-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_http() { # url
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "not answering: $1" >&2
  for f in "$WORK"/*.log "$WORK"/*/*.log; do [ -f "$f" ] && { echo "---- $f" >&2; tail -20 "$f" >&2; }; done
  return 1
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat"; }

need() { # program package
  command -v "$1" >/dev/null 2>&1 || { echo "$1 missing: apt-get install $2" >&2; exit 1; }
}

# The agent as `make build` builds it (AGENT_TAGS there).
build_nines() {
  (cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/nines-collector" ./collector/cmd/nines-collector \
    && CGO_ENABLED=0 go build -tags "${AGENT_TAGS-nethttpomithttp2}" -o "$WORK/nines-agent" ./agent/cmd/nines-agent \
    && CGO_ENABLED=0 go build -o "$WORK/nines-loadgen" ./collector/cmd/nines-loadgen)
}

start_collector() { # port, extra yaml
  local port=$1
  (umask 077; printf %s bench-token > "$WORK/token")
  cat > "$WORK/collector.yml" <<YAML
web: {listen_address: "127.0.0.1:$port"}
storage: {path: nines.db}
auth:
  tokens:
    - {name: bench, role: admin, token_file: token}
${2:-}
YAML
  env ${COLLECTOR_ENV:-} "$WORK/nines-collector" --config "$WORK/collector.yml" --log.level warn > "$WORK/collector.log" 2>&1 &
  COLLECTOR_PID=$!
  PIDS+=("$COLLECTOR_PID")
  wait_http "http://127.0.0.1:$port/-/ready"
}
