package io.basalt.image.tree;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * Reads an uncompressed tar file (ustar, pax or GNU, e.g. what {@code mmdebstrap} or {@code tar
 * --xattrs} write) into a {@link FileTree} without extracting it: each regular file's {@link
 * Content} reads its bytes straight from the tar at the entry's data offset. Entries come from
 * commons-compress' {@link TarFile}; extended attributes are taken from the raw pax records ({@code
 * SCHILY.xattr.*} raw bytes, {@code LIBARCHIVE.xattr.*} base64), because commons-compress decodes
 * pax values as UTF-8 text and so corrupts binary values such as {@code security.capability}.
 * Immutable and thread-safe.
 */
final class TarTreeReader {
  private static final int BLOCK = 512;

  private TarTreeReader() {}

  /**
   * Reads {@code tar}; the file must stay unchanged while the tree is in use.
   *
   * @throws IOException naming the tar and entry when the archive is malformed or holds an entry
   *     the tree cannot represent (sparse files, unknown types, a hard link to a non-file)
   */
  static FileTree read(Path tar) throws IOException {
    Map<Long, Map<String, byte[]>> xattrs = scanPaxXattrs(tar);
    Map<Long, TarIndex.Digest> digests = TarIndex.read(tar);
    Source source = new Source(tar);
    FileTree.Builder b = FileTree.builder();
    try (SeekableByteChannel ch = Files.newByteChannel(tar, StandardOpenOption.READ);
        TarFile tf = new TarFile(ch, BLOCK * 20, BLOCK, "UTF-8", false)) {
      for (TarArchiveEntry te : tf.getEntries()) {
        String where = tar + ": entry " + te.getName();
        String path;
        try {
          path = TreePaths.normalize(te.getName());
        } catch (IllegalArgumentException e) {
          throw new IOException(where + ": " + e.getMessage(), e);
        }
        TreeEntry e;
        if (te.isSparse()) {
          throw new IOException(where + ": sparse tar entries are not supported");
        } else if (te.isDirectory()) {
          e = TreeEntry.directory(path);
        } else if (te.isSymbolicLink()) {
          e = TreeEntry.symlink(path, te.getLinkName());
        } else if (te.isLink()) {
          try {
            e = TreeEntry.hardlink(path, TreePaths.normalize(te.getLinkName()));
          } catch (IllegalArgumentException ex) {
            throw new IOException(where + ": bad hard link target: " + ex.getMessage(), ex);
          }
        } else if (te.isCharacterDevice() || te.isBlockDevice()) {
          e =
              TreeEntry.device(
                  path,
                  te.isBlockDevice() ? EntryType.BLOCK_DEVICE : EntryType.CHAR_DEVICE,
                  te.getDevMajor(),
                  te.getDevMinor());
        } else if (te.isFIFO()) {
          e = TreeEntry.fifo(path);
        } else if (te.isFile()) {
          TarIndex.Digest d = digests.get(te.getDataOffset());
          byte[] sha = d != null && d.size() == te.getSize() ? d.sha256() : null;
          e =
              TreeEntry.regular(
                  path,
                  new TarContent(source, te.getDataOffset(), te.getSize(), te.getName(), sha));
        } else {
          throw new IOException(where + ": unsupported tar entry type");
        }
        long uid = te.getLongUserId();
        long gid = te.getLongGroupId();
        if (uid < 0 || gid < 0 || uid > 0xffffffffL || gid > 0xffffffffL) {
          throw new IOException(where + ": uid/gid " + uid + "/" + gid + " out of range");
        }
        e =
            e.withMode(te.getMode() & 07777)
                .withOwner((int) uid, (int) gid)
                .withMtime(Math.floorDiv(te.getLastModifiedTime().toMillis(), 1000L));
        Map<String, byte[]> x = xattrs.get(te.getDataOffset());
        if (x != null && !x.isEmpty()) {
          e = e.withXattrs(x);
        }
        if (path.equals("/") || b.get(TreePaths.parent(path)) != null) {
          b.put(e);
        } else {
          b.putWithParents(e);
        }
      }
    }
    try {
      return b.build();
    } catch (IllegalStateException e) {
      throw new IOException(tar + ": " + e.getMessage(), e);
    }
  }

