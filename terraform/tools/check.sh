#!/usr/bin/env bash
# Offline checks of the Terraform code: fmt, init against the local
# provider mirror, validate, tofu test with mock providers, the policy
# catalog goldens per agent class, and the stub provider's schema against
# the pinned release's. UPDATE_GOLDEN=1 rewrites the goldens.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=$("$here/tools/build.sh")
tofu=$tools/bin/tofu
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
(cd "$here/tools/tfjson" && "$GO" build -o "$tools/bin/tfjson" .)
tfjson=$tools/bin/tfjson
export TF_CLI_CONFIG_FILE=$tools/tofurc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
scratch=$(mktemp -d /tmp/vca-tf.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

echo "tofu fmt -check"
"$tofu" fmt -check -recursive -diff "$here"

status=0
aws=yes
if [ -f "$tools/aws.unavailable" ]; then
	aws=
	printf '\n*** SKIPPING the AWS modules and the whole stack: %s ***\n\n' "$(cat "$tools/aws.unavailable")" >&2
fi

# tofu_check DIR: init against the mirror, validate, run the tests, in a
# scratch copy (a registry lock file would refuse the stub provider).
tofu_check() {
	rm -rf "$1/.terraform" "$1/.terraform.lock.hcl"
	(cd "$1" && "$tofu" init -backend=false -input=false >/dev/null && "$tofu" validate -no-color && "$tofu" test -no-color)
}

# A copy of the tree: modules refer to ../../scripts.
stack=$scratch/stack
mkdir -p "$stack"
(cd "$here" && tar --exclude=./testdata --exclude=./tools --exclude='.terraform*' -cf - .) | (cd "$stack" && tar -xf -)

for module in "$stack"/modules/*/; do
	name=$(basename "$module")
	if [ -z "$aws" ] && grep -q 'hashicorp/aws' "$module"/*.tf; then
		continue
	fi
	echo "module $name: init, validate, test"
	tofu_check "$module"
done

if [ -n "$aws" ]; then
	echo "the stack: init (mc-spoke seeded offline), validate, test"
	mkdir -p "$stack/.terraform/modules"
	cp "$here/tests/modules.json" "$stack/.terraform/modules/modules.json"
	# The provider reads the controller's address and credentials from the
	# environment, as operators set them; validate needs some.
	export AVIATRIX_CONTROLLER_IP=controller.invalid AVIATRIX_USERNAME=validate AVIATRIX_PASSWORD=validate
	(cd "$stack" && "$tofu" init -backend=false -input=false >/dev/null && "$tofu" validate -no-color && "$tofu" test -no-color)
	# Every example, and the operator's own terraform.tfvars when there is
	# one: required variables present, types and guardrails hold.
	for vars in "$stack"/terraform.tfvars.example "$stack"/examples/*.tfvars "$stack"/terraform.tfvars; do
		[ -f "$vars" ] || continue
		echo "plan with $(basename "$vars")"
		if ! out=$(cd "$stack" && "$tofu" test -no-color -test-directory=examples/tests -var-file="$vars" 2>&1); then
			printf '%s\n%s does not plan\n' "$out" "$(basename "$vars")"
			status=1
		fi
	done
fi

echo "policy catalog goldens"
work=$stack/modules/dcf-policy
for class in locked-down-demo coding research support regulated-data; do
	for mode in monitor enforce; do
		golden=$here/testdata/catalog-$class-$mode.json
		got=$scratch/catalog-$class-$mode.json
		(cd "$work" && echo 'jsonencode(local.catalog_static)' | "$tofu" console -var aws_region=us-east-1 \
			-var vpc_dns_resolver_cidr=10.20.0.2/32 -var 'east_west_cidrs=["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]' \
			-var 'agent_member_ips=["10.20.1.15"]' -var agent_class="$class" -var policy_mode="$mode") |
			"$tfjson" console >"$got"
		if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
			cp "$got" "$golden"
		elif ! diff -u "$golden" "$got"; then
			echo "catalog for $class/$mode differs from $golden (UPDATE_GOLDEN=1 rewrites it)"
			status=1
		fi
	done
done

# A vca-collector promote patch (testdata/promote-<class>.tfvars, written by
# the evidence tests from simulated monitor-mode traffic) must be accepted
# by the module with the catalog it was made from, put every domain it
# lists into a WebGroup, and plan with the stack.
echo "promote patches"
for patch in "$here"/testdata/promote-*.tfvars; do
	[ -f "$patch" ] || continue
	class=$(basename "$patch" .tfvars)
	class=${class#promote-}
	got=$scratch/promoted-$class.json
	if ! (cd "$work" && echo 'jsonencode(local.catalog_static)' | "$tofu" console -var aws_region=us-east-1 \
		-var vpc_dns_resolver_cidr=10.20.0.2/32 -var 'east_west_cidrs=["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]' \
		-var 'agent_member_ips=["10.20.1.15"]' -var agent_class="$class" -var policy_mode=monitor -var-file="$patch") |
		"$tfjson" console >"$got"; then
		echo "$(basename "$patch") is not accepted by the dcf-policy module"
		status=1
		continue
	fi
	for domain in $(grep -o '^  "[^"]*",$' "$patch" | tr -d '", '); do
		if ! grep -q "\"$domain\"" "$got"; then
			echo "$(basename "$patch"): $domain is in no WebGroup of the resulting catalog"
			status=1
		fi
	done
	if [ -n "$aws" ]; then
		echo "plan with terraform.tfvars.example and $(basename "$patch")"
		if ! out=$(cd "$stack" && "$tofu" test -no-color -test-directory=examples/tests -var-file="$stack/terraform.tfvars.example" -var-file="$patch" 2>&1); then
			printf '%s\n%s does not plan\n' "$out" "$(basename "$patch")"
			status=1
		fi
	fi
done

echo "stub provider schema against the pinned release"
reference=${AVIATRIX_SCHEMA:-$here/../../shared/terraform/aviatrix-provider-8.2.20.schema.json}
if [ -f "$reference" ]; then
	(cd "$work" && env -u AVIATRIX_CONTROLLER_IP -u AVIATRIX_USERNAME -u AVIATRIX_PASSWORD "$tofu" providers schema -json) >"$scratch/stub-schema.json"
	"$tfjson" compare-schema "$reference" "$scratch/stub-schema.json" "$here/tools/stub-aviatrix/schema.json" || status=1
else
	echo "NOTE: $reference not found; stub schema not compared" >&2
fi
exit $status
