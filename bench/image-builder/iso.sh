#!/usr/bin/env bash
# ISO benchmark: our ISO 9660 writer vs xorriso -as mkisofs on the files of a build's ISO
# (see image-builder/README.md, "ISO"). Usage: bench/run iso BUILD_DIR [RUNS=5]
# Needs xorriso (osirrox extracts the build's ISO, xorriso is the reference).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: bench/run iso BUILD_DIR [RUNS=5]   (a build folder holding <name>-<version>.iso)" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
# One reactor run: the sibling modules resolve to their target/classes (nothing is installed).
mvn -B -q -pl image-builder -am test-compile dependency:build-classpath -DskipTests \
  -Dmdep.includeScope=test -Dmdep.outputFile="$ROOT/image-builder/target/bench.classpath" >/dev/null
exec java -cp "image-builder/target/classes:image-builder/target/test-classes:$(cat image-builder/target/bench.classpath)" \
  io.basalt.image.iso.IsoBench "$BUILD" "$@"
