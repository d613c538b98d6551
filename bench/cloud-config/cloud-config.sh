#!/usr/bin/env bash
# Benchmark: validate + render of a 200-unit #cloud-config, wall time of the whole process including
# JVM start, run exactly as the host runs it: through init-units' launcher /usr/lib/basalt/cloud-config
# (the ExecStart of basalt-cloudinit.service) and /usr/lib/basalt/java-run (the host's JVM flags,
# classpath 'lib/*', and the start-up cache basalt-java-cache.service makes for this /usr with
# `java-run --make-cache cloud-config`: an ahead-of-time cache trained on the image's own sample),
# with a lib directory holding cloud-config's runtime jars as on the host, on Java 25 (JAVA_HOME,
# else the first /usr/lib/jvm/*25*). Reference in the same run: a JVM printing "hello" with the
# same flags (`java-run --print cloud-config`; the floor any Java tool on the host pays). Fresh JVM
# per run, runs interleaved, medians and every run of the main row.
# Usage: [JAVA_HOME=DIR] bench/run cloud-config [RUNS] [UNITS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=bench/java25.sh
. "$HERE/../java25.sh"
MODULE=$ROOT/cloud-config
RESOURCES=$ROOT/init-units/src/main/resources/basalt
LAUNCHER=$RESOURCES/libexec/cloud-config
RUNS=${1:-21}
UNITS=${2:-200}
TARGET_MS=150
WORK=$(mktemp -d)
# Render targets on tmpfs when there is one: on a disk shared with other builds, creating and
# renaming ~300 files costs 0.3-0.5 s of kernel time that says nothing about cloud-config (one
# row below still renders to disk).
SHM=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$WORK" "$SHM"' EXIT

# One reactor build: the runtime class path names this tree's jars (host-contract), not installed
# ones; cloud-config, built last, writes cp.txt last.
mvn -B -q -o -Dstyle.color=never -f "$ROOT/pom.xml" -pl cloud-config -am package dependency:build-classpath \
  -DskipTests -DincludeScope=runtime -Dmdep.outputFile="$WORK/cp.txt" >"$WORK/mvn.log" 2>&1 ||
  { cat "$WORK/mvn.log"; exit 1; }
# /usr/lib/basalt as the image lays it out: lib/ with cloud-config's jar and its runtime
# dependencies, training/ with the sample the start-up cache is trained on.
mkdir -p "$WORK/basalt/lib" "$WORK/basalt/training"
cp "$(ls "$MODULE"/target/basalt-cloud-config-*.jar | grep -v -e '-sources' -e '-tests' | head -1)" "$WORK/basalt/lib/"
tr ':' '\n' < "$WORK/cp.txt" | while read -r j; do [ -n "$j" ] && cp "$j" "$WORK/basalt/lib/"; done
echo "lib: $(cd "$WORK/basalt/lib" && echo *.jar)"
cp "$RESOURCES/training/cloud-config.yml" "$WORK/basalt/training/"
"$HERE/gen-config.sh" "$UNITS" > "$WORK/config.yml"
mkdir -p "$WORK/hello"
printf 'public class Hello { public static void main(String[] a) { System.out.println("hello"); } }\n' > "$WORK/hello/Hello.java"
javac --release 17 -d "$WORK/hello" "$WORK/hello/Hello.java"

