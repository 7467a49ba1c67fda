#!/usr/bin/env bash
# make bench-schema: what each variant of the dcf_events schema costs a
# throwaway ClickHouse 26.7 server (scripts/start-clickhouse.sh), in server
# CPU and bytes on disk per event; writes bench/results/schema-<time>.md.
#   bench/schema.sh [-rows N] [-repeat N] [-only NAME,NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=$(mktemp -d)
port=${BENCH_CLICKHOUSE_PORT:-19400}
cleanup() { scripts/stop-clickhouse.sh "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
scripts/start-clickhouse.sh "$dir" "$port" >/dev/null
mkdir -p bin bench/results
$GO build -o bin/vca-bench-schema ./bench/cmd/vca-bench-schema
bin/vca-bench-schema -clickhouse "127.0.0.1:$port" -pid "$(cat "$dir/ch.pid")" "$@"
