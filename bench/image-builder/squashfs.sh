#!/usr/bin/env bash
# squashfs benchmark: our writer vs mksquashfs on the Debian minbase root (see image-builder/README.md).
# Usage: bench/run squashfs [repetitions] [zstd|xz|gzip] [level] [threads]
# Needs root (extracting the fixture tar keeps owners, devices, xattrs), mksquashfs, mmdebstrap.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mvn -B -q -pl image-builder -am test-compile -DskipTests
mvn -B -q -pl image-builder -am dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$ROOT/image-builder/target/bench.classpath" >/dev/null
exec java -cp "image-builder/target/classes:image-builder/target/test-classes:$(cat image-builder/target/bench.classpath)" \
  io.basalt.image.squashfs.SquashfsBench "$@"
