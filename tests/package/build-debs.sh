#!/bin/bash
# SPDX-License-Identifier: MIT
#
# build-debs.sh OUT — build the Debian packages from this tree with the
# standard tools (dpkg-buildpackage -us -uc -b, in a scratch copy so that
# nothing is written beside the checkout), put them in OUT/v1, and the same
# packages with a bumped version in OUT/v2 (for upgrade tests).  Each
# directory has a VERSION file.  Needs the build dependencies of
# debian/control (scripts/install-deps.sh installs them).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$1
SCRATCH=$(mktemp -d /tmp/jailer-debs.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

mkdir -p "$SCRATCH/src" "$OUT/v1" "$OUT/v2"
if git -C "$REPO" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  (cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$SCRATCH/src"
else
  tar -C "$REPO" --exclude='./build*' --exclude='./tests/.vm' -cf - . | tar -xf - -C "$SCRATCH/src"
fi
(cd "$SCRATCH/src" && dpkg-checkbuilddeps && dpkg-buildpackage -us -uc -b) > "$SCRATCH/build.log" 2>&1 ||
  { tail -30 "$SCRATCH/build.log" >&2; echo "build-debs: dpkg-buildpackage failed" >&2; exit 1; }
v1=$(cd "$SCRATCH/src" && dpkg-parsechangelog -S Version)
v2=$v1+1
for deb in "$SCRATCH"/*.deb; do
  case $deb in *-dbgsym_*) continue ;; esac
  cp "$deb" "$OUT/v1/"
  d=$SCRATCH/repack
  rm -rf "$d"
  dpkg-deb -R "$deb" "$d"
  sed -i -e "s/^Version: .*/Version: $v2/" -e "s/(= $v1)/(= $v2)/g" "$d/DEBIAN/control"
  name=$(sed -n 's/^Package: //p' "$d/DEBIAN/control")
  arch=$(sed -n 's/^Architecture: //p' "$d/DEBIAN/control")
  dpkg-deb --root-owner-group -b "$d" "$OUT/v2/${name}_${v2}_${arch}.deb" > /dev/null
done
echo "$v1" > "$OUT/v1/VERSION"
echo "$v2" > "$OUT/v2/VERSION"
ls "$OUT"/v1 "$OUT"/v2
