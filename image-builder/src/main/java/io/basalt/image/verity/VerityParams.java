package io.basalt.image.verity;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.UUID;

/**
 * The per-image parameters of a dm-verity hash tree that are not fixed by Basalt's layout: the salt
 * and the superblock UUID, normally both derived from a seed (spec name + version) so that
 * rebuilding the same image gives the same bytes. Immutable and thread-safe.
 */
final class VerityParams {
  /** Salt length used by {@link #fromSeed}: 32 bytes, as {@code veritysetup format} defaults to. */
  public static final int SALT_SIZE = 32;

  /** The largest salt the superblock can hold (dm-verity on-disk format: {@code salt[256]}). */
  public static final int MAX_SALT_SIZE = 256;

  private final byte[] salt;
  private final UUID uuid;

  private VerityParams(byte[] salt, UUID uuid) {
    this.salt = salt;
    this.uuid = uuid;
  }

  /**
   * Explicit salt and UUID (e.g. to reproduce a tree made by another tool).
   *
   * @throws IllegalArgumentException if the salt is longer than {@value #MAX_SALT_SIZE} bytes
   */
  public static VerityParams of(byte[] salt, UUID uuid) {
    Objects.requireNonNull(salt, "salt");
    Objects.requireNonNull(uuid, "uuid");
    if (salt.length > MAX_SALT_SIZE) {
      throw new IllegalArgumentException(
          "verity salt is "
              + salt.length
              + " bytes, at most "
              + MAX_SALT_SIZE
              + " fit the superblock");
    }
    return new VerityParams(salt.clone(), uuid);
  }

  /**
   * Salt = SHA-256("basalt-verity-salt" NUL seed); UUID = the first 16 bytes of
   * SHA-256("basalt-verity-uuid" NUL seed) with the RFC 9562 version 8 (custom) and variant bits
   * set.
   */
  public static VerityParams fromSeed(byte[] seed) {
    Objects.requireNonNull(seed, "seed");
    byte[] salt = sha256("basalt-verity-salt", seed);
    byte[] u = sha256("basalt-verity-uuid", seed);
    u[6] = (byte) ((u[6] & 0x0f) | 0x80); // version 8
    u[8] = (byte) ((u[8] & 0x3f) | 0x80); // variant 10
    ByteBuffer b = ByteBuffer.wrap(u);
    return new VerityParams(salt, new UUID(b.getLong(), b.getLong()));
  }

  /** {@link #fromSeed(byte[])} of the UTF-8 bytes of {@code seed}. */
  public static VerityParams fromSeed(String seed) {
    return fromSeed(seed.getBytes(StandardCharsets.UTF_8));
  }

  /** A copy of the salt. */
  public byte[] salt() {
    return salt.clone();
  }

  byte[] saltUnsafe() {
    return salt;
  }

  public UUID uuid() {
    return uuid;
  }

  private static byte[] sha256(String domain, byte[] seed) {
    MessageDigest md = Sha256.newDigest();
    md.update(domain.getBytes(StandardCharsets.US_ASCII));
    md.update((byte) 0);
    md.update(seed);
    return md.digest();
  }

  @Override
  public String toString() {
    return "VerityParams[salt=" + Hex.of(salt) + ", uuid=" + uuid + "]";
  }

  /** SHA-256 access without checked exceptions (every JRE must provide it). */
  static final class Sha256 {
    private Sha256() {}

    static MessageDigest newDigest() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 missing from this JRE", e);
      }
    }
  }
}
