#!/usr/bin/env bash
# Benchmark: validate + render of a 200-unit #cloud-config, wall time of the whole process including
# JVM start, with the JVM settings the host uses (basalt-cloudinit.service / basaltctl), against a
# reference measured in the same run: a JVM printing "hello" with the same settings (the floor any
# Java tool on the host pays). Prints medians and ratios. Usage: bench/run.sh [RUNS] [UNITS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=$(dirname "$HERE")
ROOT=$(dirname "$MODULE")
RUNS=${1:-21}
UNITS=${2:-200}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mvn -B -q -o -Dstyle.color=never -f "$ROOT/pom.xml" -pl cloud-config -am package -DskipTests >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
mvn -B -q -o -Dstyle.color=never -f "$ROOT/pom.xml" -pl cloud-config dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
CP="$(ls "$MODULE"/target/basalt-cloud-config-*.jar | head -1):$(cat "$WORK/cp.txt")"
"$HERE/gen-config.sh" "$UNITS" > "$WORK/config.yml"
mkdir -p "$WORK/hello"
printf 'public class Hello { public static void main(String[] a) { System.out.println("hello"); } }\n' > "$WORK/hello/Hello.java"
javac -d "$WORK/hello" "$WORK/hello/Hello.java"

# The host's settings (basalt-cloudinit.service); -Xshare:auto = the JDK's default CDS archive.
OPTS=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss512k -XX:MaxRAMPercentage=25 -Xshare:auto)
MAIN=io.basalt.cloudconfig.cli.CloudConfigMain

# An application CDS archive, as the image build could ship one (measured as a variant).
java "${OPTS[@]}" -XX:ArchiveClassesAtExit="$WORK/app.jsa" -cp "$CP" $MAIN render "$WORK/config.yml" \
  --root "$WORK/out-cds" --private-ipv4 10.0.0.1 >/dev/null 2>&1 || true

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

: > "$WORK/ref"; : > "$WORK/validate"; : > "$WORK/render"; : > "$WORK/render-cds"
for i in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/out" "$WORK/out-cds"
  ms java "${OPTS[@]}" -cp "$WORK/hello" Hello >> "$WORK/ref"
  ms java "${OPTS[@]}" -cp "$CP" $MAIN validate "$WORK/config.yml" >> "$WORK/validate"
  ms java "${OPTS[@]}" -cp "$CP" $MAIN render "$WORK/config.yml" --root "$WORK/out" --private-ipv4 10.0.0.1 >> "$WORK/render"
  if [ -f "$WORK/app.jsa" ]; then
    ms java "${OPTS[@]}" -XX:SharedArchiveFile="$WORK/app.jsa" -cp "$CP" $MAIN render "$WORK/config.yml" \
      --root "$WORK/out-cds" --private-ipv4 10.0.0.1 >> "$WORK/render-cds"
  fi
done
test "$(find "$WORK/out" -name 'app-*.service' | wc -l)" -eq "$UNITS"

echo "runs: $RUNS, units: $UNITS, config: $(wc -l < "$WORK/config.yml") lines, $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $(java -version 2>&1 | head -1)"
printf '%-42s %9s %9s %16s\n' "median of $RUNS runs" "wall ms" "cpu ms" "x reference"
row() { printf '%-42s %9s %9s %7s %8s\n' "$1" "$(wall "$2")" "$(cpu "$2")" "$(ratio "$(wall "$2")" "$(wall "$WORK/ref")")" "$(ratio "$(cpu "$2")" "$(cpu "$WORK/ref")")"; }
row "reference (JVM start, hello)" "$WORK/ref"
row "validate" "$WORK/validate"
row "validate + render (render)" "$WORK/render"
if [ -s "$WORK/render-cds" ]; then row "validate + render, AppCDS archive" "$WORK/render-cds"; fi
echo "target: validate + render <= 300 ms wall (x reference: wall ratio, cpu ratio)"
