#!/usr/bin/env bash
# Builds the Windows installer from deploy/windows/nines-agent.wxs with
# wixl (Debian: wixl, from msitools).
#   scripts/msi.sh AGENT_EXE VERSION OUT.msi
# MSI versions are numeric: v1.2.3-4-gabcdef gives 1.2.3; a version
# without x.y.z (a development build) gives 0.0.0.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 AGENT_EXE VERSION OUT.msi" >&2
  exit 2
fi
exe=$1 version=$2 out=$3
command -v wixl >/dev/null || { echo "$0: wixl not found (Debian package wixl)" >&2; exit 1; }
v=$(printf '%s\n' "$version" | sed -nE 's/^v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p')
v=${v:-0.0.0}
wxs=$(cd "$(dirname "$0")/.." && pwd)/deploy/windows/nines-agent.wxs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# wixl finds File sources relative to the directory it runs in.
cp "$exe" "$work/nines-agent.exe"
(cd "$work" && wixl -a x64 -D Version="$v" -D AgentExe=nines-agent.exe -o nines-agent.msi "$wxs")
mv "$work/nines-agent.msi" "$out"
