#!/usr/bin/env bash
# Rewrites tools/stub-aws/schema.json from the real AWS provider (built by
# `build.sh real-aws`): its provider block and the schema of every AWS
# resource and data source the stack uses. Review the diff.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=$("$here/tools/build.sh" real-aws)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
(cd "$here/tools/tfjson" && "$GO" build -o "$tools/bin/tfjson" .)
scratch=$(mktemp -d /tmp/vca-aws-schema.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/main.tf" <<'TF'
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
TF
export TF_CLI_CONFIG_FILE=$tools/tofurc-real-aws CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
(cd "$scratch" && "$tools/bin/tofu" init -backend=false -input=false >/dev/null && "$tools/bin/tofu" providers schema -json) >"$scratch/full.json"
mapfile -t types < <(grep -rhoE '^(resource|data) "aws_[a-z0-9_]+"' --include='*.tf' --exclude-dir=tests --exclude-dir=tools "$here" |
	sed -E 's/^resource "(.*)"/\1/; s/^data "(.*)"/data.\1/' | sort -u)
"$tools/bin/tfjson" cut-schema "$scratch/full.json" "${types[@]}" >"$here/tools/stub-aws/schema.json"
echo "tools/stub-aws/schema.json: the provider block and ${#types[@]} resources and data sources" >&2
