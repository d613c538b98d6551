#!/usr/bin/env bash
# Boot benchmark: QEMU process start -> "Reached target multi-user.target" on the serial console,
# Basalt's default disk image vs the same package set booted the stock Debian way (the same base
# tree as an ext4 root file system + Debian's own initramfs), with the same firmware (OVMF), loader
# (systemd-boot), kernel, virtio disk and QEMU settings. Not a timed test: it prints medians, the
# ratio (Basalt / reference; <= 1 means Basalt boots faster) and the image sizes.
#
# Two figures, measured separately:
#   first boot   - a fresh copy of the built disk; Basalt makes and grows ROOT and checks every
#                  block of /usr against the verity root hash once; Debian just boots.
#   steady state - later boots of an already provisioned disk (booted once to multi-user +
#                  boot-complete, powered off cleanly), each from a fresh overlay of it.
# Boots alternate Basalt / reference; each boot (each steady-state pair) runs under /work/qemu-slot
# (one machine-wide QEMU slot, when that file exists) and records the 1-minute load average at QEMU start.
#
# Usage: bench/run boot [STEADY_RUNS] [FIRST_RUNS]   (defaults 5 and 2)
# Env:   IMAGE=DIR      a build folder of the default image (default: ./basalt build into WORK)
#        BASE_TAR=FILE  the base tree the image was built from (default: the newest base.tar in
#                       ~/.cache/basalt/base; checked against the image's manifest package list)
#        WORK=DIR       keep work files here and reuse them: the copy of the image's disk, the
#                       reference disk and the provisioned disks are made once per WORK
#        SMP, MEM       QEMU -smp / -m (defaults 2 and 2G, as the QEMU tests)
#        DISK_GIB       size of both disks when the built disk is smaller (default 8)
# Needs root (the reference tree is unpacked with its owners), qemu-system-x86_64, ovmf, mtools,
# dosfstools, gdisk, e2fsprogs, python3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$(cd "$(dirname "$0")" && pwd)
STEADY_RUNS=${1:-5}
FIRST_RUNS=${2:-2}
SMP=${SMP:-2}
MEM=${MEM:-2G}
SLOT=()
[ -x /work/qemu-slot ] && SLOT=(/work/qemu-slot)
if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /var/tmp/basalt-boot-bench.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
fi
WORK=$(cd "$WORK" && pwd)
log() { echo "boot-bench: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root (the reference tree is unpacked with its owners and device nodes)"; exit 2; }

# --- the Basalt image ---------------------------------------------------------------------------
if [ -z "${IMAGE:-}" ]; then
  IMAGE=$WORK/image
  if [ ! -f "$IMAGE/manifest.json" ]; then
    log "building the default image into $IMAGE"
    "$ROOT/basalt" build --out "$IMAGE" >&2
  fi
