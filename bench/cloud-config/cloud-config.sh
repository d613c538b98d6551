#!/usr/bin/env bash
# Benchmark: validate + render of a 200-unit #cloud-config, wall time of the whole process including
# JVM start, run exactly as the host runs it: through init-units' launcher /usr/lib/basalt/cloud-config
# (the ExecStart of basalt-cloudinit.service: the host's JVM flags, classpath 'lib/*', and the
# application class-data archive basalt-cloudinit-cds.service makes for this /usr), with a lib
# directory holding cloud-config's runtime jars as on the host. Reference in the same run: a JVM
# printing "hello" with the same flags (the floor any Java tool on the host pays). Fresh JVM per
# run, runs interleaved, medians. Usage: bench/run cloud-config [RUNS] [UNITS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODULE=$ROOT/cloud-config
LAUNCHER=$ROOT/init-units/src/main/resources/basalt/libexec/cloud-config
RUNS=${1:-21}
UNITS=${2:-200}
WORK=$(mktemp -d)
# Render targets on tmpfs when there is one: on a disk shared with other builds, creating and
# renaming ~300 files costs 0.3-0.5 s of kernel time that says nothing about cloud-config (one
# row below still renders to disk).
SHM=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$WORK" "$SHM"' EXIT

mvn -B -q -o -Dstyle.color=never -f "$ROOT/pom.xml" -pl cloud-config -am package -DskipTests >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
mvn -B -q -o -Dstyle.color=never -f "$ROOT/pom.xml" -pl cloud-config dependency:build-classpath -Dmdep.includeScope=runtime \
  -Dmdep.outputFile="$WORK/cp.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
# /usr/lib/basalt/lib as the image lays it out: cloud-config's jar and its runtime dependencies.
mkdir -p "$WORK/lib"
cp "$(ls "$MODULE"/target/basalt-cloud-config-*.jar | grep -v -e '-sources' -e '-tests' | head -1)" "$WORK/lib/"
tr ':' '\n' < "$WORK/cp.txt" | while read -r j; do [ -n "$j" ] && cp "$j" "$WORK/lib/"; done
"$HERE/gen-config.sh" "$UNITS" > "$WORK/config.yml"
mkdir -p "$WORK/hello"
printf 'public class Hello { public static void main(String[] a) { System.out.println("hello"); } }\n' > "$WORK/hello/Hello.java"
javac -d "$WORK/hello" "$WORK/hello/Hello.java"

JAVA=$(readlink -f "$(command -v java)")
# The launcher's own JVM flags, for the reference: one definition, in the launcher.
read -r -a OPTS <<< "$(sed -n 's/^opts="\(.*\)"$/\1/p' "$LAUNCHER")"
[ "${#OPTS[@]}" -gt 3 ] || { echo "cannot read the JVM flags from $LAUNCHER" >&2; exit 1; }
# Two kernel command lines: this /usr's hash (archive made, as on every boot after the first of a
# /usr version) and none (no archive: the first boot of a new /usr, before the archive exists).
USRHASH=$(cat "$WORK"/lib/*.jar "$JAVA" | sha256sum | cut -c1-64)
echo "BOOT_IMAGE=/vmlinuz usrhash=$USRHASH ro" > "$WORK/cmdline"
echo "BOOT_IMAGE=/vmlinuz ro" > "$WORK/cmdline-none"
export BASALT_JAVA=$JAVA BASALT_LIB=$WORK/lib BASALT_CDS_DIR=$WORK/cds
unset JAVA_TOOL_OPTIONS _JAVA_OPTIONS
MAKE_START=$(date +%s%N)
BASALT_CMDLINE=$WORK/cmdline sh "$LAUNCHER" --make-cds-archive > "$WORK/make.log" 2>&1 || { cat "$WORK/make.log"; exit 1; }
MAKE_MS=$(( ($(date +%s%N) - MAKE_START) / 1000000 ))
ls "$WORK"/cds/cloud-config-"$USRHASH".jsa >/dev/null

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
with_cds() { BASALT_CMDLINE=$WORK/cmdline sh "$LAUNCHER" "$@"; }
without_cds() { BASALT_CMDLINE=$WORK/cmdline-none sh "$LAUNCHER" "$@"; }

for f in ref version validate render validate-cds render-cds render-disk apply-again; do : > "$WORK/$f"; done
# The host's every-boot case: apply of a config that an earlier boot already applied (files compared,
# nothing written; with --root other than / the system commands are printed, not run).
with_cds apply "$WORK/config.yml" --root "$WORK/applied" > /dev/null
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$RUNS"); do
  rm -rf "$SHM/out" "$SHM/out-cds" "$WORK/out-disk"
  ms "$JAVA" "${OPTS[@]}" -cp "$WORK/hello" Hello >> "$WORK/ref"
  ms "$JAVA" "${OPTS[@]}" -version >> "$WORK/version"
  ms without_cds validate "$WORK/config.yml" >> "$WORK/validate"
  ms without_cds render "$WORK/config.yml" --root "$SHM/out" --private-ipv4 10.0.0.1 >> "$WORK/render"
  ms with_cds validate "$WORK/config.yml" >> "$WORK/validate-cds"
  ms with_cds render "$WORK/config.yml" --root "$SHM/out-cds" --private-ipv4 10.0.0.1 >> "$WORK/render-cds"
  ms with_cds render "$WORK/config.yml" --root "$WORK/out-disk" --private-ipv4 10.0.0.1 >> "$WORK/render-disk"
  ms with_cds apply "$WORK/config.yml" --root "$WORK/applied" >> "$WORK/apply-again"
done
test "$(find "$SHM/out" -name 'app-*.service' | wc -l)" -eq "$UNITS"
diff -r "$SHM/out" "$SHM/out-cds" >/dev/null
diff -r "$SHM/out" "$WORK/out-disk" >/dev/null

echo "render to: $(df --output=fstype "$SHM" | tail -1) (last render row: $(df --output=fstype "$WORK" | tail -1))"
echo "runs: $RUNS, units: $UNITS, config: $(wc -l < "$WORK/config.yml") lines, $(nproc) cpus, load before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $("$JAVA" -version 2>&1 | head -1); flags: ${OPTS[*]}"
echo "class-data archive: $(stat -c %s "$WORK"/cds/cloud-config-"$USRHASH".jsa) bytes, made in $MAKE_MS ms (once per /usr version, after boot)"
printf '%-46s %9s %9s %16s\n' "median of $RUNS runs" "wall ms" "cpu ms" "x reference"
row() { printf '%-46s %9s %9s %7s %8s\n' "$1" "$(wall "$2")" "$(cpu "$2")" "$(ratio "$(wall "$2")" "$(wall "$WORK/ref")")" "$(ratio "$(cpu "$2")" "$(cpu "$WORK/ref")")"; }
row "reference: JVM start, hello" "$WORK/ref"
row "reference: java -version" "$WORK/version"
row "validate, no archive (first boot of a /usr)" "$WORK/validate"
row "validate + render, no archive" "$WORK/render"
row "validate, host archive" "$WORK/validate-cds"
row "validate + render, host archive" "$WORK/render-cds"
row "validate + render, host archive, to disk" "$WORK/render-disk"
row "apply, already applied, host archive" "$WORK/apply-again"
echo "target: validate + render <= 300 ms wall (x reference: wall ratio, cpu ratio)"
