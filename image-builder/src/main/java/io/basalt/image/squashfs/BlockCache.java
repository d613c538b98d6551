package io.basalt.image.squashfs;

import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * A content-addressed cache of compressed squashfs blocks, so that a rebuild compresses only the
 * blocks it has not seen. The key is SHA-256 over the compression settings (compressor, level,
 * block size, compressor options, codec library version) and the uncompressed block; the entry
 * {@code <root>/<key[0..2]>/<key>} holds the compressed bytes (or the note "stored uncompressed")
 * with CRC32C over key and content, checked on every read: a damaged, truncated or misplaced entry
 * is a miss. The check guards against damage, not against someone who can write the cache folder
 * (who could as well change the base tree cache next to it); CRC32C is a CPU instruction, where
 * SHA-256 over every entry takes about a fifth of a warm rebuild's CPU time. Entries are written by
 * one writer thread (at most {@link #QUEUE_BYTES} waiting, more are dropped: a slow disk costs
 * entries, not build time) to a temp file ({@code .<key>.<pid>.<n>.tmp}) and renamed into place,
 * never synced (a crash loses at most entries, never gives a wrong one). Output never depends on
 * the cache: a hit returns the bytes the compressor would make.
 *
 * <p>Bounded: {@link #close()} deletes entries until the cache is at most {@code maxBytes}, first
 * those this build did not use (oldest modification time first, then by name), then, only when this
 * build alone is larger, its own by name. It lists the folder only when a tally ({@code .size}: an
 * upper bound of the total that each build raises by what it stored) exceeds the bound, and every
 * {@link #TALLY_BUILDS} builds. Thread-safe; several builds (processes) may share a folder: writes
 * are atomic renames of identical content, and eviction takes a lock file (one build at a time).
 */
public final class BlockCache implements AutoCloseable {
  /** Default bound: a default image's blocks at zstd 3 take about 350 MB; room for a few. */
  public static final long DEFAULT_MAX_BYTES = 2L << 30;

  static final String FORMAT = "basalt-block-cache-2";
  private static final int MAGIC = 0x42514342; // "BCQB" little-endian

  /** Magic, flag, data length, CRC32C (little-endian). */
  static final int HEADER = 4 + 1 + 4 + 4;

  /** The flag of a file record (0: compressed block, 1: block stored uncompressed). */
  private static final int RECORD = 2;

  private static final String LOCK = ".lock";

  /**
   * The tally ({@code <bytes> <builds>}): an upper bound of the entries' total size, written under
   * the lock by each build at its end (the last count plus what the build stored), so that a build
   * lists the folder only when the bound may be exceeded, or every {@link #TALLY_BUILDS} builds
   * (entries of a build that died before its end are not in the tally).
   */
  private static final String TALLY = ".size";

  static final int TALLY_BUILDS = 16;

  /**
   * Temp names unique among processes (pid) and within one (counter). Not AtomicFiles.writeOutput:
   * it asks for the file store of every temp file (a scan of the mount table on Linux), which
   * doubled the CPU time of a cold build's 9,000 entries.
   */
  private static final long PID = ProcessHandle.current().pid();

  private static final AtomicLong TEMPS = new AtomicLong();

  /**
   * A cached block: compressed bytes ({@code data}, positioned on them, in the buffer given to
   * {@link #get}), or a note that compression does not make it smaller.
   */
  record Hit(boolean uncompressed, ByteBuffer data) {}

  /** What a build did with the cache. */
  public record Stats(
      long hits, long misses, long stored, long corrupt, long failedWrites, long dropped) {}

  private final Path root;
  private final long maxBytes;
  private final Set<String> used = ConcurrentHashMap.newKeySet();
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private final AtomicLong stored = new AtomicLong();
  private final AtomicLong corrupt = new AtomicLong();
  private final AtomicLong failedWrites = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong storedBytes = new AtomicLong();

  /** Bytes of entries that may wait for the writer thread. */
  static final int QUEUE_BYTES = 64 << 20;

  private final Semaphore queued;
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "block-cache-writer");
            t.setDaemon(true);
            return t;
          });

  /**
   * @param root the cache folder (made when the first entry is stored)
   * @param maxBytes the bound on the entries' total size
   * @throws IllegalArgumentException if {@code maxBytes} is negative
   */
  public BlockCache(Path root, long maxBytes) {
    this(root, maxBytes, QUEUE_BYTES);
  }

  /** With {@code queueBytes} of entries that may wait for the writer thread. */
  BlockCache(Path root, long maxBytes, int queueBytes) {
    this.queued = new Semaphore(queueBytes);
    this.root = Objects.requireNonNull(root, "root");
    if (maxBytes < 0) {
      throw new IllegalArgumentException("block cache size " + maxBytes + " < 0");
    }
    this.maxBytes = maxBytes;
  }

  /**
   * The default folder: {@code $XDG_CACHE_HOME/basalt/blocks}, else {@code ~/.cache/basalt/blocks}
   * (next to the base tree cache).
   */
  public static Path defaultRoot(Map<String, String> env, Path home) {
    String xdg = env.get("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty() ? home.getFileSystem().getPath(xdg) : home.resolve(".cache");
    return base.resolve("basalt").resolve("blocks");
  }

  public Path root() {
    return root;
  }

  /** The settings part of every key for {@code o}: whatever changes the compressed bytes. */
  static byte[] settings(SquashfsOptions o) {
    String codec;
    switch (o.compression()) {
      case ZSTD:
        codec = "zstd-jni " + com.github.luben.zstd.util.ZstdVersion.VERSION;
        break;
      case XZ:
        codec =
            "xz-java "
                + org.tukaani.xz.XZ.class.getPackage().getImplementationVersion()
                + " dict "
                + o.xzDictionarySize();
        break;
      case GZIP:
        codec =
            "java.util.zip "
                + Runtime.version()
                + " window "
                + o.gzipWindowBits()
                + " strategy "
                + o.gzipStrategy();
        break;
      default:
        throw new IllegalStateException();
    }
    return (FORMAT
            + "\n"
            + o.compression().name()
            + " level "
            + o.level()
            + " block "
            + o.blockSize()
            + " "
            + codec
            + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing", e);
    }
  }

  /** The key (hex) of {@code block[0, len)} under {@code settings}; {@code md} is reset first. */
  static String key(MessageDigest md, byte[] settings, byte[] block, int len) {
    md.reset();
    md.update(settings);
    md.update(block, 0, len);
    return HexFormat.of().formatHex(md.digest());
  }

  private Path entry(String key) {
    return root.resolve(key.substring(0, 2)).resolve(key);
  }

  /**
   * The size a buffer given to {@link #get} needs for blocks of {@code blockSize}: an entry holds a
   * block only when compression made it smaller.
   */
  static int bufferSize(int blockSize) {
    return HEADER + blockSize;
  }

  /**
   * The cached block for {@code key}, read into {@code buf} (at least {@link #bufferSize} bytes; a
   * direct buffer is written to the image without a copy), or null (missing, unreadable or damaged:
   * a damaged entry is counted and left to be replaced).
   */
  Hit get(String key, ByteBuffer buf) {
    buf.clear().order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(entry(key), StandardOpenOption.READ)) {
      // One read for a whole entry (no read for the end of the file: the header's length and the
      // check decide which bytes are the entry's); more only while the header says some are
      // missing.
      while (buf.hasRemaining()
          && (buf.position() < HEADER || buf.position() - HEADER < buf.getInt(5))
          && ch.read(buf) >= 0) {
        // reading
      }
    } catch (NoSuchFileException e) {
      misses.incrementAndGet();
      return null;
    } catch (IOException e) {
      buf.clear().limit(0);
    }
    buf.flip();
    if (buf.remaining() >= HEADER
        && buf.getInt(5) >= 0
        && buf.getInt(5) < buf.remaining() - HEADER) {
      buf.limit(HEADER + buf.getInt(5)); // bytes after the entry (a longer file) are not its
    }
    int flag = checked(key, buf, false);
    return flag < 0 ? null : new Hit(flag == 1, buf.position(HEADER));
  }

  /**
   * The file record for {@code key} (see {@link #putRecord}), or null (missing, unreadable or
   * damaged, as for blocks).
   */
  byte[] getRecord(String key) {
    byte[] b;
    try {
      b = Files.readAllBytes(entry(key));
    } catch (NoSuchFileException e) {
      misses.incrementAndGet();
      return null;
    } catch (IOException e) {
      b = new byte[0];
    }
    return checked(key, ByteBuffer.wrap(b), true) < 0
        ? null
        : Arrays.copyOfRange(b, HEADER, b.length);
  }

  /**
   * Counts a hit or a (damaged) miss of the entry {@code b} stored under {@code key}; its flag or
   * -1.
   */
  private int checked(String key, ByteBuffer b, boolean record) {
    int flag = check(key, b);
    if (flag < 0 || (flag == RECORD) != record) {
      misses.incrementAndGet();
      corrupt.incrementAndGet();
      return -1;
    }
    hits.incrementAndGet();
    used.add(key);
    return flag;
  }

  /**
   * The flag of a sound entry {@code b} (from its position to its limit, which are kept) stored
   * under {@code key}, or -1.
   */
  static int check(String key, ByteBuffer b) {
    int at = b.position();
    if (b.remaining() < HEADER) {
      return -1;
    }
    ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int flag = le.get(at + 4);
    int len = le.getInt(at + 5);
    if (le.getInt(at) != MAGIC
        || (flag != 0 && flag != 1 && flag != RECORD)
        || len != b.remaining() - HEADER) {
      return -1;
    }
    ByteBuffer data = b.duplicate().position(at + HEADER);
    return crc(key, flag, data) == le.getInt(at + 9) ? flag : -1;
  }

  /** CRC32C over {@code key} (ASCII), {@code flag} and {@code data}'s remaining bytes. */
  private static int crc(String key, int flag, ByteBuffer data) {
    CRC32C c = new CRC32C();
    c.update(key.getBytes(StandardCharsets.US_ASCII));
    c.update(flag);
    c.update(data);
    return (int) c.getValue();
  }

  /**
   * Stores a block under {@code key}: {@code data[0, len)} compressed, or with {@code uncompressed}
   * no data. The file is written by the cache's writer thread, so a slow disk does not hold up the
   * compressors; when {@link #QUEUE_BYTES} wait already, the entry is dropped (counted). A failure
   * (full disk, no permission) is counted and otherwise ignored.
   */
  void put(String key, boolean uncompressed, byte[] data, int len) {
    put(key, uncompressed ? 1 : 0, data, uncompressed ? 0 : len);
  }

  /**
   * Stores a file record under {@code key}: what a file's blocks are, so that a later build can
   * take them without reading the file (see {@code DataWriter}). Written as blocks are.
   */
  void putRecord(String key, byte[] record) {
    put(key, RECORD, record, record.length);
  }

  private void put(String key, int flag, byte[] data, int n) {
    used.add(key);
    byte[] b = new byte[HEADER + n];
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    bb.putInt(0, MAGIC);
    b[4] = (byte) flag;
    bb.putInt(5, n);
    if (n > 0) {
      System.arraycopy(data, 0, b, HEADER, n);
    }
    bb.putInt(9, crc(key, flag, ByteBuffer.wrap(b, HEADER, n)));
    if (!queued.tryAcquire(b.length)) {
      dropped.incrementAndGet();
      return;
    }
    try {
      writer.execute(
          () -> {
            try {
              write(key, b);
            } finally {
              queued.release(b.length);
            }
          });
    } catch (RejectedExecutionException e) {
      queued.release(b.length);
      dropped.incrementAndGet();
    }
  }

  private void write(String key, byte[] b) {
    Path target = entry(key);
    Path tmp =
        target.resolveSibling("." + key + "." + PID + "." + TEMPS.incrementAndGet() + ".tmp");
    try {
      Files.createDirectories(target.getParent());
      Files.write(tmp, b, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      AtomicFiles.renameOutput(tmp, target);
      stored.incrementAndGet();
      storedBytes.addAndGet(b.length);
    } catch (IOException | RuntimeException e) {
      failedWrites.incrementAndGet();
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // gone or never made
      }
    }
  }

  public Stats stats() {
    return new Stats(
        hits.get(), misses.get(), stored.get(), corrupt.get(), failedWrites.get(), dropped.get());
  }

  /** One entry seen by {@link #evict()}. */
  private record Entry(Path path, String name, long size, long mtime) {}

  /**
   * Deletes entries until the cache holds at most {@code maxBytes} (see the class comment), listing
   * the folder only when the tally says the bound may be exceeded; waits while another build
   * evicts.
   *
   * @return bytes deleted
   * @throws IOException if the folder cannot be listed
   */
  long evict() throws IOException {
    if (!Files.isDirectory(root)) {
      return 0;
    }
    try (FileChannel lockFile =
            FileChannel.open(
                root.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = tryLock(lockFile)) {
      if (lock == null) {
        return 0;
      }
      long[] tally = readTally();
      long added = storedBytes.get();
      if (tally != null && tally[1] + 1 < TALLY_BUILDS && tally[0] + added <= maxBytes) {
        writeTally(tally[0] + added, tally[1] + 1);
        return 0;
      }
      List<Entry> all = new ArrayList<>();
      long total = 0;
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
        for (Path d : dirs) {
          String dn = d.getFileName().toString();
          if (dn.length() != 2 || !Files.isDirectory(d)) {
            continue;
          }
          try (DirectoryStream<Path> files = Files.newDirectoryStream(d)) {
            for (Path f : files) {
              String name = f.getFileName().toString();
              if (name.length() != 64 || !name.startsWith(dn)) {
                deleteIfOrphan(f, name);
                continue;
              }
              try {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                all.add(new Entry(f, name, a.size(), a.lastModifiedTime().toMillis()));
                total += a.size();
              } catch (NoSuchFileException e) {
                // deleted meanwhile
              }
            }
          }
        }
      }
      if (total <= maxBytes) {
        writeTally(total, 0);
        return 0;
      }
      Comparator<Entry> byName = Comparator.comparing(Entry::name);
      List<Entry> order = new ArrayList<>();
      List<Entry> mine = new ArrayList<>();
      for (Entry e : all) {
        (used.contains(e.name()) ? mine : order).add(e);
      }
      order.sort(Comparator.comparingLong(Entry::mtime).thenComparing(byName));
      mine.sort(byName);
      order.addAll(mine);
      long deleted = 0;
      for (Entry e : order) {
        if (total <= maxBytes) {
          break;
        }
        if (Files.deleteIfExists(e.path())) {
          deleted += e.size();
        }
        total -= e.size();
      }
      writeTally(total, 0);
      return deleted;
    }
  }

  /** Deletes a temp file {@code .<key>.<pid>.<n>.tmp} whose writing process has ended. */
  private static void deleteIfOrphan(Path f, String name) throws IOException {
    String[] parts = name.split("\\.");
    if (parts.length != 5 || !parts[0].isEmpty() || !parts[4].equals("tmp")) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(parts[2]);
    } catch (NumberFormatException e) {
      return;
    }
    if (pid != PID && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
      Files.deleteIfExists(f);
    }
  }

  /** The tally (bytes, builds since the last listing), or null when missing or unreadable. */
  private long[] readTally() {
    try {
      String[] f =
          Files.readString(root.resolve(TALLY), StandardCharsets.US_ASCII).trim().split(" ");
      if (f.length != 3 || !f[0].equals(FORMAT)) {
        return null;
      }
      long bytes = Long.parseLong(f[1]);
      long builds = Long.parseLong(f[2]);
      return bytes < 0 || builds < 0 ? null : new long[] {bytes, builds};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Writes the tally (temp file and rename, under the lock); a failure only costs a listing. */
  private void writeTally(long bytes, long builds) {
    Path t = root.resolve(TALLY);
    Path tmp = root.resolve(TALLY + "." + PID + "." + TEMPS.incrementAndGet() + ".tmp");
    try {
      Files.writeString(tmp, FORMAT + " " + bytes + " " + builds + "\n", StandardCharsets.US_ASCII);
      AtomicFiles.renameOutput(tmp, t);
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(tmp);
        Files.deleteIfExists(t);
      } catch (IOException ignored) {
        // the next build lists the folder
      }
    }
  }

  /**
   * The eviction lock: waits while another build holds it (an eviction is short); null only when
   * interrupted while another cache of this process holds it.
   */
  private static FileLock tryLock(FileChannel ch) throws IOException {
    while (true) {
      try {
        return ch.lock();
      } catch (OverlappingFileLockException e) {
        try {
          Thread.sleep(5);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return null;
        }
      }
    }
  }

  /**
   * Waits for the queued writes, then bounds the cache ({@link #evict()}); an I/O failure is
   * ignored (the cache is optional). Blocks stored after this are dropped.
   */
  @Override
  public void close() {
    writer.shutdown();
    try {
      while (!writer.awaitTermination(1, TimeUnit.MINUTES)) {
        // the queue is bounded: it ends
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      writer.shutdownNow();
      return;
    }
    try {
      evict();
    } catch (IOException e) {
      failedWrites.incrementAndGet();
    }
  }
}
