#!/usr/bin/env bash
# How much of usr.img a one-package change and a version-only change leave unchanged, in 4 KiB
# blocks (image-builder/README.md, "squashfs layout"). Builds the default image v1 (usr.img only),
# v2 = v1 + jq and v3 = v1 with version 0.1.1, SOURCE_DATE_EPOCH=1700000000, no block cache, and
# prints block-diff.py for v1 -> v2 and v1 -> v3 plus the image sizes. With BASELINE=REV the same
# three builds are made by the Basalt of REV (git archive into the work folder, jar built there)
# and printed first: the reference. Base trees come from the base tree cache (mmdebstrap once).
# Usage: bench/run squashfs-layout, env BASELINE=REV
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /var/tmp/basalt-layout-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
printf 'outputs: [usr.img]\n' > "$WORK/v1.yaml"
printf 'outputs: [usr.img]\ndebian:\n  extra-packages: [jq]\n' > "$WORK/v2.yaml"
printf 'version: 0.1.1\noutputs: [usr.img]\n' > "$WORK/v3.yaml"
builds() { # LAUNCHER PREFIX [ARGS...]: v1, v2, v3 into PREFIX-vN
  local launcher=$1 prefix=$2 v; shift 2
  for v in v1 v2 v3; do
    SOURCE_DATE_EPOCH=1700000000 "$launcher" build --spec "$WORK/$v.yaml" --out "$prefix-$v" "$@" \
      > "$prefix-$v.log" 2>&1 || { tail -n 20 "$prefix-$v.log" >&2; exit 1; }
  done
}
compare() { # PREFIX LABEL
  echo "== $2: usr.img sizes v1 $(stat -c %s "$1-v1/usr.img") B, v2 $(stat -c %s "$1-v2/usr.img") B, v3 $(stat -c %s "$1-v3/usr.img") B"
  echo "-- v1 -> v2 (+ jq)"
  python3 bench/image-builder/block-diff.py "$1-v1/usr.img" "$1-v2/usr.img"
  echo "-- v1 -> v3 (version only)"
  python3 bench/image-builder/block-diff.py "$1-v1/usr.img" "$1-v3/usr.img"
}
if [ -n "${BASELINE:-}" ]; then
  mkdir "$WORK/baseline"
  git archive "$BASELINE" | tar -x -C "$WORK/baseline"
  echo "bench: building the baseline $BASELINE" >&2
  builds "$WORK/baseline/basalt" "$WORK/base"
  compare "$WORK/base" "baseline $(git rev-parse --short "$BASELINE")"
fi
builds ./basalt "$WORK/ours" --no-block-cache
compare "$WORK/ours" "this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- image-builder || echo ', modified'))"