  /**
   * Walks the tar's headers and returns, keyed by the data offset of the entry they belong to, the
   * xattrs of every pax extended header, with values as raw bytes.
   */
  static Map<Long, Map<String, byte[]>> scanPaxXattrs(Path tar) throws IOException {
    Map<Long, Map<String, byte[]>> result = new HashMap<>();
    try (SeekableByteChannel ch = Files.newByteChannel(tar, StandardOpenOption.READ)) {
      long size = ch.size();
      long pos = 0;
      Map<String, byte[]> pending = null;
      Long paxSize = null;
      ByteBuffer hdr = ByteBuffer.allocate(BLOCK);
      while (pos + BLOCK <= size) {
        hdr.clear();
        ch.position(pos);
        while (hdr.hasRemaining() && ch.read(hdr) > 0) {
          // fill
        }
        byte[] h = hdr.array();
        if (isZero(h)) {
          break;
        }
        long entrySize = parseNumber(h, 124, 12, tar, pos);
        byte type = h[156];
        long data = pos + BLOCK;
        if (type == 'x' || type == 'X') {
          byte[] rec = read(ch, data, entrySize, tar);
          Map<String, byte[]> x = new TreeMap<>();
          Long[] sizeOut = new Long[1];
          parsePax(rec, x, sizeOut, tar, pos);
          pending = x;
          paxSize = sizeOut[0];
          pos = data + round(entrySize);
          continue;
        }
        if (type == 'g' || type == 'L' || type == 'K') {
          pos = data + round(entrySize);
          continue;
        }
        if (pending != null && !pending.isEmpty()) {
          result.put(data, pending);
        }
        long dataSize = paxSize != null ? paxSize : entrySize;
        if (type == '1'
            || type == '2'
            || type == '3'
            || type == '4'
            || type == '5'
            || type == '6') {
          dataSize = 0;
        }
        pending = null;
        paxSize = null;
        pos = data + round(dataSize);
      }
    }
    return result;
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static long round(long n) {
    return (n + BLOCK - 1) / BLOCK * BLOCK;
  }

  private static byte[] read(SeekableByteChannel ch, long pos, long len, Path tar)
      throws IOException {
    if (len > 64 << 20) {
      throw new IOException(
          tar + ": pax header at " + pos + " is implausibly large (" + len + " bytes)");
    }
    ByteBuffer b = ByteBuffer.allocate((int) len);
    ch.position(pos);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new IOException(tar + ": truncated pax header at " + pos);
      }
    }
    return b.array();
  }

  /** A tar numeric field: octal text, or base-256 when the first byte's high bit is set. */
  private static long parseNumber(byte[] h, int off, int len, Path tar, long pos)
      throws IOException {
    if ((h[off] & 0x80) != 0) {
      long v = h[off] & 0x3f;
      for (int i = 1; i < len; i++) {
        v = (v << 8) | (h[off + i] & 0xff);
      }
      return v;
    }
    long v = 0;
    for (int i = off; i < off + len; i++) {
      byte c = h[i];
      if (c == 0 || c == ' ') {
        if (v != 0 || i > off) {
          // trailing terminator
          boolean rest = true;
          for (int k = i; k < off + len; k++) {
            rest &= h[k] == 0 || h[k] == ' ';
          }
          if (rest) {
            break;
          }
        }
        continue;
      }
      if (c < '0' || c > '7') {
        throw new IOException(tar + ": bad octal number in the tar header at offset " + pos);
      }
      v = v * 8 + (c - '0');
    }
    return v;
  }

  /** Parses pax records ("LEN KEY=VALUE\n") as bytes, collecting xattrs and the size override. */
  static void parsePax(byte[] r, Map<String, byte[]> xattrs, Long[] size, Path tar, long pos)
      throws IOException {
    Map<String, byte[]> schily = new TreeMap<>();
    int i = 0;
    while (i < r.length) {
      if (r[i] == 0) {
        break;
      }
      int sp = i;
      int len = 0;
      while (sp < r.length && r[sp] >= '0' && r[sp] <= '9') {
        len = len * 10 + (r[sp] - '0');
        sp++;
      }
      if (sp >= r.length
          || r[sp] != ' '
          || len <= 0
          || i + len > r.length
          || r[i + len - 1] != '\n') {
        throw new IOException(tar + ": malformed pax record in the header at offset " + pos);
      }
      int eq = sp + 1;
      while (eq < i + len && r[eq] != '=') {
        eq++;
      }
      if (eq >= i + len) {
        throw new IOException(tar + ": pax record without '=' in the header at offset " + pos);
      }
      String key = new String(r, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
      int vs = eq + 1;
      int ve = i + len - 1;
      if (key.startsWith("SCHILY.xattr.")) {
        byte[] v = new byte[ve - vs];
        System.arraycopy(r, vs, v, 0, v.length);
        schily.put(key.substring("SCHILY.xattr.".length()), v);
      } else if (key.startsWith("LIBARCHIVE.xattr.")) {
        String name = percentDecode(key.substring("LIBARCHIVE.xattr.".length()));
        String b64 = new String(r, vs, ve - vs, StandardCharsets.US_ASCII).trim();
        try {
          xattrs.put(name, Base64.getMimeDecoder().decode(b64));
        } catch (IllegalArgumentException e) {
          throw new IOException(
              tar + ": bad base64 value for xattr " + name + " in the header at offset " + pos, e);
        }
      } else if (key.equals("size")) {
        size[0] = Long.parseLong(new String(r, vs, ve - vs, StandardCharsets.US_ASCII).trim());
      }
      i += len;
    }
    xattrs.putAll(schily);
  }

  private static String percentDecode(String s) {
    byte[] in = s.getBytes(StandardCharsets.UTF_8);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(in.length);
    for (int k = 0; k < in.length; k++) {
      if (in[k] == '%' && k + 2 < in.length) {
        int hi = Character.digit(in[k + 1], 16);
        int lo = Character.digit(in[k + 2], 16);
        if (hi >= 0 && lo >= 0) {
          out.write(hi * 16 + lo);
          k += 2;
          continue;
        }
      }
      out.write(in[k]);
    }
    return new String(out.toByteArray(), StandardCharsets.UTF_8);
  }

  /**
   * The tar of one tree, open once for all its files' contents (positional reads, so any number of
   * streams and threads share it). Opened on first use; closed when the tree is unreachable; opened
   * again if it was closed (a thread interrupted in a read closes a channel for everyone).
   */
  private static final class Source {
    private static final Cleaner CLEANER = Cleaner.create();

    private final Path tar;
    private final Object lock = new Object();
    private FileChannel channel;
    private long size;

    Source(Path tar) {
      this.tar = tar;
    }

    FileChannel channel() throws IOException {
      synchronized (lock) {
        if (channel == null || !channel.isOpen()) {
          FileChannel ch = FileChannel.open(tar, StandardOpenOption.READ);
          size = ch.size();
          channel = ch;
          CLEANER.register(this, new Closer(ch));
        }
        return channel;
      }
    }

    long size() throws IOException {
      synchronized (lock) {
        channel();
        return size;
      }
    }

    /** Reads at {@code pos}; retries once in a fresh channel if another thread closed this one. */
    int read(ByteBuffer b, long pos) throws IOException {
      FileChannel ch = channel();
      try {
        return ch.read(b, pos);
      } catch (ClosedChannelException e) {
        if (e instanceof ClosedByInterruptException || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        return channel().read(b, pos);
      }
    }

    @Override
    public String toString() {
      return tar.toString();
    }
  }

  /** Closes a {@link Source}'s channel once the source is unreachable. */
  private static final class Closer implements Runnable {
    private final FileChannel channel;

    Closer(FileChannel channel) {
      this.channel = channel;
    }

    @Override
    public void run() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  /** Bytes of one tar entry, read in place through its tree's shared {@link Source}. */
  private static final class TarContent implements Content {
    private final Source tar;
    private final long offset;
    private final long size;
    private final String name;
    private final byte[] sha256;

    TarContent(Source tar, long offset, long size, String name, byte[] sha256) {
      this.tar = tar;
      this.offset = offset;
      this.size = size;
      this.name = name;
      this.sha256 = sha256;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public byte[] sha256() {
      return sha256 == null ? null : sha256.clone();
    }

    @Override
    public InputStream open() throws IOException {
      return openAt(0);
    }

    @Override
    public InputStream openAt(long from) throws IOException {
      if (from < 0 || from > size) {
        throw new IllegalArgumentException("offset " + from + " outside 0.." + size);
      }
      if (tar.size() < offset + size) {
        throw new IOException(this + ": the tar is shorter than the entry (truncated or changed)");
      }
      InputStream bounded =
          new InputStream() {
            private long left = size - from;
            private long pos = offset + from;

            @Override
            public int read() throws IOException {
              byte[] one = new byte[1];
              int n = read(one, 0, 1);
              return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (len == 0) {
                return 0;
              }
              if (left <= 0) {
                return -1;
              }
              int n = tar.read(ByteBuffer.wrap(b, off, (int) Math.min(len, left)), pos);
              if (n > 0) {
                left -= n;
                pos += n;
              }
              return n;
            }

            @Override
            public long skip(long n) {
              long k = Math.max(0, Math.min(n, left));
              left -= k;
              pos += k;
              return k;
            }
          };
      return Content.checked(bounded, size - from, toString());
    }

    @Override
    public String toString() {
      return tar + "!" + name;
    }
  }
}
