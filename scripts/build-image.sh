#!/usr/bin/env bash
# Builds the vca-collector container image with podman from the release
# binary (dist/vca-collector_linux_ARCH, made by scripts/release.sh when
# missing) and deploy/container. The image holds the binary, the container
# config and the CA bundle, nothing else.
#   scripts/build-image.sh [TAG]     default TAG: localhost/vca-collector:VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
ARCH=${ARCH:-$(go env GOARCH 2>/dev/null || echo amd64)}
TAG=${1:-localhost/vca-collector:$VERSION}
bin=${DIST:-dist}/vca-collector_linux_$ARCH
if [ ! -x "$bin" ] || [ "$("$bin" version | awk '{print $2}')" != "$VERSION" ]; then
	VERSION=$VERSION COMMIT=$COMMIT PLATFORMS=linux/$ARCH scripts/release.sh >/dev/null
fi
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || { echo "build-image: $ca missing (apt-get install ca-certificates)" >&2; exit 1; }
ctx=$(mktemp -d /tmp/vca-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/vca-collector"
cp deploy/container/Containerfile deploy/container/collector.yaml "$ca" "$ctx/"
mkdir "$ctx/data"
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
podman build --quiet --timestamp "$SOURCE_DATE_EPOCH" \
	--build-arg VERSION="$VERSION" --build-arg REVISION="$COMMIT" --build-arg CREATED="$created" \
	-f "$ctx/Containerfile" -t "$TAG" "$ctx" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$TAG")
echo "image $TAG: $((size / 1024)) KiB"
