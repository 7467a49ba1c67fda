#!/usr/bin/env bash
# Builds the ClickHouse launcher (internal/testsupport/chdb/server) into the cache outside
# the clone and prints its path. Several callers at once are fine: each
# builds to a file of its own and renames it into place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
out=${XDG_CACHE_HOME:-$HOME/.cache}/vca/bin
mkdir -p "$out"
tmp=$(mktemp "$out/.vca-clickhouse.XXXXXX")
(cd "$root" && "$GO" build -trimpath -o "$tmp" ./internal/testsupport/chdb/server)
mv -f "$tmp" "$out/vca-clickhouse"
echo "$out/vca-clickhouse"
