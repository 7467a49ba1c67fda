#!/usr/bin/env bash
# Builds the offline Terraform toolchain into $VCA_TF_TOOLS (default
# ~/.cache/openclaw-vca/tf): OpenTofu from the Go module proxy and the
# schema-only providers in tools/stub-aviatrix and tools/stub-aws, laid out
# as a filesystem mirror, plus a CLI config that points at it (tofurc).
# Binaries are kept, so a warm run takes seconds.
#
# `build.sh real-aws` also builds the real AWS provider from the Go module
# proxy (about 25 minutes and 10 GB of RAM the first time) and lays out a
# second mirror with it instead of the stub (tofurc-real-aws), for the
# checks that run the real provider's validators and compare the stub's
# schema with it. When it cannot be built, $out/aws.unavailable says why.
# Prints the directory.
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
# Pinned flags: changing any of them invalidates Go's build cache.
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
TOFU_VERSION=v1.12.6
AVIATRIX_LABEL=8.2.20
# The only AWS provider version the Go proxy serves (main, 6.48.0-dev); the
# mirrors label it (and the stub cut from its schema) 6.47.1.
AWS_VERSION=v1.60.1-0.20260602190131-5f2286d6d836
AWS_LABEL=6.47.1
out=${VCA_TF_TOOLS:-$HOME/.cache/openclaw-vca/tf}
mirror=$out/mirror
mkdir -p "$out/bin" "$mirror"

if [ ! -x "$out/bin/tofu" ] || [ "$(cat "$out/bin/tofu.version" 2>/dev/null)" != "$TOFU_VERSION" ]; then
	src=$("$GO" mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	# tofu's go.mod has replace directives: build inside its module directory.
	(cd "$src" && "$GO" build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$out/bin/tofu" ./cmd/tofu) >&2
	echo "$TOFU_VERSION" >"$out/bin/tofu.version"
fi

stub=$mirror/registry.opentofu.org/aviatrixsystems/aviatrix/$AVIATRIX_LABEL/linux_amd64
mkdir -p "$stub"
(cd stub-aviatrix && "$GO" build -trimpath -ldflags "-s -w" -o "$stub/terraform-provider-aviatrix_v$AVIATRIX_LABEL" .) >&2

aws_dir=registry.opentofu.org/hashicorp/aws/$AWS_LABEL/linux_amd64
mkdir -p "$mirror/$aws_dir"
rm -f "$mirror/$aws_dir/terraform-provider-aws_v$AWS_LABEL" # once a link to the real provider
(cd stub-aws && "$GO" build -trimpath -ldflags "-s -w" -o "$mirror/$aws_dir/terraform-provider-aws_v$AWS_LABEL" .) >&2

if [ "${1:-}" = real-aws ]; then
	aws_bin=$out/aws/terraform-provider-aws
	if [ ! -x "$aws_bin" ] || [ "$(cat "$aws_bin.version" 2>/dev/null)" != "$AWS_VERSION" ]; then
		rm -f "$out/aws.unavailable"
		mkdir -p "$out/aws"
		echo "building the AWS provider $AWS_VERSION (first time: about 25 minutes)" >&2
		if src=$("$GO" mod download -json "github.com/hashicorp/terraform-provider-aws@$AWS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') && [ -n "$src" ] &&
			(cd "$src" && "$GO" build -trimpath -ldflags "-s -w" -o "$aws_bin" .) >&2; then
			echo "$AWS_VERSION" >"$aws_bin.version"
		else
			echo "the AWS provider $AWS_VERSION could not be built from the Go module proxy" >"$out/aws.unavailable"
			exit 1
		fi
	fi
	real=$out/mirror-real-aws
	rm -rf "$real"
	mkdir -p "$real/$aws_dir" "$(dirname "$real/${stub#"$mirror"/}")"
	cp -r "$stub" "$(dirname "$real/${stub#"$mirror"/}")/"
	ln -f "$aws_bin" "$real/$aws_dir/terraform-provider-aws_v$AWS_LABEL" 2>/dev/null || cp "$aws_bin" "$real/$aws_dir/terraform-provider-aws_v$AWS_LABEL"
	printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$real" >"$out/tofurc-real-aws"
fi

printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$mirror" >"$out/tofurc"
echo "$out"
