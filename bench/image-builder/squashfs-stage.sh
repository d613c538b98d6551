#!/usr/bin/env bash
# The build's /usr squashfs stage alone vs mksquashfs on the same tree (see image-builder/README.md, "Build
# performance"). Each of our runs is a fresh JVM, as in `basalt build`: /usr read in place from the
# base tree tar, written through the dm-verity hashing channel, hash tree appended. mksquashfs
# gets the same /usr, unsquashed from our image to a directory, with the same zstd level, and
# runs alternate with ours. Our JVM gets the launcher's BUILD_JVM_OPTS (the JIT settings `basalt
# build` runs with) plus BASALT_JAVA_OPTS. Prints every run (wall, CPU, our CPU per thread group and
# its time runnable but waiting for a CPU), medians and ratios.
# Usage: bench/run squashfs-stage BASE_TAR [RUNS=5] [LEVEL=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TAR=$(readlink -f "${1:?usage: bench/run squashfs-stage BASE_TAR [RUNS=5] [LEVEL=3]}"); RUNS=${2:-5}; LEVEL=${3:-3}
WORK=$(mktemp -d /var/tmp/basalt-stage-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
mvn -B -q -o -pl image-builder -am test-compile -DskipTests
mvn -B -q -o -pl image-builder -am dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$ROOT/image-builder/target/bench.classpath" >/dev/null
eval "$(grep '^BUILD_JVM_OPTS=' "$ROOT/basalt")"
CP="image-builder/target/classes:image-builder/target/test-classes:$(cat image-builder/target/bench.classpath)"
# shellcheck disable=SC2086
ours() { java $BUILD_JVM_OPTS ${BASALT_JAVA_OPTS:-} -cp "$CP" io.basalt.image.squashfs.SquashfsStageBench "$TAR" "$WORK/ours.img" "$LEVEL"; }
ref() {
  rm -f "$WORK/ref.sqfs"
  /usr/bin/time -f '%e %U %S' -o "$WORK/ref.time" \
    mksquashfs "$WORK/usr" "$WORK/ref.sqfs" -comp zstd -Xcompression-level "$LEVEL" -noappend -quiet -no-progress >/dev/null
  read -r w u s < "$WORK/ref.time"
  echo "$w $(echo "$u + $s" | bc)"
}
echo "bench: reference tree (our image unsquashed; not timed)" >&2
ours > "$WORK/warm.txt"
grep "^stage" "$WORK/warm.txt" >&2
head -c "$(sed -n 's/.*image \([0-9]*\) bytes.*/\1/p' "$WORK/warm.txt")" "$WORK/ours.img" > "$WORK/ours.sqfs"
unsquashfs -q -d "$WORK/usr" "$WORK/ours.sqfs" >/dev/null
rm -f "$WORK/ours.sqfs"
declare -a ow oc rw rc
for i in $(seq 1 "$RUNS"); do
  out=$(ours)
  w=$(sed -n 's/^stage \([0-9.]*\) s wall, \([0-9.]*\) s cpu.*/\1/p' <<<"$out")
  c=$(sed -n 's/^stage \([0-9.]*\) s wall, \([0-9.]*\) s cpu.*/\2/p' <<<"$out")
  read -r mw mc < <(ref)
  ow+=("$w"); oc+=("$c"); rw+=("$mw"); rc+=("$mc")
  echo "run $i: ours ${w} s wall ${c} s cpu | mksquashfs ${mw} s wall ${mc} s cpu | load $(cut -d' ' -f1-3 /proc/loadavg)"
  sed -n 's/^  \(thread\|writing\)/    \1/p' <<<"$out"
done
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
m() { printf '%s\n' "$@" | median; }
ratio() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
a=$(m "${ow[@]}"); b=$(m "${rw[@]}"); c=$(m "${oc[@]}"); d=$(m "${rc[@]}")
echo
echo "/usr squashfs stage, zstd level $LEVEL, medians of $RUNS alternating runs ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "wall: ours $a s, mksquashfs $b s, ratio $(ratio "$a" "$b")"
echo "cpu:  ours $c s, mksquashfs $d s, ratio $(ratio "$c" "$d")"
echo "sizes: ours $(sed -n 's/.*image \([0-9]*\) bytes.*/\1/p' "$WORK/warm.txt") bytes (+ verity tree), mksquashfs $(stat -c %s "$WORK/ref.sqfs") bytes"
