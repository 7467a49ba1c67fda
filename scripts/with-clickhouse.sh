#!/usr/bin/env bash
# Runs a command with a throwaway ClickHouse 26.7 server on loopback,
# exporting CLICKHOUSE_ADDR (and CLICKHOUSE_REQUIRED=1, so tests that need
# the server fail instead of skipping) and CHDB_SERVER_BIN and
# CHDB_LIB_PATH (for tests that start servers of their own), then stops the
# server and prints its peak memory.
#   scripts/with-clickhouse.sh COMMAND...
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CLICKHOUSE_TEST_PORT:-19100}
dir=$(mktemp -d /tmp/vca-ch-test.XXXXXX)
CHDB_LIB_PATH=$(scripts/fetch-chdb.sh)
CHDB_SERVER_BIN=$(scripts/build-clickhouse.sh)
export CHDB_LIB_PATH CHDB_SERVER_BIN
cleanup() {
	if [ -s "$dir/ch.pid" ]; then
		hwm=$(awk '/^VmHWM:/ {print $2, $3}' "/proc/$(cat "$dir/ch.pid")/status" 2>/dev/null || true)
		[ -z "$hwm" ] || echo "clickhouse test server: peak RSS $hwm" >&2
	fi
	scripts/stop-clickhouse.sh "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT
scripts/start-clickhouse.sh "$dir" "$port" >/dev/null
export CLICKHOUSE_ADDR=127.0.0.1:$port CLICKHOUSE_REQUIRED=1
"$@"
