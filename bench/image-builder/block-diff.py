#!/usr/bin/env python3
"""block-diff.py OLD NEW: how two usr.img files compare in 4 KiB blocks, for the squashfs part
(bytes_used rounded up to 4096) and the whole file (with the dm-verity tree): blocks that differ
at the same offset, bytes of OLD found unchanged anywhere in NEW (at a 4 KiB boundary), and
blocks of NEW found nowhere in OLD (what a 4 KiB block index would fetch)."""
import hashlib
import struct
import sys


def blocks(data):
    return [hashlib.sha256(data[o:o + 4096]).digest() for o in range(0, len(data) - len(data) % 4096, 4096)]


def squashfs_end(data):
    used = struct.unpack_from('<Q', data, 40)[0]
    return (used + 4095) // 4096 * 4096


def report(name, a, b):
    ba, bb = blocks(a), blocks(b)
    n = max(len(ba), len(bb))
    moved = sum(1 for i in range(n) if i >= len(ba) or i >= len(bb) or ba[i] != bb[i])
    sa, sb = set(ba), set(bb)
    found = sum(1 for h in ba if h in sb)
    new = sum(1 for h in bb if h not in sa)
    print(f"{name}: {len(a)} -> {len(b)} B; differ at the same offset {moved} of {len(bb)} blocks "
          f"({100 * moved / len(bb):.2f} %); old bytes found in new {found * 4096} "
          f"({100 * found / len(ba):.2f} %); new blocks not in old {new} = {new * 4096} B "
          f"({100 * new / len(bb):.2f} %)")


a = open(sys.argv[1], 'rb').read()
b = open(sys.argv[2], 'rb').read()
report("squashfs", a[:squashfs_end(a)], b[:squashfs_end(b)])
report("usr.img ", a, b)
