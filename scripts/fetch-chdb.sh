#!/usr/bin/env bash
# Fetches libchdb (ClickHouse 26.7 in-process) from the npm registry into the
# cache outside the clone and prints the library's path. npm checks the
# package's sha512 integrity.
set -euo pipefail
CHDB_VERSION=${CHDB_VERSION:-26.7.3-stable.1}
DIR=${XDG_CACHE_HOME:-$HOME/.cache}/vca/chdb-$CHDB_VERSION
if [ ! -s "$DIR/libchdb.so" ]; then
	mkdir -p "$DIR"
	(cd "$DIR" && npm pack --silent "@chdb/lib-linux-x64-gnu@$CHDB_VERSION" >/dev/null 2>&1 &&
		tar -xzf "chdb-lib-linux-x64-gnu-$CHDB_VERSION.tgz" --strip-components=1 package/libchdb.so &&
		rm -f "chdb-lib-linux-x64-gnu-$CHDB_VERSION.tgz")
fi
echo "$DIR/libchdb.so"
