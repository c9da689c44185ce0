#!/usr/bin/env bash
# make run: a collector with its embedded store under ./data, the default
# rules, and a local agent reporting to it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-data}
COLLECTOR_ADDR=${COLLECTOR_ADDR:-127.0.0.1:9990}
AGENT_ADDR=${AGENT_ADDR:-127.0.0.1:9991}
mkdir -p "$DATA"
chmod 700 "$DATA"

# Tokens are generated once and kept in ./data (mode 600).
for name in agent admin viewer; do
  f="$DATA/$name.token"
  if [ ! -s "$f" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$f")
  fi
done

cat > "$DATA/collector.yml" <<YAML
# Written by scripts/run.sh for 'make run'; see deploy/examples/collector.yml.
web:
  listen_address: "$COLLECTOR_ADDR"
storage:
  path: nines.db
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: admin, role: admin, token_file: admin.token}
    - {name: viewer, role: viewer, token_file: viewer.token}
availability:
  default_push_interval: 5s
rules:
  files: [../deploy/examples/rules.yml, ../deploy/examples/nines-rules.yml]
checks:
  - name: collector-health
    type: http
    target: http://$COLLECTOR_ADDR/-/healthy
    interval: 10s
    labels: {site: local}
  - name: agent-metrics
    type: tcp
    target: $AGENT_ADDR
    interval: 10s
    labels: {site: local}
services:
  - name: Monitoring
    group: it
    description: Nines itself on this machine
    components:
      selector: {site: local}
YAML

cat > "$DATA/agent.yml" <<YAML
# Written by scripts/run.sh for 'make run'; see deploy/examples/agent.yml.
interval: 5s
labels: {site: local}
web:
  listen_address: "$AGENT_ADDR"
push:
  urls: ["http://$COLLECTOR_ADDR"]
  token_file: agent.token
  spool_dir: agent-spool
YAML

# Own sessions, so Ctrl-C reaches only this script, which then stops the
# agent first (it says goodbye) and the collector after it.
setsid ./bin/nines-collector --config "$DATA/collector.yml" &
collector=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$COLLECTOR_ADDR/-/ready" >/dev/null 2>&1 && break
  kill -0 "$collector" 2>/dev/null || { echo "nines-collector did not start" >&2; exit 1; }
  sleep 0.1
done
setsid ./bin/nines-agent --config "$DATA/agent.yml" &
agent=$!

stop() {
  kill -TERM "$agent" 2>/dev/null || true
  wait "$agent" 2>/dev/null || true
  kill -TERM "$collector" 2>/dev/null || true
  wait "$collector" 2>/dev/null || true
}
trap stop INT TERM EXIT

cat <<MSG

Nines is running (Ctrl-C stops both).
  NOC wall:           http://$COLLECTOR_ADDR/ui/wall?token=\$(cat $DATA/viewer.token)
                      (or log in at http://$COLLECTOR_ADDR/ui/login with a token from $DATA)
  Collector API:      http://$COLLECTOR_ADDR/api/v1/incidents   (token: $DATA/admin.token)
  Collector targets:  http://$COLLECTOR_ADDR/api/v1/targets
  Collector /metrics: http://$COLLECTOR_ADDR/metrics
  Agent /metrics:     http://$AGENT_ADDR/metrics
Try:
  curl -H "Authorization: Bearer \$(cat $DATA/admin.token)" http://$COLLECTOR_ADDR/api/v1/targets

MSG
wait -n "$collector" "$agent" || true