# Two kernel command lines: this /usr's hash (cache made, as on every boot after the first of a
# /usr version) and none (no cache: the first boot of a new /usr, before the cache exists).
USRHASH=$(cat "$WORK"/basalt/lib/*.jar "$BENCH_JAVA_HOME/release" | sha256sum | cut -c1-64)
echo "BOOT_IMAGE=/vmlinuz usrhash=$USRHASH ro" > "$WORK/cmdline"
echo "BOOT_IMAGE=/vmlinuz ro" > "$WORK/cmdline-none"
export BASALT_JAVA_HOME=$BENCH_JAVA_HOME BASALT_LIB=$WORK/basalt BASALT_JAVA_CACHE=$WORK/cache
export BASALT_JAVA_RUN=$JAVA_RUN
unset JAVA_TOOL_OPTIONS _JAVA_OPTIONS
# The host's java and flags for cloud-config, for the reference: one definition, in java-run.
mapfile -t CMD < <(BASALT_CMDLINE=$WORK/cmdline-none sh "$JAVA_RUN" --print cloud-config)
JAVA=${CMD[0]}
OPTS=()
for w in "${CMD[@]:1}"; do
  [ "$w" = -cp ] && break
  OPTS+=("$w")
done
[ "${#OPTS[@]}" -gt 3 ] || { echo "cannot read the JVM flags from java-run --print cloud-config" >&2; exit 1; }
MAKE_START=$(date +%s%N)
BASALT_CMDLINE=$WORK/cmdline sh "$JAVA_RUN" --make-cache cloud-config > "$WORK/make.log" 2>&1 || { cat "$WORK/make.log"; exit 1; }
MAKE_MS=$(( ($(date +%s%N) - MAKE_START) / 1000000 ))
CACHE=$(ls "$WORK"/cache/cloud-config-"$USRHASH".*)

# One run: appends "wall_ms cpu_ms" (cpu = user + sys of the process and its threads).
ms() {
  local out
  out=$( { TIMEFORMAT='%3R %3U %3S'; time "$@" >/dev/null 2>&1 || echo FAILED; } 2>&1 )
  case "$out" in *FAILED*) echo "command failed: $*" >&2; exit 1;; esac
  echo "$out" | awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wall() { cut -d' ' -f1 "$1" | median; }
cpu() { cut -d' ' -f2 "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
with_cache() { BASALT_CMDLINE=$WORK/cmdline sh "$LAUNCHER" "$@"; }
without_cache() { BASALT_CMDLINE=$WORK/cmdline-none sh "$LAUNCHER" "$@"; }

for f in ref version validate render validate-cache render-cache render-disk apply-again; do : > "$WORK/$f"; done
# The host's every-boot case: apply of a config that an earlier boot already applied (files compared,
# nothing written; with --root other than / the system commands are printed, not run).
mkdir -p "$WORK/applied/etc" "$WORK/applied/run" "$WORK/applied/home/ops"
with_cache apply "$WORK/config.yml" --root "$WORK/applied" > "$WORK/apply.log" 2>&1 || { grep -iv "would run" "$WORK/apply.log" | head -20; exit 1; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$RUNS"); do
  rm -rf "$SHM/out" "$SHM/out-cache" "$WORK/out-disk"
  ms "$JAVA" "${OPTS[@]}" -cp "$WORK/hello" Hello >> "$WORK/ref"
  ms "$JAVA" "${OPTS[@]}" -version >> "$WORK/version"
  ms without_cache validate "$WORK/config.yml" >> "$WORK/validate"
  ms without_cache render "$WORK/config.yml" --root "$SHM/out" --private-ipv4 10.0.0.1 >> "$WORK/render"
  ms with_cache validate "$WORK/config.yml" >> "$WORK/validate-cache"
  ms with_cache render "$WORK/config.yml" --root "$SHM/out-cache" --private-ipv4 10.0.0.1 >> "$WORK/render-cache"
  ms with_cache render "$WORK/config.yml" --root "$WORK/out-disk" --private-ipv4 10.0.0.1 >> "$WORK/render-disk"
  ms with_cache apply "$WORK/config.yml" --root "$WORK/applied" >> "$WORK/apply-again"
done
test "$(find "$SHM/out" -name 'app-*.service' | wc -l)" -eq "$UNITS"
diff -r "$SHM/out" "$SHM/out-cache" >/dev/null
diff -r "$SHM/out" "$WORK/out-disk" >/dev/null

echo "render to: $(df --output=fstype "$SHM" | tail -1) (last render row: $(df --output=fstype "$WORK" | tail -1))"
echo "runs: $RUNS, units: $UNITS, config: $(wc -l < "$WORK/config.yml") lines, $(nproc) cpus, load before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $(sed -n 's/^IMPLEMENTOR_VERSION="\(.*\)"/\1/p' "$BENCH_JAVA_HOME/release") ($BENCH_JAVA_HOME); flags (java-run --print cloud-config): ${OPTS[*]}"
echo "start-up cache: $(basename "$CACHE"), $(stat -c %s "$CACHE") bytes, made by java-run --make-cache in $MAKE_MS ms (once per /usr version, after boot)"
printf '%-46s %9s %9s %16s\n' "median of $RUNS runs" "wall ms" "cpu ms" "x reference"
row() { printf '%-46s %9s %9s %7s %8s\n' "$1" "$(wall "$2")" "$(cpu "$2")" "$(ratio "$(wall "$2")" "$(wall "$WORK/ref")")" "$(ratio "$(cpu "$2")" "$(cpu "$WORK/ref")")"; }
row "reference: JVM start, hello" "$WORK/ref"
row "reference: java -version" "$WORK/version"
row "validate, no cache (first boot of a /usr)" "$WORK/validate"
row "validate + render, no cache" "$WORK/render"
row "validate, host cache" "$WORK/validate-cache"
row "validate + render, host cache" "$WORK/render-cache"
row "validate + render, host cache, to disk" "$WORK/render-disk"
row "apply, already applied, host cache" "$WORK/apply-again"
echo "every run, wall ms in order:"
echo "  validate + render, host cache: $(cut -d' ' -f1 "$WORK/render-cache" | paste -sd' ')"
echo "  reference, hello:              $(cut -d' ' -f1 "$WORK/ref" | paste -sd' ')"
echo "target: validate + render, host cache <= $TARGET_MS ms wall at the median:" \
  "$(awk -v m="$(wall "$WORK/render-cache")" -v t="$TARGET_MS" 'BEGIN{print (m <= t ? "met" : "not met")}')" \
  "(x reference: wall ratio, cpu ratio)"
