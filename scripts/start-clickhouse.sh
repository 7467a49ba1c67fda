#!/usr/bin/env bash
# Starts a throwaway ClickHouse server on loopback for tests and the demo,
# installing Debian's clickhouse-server package when it is missing.
#   scripts/start-clickhouse.sh DIR [PORT]   prints the server's pid when ready
#   scripts/stop-clickhouse.sh DIR           stops it
set -euo pipefail
DIR=${1:?usage: start-clickhouse.sh DIR [PORT]}
PORT=${2:-19000}
HTTP=$((PORT + 1))
if ! command -v clickhouse-server >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "clickhouse-server is not installed and this is not root: apt-get install clickhouse-server clickhouse-client" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends clickhouse-server clickhouse-client >/dev/null
fi
mkdir -p "$DIR"/{data,tmp,log,user_files,format_schemas}
DIR=$(cd "$DIR" && pwd)
cat >"$DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    <max_memory_usage>4000000000</max_memory_usage>
  </default></profiles>
  <users><default>
    <password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota>
  </default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
cat >"$DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$DIR/log/server.log</log><errorlog>$DIR/log/err.log</errorlog><size>50M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$PORT</tcp_port>
  <http_port>$HTTP</http_port>
  <path>$DIR/data/</path>
  <tmp_path>$DIR/tmp/</tmp_path>
  <user_files_path>$DIR/user_files/</user_files_path>
  <format_schema_path>$DIR/format_schemas/</format_schema_path>
  <users_config>$DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>
XML
clickhouse-server --config-file="$DIR/config.xml" --pid-file="$DIR/ch.pid" --daemon
for _ in $(seq 1 300); do
	if clickhouse-client --port "$PORT" -q 'SELECT 1' >/dev/null 2>&1; then
		cat "$DIR/ch.pid"
		exit 0
	fi
	sleep 0.1
done
echo "clickhouse did not become ready; log:" >&2
tail -20 "$DIR/log/err.log" >&2 || true
exit 1
