#!/usr/bin/env bash
# Makes init-units' readahead list (/usr/lib/basalt/readahead.list: the files under /usr that a
# boot of the default image reads on its way to multi-user.target) from a real boot: boots a
# provisioned Basalt disk once with a config-2 ISO whose cloud-config runs, after
# multi-user.target, `fincore` over every file under /usr and prints the ones with pages in the
# page cache. Files only the JVMs read are left out: without user-data no JVM runs before
# multi-user.target (the update agent and the class-data archive start after it). The list is
# sorted smallest first: the many small files (units, configs, libraries) the early boot needs come
# before the large binaries that start last (containerd, dockerd).
#
# Usage: qemu-tests/bench/readahead-list.sh WORK > init-units/src/main/resources/basalt/readahead.list
#        WORK = a boot-bench.sh work folder with prov-basalt.qcow2 (a disk booted once)
# Needs qemu-system-x86_64, ovmf, xorriso, python3.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=$(cd "${1:?usage: readahead-list.sh WORK}" && pwd)
[ -f "$WORK/prov-basalt.qcow2" ] || { echo "readahead-list: $WORK/prov-basalt.qcow2 missing (run boot-bench.sh first)" >&2; exit 2; }
T=$(mktemp -d /var/tmp/basalt-readahead.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/iso/openstack/latest"
echo '{"uuid":"readahead-probe","hostname":"readahead-probe"}' > "$T/iso/openstack/latest/meta_data.json"
cat > "$T/iso/openstack/latest/user_data" <<'EOF'
#cloud-config
write_files:
  - path: /var/lib/readahead-probe/probe.sh
    permissions: "0755"
    content: |
      #!/bin/sh
      exec >/dev/ttyS0 2>&1
      find /usr -xdev -type f -print0 | xargs -0 fincore -n -b -o RES,SIZE,FILE 2>/dev/null |
        awk '$1 > 0 { print "READAHEAD " $2 " " $3 }'
      echo "READAHEAD done"
coreos:
  units:
    - name: readahead-probe.service
      command: start
      content: |
        [Unit]
        Description=readahead list probe
        After=multi-user.target
        [Service]
        Type=oneshot
        ExecStart=/var/lib/readahead-probe/probe.sh
EOF
xorriso -as mkisofs -quiet -V config-2 -J -R -o "$T/probe.iso" "$T/iso" 2>/dev/null
qemu-img create -q -f qcow2 -F qcow2 -b "$WORK/prov-basalt.qcow2" "$T/disk.qcow2"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/vars.fd"
python3 "$BENCH/boot-time.py" --log "$T/console.log" --until "READAHEAD done" --timeout 1200 -- \
  -machine q35 -m 2G -smp 2 \
  -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
  -drive "if=pflash,format=raw,unit=1,file=$T/vars.fd" \
  -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
  -drive "if=none,id=d0,format=qcow2,file=$T/disk.qcow2" -device virtio-blk-pci,drive=d0,bootindex=0 \
  -drive "if=none,id=d1,format=raw,readonly=on,file=$T/probe.iso" -device virtio-blk-pci,drive=d1 >&2
grep -q "READAHEAD done" "$T/console.log" || { echo "readahead-list: the probe did not finish; console: see above" >&2; exit 1; }
{
  echo "# Files under /usr a boot of the default image reads before multi-user.target, smallest first;"
  echo "# read in the background by the initramfs (init-units README). Made by qemu-tests/bench/readahead-list.sh."
  tr -d '\r' < "$T/console.log" | sed -n 's/^\[[ 0-9.]*\] READAHEAD \([0-9][0-9]*\) \/usr\/\(.*\)$/\1 \2/p' |
    grep -v -E ' (lib/basalt/java/|lib/basalt/lib/|lib/jvm/)' | sort -n -k1,1 -k2,2 | awk '{ print $2 }'
}
