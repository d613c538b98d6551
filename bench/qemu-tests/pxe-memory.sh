#!/usr/bin/env bash
# Live PXE memory benchmark (not a test): the least guest RAM (-m, in 64 MiB steps) with which a
# live PXE boot of a build reaches multi-user ("basalt: multi-user reached" on the console), for
#   new: the build's pxe/ as served over HTTP: the initramfs fetches pxe/usr.img into RAM once;
#   ref: the design before it, /usr inside the initramfs: the same kernel and initramfs plus
#        usr.img as a second initrd that iPXE wraps as the cpio member /basalt/usr.img (what the
#        old pxe/initramfs carried), or REF_BUILD's pxe/ as it is (a build made before the change).
# Both are searched in the same run (binary search between LOW and HIGH, one VM at a time), then
# both figures and their ratio are printed.
#
# Usage: bench/run pxe-memory BUILD_DIR
#   env LOW=448 HIGH=1536 (MiB, multiples of 64), ONLY=new|ref, REF_BUILD=DIR, TIMEOUT=1200 (s
#   per boot), STALL=420 (s without console output: a boot thrashing for memory counts as
#   failed), PORT=18080, WORK=DIR (default a temp folder, removed at the end), KARGS="ARG ..."
#   (appended to both kernel lines).
#
# The guest: SeaBIOS + QEMU's iPXE ROM on a virtio NIC, 2 vCPUs, user-mode network with
# restrict=on; QEMU's TFTP serves a one-line chain script, everything else comes over HTTP from
# 127.0.0.1 (python3 -m http.server) through guestfwd at 10.0.2.100. QEMU's iPXE (2019) has no
# ${cwduri}, so the script passes basalt.live.base= as a newer iPXE computes it.
set -euo pipefail
BUILD=$(readlink -f "${1:?usage: bench/run pxe-memory BUILD_DIR}")
LOW=${LOW:-448} HIGH=${HIGH:-1536} TIMEOUT=${TIMEOUT:-1200} STALL=${STALL:-420} PORT=${PORT:-18080}
ONLY=${ONLY:-} REF_BUILD=${REF_BUILD:-} KARGS=${KARGS:-}
for f in pxe/boot.ipxe pxe/vmlinuz pxe/initramfs pxe/usr.img; do
  [ -f "$BUILD/$f" ] || { echo "pxe-memory: $BUILD/$f missing (a build with pxe in its outputs)" >&2; exit 2; }
done
if [ -n "$REF_BUILD" ] && [ ! -f "$REF_BUILD/pxe/boot.ipxe" ]; then
  echo "pxe-memory: $REF_BUILD/pxe/boot.ipxe missing" >&2
  exit 2
fi
command -v qemu-system-x86_64 >/dev/null && command -v python3 >/dev/null && command -v busybox >/dev/null ||
  { echo "pxe-memory: needs qemu-system-x86, python3, busybox-static" >&2; exit 2; }

OWN_WORK=
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d /tmp/pxe-memory.XXXXXX)
  OWN_WORK=1
fi
mkdir -p "$WORK/www/new" "$WORK/www/ref" "$WORK/tftp"
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
  [ -n "$OWN_WORK" ] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

URL=http://10.0.2.100:$PORT
for f in vmlinuz initramfs usr.img; do
  ln -sf "$BUILD/pxe/$f" "$WORK/www/new/$f"
done
sed "s|\${cwduri}|$URL/new/|" "$BUILD/pxe/boot.ipxe" >"$WORK/www/new/boot.ipxe"
if [ -n "$REF_BUILD" ]; then
  for f in boot.ipxe vmlinuz initramfs; do
    ln -sf "$(readlink -f "$REF_BUILD")/pxe/$f" "$WORK/www/ref/$f"
  done
  REF_WHAT="$REF_BUILD/pxe as built"
else
  for f in vmlinuz initramfs usr.img; do
    ln -sf "$BUILD/pxe/$f" "$WORK/www/ref/$f"
  done
  { echo '#!ipxe'
    echo "kernel vmlinuz $(cat "$BUILD/pxe/cmdline")"
    echo "initrd initramfs"
    echo "initrd usr.img /basalt/usr.img"
    echo "boot"; } >"$WORK/www/ref/boot.ipxe"
  REF_WHAT="usr.img in the initramfs (iPXE cpio member /basalt/usr.img)"
