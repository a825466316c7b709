#!/usr/bin/env bash
# Checks that a release build is reproducible: rebuilds linux/amd64 from `git archive` of HEAD (plus
# the built web/dist) in another directory, with an empty Go build cache, and compares the archive's
# SHA-256 with the one in dist/SHA256SUMS. Run by `make release-verify` after `make release`.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-dist}
if ! git diff --quiet HEAD -- . ':!web/dist'; then
  echo "release-verify: the tree has uncommitted changes; commit them first (the copy is made from HEAD)" >&2
  exit 1
fi
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
name="aggregator_${VERSION}_linux_amd64.tar.gz"
want=$(awk -v n="$name" '$2 == n {print $1}' "$DIST/SHA256SUMS" 2>/dev/null || true)
[ -n "$want" ] || { echo "release-verify: $name is not in $DIST/SHA256SUMS: run make release first" >&2; exit 1; }

work=$(mktemp -d /tmp/aggregator-reproduce.XXXXXX)
trap 'rm -rf "$work"' EXIT
git archive --format=tar --prefix=src/ HEAD | tar -C "$work" -xf -
cp -r web/dist/. "$work/src/web/dist/"
# git archive carries no .git: pass what git says here.
commit=$(git rev-parse HEAD) epoch=$(git log -1 --format=%ct)
(cd "$work/src" && GOCACHE="$work/gocache" VERSION=$VERSION COMMIT=$commit \
  SOURCE_DATE_EPOCH=$epoch TARGETS=linux/amd64 DIST="$work/dist" bash scripts/release.sh >/dev/null)
got=$(awk -v n="$name" '$2 == n {print $1}' "$work/dist/SHA256SUMS")
if [ "$got" != "$want" ]; then
  echo "release-verify: NOT reproducible: $name is $want in $DIST, $got when rebuilt in $work/src" >&2
  exit 1
fi
echo "release-verify: $name rebuilt in another directory with an empty build cache: same SHA-256 $got"
