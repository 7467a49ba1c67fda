#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each.
# Usage: scripts/fuzz.sh [FUZZTIME]   (default 10s per target)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
fuzztime=${1:-10s}
status=0
while IFS=: read -r file _ decl; do
	pkg=$(dirname "$file")
	name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$decl")
	echo "fuzz: $pkg $name ($fuzztime)"
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/vca-fuzz-$$.log 2>&1; then
		cat /tmp/vca-fuzz-$$.log
		status=1
	fi
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | sort)
rm -f /tmp/vca-fuzz-$$.log
exit $status
