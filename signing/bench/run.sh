#!/usr/bin/env bash
# Benchmark of the TUF client (not a test): refresh + verify with 10,000 targets and with 1,000
# delegated roles, each in a fresh JVM, against Jackson parsing the same files as the reference,
# under the image's basaltctl JVM flags, the same plus an AppCDS archive, and JVM defaults.
# Usage: [RUNS=5] [CONFIGS=image,cds,defaults] signing/bench/run.sh   (prints medians, ratios, CPU time, peak heap)
# More CONFIGS: unsigned, cds-unsigned (bcprov jar without its signature files: what its check costs)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test >&2
exec java -Druns="${RUNS:-5}" -Dconfigs="${CONFIGS:-image,cds,defaults}" -cp "target/test-classes:target/classes:$(cat target/bench.cp)" \
  io.basalt.signing.bench.RefreshBench "$@"
