#!/usr/bin/env bash
# The whole path in one command: a local ClickHouse, a collector writing to
# it, the built-in corpus of gateway traffic replayed into the collector, and
# per-rule counts read back from ClickHouse.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
port=${DEMO_CLICKHOUSE_PORT:-19200}
dir=$PWD/data/demo
mkdir -p "$dir"
scripts/stop-clickhouse.sh "$dir/clickhouse" || true
echo "== starting ClickHouse on 127.0.0.1:$port (data in $dir/clickhouse)"
scripts/start-clickhouse.sh "$dir/clickhouse" "$port" >/dev/null
collector_pid=
cleanup() {
	if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; fi
	scripts/stop-clickhouse.sh "$dir/clickhouse"
}
trap cleanup EXIT
cat >"$dir/collector.yaml" <<YAML
listeners:
  tcp:
    - {name: tcp, address: "127.0.0.1:15514"}
sinks:
  clickhouse: {addresses: ["127.0.0.1:$port"], database: vca_demo, chain_id: demo, dead_letter_dir: "$dir/dead-letter"}
admin: {address: "127.0.0.1:19465"}
log: {format: console}
YAML
$GO build -o bin/vca-collector ./cmd/vca-collector
$GO build -o bin/vca-replay ./bench/cmd/vca-replay
echo "== starting the collector (config $dir/collector.yaml)"
bin/vca-collector run --config "$dir/collector.yaml" 2>"$dir/collector.log" &
collector_pid=$!
for _ in $(seq 1 100); do
	curl -sf http://127.0.0.1:19465/readyz >/dev/null 2>&1 && break
	sleep 0.1
done
echo "== replaying the built-in corpus 100 times"
bin/vca-replay -addr 127.0.0.1:15514 -repeat 100
sleep 0.5
if kill -TERM "$collector_pid"; then wait "$collector_pid" || true; fi
collector_pid=
q() { clickhouse-client --port "$port" --format PrettyCompactNoEscapes -q "$1"; }
echo "== decisions per rule (dcf_events FINAL)"
q "SELECT kind, rule_uuid, action, enforced, count() AS events, uniqExact(src_ip) AS sources
   FROM vca_demo.dcf_events FINAL WHERE kind IN ('l4', 'l7', 'fqdn')
   GROUP BY kind, rule_uuid, action, enforced ORDER BY events DESC LIMIT 20"
echo "== parse status"
q "SELECT parse_status, count() FROM (SELECT parse_status FROM vca_demo.dcf_events FINAL
   UNION ALL SELECT parse_status FROM vca_demo.raw_unparsed FINAL) GROUP BY parse_status"
echo "== ingest batches (hash chain)"
q "SELECT count() AS batches, sum(rows) AS rows, sum(unparsed_rows) AS unparsed FROM vca_demo.ingest_batches FINAL"
echo "collector log: $dir/collector.log"
