#!/usr/bin/env python3
"""One timed QEMU boot for bench/qemu-tests/boot.sh.

Starts qemu-system-x86_64 with the given arguments (serial console on stdout), stamps every console
line with the seconds since the QEMU process was started, and stops at the first line containing
--until (then, with --after, keeps reading until that line too, e.g. boot-complete.target). It then
asks the guest to power off over QMP (ACPI power button) when --poweroff is given and waits for
QEMU to exit, else kills QEMU. Always kills QEMU on the way out.

Prints one JSON object on stdout: the seconds at which the phase markers were first seen
(firmware's first output, the kernel banner, the initramfs start, systemd's welcome, the --until line,
the --after line), the load average when QEMU started, and whether it succeeded. The whole console
goes to --log.
"""
import argparse
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

# Phase markers, first occurrence wins. Both Basalt and the stock Debian reference print these on
# the serial console (kernel without "quiet", systemd status on the console).
PHASES = [
    ("kernel", re.compile(r"Linux version \d")),
    ("initramfs", re.compile(r"Run /init as init process")),
    ("systemd", re.compile(r"Welcome to ")),
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FAILURES = re.compile(r"Kernel panic|emergency shell|Give root password for maintenance|You are in emergency mode"
                      r"|Target filesystem doesn't have requested|Dropping to a shell|job control turned off")


def qmp(path, command, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    f = s.makefile("rw")
    f.readline()  # greeting
    for cmd in ({"execute": "qmp_capabilities"}, {"execute": command}):
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        f.readline()
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--until", required=True, help="console text that ends the measurement")
    p.add_argument("--after", help="console text to wait for after --until (not part of the measurement)")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--poweroff", action="store_true", help="ACPI power-off after and wait for QEMU to exit")
    p.add_argument("--settle", type=float, default=0, help="seconds to wait before the power-off")
    p.add_argument("qemu", nargs=argparse.REMAINDER)
    a = p.parse_args()
    args = a.qemu[1:] if a.qemu and a.qemu[0] == "--" else a.qemu
    qmp_path = a.log + ".qmp"
    if os.path.exists(qmp_path):
        os.unlink(qmp_path)
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio",
           "-monitor", "none", "-qmp", "unix:" + qmp_path + ",server=on,wait=off", "-no-reboot"] + args
    load = open("/proc/loadavg").read().split()[0]
    result = {"load": float(load), "ok": False}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    stage = "until"
    try:
        with open(a.log, "w", encoding="utf-8", errors="replace", buffering=1) as log:
            while True:
                left = a.timeout - (time.monotonic() - t0)
                if left <= 0:
                    result["error"] = "timeout waiting for %r" % (a.until if stage == "until" else a.after)
                    break
                if not sel.select(timeout=min(left, 1.0)):
                    if proc.poll() is not None:
                        result["error"] = "QEMU exited with %s" % proc.returncode
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    result["error"] = "QEMU exited with %s" % proc.wait()
                    break
                now = time.monotonic() - t0
                result.setdefault("firmware", round(now, 3))
                buf += chunk
                done = False
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    # systemd colours its status lines: "Reached target \x1b[0;1;39mmulti-user.target".
                    line = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\r")
                    log.write("[%8.3f] %s\n" % (now, line))
                    for name, rx in PHASES:
                        if name not in result and rx.search(line):
                            result[name] = round(now, 3)
                    if FAILURES.search(line):
                        result["error"] = "failure on the console: " + line.strip()
                        done = True
                        break
                    if stage == "until" and a.until in line:
                        result["until"] = round(now, 3)
                        if not a.after:
                            done = True
                            result["ok"] = True
                            break
                        stage = "after"
                    elif stage == "after" and a.after in line:
                        result["after"] = round(now, 3)
                        result["ok"] = True
                        done = True
                        break
                if done:
                    break
            log.flush()
            if result["ok"] and a.poweroff:
                time.sleep(a.settle)
                try:
                    qmp(qmp_path, "system_powerdown")
                    end = time.monotonic() + 180
                    while proc.poll() is None and time.monotonic() < end:
                        if sel.select(timeout=1.0):
                            chunk = os.read(proc.stdout.fileno(), 65536)
                            if chunk:
                                log.write(chunk.decode("utf-8", "replace"))
                    result["poweroff"] = proc.poll() is not None
                except OSError as e:
                    result["poweroff"] = False
                    result["poweroff_error"] = str(e)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
