#!/usr/bin/env bash
# Writes a realistic #cloud-config with N units (default 200) to stdout: every unit has content,
# every other one a drop-in, commands and enables mixed, plus etcd2, update, users and files.
set -euo pipefail
n=${1:-200}
cat <<'HEAD'
#cloud-config
hostname: bench-node
users:
  - name: ops
    groups: [sudo, docker]
    ssh-authorized-keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXvvK5nXfKlJ/1h9JHq6yoOoGhY8LdR6E4vQdz2k0xK ops@example.com
write_files:
  - path: /etc/motd
    encoding: gzip+base64
    content: H4sIAAAAAAAAA8tIzcnJVyjPL8pJAQCFEUoNCwAAAA==
coreos:
  etcd2:
    name: bench-node
    discovery: https://discovery.etcd.io/7a0bbd2e9a6f1c5e4e1c0b3a9d8f7e6d
    advertise-client-urls: http://$private_ipv4:2379
    listen-client-urls: http://0.0.0.0:2379
  update:
    reboot-strategy: etcd-lock
  units:
HEAD
for i in $(seq 1 "$n"); do
  cat <<UNIT
    - name: app-$i.service
      command: start
      enable: $([ $((i % 3)) -eq 0 ] && echo true || echo false)
      content: |
        [Unit]
        Description=Application $i
        After=docker.service
        Requires=docker.service

        [Service]
        ExecStart=/usr/bin/docker run --rm --name app-$i -p $((8000 + i)):80 nginx:stable
        Restart=always

        [Install]
        WantedBy=multi-user.target
UNIT
  if [ $((i % 2)) -eq 0 ]; then
    cat <<DROP
      drop_ins:
        - name: 10-limits.conf
          content: |
            [Service]
            LimitNOFILE=65536
DROP
  fi
done
