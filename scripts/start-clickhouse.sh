#!/usr/bin/env bash
# Starts the project's ClickHouse 26.7 server (libchdb, fetched once into
# ~/.cache/vca; the launcher is internal/testsupport/chdb/server) on loopback and waits
# until it answers. Run it again on the same DIR to restart on the same data.
#   scripts/start-clickhouse.sh DIR [PORT [LAUNCHER FLAGS...]]   prints the pid
#   scripts/stop-clickhouse.sh DIR                              stops it
# PORT is the native protocol, PORT+1 HTTP. The launcher's flags add users,
# TLS and server configuration (vca-clickhouse -h lists them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:?usage: start-clickhouse.sh DIR [PORT [LAUNCHER FLAGS...]]}
PORT=${2:-19000}
shift $(($# < 2 ? $# : 2))
lib=$("$root/scripts/fetch-chdb.sh")
bin=${CHDB_SERVER_BIN:-$("$root/scripts/build-clickhouse.sh")}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR/ready"
CHDB_LIB_PATH=$lib setsid "$bin" -dir "$DIR" -tcp-port "$PORT" "$@" >>"$DIR/launcher.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$DIR/ch.pid"
# The first load of the 566 MB library after a boot reads it from disk.
for _ in $(seq 1 1200); do
	if [ -f "$DIR/ready" ]; then
		echo "$pid"
		exit 0
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
echo "clickhouse on port $PORT did not become ready; launcher log and server errors:" >&2
tail -n 20 "$DIR/launcher.log" "$DIR/log/clickhouse.err.log" >&2 2>/dev/null || true
kill "$pid" 2>/dev/null || true
exit 1
