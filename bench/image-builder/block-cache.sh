#!/usr/bin/env bash
# Rebuild of the /usr squashfs after a one-package change (issue 17, item 7, rebuild half): v2 =
# the default image + jq, written by Basalt's squashfs writer with a warm block cache (the cache a
# build of v1 left), cold (empty cache: compress every block and store it), without a cache, and
# by mksquashfs on the same tree (v2's /usr unsquashed from our image) with the same compressor,
# level, block size and processors. Each of our runs is a fresh JVM with the launcher's
# BUILD_JVM_OPTS; the warm cache is a hard-linked copy of v1's (v1 built until every block is in
# it), made before each run (not timed).
# The base trees come from the base tree cache; a missing one is made by `basalt build` first
# (mmdebstrap, minutes). A tar's content index (base.tar.index, SHA-256 per file), which the base
# tree cache makes once with the tar, is made by the first run when missing (not timed).
# Prints every run, medians and the ratios to mksquashfs.
# Usage: bench/run block-cache [RUNS=5] [LEVEL=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-5}; LEVEL=${2:-3}
WORK=$(mktemp -d /var/tmp/basalt-block-cache-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
printf 'outputs: [usr.img]\n' > "$WORK/v1.yaml"
printf 'outputs: [usr.img]\ndebian:\n  extra-packages: [jq]\n' > "$WORK/v2.yaml"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/basalt/base
base_tar() { # SPEC -> the base tree tar, made by a build when missing
  local key
  key=$(./basalt build --spec "$1" --plan --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["base"]["cacheKey"])')
  if [ ! -f "$CACHE/$key/base.tar" ]; then
    echo "bench: making the base tree of $1 (basalt build)" >&2
    SOURCE_DATE_EPOCH=1700000000 ./basalt build --spec "$1" --out "$WORK/build" --no-block-cache >&2
    rm -rf "$WORK/build"
  fi
  echo "$CACHE/$key/base.tar"
}
V1=$(base_tar "$WORK/v1.yaml"); V2=$(base_tar "$WORK/v2.yaml")
mvn -B -q -o -pl image-builder -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench.classpath -DskipTests >/dev/null
eval "$(grep '^BUILD_JVM_OPTS=' "$ROOT/basalt")"
CP="image-builder/target/classes:image-builder/target/test-classes:$(cat image-builder/target/bench.classpath)"
P=$(nproc)
# shellcheck disable=SC2086
# the output is removed first (not timed), as for mksquashfs: overwriting a file just written makes
# ext4 write back its old pages when the new one is closed (auto_da_alloc)
ours() { rm -f "$WORK/ours.img"; java $BUILD_JVM_OPTS ${BASALT_JAVA_OPTS:-} -cp "$CP" io.basalt.image.squashfs.BlockCacheBench "$1" "$WORK/ours.img" "$LEVEL" "$2"; }
field() { sed -n "s/^write \([0-9.]*\) s wall, \([0-9.]*\) s cpu.*/\\$1/p"; }
echo "bench: v1 builds fill the cache; v2's /usr unsquashed for mksquashfs (not timed)" >&2
# a busy disk makes the cache drop entries: build v1 again until every block was a hit
for _ in 1 2 3 4 5; do
  fill=$(ours "$V1" "$WORK/cache-v1"); echo "$fill" >&2
  grep -q 'misses=0,' <<<"$fill" && break
done
ours "$V2" none > "$WORK/none.txt"
unsquashfs -q -d "$WORK/usr" "$WORK/ours.img" >/dev/null
ref() {
  rm -f "$WORK/ref.sqfs"
  /usr/bin/time -f '%e %U %S' -o "$WORK/ref.time" mksquashfs "$WORK/usr" "$WORK/ref.sqfs" -comp zstd \
    -Xcompression-level "$LEVEL" -b 131072 -processors "$P" -noappend -quiet -no-progress >/dev/null
  read -r w u s < "$WORK/ref.time"
  echo "$w $(echo "$u + $s" | bc)"
}
declare -a ww wc cw cc nw nc rw rc
for i in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/cache-run"; cp -al "$WORK/cache-v1" "$WORK/cache-run"
  warm=$(ours "$V2" "$WORK/cache-run"); sum_warm=$(sha256sum < "$WORK/ours.img")
  rm -rf "$WORK/cache-run"
  cold=$(ours "$V2" "$WORK/cache-run"); sum_cold=$(sha256sum < "$WORK/ours.img")
  none=$(ours "$V2" none); sum_none=$(sha256sum < "$WORK/ours.img")
  if [ "$sum_warm" != "$sum_none" ] || [ "$sum_cold" != "$sum_none" ]; then
    echo "bench: images differ with and without the cache" >&2; exit 1
  fi
  read -r mw mc < <(ref)
  ww+=("$(field 1 <<<"$warm")"); wc+=("$(field 2 <<<"$warm")")
  cw+=("$(field 1 <<<"$cold")"); cc+=("$(field 2 <<<"$cold")")
  nw+=("$(field 1 <<<"$none")"); nc+=("$(field 2 <<<"$none")")
  rw+=("$mw"); rc+=("$mc")
  echo "run $i: warm ${ww[-1]} s (${wc[-1]} cpu) | cold ${cw[-1]} s (${cc[-1]}) | no cache ${nw[-1]} s (${nc[-1]}) | mksquashfs $mw s ($mc) | load $(cut -d' ' -f1-3 /proc/loadavg)"
  sed -n 's/.*cache Stats\[\(.*\)\]/    warm cache: \1/p' <<<"$warm"
done
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
m() { printf '%s\n' "$@" | median; }
ratio() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
a=$(m "${ww[@]}"); b=$(m "${cw[@]}"); c=$(m "${nw[@]}"); r=$(m "${rw[@]}")
echo
echo "/usr squashfs of v2 (default + jq), zstd level $LEVEL, 128 KiB blocks, $P processors, medians of $RUNS runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "wall: warm cache $a s, cold cache $b s, no cache $c s, mksquashfs $r s"
echo "wall / mksquashfs: warm $(ratio "$a" "$r") (target <= 0.25), cold $(ratio "$b" "$r"), no cache $(ratio "$c" "$r")"
echo "cpu:  warm $(m "${wc[@]}") s, cold $(m "${cc[@]}") s, no cache $(m "${nc[@]}") s, mksquashfs $(m "${rc[@]}") s"
echo "sizes: ours $(stat -c %s "$WORK/ours.img") B, mksquashfs $(stat -c %s "$WORK/ref.sqfs") B; cache after v1 $(du -sb "$WORK/cache-v1" | cut -f1) B"
