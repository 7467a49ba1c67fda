#!/usr/bin/env bash
# Offline checks of the Terraform code: fmt, init against the local
# provider mirror, validate, tofu test with mock providers, the policy
# catalog goldens per agent class, the provider version floor, and the
# stub providers' schemas against the pinned releases'. UPDATE_GOLDEN=1
# rewrites the goldens.
#
# By default the AWS provider is tools/stub-aws: the release's schema for
# what the stack uses, without its validators. VCA_TF_REAL_AWS=1 runs the
# same checks with the real AWS provider, built from the Go module proxy
# (its validators judge the mocks' values too), and checks the stub's
# schema against it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
real_aws=${VCA_TF_REAL_AWS:-}
tools=$("$here/tools/build.sh" ${real_aws:+real-aws})
tofu=$tools/bin/tofu
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
(cd "$here/tools/tfjson" && "$GO" build -o "$tools/bin/tfjson" .)
tfjson=$tools/bin/tfjson
export TF_CLI_CONFIG_FILE=$tools/tofurc${real_aws:+-real-aws} CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
scratch=$(mktemp -d /tmp/vca-tf.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
if [ -n "$real_aws" ]; then
	echo "AWS provider: the real release"
else
	echo "AWS provider: tools/stub-aws (the release's schema, none of its validators; VCA_TF_REAL_AWS=1 runs the real one)"
fi

echo "tofu fmt -check"
"$tofu" fmt -check -recursive -diff "$here"

status=0

# tofu_check DIR: init against the mirror, validate, run the tests, in a
# scratch copy (a registry lock file would refuse the stub provider).
tofu_check() {
	rm -rf "$1/.terraform" "$1/.terraform.lock.hcl"
	(cd "$1" && "$tofu" init -backend=false -input=false >/dev/null && "$tofu" validate -no-color && "$tofu" test -no-color)
}

# A copy of the tree: modules refer to ../../scripts, and the collector
# host to the release's systemd unit in ../deploy.
stack=$scratch/repo/terraform
mkdir -p "$stack" "$scratch/repo/deploy"
(cd "$here" && tar --exclude=./testdata --exclude=./tools --exclude='.terraform*' -cf - .) | (cd "$stack" && tar -xf -)
cp -R "$here/../deploy/systemd" "$scratch/repo/deploy/"

for module in "$stack"/modules/*/; do
	name=$(basename "$module")
	echo "module $name: init, validate, test"
	tofu_check "$module"
done

{
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
}

echo "policy catalog goldens"
work=$stack/modules/dcf-policy
# catalog_golden NAME VAR...: the module's static catalog with the VARs
# against testdata/catalog-NAME.json.
catalog_golden() {
	local name=$1 golden=$here/testdata/catalog-$1.json got=$scratch/catalog-$1.json
	shift
	(cd "$work" && echo 'jsonencode(local.catalog_static)' | "$tofu" console -var aws_region=us-east-1 \
		-var vpc_dns_resolver_cidr=10.20.0.2/32 -var 'east_west_cidrs=["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]' "$@") |
		"$tfjson" console >"$got"
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$got" "$golden"
	elif ! diff -u "$golden" "$got"; then
		echo "catalog $name differs from $golden (UPDATE_GOLDEN=1 rewrites it)"
		status=1
	fi
}
for class in locked-down-demo coding research support regulated-data; do
	for mode in monitor enforce; do
		catalog_golden "$class-$mode" -var 'agent_member_ips=["10.20.1.15"]' -var agent_class="$class" -var policy_mode="$mode"
	done
done
# The coding agent as Kubernetes pods (examples/kubernetes-coding.tfvars).
catalog_golden kubernetes-coding-monitor -var agent_class=coding -var policy_mode=monitor -var 'agent_tag=null' \
	-var 'agent_kubernetes={cluster_id="arn:aws:eks:us-east-1:123456789012:cluster/agents",namespace="coding-agents",pod_cidrs=["10.20.0.0/20"]}'

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
	echo "plan with terraform.tfvars.example and $(basename "$patch")"
	if ! out=$(cd "$stack" && "$tofu" test -no-color -test-directory=examples/tests -var-file="$stack/terraform.tfvars.example" -var-file="$patch" 2>&1); then
		printf '%s\n%s does not plan\n' "$out" "$(basename "$patch")"
		status=1
	fi
done

echo "provider floor: every module's version constraint admits only releases that have what it uses"
"$tfjson" check-floor "$here/tools/provider-floor.json" "$here" "$here"/modules/*/ || status=1

echo "Aviatrix stub provider schema against the pinned release"
reference=${AVIATRIX_SCHEMA:-$here/../../shared/terraform/aviatrix-provider-8.2.20.schema.json}
if [ -f "$reference" ]; then
	(cd "$work" && env -u AVIATRIX_CONTROLLER_IP -u AVIATRIX_USERNAME -u AVIATRIX_PASSWORD "$tofu" providers schema -json) >"$scratch/stub-schema.json"
	"$tfjson" compare-schema "$reference" "$scratch/stub-schema.json" "$here/tools/stub-aviatrix/schema.json" || status=1
else
	echo "NOTE: $reference not found; stub schema not compared" >&2
fi

# The AWS schema as the provider in use serves it, from a module that
# needs no other provider: the stub must serve its schema.json exactly,
# and the real release what the stub serves.
echo "AWS provider schema: $(basename "$(dirname "$TF_CLI_CONFIG_FILE")")/${TF_CLI_CONFIG_FILE##*/}"
(cd "$stack/modules/instance-profile" && "$tofu" providers schema -json) >"$scratch/aws-schema.json"
"$tfjson" compare-schema "$scratch/aws-schema.json" "$here/tools/stub-aws/schema.json" "$here/tools/stub-aws/schema.json" || status=1
while read -r type; do
	if ! grep -q "\"${type#data.}\"" "$here/tools/stub-aws/schema.json"; then
		echo "tools/stub-aws/schema.json lacks $type, which the stack uses: make -C terraform aws-schema"
		status=1
	fi
done < <(grep -rhoE '^(resource|data) "aws_[a-z0-9_]+"' --include='*.tf' --exclude-dir=tests --exclude-dir=tools "$here" |
	sed -E 's/^resource "(.*)"/\1/; s/^data "(.*)"/data.\1/' | sort -u)
exit $status
