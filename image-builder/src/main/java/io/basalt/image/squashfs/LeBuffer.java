package io.basalt.image.squashfs;

import java.util.Arrays;

/** A growable little-endian byte buffer (squashfs is little-endian throughout). Not thread-safe. */
final class LeBuffer {
  private byte[] buf;
  private int size;

  LeBuffer() {
    this(256);
  }

  LeBuffer(int capacity) {
    buf = new byte[Math.max(16, capacity)];
  }

  private void ensure(int extra) {
    if (size + extra > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
    }
  }

  LeBuffer u8(int v) {
    ensure(1);
    buf[size++] = (byte) v;
    return this;
  }

  LeBuffer u16(int v) {
    ensure(2);
    buf[size++] = (byte) v;
    buf[size++] = (byte) (v >>> 8);
    return this;
  }

  LeBuffer u32(long v) {
    ensure(4);
    for (int i = 0; i < 4; i++) {
      buf[size++] = (byte) (v >>> (8 * i));
    }
    return this;
  }

  LeBuffer u64(long v) {
    ensure(8);
    for (int i = 0; i < 8; i++) {
      buf[size++] = (byte) (v >>> (8 * i));
    }
    return this;
  }

  LeBuffer bytes(byte[] b) {
    return bytes(b, 0, b.length);
  }

  LeBuffer bytes(byte[] b, int off, int len) {
    ensure(len);
    System.arraycopy(b, off, buf, size, len);
    size += len;
    return this;
  }

  /** Overwrites a u32 at {@code pos} (already written). */
  void putU32At(int pos, long v) {
    for (int i = 0; i < 4; i++) {
      buf[pos + i] = (byte) (v >>> (8 * i));
    }
  }

  int size() {
    return size;
  }

  void reset() {
    size = 0;
  }

  byte[] array() {
    return buf;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, size);
  }
}
