#!/usr/bin/env bash
# Runs a command with a throwaway ClickHouse server on loopback, exporting
# CLICKHOUSE_ADDR (and CLICKHOUSE_REQUIRED=1, so tests that need the
# server fail instead of skipping), then stops the server.
#   scripts/with-clickhouse.sh COMMAND...
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CLICKHOUSE_TEST_PORT:-19100}
dir=$(mktemp -d /tmp/vca-ch-test.XXXXXX)
cleanup() { scripts/stop-clickhouse.sh "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
scripts/start-clickhouse.sh "$dir" "$port" >/dev/null
export CLICKHOUSE_ADDR=127.0.0.1:$port CLICKHOUSE_REQUIRED=1
"$@"
