#!/usr/bin/env bash
# Reboot-lock benchmark: builds update-agent, compiles the bench sources against it, starts a
# throw-away etcd on 127.0.0.1 (free ports, temp data dir; killed at the end) and prints
# lock+unlock latency and throughput (1 and 20 contenders) against a raw compare-and-swap
# reference, and the client's memory against a bare JVM. Usage: bench/run etcd-lock
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MOD=$ROOT/update-agent
command -v etcd >/dev/null || { echo "bench: needs etcd (Debian: etcd-server)" >&2; exit 1; }
mvn -B -q -o -f "$ROOT/pom.xml" -pl update-agent -am -Dmaven.test.skip=true package >&2 \
  || mvn -B -q -f "$ROOT/pom.xml" -pl update-agent -am -Dmaven.test.skip=true package >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CP="$MOD/target/basaltctl.jar:$MOD/target/lib/*"
javac -d "$WORK/classes" -cp "$CP" $(find "$HERE/src" -name '*.java')
exec java -cp "$WORK/classes:$CP" io.basalt.update.bench.LockBench "$@"
