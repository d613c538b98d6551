# Sourced by the benchmarks that run Basalt's Java programs as a host runs them (tuf-refresh,
# cloud-config). Sets JAVA_RUN, init-units' java-run: the one home of the host's runtime, JVM flags
# and start-up caches, which the benchmarks ask for flags and caches (never copies of them); and
# BENCH_JAVA_HOME, the Java 25 they run on: $JAVA_HOME when set, else the first /usr/lib/jvm/*25*
# with a release file. Exits when that runtime is missing or older than 25.
JAVA_RUN=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/init-units/src/main/resources/basalt/libexec/java-run
BENCH_JAVA_HOME=${JAVA_HOME:-}
if [ -z "$BENCH_JAVA_HOME" ]; then
  for d in /usr/lib/jvm/*25*; do
    if [ -f "$d/release" ]; then
      BENCH_JAVA_HOME=$d
      break
    fi
  done
fi
if [ -z "$BENCH_JAVA_HOME" ]; then
  echo "no Java 25: no /usr/lib/jvm/*25* with a release file; set JAVA_HOME to a Java 25 home" >&2
  exit 1
fi
if ! feature=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$BENCH_JAVA_HOME/release" 2>/dev/null) ||
  [ -z "$feature" ] || [ "$feature" -lt 25 ]; then
  echo "JAVA_HOME=$BENCH_JAVA_HOME is not a Java 25 or later home (its release file says" \
    "JAVA_VERSION ${feature:-nothing}); the host runs Java 25" >&2
  exit 1
fi
unset feature
