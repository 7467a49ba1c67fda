#!/usr/bin/env bash
# Stops a server started by start-clickhouse.sh and waits for it to exit
# (SIGTERM, then SIGKILL after 10 seconds).
set -uo pipefail
DIR=${1:?usage: stop-clickhouse.sh DIR}
[ -s "$DIR/ch.pid" ] || exit 0
pid=$(cat "$DIR/ch.pid")
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || exit 0
	sleep 0.1
done
kill -9 "$pid" 2>/dev/null
exit 0
