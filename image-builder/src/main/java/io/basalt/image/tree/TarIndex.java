package io.basalt.image.tree;

import io.basalt.host.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * The content index of a tar: SHA-256 of every regular file's bytes, keyed by the entry's data
 * offset, stored beside the tar as {@code <tar>.index}, so that a build can name a file's content
 * without reading it. Made once per tar (the base tree cache makes it with the tar, which never
 * changes afterwards). The index names the tar it was made from (size, modification time and file
 * key, i.e. device and inode): a tar replaced or copied does not match and its index is ignored.
 * The file ends with SHA-256 over everything before it; a damaged index is ignored too. Format:
 * {@code FORMAT} (modified UTF-8), u64 tar size, u64 tar mtime (ns), file key (modified UTF-8), u32
 * count, then per file u64 data offset, u64 size, 32 bytes SHA-256; then the checksum (all
 * big-endian). Stateless and thread-safe.
 */
final class TarIndex {
  static final String FORMAT = "basalt-tar-index-1";
  static final String SUFFIX = ".index";

  private static final int BLOCK = 512;

  /** One file's digest as the index holds it. */
  record Digest(long size, byte[] sha256) {}

  private TarIndex() {}

  static Path indexOf(Path tar) {
    return tar.resolveSibling(tar.getFileName() + SUFFIX);
  }

  /** The tar's identity as the index records it. */
  private static String identity(Path tar) throws IOException {
    BasicFileAttributes a = Files.readAttributes(tar, BasicFileAttributes.class);
    Object key = a.fileKey();
    long mtime = a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
    return a.size() + " " + mtime + " " + (key == null ? "-" : key.toString());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing", e);
    }
  }

  /**
   * The digests of {@code tar}'s files by data offset, or an empty map when there is no index, it
   * does not belong to this tar or it is damaged.
   */
  static Map<Long, Digest> read(Path tar) throws IOException {
    byte[] b;
    try {
      b = Files.readAllBytes(indexOf(tar));
    } catch (NoSuchFileException e) {
      return Map.of();
    }
    if (b.length < 32) {
      return Map.of();
    }
    MessageDigest md = sha256();
    md.update(b, 0, b.length - 32);
    if (!Arrays.equals(md.digest(), 0, 32, b, b.length - 32, b.length)) {
      return Map.of();
    }
    try (DataInputStream in =
        new DataInputStream(new java.io.ByteArrayInputStream(b, 0, b.length - 32))) {
      if (!in.readUTF().equals(FORMAT)) {
        return Map.of();
      }
      String id = in.readLong() + " " + in.readLong() + " " + in.readUTF();
      if (!id.equals(identity(tar))) {
        return Map.of();
      }
      int n = in.readInt();
      Map<Long, Digest> m = new HashMap<>(n * 2);
      for (int i = 0; i < n; i++) {
        long off = in.readLong();
        long size = in.readLong();
        byte[] sha = new byte[32];
        in.readFully(sha);
        m.put(off, new Digest(size, sha));
      }
      return m;
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
  }

  /**
   * Makes {@code tar}'s index unless a valid one is there: reads every regular file once. Written
   * to a temp file and renamed into place.
   *
   * @return whether an index was made
   * @throws IOException if the tar cannot be read or the index not written
   */
  static boolean ensure(Path tar) throws IOException {
    if (!read(tar).isEmpty()) {
      return false;
    }
    String id = identity(tar);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int count = 0;
    ByteArrayOutputStream entries = new ByteArrayOutputStream();
    DataOutputStream e = new DataOutputStream(entries);
    MessageDigest md = sha256();
    byte[] buf = new byte[1 << 20];
    try (SeekableByteChannel ch = Files.newByteChannel(tar, StandardOpenOption.READ);
        TarFile tf = new TarFile(ch, BLOCK * 20, BLOCK, "UTF-8", false)) {
      for (TarArchiveEntry te : tf.getEntries()) {
        if (!te.isFile() || te.isSparse() || te.isLink()) {
          continue;
        }
        md.reset();
        try (InputStream in = tf.getInputStream(te)) {
          long left = te.getSize();
          while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
              throw new IOException(tar + ": entry " + te.getName() + " is truncated");
            }
            md.update(buf, 0, n);
            left -= n;
          }
        }
        e.writeLong(te.getDataOffset());
        e.writeLong(te.getSize());
        e.write(md.digest());
        count++;
      }
    }
    if (!identity(tar).equals(id)) {
      throw new IOException(tar + " changed while it was indexed");
    }
    DataOutputStream d = new DataOutputStream(bytes);
    String[] parts = id.split(" ", 3);
    d.writeUTF(FORMAT);
    d.writeLong(Long.parseLong(parts[0]));
    d.writeLong(Long.parseLong(parts[1]));
    d.writeUTF(parts[2]);
    d.writeInt(count);
    e.flush();
    entries.writeTo(d);
    d.flush();
    md.reset();
    byte[] body = bytes.toByteArray();
    byte[] sum = md.digest(body);
    AtomicFiles.writeOutput(
        indexOf(tar),
        tmp -> {
          Files.write(tmp, body);
          Files.write(tmp, sum, StandardOpenOption.APPEND);
          return null;
        });
    return true;
  }
}