fi
[ -f "$IMAGE/manifest.json" ] && [ -f "$IMAGE/disk.raw" ] || { log "$IMAGE: no manifest.json/disk.raw"; exit 2; }
# Both systems boot with serial-getty@ttyS0 masked (a kernel argument appended to their entries):
# systemd stops printing its status lines on the console once a getty runs on it, so without
# this "Reached target multi-user.target" may never show on the serial console.
CMDLINE_EXTRA="systemd.mask=serial-getty@ttyS0.service"
# Both disks get DISK_GIB (default 8, as `basalt run`'s overlay) when the built disk is smaller:
# Basalt's first boot grows ROOT to the end of the disk, the reference's ext4 root spans the same
# space. At the built size ROOT stays at the spec's 64 MiB, where etcd (enabled in both) cannot
# preallocate its 64 MB WAL and fails, while the reference's starts: not the same services.
DISK_GIB=${DISK_GIB:-8}
if [ ! -f "$WORK/basalt.raw" ]; then
  cp --sparse=always "$IMAGE/disk.raw" "$WORK/basalt.raw.tmp"
  want=$(( DISK_GIB * 1073741824 ))
  [ "$(stat -c %s "$WORK/basalt.raw.tmp")" -ge "$want" ] || truncate -s "$want" "$WORK/basalt.raw.tmp"
  esp_off=$(( $(sfdisk -J "$WORK/basalt.raw.tmp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') * 512 ))
  for e in $(MTOOLS_SKIP_CHECK=1 mdir -b -i "$WORK/basalt.raw.tmp@@$esp_off" ::/loader/entries | grep '\.conf$'); do
    e=/loader/entries/${e##*/}
    MTOOLS_SKIP_CHECK=1 mtype -i "$WORK/basalt.raw.tmp@@$esp_off" "::$e" | sed "s|^options .*|& $CMDLINE_EXTRA|" > "$WORK/entry.conf"
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$WORK/basalt.raw.tmp@@$esp_off" "$WORK/entry.conf" "::$e"
  done
  mv "$WORK/basalt.raw.tmp" "$WORK/basalt.raw"
fi
esp_off=$(( $(sfdisk -J "$WORK/basalt.raw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') * 512 ))
disk_bytes=$(stat -c %s "$WORK/basalt.raw")
MTOOLS_SKIP_CHECK=1 mtype -i "$WORK/basalt.raw@@$esp_off" ::/basalt/A/initramfs | wc -c > "$WORK/basalt-initrd.size"

# --- the stock-Debian reference: same base tree, ext4 root, Debian's own initramfs ----------------
REF=$WORK/reference.raw
if [ ! -f "$REF" ]; then
  if [ -z "${BASE_TAR:-}" ]; then
    # The newest finished cache entry (a bootstrap in progress writes into <key>.partial-*/) whose
    # requested packages (inputs.txt) are all installed in the image; checked in full below.
    BASE_TAR=$(python3 - "$IMAGE/manifest.json" "${XDG_CACHE_HOME:-$HOME/.cache}/basalt/base" <<'PY'
import glob, json, os, sys
have = json.load(open(sys.argv[1]))["packages"]
for tar in sorted(glob.glob(os.path.join(sys.argv[2], "*", "base.tar")), key=os.path.getmtime, reverse=True):
    inputs = os.path.join(os.path.dirname(tar), "inputs.txt")
    if ".partial-" in tar or not os.path.exists(inputs):
        continue
    wanted = [l.split()[1] for l in open(inputs) if l.startswith("package ")]
    if all(p in have for p in wanted):
        print(tar)
        break
PY
)
  fi
  [ -f "$BASE_TAR" ] || { log "no base tree: set BASE_TAR (the default spec's base.tar)"; exit 2; }
  log "reference: unpacking $BASE_TAR"
  rm -rf "$WORK/tree" && mkdir "$WORK/tree"
  tar -xpf "$BASE_TAR" --numeric-owner --xattrs --xattrs-include='*' -C "$WORK/tree"
  # Same package set: every package and version of the image's manifest is in the tree and vice versa.
  python3 - "$IMAGE/manifest.json" "$WORK/tree/var/lib/dpkg/status" <<'PY'
import json, sys
want = json.load(open(sys.argv[1]))["packages"]
have, pkg = {}, None
for block in open(sys.argv[2], encoding="utf-8").read().split("\n\n"):
    f = dict(l.split(": ", 1) for l in block.splitlines() if ": " in l and not l.startswith(" "))
    if f.get("Status", "").endswith(" installed"):
        have[f["Package"]] = f["Version"]
if want != have:
    diff = sorted(set(want.items()) ^ set(have.items()))
    sys.exit("boot-bench: the base tree's packages differ from the image's manifest: %s" % diff[:10])
print("boot-bench: reference tree has the image's %d packages" % len(have), file=sys.stderr)
PY
  kver=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernelRelease"])' "$IMAGE/manifest.json")
  kernel=$WORK/tree/boot/vmlinuz-$kver
  initrd=$WORK/tree/boot/initrd.img-$kver
  # Debian's own initramfs: initramfs-tools is in the package set (linux-image depends on it) and its
  # postinst trigger made /boot/initrd.img-<kver> with Debian's defaults (MODULES=most, zstd) when the
  # tree was bootstrapped. REGEN_INITRAMFS=1 makes it again in a chroot of the tree.
  if [ "${REGEN_INITRAMFS:-0}" = 1 ] || [ ! -f "$initrd" ]; then
    log "reference: update-initramfs -c -k $kver in a chroot of the tree"
    for m in proc sys dev; do mount --bind "/$m" "$WORK/tree/$m"; done
    chroot "$WORK/tree" update-initramfs -c -k "$kver" >&2 || rc=$?
    for m in dev sys proc; do umount "$WORK/tree/$m"; done
    [ "${rc:-0}" = 0 ] || { log "update-initramfs failed"; exit 1; }
  fi
  uuid=5a1b2c3d-0000-4000-8000-000000000001
  # A Debian installer style fstab; no root password (root stays locked, as in the mmdebstrap tree
  # and in Basalt). Networking as in Basalt: systemd-networkd with the same DHCP .network file, so
  # both wait for the same network-online.target.
  printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > "$WORK/tree/etc/fstab"
  install -D -m 0644 "$ROOT/init-units/src/main/resources/basalt/systemd/network/80-basalt-dhcp.network" \
    "$WORK/tree/etc/systemd/network/80-dhcp.network"
  systemctl --root="$WORK/tree" enable systemd-networkd.service >&2
  # ESP: the same systemd-boot and loader.conf as Basalt's ESP, the same kernel, Debian's initramfs.
  # The package set has no systemd-sysv (no /sbin/init): like Basalt's initramfs, the reference
  # starts /lib/systemd/systemd, named with init= on its kernel command line.
  esp_mib=256
  rm -rf "$WORK/espfiles" && mkdir -p "$WORK/espfiles"
  MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$WORK/basalt.raw@@$esp_off" ::/EFI ::/loader "$WORK/espfiles/"
  rm -rf "$WORK/espfiles/loader/entries" && mkdir -p "$WORK/espfiles/loader/entries" "$WORK/espfiles/debian"
  sed -i 's/^default .*/default debian*/' "$WORK/espfiles/loader/loader.conf"
  cp "$kernel" "$WORK/espfiles/debian/vmlinuz"
  cp "$initrd" "$WORK/espfiles/debian/initrd.img"
  stat -c %s "$initrd" > "$WORK/reference-initrd.size"
  printf 'title Debian (stock initramfs)\nversion %s\nlinux /debian/vmlinuz\ninitrd /debian/initrd.img\noptions root=UUID=%s ro init=/lib/systemd/systemd console=tty0 console=ttyS0,115200 %s\n' \
    "$kver" "$uuid" "$CMDLINE_EXTRA" > "$WORK/espfiles/loader/entries/debian.conf"
  rm -f "$WORK/esp.img"
  truncate -s "${esp_mib}M" "$WORK/esp.img"
  mkfs.vfat -F 32 -n EFI-SYSTEM "$WORK/esp.img" >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$WORK/esp.img" "$WORK/espfiles/"* ::/
  # The same disk size as Basalt's disk.raw: ESP + one ext4 root partition over the rest.
  total_mib=$(( disk_bytes / 1048576 ))
  root_mib=$(( total_mib - 1 - esp_mib - 1 ))
  rm -f "$WORK/root.img"
  mke2fs -q -t ext4 -L root -U "$uuid" -E root_owner=0:0 -d "$WORK/tree" "$WORK/root.img" "${root_mib}M"
  rm -f "$REF.tmp" && truncate -s "$disk_bytes" "$REF.tmp"
  sgdisk -a 2048 -n 1:0:+"${esp_mib}M" -t 1:ef00 -c 1:EFI-SYSTEM \
    -n 2:0:+"${root_mib}M" -t 2:4f68bce3-e8cd-4db1-96e7-fbcaf984b709 -c 2:root "$REF.tmp" >/dev/null
  dd if="$WORK/esp.img" of="$REF.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$WORK/root.img" of="$REF.tmp" bs=1M seek=$(( 1 + esp_mib )) conv=notrunc,sparse status=none
  rm -rf "$WORK/root.img" "$WORK/esp.img" "$WORK/tree" "$WORK/espfiles"
  qemu-img convert -O qcow2 "$REF.tmp" "$WORK/reference.qcow2"
  mv "$REF.tmp" "$REF"
  log "reference disk: $REF"
fi

# --- boots ---------------------------------------------------------------------------------------
MARK="Reached target multi-user.target"
# boot NAME DISK UNTIL [EXTRA boot-time.py ARGS]: one timed boot of DISK (qcow2) on a fresh OVMF
# variable store; prints boot-time.py's JSON line.
boot() {
  local name=$1 disk=$2; shift 2
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/$name-vars.fd"
  "${SLOT[@]}" python3 "$BENCH/boot-time.py" --log "$WORK/$name.log" "$@" -- \
    -machine q35 -m "$MEM" -smp "$SMP" \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
    -drive "if=pflash,format=raw,unit=1,file=$WORK/$name-vars.fd" \
    -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
    -drive "if=none,id=d0,format=qcow2,file=$disk" -device virtio-blk-pci,drive=d0,bootindex=0 \
    || true
  rm -f "$WORK/$name-vars.fd"
}
overlay() { # overlay NEW BACKING FORMAT
  rm -f "$1" && qemu-img create -q -f qcow2 -F "$3" -b "$2" "$1"
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2], ""))' "$1" "$2"; }

RESULTS=$WORK/results.jsonl
: > "$RESULTS"
record() { # record KIND SYSTEM JSON
  python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["kind"]=sys.argv[1]; d["system"]=sys.argv[2]; print(json.dumps(d))' "$1" "$2" "$3" >> "$RESULTS"
  log "$1 $2: $3"
}

# Provisioning = the first first-boot of each system (timed as a first boot too): boot a fresh
# overlay of the built disk to multi-user and boot-complete.target (Basalt blesses its entry there),
# then power off through ACPI. Steady-state boots start from fresh overlays of that disk.
# (Debian's entry has no boot counter, so nothing pulls in boot-complete.target there.)
[ "${PREPARE_ONLY:-0}" = 1 ] && { log "PREPARE_ONLY: disks ready in $WORK"; exit 0; }
for sys in basalt reference; do
  # A provisioned disk from an earlier run in the same WORK is reused (its first boot is reported
  # again); delete prov-<system>.* to provision again (e.g. after replacing basalt.raw).
  if [ -f "$WORK/prov-$sys.json" ] && [ -f "$WORK/prov-$sys.qcow2" ]; then
    record first "$sys" "$(cat "$WORK/prov-$sys.json")"
    continue
  fi
  overlay "$WORK/prov-$sys.qcow2" "$WORK/$sys.raw" raw
  # systemd shortens the unit name to fit the 80-column console ("Reached target boot-comple…arget -
  # Boot Completion Check."), so the description is what is matched.
  if [ $sys = basalt ]; then wait=(--after "Boot Completion Check" --settle 10); else wait=(--settle 30); fi
  r=$(boot "prov-$sys" "$WORK/prov-$sys.qcow2" --until "$MARK" "${wait[@]}" --timeout 1500 --poweroff)
  [ "$(field "$r" ok)" = True ] && [ "$(field "$r" poweroff)" = True ] \
    || { log "provisioning boot of $sys failed: $r (console: $WORK/prov-$sys.log)"; exit 1; }
  record first "$sys" "$r"
  echo "$r" > "$WORK/prov-$sys.json"
done
for i in $(seq 2 "$FIRST_RUNS"); do
  for sys in basalt reference; do
    overlay "$WORK/first-$sys.qcow2" "$WORK/$sys.raw" raw
    record first "$sys" "$(boot "first-$sys-$i" "$WORK/first-$sys.qcow2" --until "$MARK" --timeout 1500)"
    rm -f "$WORK/first-$sys.qcow2"
  done
done
# Steady-state boots go in pairs (Basalt, then the reference) under one QEMU slot: both boots of a
# pair see about the same machine load, and a pair waits for a free slot once (about 2 x 3-5 min
# under load; the slots were the bottleneck on a shared machine).
steady_pair() {
  local i=$1 sys
  for sys in basalt reference; do
    overlay "$WORK/steady-$sys.qcow2" "$WORK/prov-$sys.qcow2" qcow2
    record steady "$sys" "$(boot "steady-$sys-$i" "$WORK/steady-$sys.qcow2" --until "$MARK" --timeout 900)"
    rm -f "$WORK/steady-$sys.qcow2"
  done
}
for i in $(seq 1 "$STEADY_RUNS"); do
  if [ ${#SLOT[@]} -gt 0 ]; then
    export -f steady_pair boot overlay record log
    export WORK MEM SMP BENCH RESULTS MARK
    "${SLOT[@]}" bash -c 'set -euo pipefail; SLOT=(); steady_pair "$1"' _ "$i"
  else
    steady_pair "$i"
  fi
done

# --- report --------------------------------------------------------------------------------------
python3 - "$RESULTS" "$IMAGE" "$WORK" <<'PY'
import json, os, statistics, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
image, work = sys.argv[2], sys.argv[3]
def med(kind, system, key):
    v = [r[key] for r in rows if r["kind"] == kind and r["system"] == system and r.get("ok") and key in r]
    return (statistics.median(v) if v else None), len(v)
def alloc(p):
    return os.stat(p).st_blocks * 512
print("boot benchmark: QEMU start -> '%s' (seconds; medians)" % "Reached target multi-user.target")
for kind in ("first", "steady"):
    loads = [r["load"] for r in rows if r["kind"] == kind]
    print("\n%s boot (load average 1-min at QEMU start: min %.1f, median %.1f, max %.1f)" % (
        {"first": "first", "steady": "steady-state"}[kind], min(loads), statistics.median(loads), max(loads)))
    print("  %-10s %4s %9s %9s %9s %9s %9s" % ("system", "n", "firmware", "kernel", "initramfs", "systemd", "multi-user"))
    m = {}
    for system in ("basalt", "reference"):
        vals = [med(kind, system, k) for k in ("firmware", "kernel", "initramfs", "systemd", "until")]
        n = vals[-1][1]
        m[system] = vals[-1][0]
        fmt = lambda x: "%9.2f" % x[0] if x[0] is not None else "%9s" % "-"
        print("  %-10s %4d %s" % (system, n, " ".join(fmt(v) for v in vals)))
        fails = [r.get("error") for r in rows if r["kind"] == kind and r["system"] == system and not r.get("ok")]
        if fails:
            print("  %-10s failed boots: %s" % ("", fails))
    if m["basalt"] and m["reference"]:
        print("  ratio basalt/reference: %.2f" % (m["basalt"] / m["reference"]))
print("\nsizes (bytes; allocated bytes for sparse raw disks)")
print("  basalt %-22s %12s" % ("initramfs (disk)", open(os.path.join(work, "basalt-initrd.size")).read().strip()))
print("  reference %-19s %12s" % ("initrd.img (Debian)", open(os.path.join(work, "reference-initrd.size")).read().strip()))
for name in ("usr.img", "disk.qcow2"):
    print("  basalt %-22s %12d" % (name, os.stat(os.path.join(image, name)).st_size))
print("  basalt %-22s %12d (allocated %d)" % ("disk.raw", os.stat(os.path.join(image, "disk.raw")).st_size, alloc(os.path.join(image, "disk.raw"))))
print("  reference %-19s %12d (allocated %d)" % ("disk.raw", os.stat(os.path.join(work, "reference.raw")).st_size, alloc(os.path.join(work, "reference.raw"))))
print("  reference %-19s %12d" % ("disk.qcow2", os.stat(os.path.join(work, "reference.qcow2")).st_size))
PY
