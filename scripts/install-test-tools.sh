#!/usr/bin/env bash
# Installs the command-line tools the tests call (from Debian's packages)
# when one is missing: curl and dig for the egress script's tests,
# ShellCheck for the shell scripts, and podman, runc and systemd-analyze
# for the deployment checks (make deploy-check).
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v dig >/dev/null || missing+=(dnsutils)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing ${missing[*]} and this is not root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
