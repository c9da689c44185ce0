#!/usr/bin/env bash
# Installs the system packages the tests need, when missing (Debian).
# The Makefile's TEST_PACKAGES names them: the real peers the tests start
# themselves (dnsmasq, Prometheus, Alertmanager, snmpd) and Chromium with a
# font for the browser tests of the web UI.
set -euo pipefail
need=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo ">> installing test dependencies: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
