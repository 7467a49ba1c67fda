#!/usr/bin/env bash
# verify-egress.sh: checks, from an agent host, that the gateway's DCF policy
# does what the containment architecture promises, one check per validation
# test of the design. Each check is retried until it shows the expected
# result or its attempts run out (policy and routes take a moment to
# propagate), and prints one JSON line:
#   {"check":…,"destination":…,"mode":…,"expected":…,"observed":…,"rule":…,"attempts":N,"pass":true|false,"time":…,"source":…}
# (time: UTC when the check finished; source: this host's first address).
# `vca-collector verify-scenarios` reads these lines and finds each probe's
# decision in ClickHouse.
# The exit status is 1 when any check did not show what was expected.
#
# POLICY_MODE=monitor|enforce selects the expectations: in monitor mode the
# denied destinations still connect (and the gateway logs them as would-be
# denied); in enforce mode they are blocked.
#
# Settings (environment):
#   POLICY_MODE          monitor (default) or enforce
#   MODEL_URL            approved model gateway   (https://integrate.api.nvidia.com/)
#   CORE_URL             OpenClaw core endpoint   (https://docs.openclaw.ai/)
#   ATTACKER_URL         unlisted destination     (https://example.org/)
#   SHADOW_URL           unapproved model API     (https://api.openai.com/)
#   NEW_DESTINATION_URL  a destination just added to a WebGroup (monitor-to-enforce); unset skips it
#   VPC_RESOLVER         the VPC resolver, host[:port] (169.254.169.253)
#   EXTERNAL_RESOLVERS   space-separated host[:port] (8.8.8.8 1.1.1.1)
#   DNS_NAME             name to resolve          (docs.openclaw.ai)
#   ATTEMPTS             tries per check (6); DELAY seconds between tries (2)
#   CONNECT_TIMEOUT      seconds per try (5)
#   CURL_ARGS            extra curl arguments (e.g. --cacert FILE)
# Values not set in the environment are read from VERIFY_EGRESS_ENV
# (/opt/openclaw-vca/verify-egress.env, written by the host's user data).
set -uo pipefail

env_file=${VERIFY_EGRESS_ENV:-/opt/openclaw-vca/verify-egress.env}
if [[ -r $env_file ]]; then
	while IFS='=' read -r key value; do
		[[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
		[[ -n ${!key+set} ]] || export "$key=$value"
	done <"$env_file"
fi

mode=${POLICY_MODE:-monitor}
source=${SOURCE_IP:-$(hostname -I 2>/dev/null | awk '{print $1}')}
case $mode in monitor | enforce) ;; *)
	echo "POLICY_MODE must be monitor or enforce, not $mode" >&2
	exit 2
	;;
esac
attempts=${ATTEMPTS:-6}
delay=${DELAY:-2}
timeout=${CONNECT_TIMEOUT:-5}
read -r -a curl_args <<<"${CURL_ARGS:-}"
for tool in curl dig; do
	command -v "$tool" >/dev/null || {
		echo "verify-egress.sh needs $tool" >&2
		exit 2
	}
done

failures=0

json_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '%s' "$s"
}

# The probes run through check, which shellcheck cannot follow.
# shellcheck disable=SC2317
# probe_https URL → "reachable" when any HTTP answer came back, else "blocked".
probe_https() {
	if curl --silent --output /dev/null --max-time "$timeout" --connect-timeout "$timeout" "${curl_args[@]}" "$1"; then
		echo reachable
	else
		echo blocked
	fi
}

# probe_dns PROTO SERVER[:PORT] → "resolves" or "blocked".
# shellcheck disable=SC2317
probe_dns() {
	local proto=$1 server=${2%%:*} port=53 flag=+notcp
	[[ $2 == *:* ]] && port=${2##*:}
	[[ $proto == tcp ]] && flag=+tcp
	if dig "$flag" +time="$timeout" +tries=1 +short -p "$port" "@$server" "${DNS_NAME:-docs.openclaw.ai}" A 2>/dev/null | grep -q .; then
		echo resolves
	else
		echo blocked
	fi
}

# check NAME DESTINATION EXPECTED RULE PROBE... runs PROBE until it prints
# EXPECTED or the attempts are spent, then reports.
check() {
	local name=$1 dest=$2 expected=$3 rule=$4
	shift 4
	local observed="" n=0
	while ((n < attempts)); do
		n=$((n + 1))
		observed=$("$@")
		[[ $observed == "$expected" ]] && break
		((n < attempts)) && sleep "$delay"
	done
	local pass=true
	if [[ $observed != "$expected" ]]; then
		pass=false
		failures=$((failures + 1))
	fi
	printf '{"check":"%s","destination":"%s","mode":"%s","expected":"%s","observed":"%s","rule":"%s","attempts":%d,"pass":%s,"time":"%s","source":"%s"}\n' \
		"$name" "$(json_escape "$dest")" "$mode" "$expected" "$observed" "$(json_escape "$rule")" "$n" "$pass" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$source"
}

# What a denied destination shows: monitor mode only logs it.
denied=blocked
dns_denied=blocked
if [[ $mode == monitor ]]; then
	denied=reachable
	dns_denied=resolves
fi

model=${MODEL_URL:-https://integrate.api.nvidia.com/}
core=${CORE_URL:-https://docs.openclaw.ai/}
attacker=${ATTACKER_URL:-https://example.org/}
shadow=${SHADOW_URL:-https://api.openai.com/}

check allowed_model_call "$model" reachable allow-model-gateways probe_https "$model"
check core_endpoints "$core" reachable allow-core probe_https "$core"
check attacker_domain_blocked "$attacker" "$denied" "POST_RULES default" probe_https "$attacker"
check shadow_model_blocked "$shadow" "$denied" vca-openclaw-shadow-model-deny probe_https "$shadow"
check vpc_resolver_works "${VPC_RESOLVER:-169.254.169.253}" resolves allow-vpc-dns-udp probe_dns udp "${VPC_RESOLVER:-169.254.169.253}"
read -r -a resolvers <<<"${EXTERNAL_RESOLVERS:-8.8.8.8 1.1.1.1}"
for r in "${resolvers[@]}"; do
	check external_dns_udp_blocked "$r" "$dns_denied" deny-dns-exfil-udp probe_dns udp "$r"
	check external_dns_tcp_blocked "$r" "$dns_denied" deny-dns-exfil-tcp probe_dns tcp "$r"
done
if [[ -n ${NEW_DESTINATION_URL:-} ]]; then
	check monitor_to_enforce_new_destination "$NEW_DESTINATION_URL" reachable "allow rule of its WebGroup" probe_https "$NEW_DESTINATION_URL"
fi

exit $((failures > 0))
