#!/usr/bin/env bash
# Reboot lock under faults: builds update-agent, compiles the bench sources against it, starts a
# throw-away etcd on 127.0.0.1 (free ports, temp data dir; killed and removed at the end) and runs
# 10 lock clients (threads, each with its own etcd client and the real RebootLock) with max 2
# holders while holders die without unlocking and etcd is SIGKILLed and restarted twice. Prints
# the longest wedge (dead holder's last renewal to its release) against the lease, the most
# holders a 100 ms sampler saw, and the completed lock/unlock cycles; exits 1 if a limit broke.
# Usage: bench/run lock-faults; env LEASE=5 (s) SECONDS=60 AGENTS=10 DEATHS=6 SEED=1
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
timeout 170 java -cp "$WORK/classes:$CP" io.basalt.update.bench.LockFaults "$@"