fi
if [ -n "$KARGS" ]; then
  sed -i "s|^kernel .*|& $KARGS|" "$WORK/www/new/boot.ipxe"
  [ -L "$WORK/www/ref/boot.ipxe" ] && cp --remove-destination "$(readlink -f "$WORK/www/ref/boot.ipxe")" "$WORK/www/ref/boot.ipxe"
  sed -i "s|^kernel .*|& $KARGS|" "$WORK/www/ref/boot.ipxe"
fi
for d in new ref; do
  printf '#!ipxe\nchain %s/%s/boot.ipxe\n' "$URL" "$d" >"$WORK/tftp/$d.ipxe"
done

python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
SERVER=$!
sleep 1

# boot DESIGN MIB: 0 when the live boot reached multi-user, 1 when it did not (a failure message,
# QEMU ending, no console output for STALL seconds, or TIMEOUT).
boot() {
  local design=$1 mib=$2 log="$WORK/$1-$2.log" start now last size=0 result=1 qemu
  : >"$log"
  qemu-system-x86_64 -machine pc -m "$mib" -smp 2 -boot n -display none -monitor none \
    -no-reboot -serial "file:$log" \
    -netdev "user,id=n0,restrict=on,tftp=$WORK/tftp,bootfile=$design.ipxe,guestfwd=tcp:10.0.2.100:$PORT-cmd:busybox nc 127.0.0.1 $PORT" \
    -device virtio-net-pci,netdev=n0 >"$WORK/$design-$mib.qemu" 2>&1 &
  qemu=$!
  start=$(date +%s)
  last=$start
  while kill -0 "$qemu" 2>/dev/null; do
    sleep 5
    now=$(date +%s)
    if grep -a -q "basalt: multi-user reached" "$log"; then
      result=0
      break
    fi
    if grep -a -q -E "emergency shell|Kernel panic|Out of memory" "$log"; then
      break
    fi
    if [ "$(stat -c %s "$log")" != "$size" ]; then
      size=$(stat -c %s "$log")
      last=$now
    fi
    [ $((now - last)) -ge "$STALL" ] && break
    [ $((now - start)) -ge "$TIMEOUT" ] && break
  done
  kill "$qemu" 2>/dev/null
  wait "$qemu" 2>/dev/null || true
  local why
  why=$(grep -a -o -m1 -E "basalt: multi-user reached|basalt-initramfs: not enough memory[^(]*|emergency shell|Kernel panic[^\r]*|Out of memory[^\r]*" "$log" || true)
  printf '  %-3s -m %4dM: %-7s after %4d s  %s\n' "$design" "$mib" \
    "$([ $result -eq 0 ] && echo reached || echo failed)" $(($(date +%s) - start)) "${why:-no output for ${STALL}s / timeout}" >&2
  return $result
}

# least DESIGN: the least multiple of 64 MiB in [LOW, HIGH] at which DESIGN boots (binary search:
# a boot that works with less works with more); prints it, or ">HIGH".
least() {
  local design=$1 lo=$((LOW / 64)) hi=$((HIGH / 64)) mid found=
  while [ "$lo" -le "$hi" ]; do
    mid=$(((lo + hi) / 2))
    if boot "$design" $((mid * 64)); then
      found=$((mid * 64))
      hi=$((mid - 1))
    else
      lo=$((mid + 1))
    fi
  done
  echo "${found:->$HIGH}"
}

echo "pxe-memory: $BUILD, search $LOW..$HIGH MiB in 64 MiB steps, $(nproc) CPUs, $(date -u +%FT%TZ)" >&2
NEW= REF=
[ "$ONLY" = ref ] || NEW=$(least new)
[ "$ONLY" = new ] || REF=$(least ref)
echo "least RAM to multi-user, live PXE boot of $(basename "$BUILD"):"
[ -n "$NEW" ] && echo "  new (usr.img fetched into RAM once): $NEW MiB"
[ -n "$REF" ] && echo "  ref ($REF_WHAT): $REF MiB"
case "$NEW$REF" in
  *">"* | "$NEW" | "$REF") ;;
  *) awk -v n="$NEW" -v r="$REF" 'BEGIN { printf "  ratio new/ref: %.2f (%d MiB less)\n", n / r, r - n }' ;;
esac
