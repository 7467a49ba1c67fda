#!/usr/bin/env bash
# Installs the command-line tools the tests call (from Debian's packages)
# when one is missing: curl and dig for the egress script's tests,
# and ShellCheck for the shell scripts.
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v dig >/dev/null || missing+=(dnsutils)
command -v shellcheck >/dev/null || missing+=(shellcheck)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing ${missing[*]} and this is not root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
