package io.basalt.update.install;

import io.basalt.host.AtomicFiles;
import io.basalt.signing.tuf.HashMismatchException;
import io.basalt.signing.tuf.LengthMismatchException;
import io.basalt.signing.tuf.client.TargetInfo;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/**
 * Bounded, hash-checked streaming download of a signed target that resumes after an interruption:
 * bytes go to {@code DIR/NAME.partial}, a later run continues from its size with an HTTP range
 * request, and only a file with the signed length and sha256 is renamed to {@code DIR/NAME}. Not
 * thread-safe; one download per file at a time.
 */
public final class ResumableDownload {

  private static final int FSYNC_EVERY = 8 << 20;

  /** The default time one file's transfer may take, start to end ({@code DOWNLOAD_DEADLINE}). */
  public static final Duration DEFAULT_DEADLINE = Duration.ofHours(1);

  private final RangeSource source;
  private final Duration deadline;

  /** Downloads through {@code source}, each file within {@link #DEFAULT_DEADLINE}. */
  public ResumableDownload(RangeSource source) {
    this(source, DEFAULT_DEADLINE);
  }

  /**
   * Downloads through {@code source}, each file's transfer within {@code deadline}.
   *
   * @throws IllegalArgumentException when the deadline is not positive
   */
  public ResumableDownload(RangeSource source, Duration deadline) {
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("download deadline must be positive, found " + deadline);
    }
    this.source = source;
    this.deadline = deadline;
  }

  /**
   * The URL of a target: with consistent snapshots {@code DIR/SHA256.NAME} (TUF 5.7.3), else the
   * path.
   *
   * @throws IOException if the target has no sha256
   */
  public static URI targetUri(URI targetsBase, TargetInfo t, boolean consistentSnapshot)
      throws IOException {
    String path = t.path();
    if (consistentSnapshot) {
      String h = t.hashes().get("sha256");
      if (h == null) {
        throw new IOException(path + ": signed metadata lists no sha256");
      }
      int slash = path.lastIndexOf('/');
      path = path.substring(0, slash + 1) + h + "." + path.substring(slash + 1);
    }
    try {
      String raw = new URI(null, null, path, null).getRawPath();
      String base = targetsBase.toString();
      return URI.create(base.endsWith("/") ? base + raw : base + "/" + raw);
    } catch (URISyntaxException e) {
      throw new IOException(path + ": not a usable target path", e);
    }
  }

  /**
   * Downloads (or finishes downloading) {@code t} into {@code dir/name}.
   *
   * @param progress called with the number of bytes present so far
   * @return the complete, verified file
   * @throws LengthMismatchException when the server sends more or fewer bytes than signed
   * @throws HashMismatchException when the bytes do not hash to the signed sha256 (the partial file
   *     is deleted, so the next run starts from zero)
   * @throws IOException on transport or file errors, and when the transfer is not complete within
   *     the deadline (the partial file is kept for resuming)
   */
  public Path fetch(URI uri, TargetInfo t, Path dir, String name, LongConsumer progress)
      throws IOException {
    String want = t.hashes().get("sha256");
    if (want == null) {
      throw new IOException(t.path() + ": signed metadata lists no sha256");
    }
    Files.createDirectories(dir);
    Path done = dir.resolve(name);
    Path partial = dir.resolve(name + ".partial");
    if (Files.isRegularFile(done)
        && Files.size(done) == t.length()
        && want.equals(sha256(done, Long.MAX_VALUE))) {
      progress.accept(t.length());
      return done;
    }
    long have = Files.exists(partial) ? Files.size(partial) : 0;
    if (have > t.length()) {
      Files.delete(partial);
      have = 0;
    }
    MessageDigest md = digest();
    if (have > 0) {
      md = digestOf(partial, have);
    }
    progress.accept(have);
    if (have < t.length()) {
      long start = System.nanoTime();
      RangeSource.Opened o;
      try {
        o = source.open(uri, have, deadline);
      } catch (IOException e) {
        throw pastDeadline(start) ? deadlineMissed(uri, have, t, e) : e;
      }
      if (o.offset() != have) { // the server ignored the range: start over
        have = 0;
        md = digest();
        Files.write(partial, new byte[0]);
      }
      try (InputStream in = o.stream();
          FileChannel ch =
              FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        ch.truncate(have);
        ch.position(have);
        byte[] buf = new byte[65536];
        long sinceSync = 0;
        while (true) {
          int max = (int) Math.min(buf.length, t.length() + 1 - have);
          int n;
          try {
            n = in.read(buf, 0, max);
          } catch (IOException e) {
            ch.force(false);
            throw pastDeadline(start) ? deadlineMissed(uri, have, t, e) : e;
          }
          if (pastDeadline(start)) {
            ch.force(false);
            throw deadlineMissed(uri, have, t, null);
          }
          if (n < 0) {
            break;
          }
          if (have + n > t.length()) {
            ch.force(false);
            Files.delete(partial);
            throw new LengthMismatchException(t.path(), t.length(), have + n, true);
          }
          ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
          while (bb.hasRemaining()) {
            ch.write(bb);
          }
          md.update(buf, 0, n);
          have += n;
          sinceSync += n;
          if (sinceSync >= FSYNC_EVERY) {
            ch.force(false);
            sinceSync = 0;
          }
          progress.accept(have);
        }
        ch.force(false);
      }
      if (have != t.length()) {
        throw new LengthMismatchException(t.path(), t.length(), have, false);
      }
    }
    String got = HexFormat.of().formatHex(md.digest());
    if (!got.equals(want)) {
      Files.delete(partial);
      throw new HashMismatchException(t.path(), "sha256", want, got);
    }
    AtomicFiles.rename(partial, done);
    return done;
  }

  private boolean pastDeadline(long startNanos) {
    return System.nanoTime() - startNanos >= deadline.toNanos();
  }

  private IOException deadlineMissed(URI uri, long have, TargetInfo t, IOException cause) {
    return new IOException(
        uri
            + ": download not complete within "
            + deadline
            + " (DOWNLOAD_DEADLINE): "
            + have
            + " of "
            + t.length()
            + " bytes; the partial file is kept and the next check resumes it",
        cause);
  }

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static MessageDigest digestOf(Path f, long limit) throws IOException {
    MessageDigest md = digest();
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[65536];
      long left = limit;
      int n;
      while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
        md.update(buf, 0, n);
        left -= n;
      }
    }
    return md;
  }

  static String sha256(Path f, long limit) throws IOException {
    return HexFormat.of().formatHex(digestOf(f, limit).digest());
  }
}
