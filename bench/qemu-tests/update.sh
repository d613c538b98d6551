#!/usr/bin/env bash
# Update benchmark (not a test): in one v1 VM under QEMU/TCG, the update agent's idle RSS and CPU,
# and `basaltctl update apply` of v4 (v1 + jq) from the full payload against plain dd of the same
# usr.img to the same USR-B partition, then through the delta path (io.basalt.qemu.UpdateBench).
# Boots one VM. Usage: bench/run update [PREFIX]
#   PREFIX: images made by io.basalt.qemu.UpdateImages (PREFIX-repo, PREFIX-v1; PREFIX-v4 is built
#   when missing: a new base tree, mmdebstrap); default qemu-tests/target/update-e2e/build (built
#   first when missing: minutes per image).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MOD=$ROOT/qemu-tests
PREFIX=${1:-$MOD/target/update-e2e/build}
mvn -B -q -o -f "$ROOT/pom.xml" -pl qemu-tests -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile="$MOD/target/bench-classpath.txt" -Dmdep.includeScope=test >&2
CP="$MOD/target/test-classes:$MOD/target/classes:$(cat "$MOD/target/bench-classpath.txt")"
cd "$MOD"
# Given images (all of PREFIX-v1, -v2 and the repository) are used as they are; else they are built.
if [ ! -f "$PREFIX-v1/manifest.json" ] || [ ! -f "$PREFIX-repo/metadata/1.root.json" ]; then
  java -cp "$CP" io.basalt.qemu.UpdateImages "$PREFIX"
fi
exec java -cp "$CP" io.basalt.qemu.UpdateBench "$PREFIX" "$MOD/target/update-bench"
