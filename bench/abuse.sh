#!/bin/sh
# abuse.sh runs the abuse run of issue 16 (collector/e2e TestAbuse) against
# the real binaries built without the race detector, enforcing the 300 MB
# peak RSS bound, and prints its summary line.
set -eu
cd "$(dirname "$0")/.."
NINES_ABUSE_RSS=1 go test -v -count="${COUNT:-1}" -run '^TestAbuse$' ./collector/e2e/ | grep -E '^abuse:|^--- |^(ok|FAIL)|not held|over 300'
