#!/usr/bin/env bash
# Benchmark of the TUF client (not a test): refresh + verify with 10,000 targets and with 1,000
# delegated roles, each in a fresh JVM, against Jackson parsing the same files as the reference.
# Usage: signing/bench/run.sh   (prints medians of 5 runs, ratios, peak heap)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test >&2
exec java -cp "target/test-classes:target/classes:$(cat target/bench.cp)" io.basalt.signing.bench.RefreshBench "$@"
