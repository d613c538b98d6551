#!/usr/bin/env bash
# Benchmark of the TUF client (not a test): refresh + verify with 10,000 targets and with 1,000
# delegated roles, each in a fresh JVM, against Jackson parsing the same files as the reference,
# under the image's basaltctl JVM flags, the same plus an AppCDS archive, and JVM defaults.
# Usage: [RUNS=5] [CONFIGS=image,cds,defaults] [BASELINE=GIT_REV] bench/run tuf-refresh
#   prints medians, ratios, CPU time, peak heap. More CONFIGS: unsigned, cds-unsigned (bcprov jar
#   without its signature files: what its check costs). BASELINE: also runs the client of that
#   revision (its signing module built offline from `git archive`), interleaved with the others.
set -euo pipefail
cd "$(dirname "$0")/../../signing"
# Through the reactor (-pl signing -am): signing needs host-contract and test-support from this tree.
mvn -B -q -o -f ../pom.xml -pl signing -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test >&2
baseline=()
if [ -n "${BASELINE:-}" ]; then
  base=$(mktemp -d /tmp/basalt-tuf-baseline.XXXXXX)
  trap 'rm -rf "$base"' EXIT
  git -C .. archive "$BASELINE" pom.xml signing | tar -x -C "$base"
  mvn -B -q -o -f "$base/signing/pom.xml" test-compile >&2
  (cd "$base/signing/target/classes" && jar cf "$base/classes.jar" .)
  (cd "$base/signing/target/test-classes" && jar cf "$base/test-classes.jar" .)
  baseline=("-Dbaseline.cp=$base/test-classes.jar:$base/classes.jar" "-Dbaseline.name=$BASELINE")
fi
java -Druns="${RUNS:-5}" -Dconfigs="${CONFIGS:-image,cds,defaults}" "${baseline[@]}" \
  -cp "target/test-classes:target/classes:$(cat target/bench.cp)" io.basalt.signing.bench.RefreshBench "$@"
