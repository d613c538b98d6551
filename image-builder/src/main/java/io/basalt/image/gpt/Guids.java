package io.basalt.image.gpt;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;

/**
 * GUID helpers: the on-disk mixed-endian encoding (UEFI 2.10 appendix A: the first three fields
 * little-endian, the last eight bytes as stored) and name-based derivation. Thread-safe.
 */
final class Guids {
  /** RFC 4122 appendix C: the name space for URLs. */
  static final UUID URL_NAMESPACE = UUID.fromString("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

  /**
   * Namespace of every GUID Basalt derives for disks: the version-5 UUID of the URL
   * "https://basalt.io/ns/gpt" in the URL name space.
   */
  static final UUID NAMESPACE = v5(URL_NAMESPACE, "https://basalt.io/ns/gpt");

  private Guids() {}

  /**
   * An RFC 4122 section 4.3 version-5 UUID: SHA-1 over the namespace's 16 big-endian bytes followed
   * by the UTF-8 bytes of {@code name}, then the version and variant bits set.
   */
  static UUID v5(UUID namespace, String name) {
    MessageDigest sha1;
    try {
      sha1 = MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 missing from the JDK", e);
    }
    ByteBuffer ns = ByteBuffer.allocate(16);
    ns.putLong(namespace.getMostSignificantBits()).putLong(namespace.getLeastSignificantBits());
    sha1.update(ns.array());
    sha1.update(name.getBytes(StandardCharsets.UTF_8));
    byte[] h = sha1.digest();
    h[6] = (byte) ((h[6] & 0x0f) | 0x50); // version 5
    h[8] = (byte) ((h[8] & 0x3f) | 0x80); // RFC 4122 variant
    ByteBuffer b = ByteBuffer.wrap(h, 0, 16);
    return new UUID(b.getLong(), b.getLong());
  }

  /** Writes {@code g} at the buffer's position in the EFI_GUID layout (16 bytes). */
  static void put(ByteBuffer buf, UUID g) {
    long msb = g.getMostSignificantBits();
    long lsb = g.getLeastSignificantBits();
    ByteOrder saved = buf.order();
    buf.order(ByteOrder.LITTLE_ENDIAN);
    buf.putInt((int) (msb >>> 32)); // Data1
    buf.putShort((short) (msb >>> 16)); // Data2
    buf.putShort((short) msb); // Data3
    buf.order(ByteOrder.BIG_ENDIAN);
    buf.putLong(lsb); // Data4[8], stored as written
    buf.order(saved);
  }

  /** Reads an EFI_GUID at the buffer's position. */
  static UUID get(ByteBuffer buf) {
    ByteOrder saved = buf.order();
    buf.order(ByteOrder.LITTLE_ENDIAN);
    long d1 = buf.getInt() & 0xffffffffL;
    long d2 = buf.getShort() & 0xffffL;
    long d3 = buf.getShort() & 0xffffL;
    buf.order(ByteOrder.BIG_ENDIAN);
    long lsb = buf.getLong();
    buf.order(saved);
    return new UUID((d1 << 32) | (d2 << 16) | d3, lsb);
  }
}
