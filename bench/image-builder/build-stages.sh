#!/usr/bin/env bash
# Build benchmark: wall time of Basalt's build stages for the default image with the base tree
# cached, and in the same run the same /usr and ESP through the reference tools (mksquashfs,
# veritysetup format, mkfs.vfat + mcopy, sgdisk, dd). Prints per-stage times, ratios
# (Basalt / reference; < 1 means Basalt is faster) and the usr.img and disk.qcow2 sizes.
# Usage: bench/run build-stages [RUNS]   (medians over RUNS, default 3)
# LEVEL=N sets the zstd level of both Basalt and mksquashfs (default 15, mksquashfs' default;
# LEVEL=3 is the level of the embedded default spec, i.e. the default image as shipped).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-3}
WORK=$(mktemp -d /var/tmp/basalt-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
LEVEL=${LEVEL:-15}
# Level 15 is left unset in the spec so the build takes the writer's default path (15).
if [ "$LEVEL" = 15 ]; then printf 'compressor: zstd\n' > "$WORK/spec.yaml"
else printf 'compressor: zstd\ncompressor-level: %s\n' "$LEVEL" > "$WORK/spec.yaml"; fi

echo "bench: warming the base tree cache and building the CLI (not timed)..." >&2
"$ROOT/basalt" build --spec "$WORK/spec.yaml" --out "$WORK/warm" --json > "$WORK/warm.json"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
stage() { # stage JSON NAME: seconds of a stage in a --json summary
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(s["seconds"] for s in d["stages"] if s["stage"] in sys.argv[2:]))' "$@"
}

# Reference inputs, from Basalt's own outputs (same tree, not timed).
hashoff=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["usr"]["hashOffset"])' "$WORK/warm/manifest.json")
head -c "$hashoff" "$WORK/warm/usr.img" > "$WORK/usr.sqfs"
unsquashfs -q -d "$WORK/usr" "$WORK/usr.sqfs" >/dev/null
esp_off=1048576
mkdir -p "$WORK/esp"
MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$WORK/warm/disk.raw@@$esp_off" '::/*' "$WORK/esp/"
read -r esp_mib usr_mib oem_mib root_mib < <(python3 - "$WORK/warm/disk.raw" <<'PY'
import subprocess, sys, re
out = subprocess.run(["sgdisk", "-p", sys.argv[1]], capture_output=True, text=True, check=True).stdout
sizes = {}
for line in out.splitlines():
    m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+\S+\s+(\S+)", line)
    if m:
        sizes[m.group(4)] = (int(m.group(3)) - int(m.group(2)) + 1) * 512 // 1048576
print(sizes["EFI-SYSTEM"], sizes["USR-A"], sizes["OEM"], sizes["ROOT"])
PY
)

