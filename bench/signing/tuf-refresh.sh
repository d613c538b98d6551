#!/usr/bin/env bash
# Benchmark of the TUF client (not a test): refresh + verify with 10,000 targets and with 1,000
# delegated roles, each in a fresh JVM, against Jackson parsing the same files as the reference, on
# Java 25 (JAVA_HOME, else the first /usr/lib/jvm/*25*) with the flags the host runs basaltctl
# with and a start-up cache made the way the host makes it, both from init-units' java-run.
# Usage: [RUNS=7] [CONFIGS=host,nocache,defaults] [BASELINE=GIT_REV] [JAVA_HOME=DIR]
#   bench/run tuf-refresh
#   prints medians, every run, ratios, CPU time, peak heap. BASELINE: also runs the client of that
#   revision (its signing module built offline from `git archive`), interleaved with the others.
set -euo pipefail
# shellcheck source=bench/java25.sh
. "$(dirname "$0")/../java25.sh"
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
unset JAVA_TOOL_OPTIONS _JAVA_OPTIONS
"$BENCH_JAVA_HOME/bin/java" -Druns="${RUNS:-7}" -Dconfigs="${CONFIGS:-host}" "${baseline[@]}" \
  -Djava.run="$JAVA_RUN" -Dbench.java.home="$BENCH_JAVA_HOME" \
  -cp "target/test-classes:target/classes:$(cat target/bench.cp)" io.basalt.signing.bench.RefreshBench "$@"
