#!/usr/bin/env bash
# make bench-kafka: the scale-out path measured on this machine: an edge
# collector producing a TCP stream to a three-broker Kafka-protocol cluster
# (kfake, inside the runner), then one and two writer collectors moving the
# topic into a throwaway ClickHouse on loopback. Writes
# bench/results/kafka-<time>.{json,md}.
#   bench/kafka.sh [-count N]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=$(mktemp -d)
port=${BENCH_CLICKHOUSE_PORT:-19310}
cleanup() { scripts/stop-clickhouse.sh "$dir/clickhouse" || true; rm -rf "$dir"; }
trap cleanup EXIT
scripts/start-clickhouse.sh "$dir/clickhouse" "$port" >/dev/null
mkdir -p bin bench/results
$GO build -trimpath -o bin/vca-collector ./cmd/vca-collector
$GO build -o bin/vca-bench-kafka ./bench/cmd/vca-bench-kafka
bin/vca-bench-kafka -clickhouse "127.0.0.1:$port" -collector bin/vca-collector "$@"
