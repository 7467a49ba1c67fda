#!/usr/bin/env bash
# Builds the release artefacts into dist/ (or $DIST): static vca-collector
# binaries for linux/amd64 and linux/arm64, one archive per platform with
# the example configs and the systemd unit, a CycloneDX SBOM of the Go
# dependencies per binary, and SHA256SUMS over all of them.
#
# The build is reproducible: the same commit and Go toolchain give the same
# bytes (no build id, paths trimmed, archive times and owners fixed to the
# commit). scripts/release.sh --check builds twice and compares.
# VERSION, COMMIT and SOURCE_DATE_EPOCH default to what git says.
#   scripts/release.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TOOLS=${VCA_TOOLS_DIR:-$HOME/.cache/openclaw-vca/tools}
CYCLONEDX_VERSION=v1.10.0
PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64"}

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
# Archive entries carry the commit's time, not the build's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export VERSION COMMIT SOURCE_DATE_EPOCH

if [ "${1:-}" = --check ]; then
	# The second build runs from a copy of the tree at another path, with an
	# empty build cache, for linux/amd64: neither the checkout's location nor
	# cache reuse may be what makes the bytes equal.
	a=$(mktemp -d /tmp/vca-release-a.XXXXXX) b=$(mktemp -d /tmp/vca-release-b.XXXXXX)
	trap 'rm -rf "$a" "$b"' EXIT
	DIST=$a/dist "$0" >/dev/null
	mkdir "$b/src"
	git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$b/src"
	(cd "$b/src" && GOCACHE=$b/gocache PLATFORMS=linux/amd64 DIST=$b/dist scripts/release.sh >/dev/null)
	grep -F _linux_amd64 "$a/dist/SHA256SUMS" >"$a/amd64.sums"
	if ! diff -u "$a/amd64.sums" "$b/dist/SHA256SUMS"; then
		echo "release: two builds of the same commit differ" >&2
		exit 1
	fi
	echo "release: the linux/amd64 artefacts of two builds (another path, an empty build cache) are identical:"
	cat "$a/amd64.sums"
	exit 0
fi

DIST=${DIST:-dist}

if [ ! -x "$TOOLS/cyclonedx-gomod" ]; then
	GOBIN=$TOOLS "$GO" install "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$CYCLONEDX_VERSION"
fi

rm -rf "$DIST"
mkdir -p "$DIST"
pkg=github.com/openclaw-vca/openclaw-vca/internal/version
for platform in $PLATFORMS; do
	os=${platform%/*} arch=${platform#*/}
	name=vca-collector_${VERSION}_${os}_${arch}
	stage=$DIST/$name
	mkdir -p "$stage/examples"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT" \
		-o "$stage/vca-collector" ./cmd/vca-collector
	cp examples/*.yaml "$stage/examples/"
	cp deploy/systemd/vca-collector.service README.md "$stage/"
	"$TOOLS/cyclonedx-gomod" bin -json -noserial -notimestamp -version "$VERSION" \
		-output "$DIST/$name.cdx.json" "$stage/vca-collector"
	cp "$stage/vca-collector" "$DIST/vca-collector_${os}_${arch}"
	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		--mode=u+rwX,go+rX,go-w --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-C "$DIST" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
	rm -rf "$stage"
done
sums=$(cd "$DIST" && sha256sum -- *)
printf '%s\n' "$sums" >"$DIST/SHA256SUMS"
echo "release $VERSION ($COMMIT) in $DIST:"
cat "$DIST/SHA256SUMS"
