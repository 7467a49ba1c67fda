#!/usr/bin/env bash
# make bench-e2e: the collector and rsyslog measured end to end, side by
# side, on this machine. Installs rsyslog from Debian's packages when it is
# missing, starts a throwaway ClickHouse 26.7 (scripts/start-clickhouse.sh)
# on loopback, builds the collector, the load generator and the runner, runs
# every scenario and writes bench/results/e2e-<time>.{json,md} (and a CPU
# profile of the busiest scenario).
#   bench/e2e.sh [--quick] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
if ! command -v rsyslogd >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "rsyslog is not installed and this is not root: apt-get install rsyslog" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# Only the binary is wanted: keep the package's own service from starting.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
	rm -f /usr/sbin/policy-rc.d
	trap - EXIT
fi
dir=$(mktemp -d)
port=${BENCH_CLICKHOUSE_PORT:-19300}
cleanup() { scripts/stop-clickhouse.sh "$dir/clickhouse" || true; rm -rf "$dir"; }
trap cleanup EXIT
scripts/start-clickhouse.sh "$dir/clickhouse" "$port" >/dev/null
mkdir -p bin bench/results
$GO build -trimpath -o bin/vca-collector ./cmd/vca-collector
$GO build -o bin/vca-bench-e2e ./bench/cmd/vca-bench-e2e
bin/vca-bench-e2e -clickhouse "127.0.0.1:$port" -clickhouse-dir "$dir/clickhouse" -collector bin/vca-collector -rsyslogd "$(command -v rsyslogd)" "$@"
