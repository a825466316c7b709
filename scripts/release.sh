#!/usr/bin/env bash
# Release builds: six archives (linux, darwin, windows x amd64, arm64) of bin/aggregator with the
# web app embedded, SHA256SUMS and a CycloneDX SBOM, in DIST (default dist/). Run by `make release`
# after the UI is built. Reproducible: -trimpath, no VCS stamping, the build id cleared, the date is
# the commit's (not the clock's), archives with sorted names, fixed times and owners.
#
#   VERSION  release version (default: git describe --tags --always --dirty)
#   TARGETS  space-separated GOOS/GOARCH pairs (default: the six)
#   DIST     output directory (default dist)
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
CYCLONEDX=${CYCLONEDX:-github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0}

if [ ! -f web/dist/index.html ]; then
  echo "release: web/dist/index.html is missing: build the web app first (make release does)" >&2
  exit 1
fi
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
DATE=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

rm -rf "$DIST"
mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for target in $TARGETS; do
  goos=${target%/*} goarch=${target#*/}
  name="aggregator_${VERSION}_${goos}_${goarch}"
  exe=aggregator
  [ "$goos" = windows ] && exe=aggregator.exe
  mkdir -p "$stage/$name"
  echo "release: $goos/$goarch"
  # The SQLite driver is pure Go (modernc.org/sqlite): no cgo, so no C cross toolchain.
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOFLAGS=-buildvcs=false \
    "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$stage/$name/$exe" ./cmd/aggregator
  cp README.md "$stage/$name/"
  if [ "$goos" = linux ]; then cp deploy/systemd/aggregator.service deploy/systemd/aggregator.env "$stage/$name/"; fi
  find "$stage/$name" -exec touch -h -d "@$EPOCH" {} +
  if [ "$goos" = windows ]; then
    (cd "$stage" && find "$name" -print | LC_ALL=C sort | TZ=UTC zip -X -q -D "$DIST/$name.zip" -@)
  else
    tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
      -C "$stage" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
  fi
  # The SBOM of this target's binary, read from the module list Go embeds in it (so it names exactly
  # the modules linked for this GOOS/GOARCH), without the serial number and timestamp that would make
  # two builds differ.
  "$GO" run "$CYCLONEDX" bin -json -noserial -notimestamp -version "$VERSION" \
    -output "$DIST/$name.sbom.cdx.json" "$stage/$name/$exe" 2>"$stage/sbom.log" ||
    { cat "$stage/sbom.log" >&2; exit 1; }
done

(cd "$DIST" && sha256sum -- * >SHA256SUMS)
echo "release: $VERSION ($COMMIT, $DATE) in $DIST/"
cat "$DIST/SHA256SUMS"
