#!/usr/bin/env bash
# The whole path in one command: a local ClickHouse, a collector writing to
# it with the simulated fleet's policy catalog, the built-in corpus and the
# last 24 hours of simulated gateway traffic (every scenario, enforce and
# monitor mode) replayed into the collector, per-rule counts read back from
# ClickHouse. ClickHouse keeps running with the data for the dashboards
# (DEMO_KEEP=0 stops it at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
port=${DEMO_CLICKHOUSE_PORT:-19200}
dir=$PWD/data/demo
mkdir -p "$dir"
scripts/stop-clickhouse.sh "$dir/clickhouse" || true
http=$((port + 1))
echo "== starting ClickHouse 26.7 on 127.0.0.1:$port (HTTP $http, data in $dir/clickhouse)"
scripts/start-clickhouse.sh "$dir/clickhouse" "$port" >/dev/null
# q SQL: run a query through the server's HTTP interface, as a table.
q() { curl -sS --fail-with-body "http://127.0.0.1:$http/?default_format=PrettyCompactNoEscapes" --data-binary "$1"; }
collector_pid=
keep=${DEMO_KEEP:-1}
cleanup() {
	if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; fi
	if [ "$keep" != 1 ]; then scripts/stop-clickhouse.sh "$dir/clickhouse"; fi
}
trap cleanup EXIT
$GO build -o bin/vca-collector ./cmd/vca-collector
$GO build -o bin/vca-replay ./bench/cmd/vca-replay
bin/vca-replay -write-catalog "$dir/catalog.json"
q "DROP DATABASE IF EXISTS vca" >/dev/null
cat >"$dir/collector.yaml" <<YAML
listeners:
  tcp:
    - {name: tcp, address: "127.0.0.1:15514"}
sinks:
  clickhouse: {addresses: ["127.0.0.1:$port"], database: vca, chain_id: demo, dead_letter_dir: "$dir/dead-letter"}
catalog: {file: "$dir/catalog.json"}
admin: {address: "127.0.0.1:19465"}
log: {format: console}
YAML
echo "== starting the collector (config $dir/collector.yaml)"
bin/vca-collector run --config "$dir/collector.yaml" 2>"$dir/collector.log" &
collector_pid=$!
for _ in $(seq 1 100); do
	curl -sf http://127.0.0.1:19465/readyz >/dev/null 2>&1 && break
	sleep 0.1
done
echo "== replaying the built-in corpus 100 times and 24 hours of the simulated fleet"
bin/vca-replay -addr 127.0.0.1:15514 -repeat 100 -sim 24h
sleep 0.5
if kill -TERM "$collector_pid"; then wait "$collector_pid" || true; fi
collector_pid=
echo "== decisions per rule"
q "SELECT if(rule_name != '', rule_name, rule_uuid) AS rule, scenario, kind, action, enforced, count() AS events, uniqExact(src_ip) AS sources
   FROM vca.dcf_events WHERE kind IN ('l4', 'l7', 'fqdn')
   GROUP BY rule, scenario, kind, action, enforced ORDER BY events DESC LIMIT 25"
echo "== parse status"
q "SELECT parse_status, count() AS messages FROM (SELECT parse_status FROM vca.dcf_events
   UNION ALL SELECT parse_status FROM vca.raw_unparsed) GROUP BY parse_status ORDER BY parse_status"
echo "== ingest batches (hash chain)"
q "SELECT chain_id, count() AS batches, sum(rows) AS rows, sum(unparsed_rows) AS unparsed FROM vca.ingest_batches GROUP BY chain_id"
echo "== threat vectors (last 24 hours, as the overview dashboard counts them)"
q "SELECT p.scenario, sum(r.events) AS attempts, max(r.last_seen) AS last_attempt
   FROM vca.dcf_rollup_minute AS r ANY INNER JOIN (SELECT DISTINCT rule_uuid, scenario FROM vca.policy_rules) AS p USING rule_uuid
   WHERE r.action = 'DENY' AND p.scenario IN ('default_deny', 'shadow_model', 'dns_exfiltration', 'east_west')
   GROUP BY p.scenario ORDER BY attempts DESC"
echo "== every dashboard panel over the last 24 hours"
VCA_DASHBOARDS_CHECK="127.0.0.1:$port/vca" $GO test -count=1 -run TestPanelsAgainstServer -v ./dashboards | grep -E '^(ok|FAIL|---|\s+panels_test)' || true
echo "collector log: $dir/collector.log"
if [ "$keep" = 1 ]; then
	cat <<EOF

ClickHouse 26.7 keeps running on 127.0.0.1:$port (native protocol; HTTP on $http),
database vca, user default without a password.
Grafana (grafana-clickhouse-datasource 4.0.3 or later): provision
dashboards/provisioning/ with
  VCA_CLICKHOUSE_HOST=127.0.0.1 VCA_CLICKHOUSE_PORT=$port VCA_CLICKHOUSE_SECURE=false VCA_CLICKHOUSE_USER=default
and copy dashboards/json/*.json to the dashboard provider's path (dashboards/README.md).
A query by hand: curl http://127.0.0.1:$http/ --data-binary 'SELECT count() FROM vca.dcf_events'
Stop it with: scripts/stop-clickhouse.sh $dir/clickhouse
EOF
fi