declare -a b_sq b_ve b_disk r_sq r_ve r_disk b_total
for i in $(seq 1 "$RUNS"); do
  echo "bench: run $i/$RUNS" >&2
  rm -rf "$WORK/b"
  "$ROOT/basalt" build --spec "$WORK/spec.yaml" --out "$WORK/b" --json > "$WORK/b.json"
  b_sq+=("$(stage "$WORK/b.json" "usr squashfs")")
  b_ve+=("$(stage "$WORK/b.json" "usr verity")")
  b_disk+=("$(stage "$WORK/b.json" "esp" "disk.raw")")
  b_total+=("$(stage "$WORK/b.json" "read base tree" "usr assembly" "usr squashfs" "usr verity" "initramfs" "esp" "disk.raw" "disk.qcow2" "pxe" "update payload" "manifest")")

  rm -f "$WORK/ref.sqfs" "$WORK/ref.disk" "$WORK/esp.img" "$WORK/oem.img"
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$WORK/mk.cpu" \
    mksquashfs "$WORK/usr" "$WORK/ref.sqfs" -comp zstd -Xcompression-level "$LEVEL" -noappend -quiet -no-progress >/dev/null
  t1=$(now)
  padded=$(( ($(stat -c %s "$WORK/ref.sqfs") + 4095) / 4096 * 4096 ))
  truncate -s "$padded" "$WORK/ref.sqfs"
  veritysetup format --data-blocks=$(( padded / 4096 )) --hash-offset="$padded" "$WORK/ref.sqfs" "$WORK/ref.sqfs" >/dev/null
  t2=$(now)
  truncate -s "${esp_mib}M" "$WORK/esp.img"
  mkfs.vfat -F 32 -n EFI-SYSTEM "$WORK/esp.img" >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$WORK/esp.img" "$WORK/esp/"* ::/
  truncate -s "${oem_mib}M" "$WORK/oem.img"
  mkfs.vfat -n OEM "$WORK/oem.img" >/dev/null
  total_mib=$(( 1 + esp_mib + 2 * usr_mib + oem_mib + root_mib + 1 ))
  truncate -s "${total_mib}M" "$WORK/ref.disk"
  sgdisk -a 2048 -n 1:0:+"${esp_mib}M" -t 1:ef00 -c 1:EFI-SYSTEM -n 2:0:+"${usr_mib}M" -t 2:8484680c-9521-48c6-9c11-b0720656f69e -c 2:USR-A \
    -n 3:0:+"${usr_mib}M" -t 3:8484680c-9521-48c6-9c11-b0720656f69e -c 3:USR-B -n 4:0:+"${oem_mib}M" -t 4:8300 -c 4:OEM \
    -n 5:0:+"${root_mib}M" -t 5:4f68bce3-e8cd-4db1-96e7-fbcaf984b709 -c 5:ROOT "$WORK/ref.disk" >/dev/null
  dd if="$WORK/esp.img" of="$WORK/ref.disk" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$WORK/ref.sqfs" of="$WORK/ref.disk" bs=1M seek=$(( 1 + esp_mib )) conv=notrunc,sparse status=none
  dd if="$WORK/oem.img" of="$WORK/ref.disk" bs=1M seek=$(( 1 + esp_mib + 2 * usr_mib )) conv=notrunc,sparse status=none
  t3=$(now)
  r_sq+=("$(printf '%.2f' "$(echo "$t1 - $t0" | bc)")")
  r_ve+=("$(printf '%.2f' "$(echo "$t2 - $t1" | bc)")")
  r_disk+=("$(printf '%.2f' "$(echo "$t3 - $t2" | bc)")")
  read -r mu ms < "$WORK/mk.cpu"
  echo "bench: run $i: usr squashfs ${b_sq[-1]} s, mksquashfs ${r_sq[-1]} s wall ($(echo "$mu + $ms" | bc) s cpu), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

m() { printf '%s\n' "$@" | median; }
bs=$(m "${b_sq[@]}"); bv=$(m "${b_ve[@]}"); bd=$(m "${b_disk[@]}"); bt=$(m "${b_total[@]}")
rs=$(m "${r_sq[@]}"); rv=$(m "${r_ve[@]}"); rd=$(m "${r_disk[@]}")
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b) if b else "n/a")' "$1" "$2"; }
echo
echo "Build benchmark, default image (zstd level $LEVEL), base tree cached, medians of $RUNS runs ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-34s %10s %10s %7s\n' "stage" "basalt s" "ref s" "ratio"
printf '%-34s %10s %10s %7s\n' "usr squashfs (vs mksquashfs zstd)" "$bs" "$rs" "$(ratio "$bs" "$rs")"
printf '%-34s %10s %10s %7s\n' "usr verity (vs veritysetup format)" "$bv" "$rv" "$(ratio "$bv" "$rv")"
printf '%-34s %10s %10s %7s\n' "ESP+OEM+GPT disk (vs mkfs.vfat+mcopy+sgdisk+dd)" "$bd" "$rd" "$(ratio "$bd" "$rd")"
sum_b=$(echo "$bs + $bv + $bd" | bc); sum_r=$(echo "$rs + $rv + $rd" | bc)
printf '%-34s %10s %10s %7s\n' "sum of compared stages" "$sum_b" "$sum_r" "$(ratio "$sum_b" "$sum_r")"
printf '%-34s %10.2f\n' "basalt build after the base tree" "$bt"
echo "per-stage times of the last Basalt run:"
python3 -c 'import json,sys; [print("  %-16s %8.2f s" % (s["stage"], s["seconds"])) for s in json.load(open(sys.argv[1]))["stages"]]' "$WORK/b.json"
echo "sizes: usr.img $(stat -c %s "$WORK/b/usr.img") bytes (reference squashfs+verity $(stat -c %s "$WORK/ref.sqfs")), disk.qcow2 $( [ -f "$WORK/b/disk.qcow2" ] && stat -c %s "$WORK/b/disk.qcow2" || echo n/a) bytes, disk.raw allocated $(du -k "$WORK/b/disk.raw" | cut -f1) KiB"
