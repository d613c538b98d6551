package io.basalt.image.squashfs;

import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes the data area of a squashfs image: file blocks and fragment blocks, compressed by pools of
 * threads and written in submission order, so the output does not depend on thread timing. As in
 * mksquashfs, {@code threads} threads compress file blocks and another {@code threads} compress
 * fragment blocks, so a fragment never waits behind a queue of file blocks. Files are read by the
 * calling thread one block at a time, except the full blocks of a file whose content digest is
 * known and whose file record is in the block cache: those come from the cache (see {@link
 * BlockCache}). Not thread-safe (one build at a time).
 */
final class DataWriter implements AutoCloseable {
  static final int UNCOMPRESSED_BIT = 1 << 24;

  /**
   * Every stored unit (one file's run of blocks, one fragment run: see {@link #cutBefore}) starts
   * at a multiple of this image offset, zero-padded before it; so does a fragment block written
   * after a file's blocks. A unit's 4 KiB blocks then depend only on its own content, so an
   * unchanged file or fragment run reads as the same 4 KiB blocks wherever it lands.
   */
  static final int ALIGN = 4096;

  /**
   * Uncompressed bytes that may wait for compression or for their turn to be written (256 blocks of
   * 128 KiB; at most about twice that in heap with the compressed copies). A deep queue, as
   * mksquashfs keeps (its read, fragment and write queues hold tens of MiB or more), keeps the
   * compressors supplied while the reading and writing thread waits for a CPU on a busy machine,
   * where a window of 16 blocks ran dry in one scheduling delay.
   */
  static final int QUEUE_BYTES = 32 << 20;

  /** Where one regular file's data went. */
  static final class FileData {
    final long size;
    long start = -1;
    final int[] blockSizes;
    int fragment = -1;
    int fragmentOffset;
    long sparseBytes;

    /**
     * The block cache keys of the blocks as they are written (null: sparse), while a file record is
     * to be stored under {@link #recordKey} once all are; else null.
     */
    String[] blockKeys;

    String recordKey;
    int keysSeen;

    FileData(long size, int blocks) {
      this.size = size;
      this.blockSizes = new int[blocks];
    }

    long startBlock() {
      return start < 0 ? 0 : start;
    }
  }

  private static final class Result {
    final byte[] data;
    final int length;
    final boolean uncompressed;
    final boolean sparse;

    /**
     * Pooled arrays to give back once the result is written: the input block and, when compressed,
     * the output.
     */
    final byte[] input;

    final byte[] output;

    /** The block's cache key (hex), when there is a cache and the block is not sparse. */
    String key;

    /**
     * A block read from the cache: its bytes (position to limit) in a pooled direct buffer, written
     * to the image as they are and then given back; {@link #data} is null.
     */
    ByteBuffer hit;

    Result(
        byte[] data,
        int length,
        boolean uncompressed,
        boolean sparse,
        byte[] input,
        byte[] output) {
      this.data = data;
      this.length = length;
      this.uncompressed = uncompressed;
      this.sparse = sparse;
      this.input = input;
      this.output = output;
    }

    Result withKey(String k) {
      this.key = k;
      return this;
    }

    /**
     * A compressed block from the cache, in {@code buf} (pooled), with {@code input} to give back.
     */
    static Result hit(ByteBuffer buf, byte[] input, String key) {
      Result r = new Result(null, buf.remaining(), false, false, input, null).withKey(key);
      r.hit = buf;
      return r;
    }
  }

  private enum Kind {
    BLOCK,
    FRAGMENT,
    DISCARD,
    /** A duplicate found before its blocks were read: only the alignment a DISCARD leaves. */
    SKIP
  }

  private static final class Pending {
    final Future<Result> future;
    final Kind kind;
    final FileData file;
    final int index;

    /** A fragment block that continues the run of the fragment block before it. */
    final boolean continuesRun;

    Pending(Future<Result> future, Kind kind, FileData file, int index) {
      this(future, kind, file, index, false);
    }

    Pending(Future<Result> future, Kind kind, FileData file, int index, boolean continuesRun) {
      this.future = future;
      this.kind = kind;
      this.file = file;
      this.index = index;
      this.continuesRun = continuesRun;
    }
  }

  private final SquashfsOptions options;
  private final int blockSize;
  private final SeekableByteChannel out;
  private final long base;
  private long position;
  private final long channelBase;
  private final ExecutorService pool;
  private final ExecutorService fragmentPool;
  private final List<Codec> codecs = new ArrayList<>();
  private final ThreadLocal<Codec> codec;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private final BlockCache cache;
  private final byte[] cacheSettings;
  private final ThreadLocal<MessageDigest> digests = ThreadLocal.withInitial(BlockCache::sha256);
  private final int maxPending;

  /**
   * Once more than {@code maxPending} results wait, this thread sleeps until the result {@code
   * batch} places back is done and then writes every finished one: one wake-up per batch of blocks
   * instead of one per block (the reading thread used to be woken by each finished block).
   */
  private final int batch;

  /** Files stored so far by content: SHA-256 (hex) and size. */
  private final Map<String, FileData> byContent = new HashMap<>();

  private final LeBuffer fragmentTable = new LeBuffer();
  private byte[] fragment;

  /**
   * Reused block-sized input arrays and compressor output arrays. A build of a 1 GiB /usr used to
   * allocate two fresh 128 KiB arrays per block (2-3 GB in all); the garbage collections this
   * caused also have to wait for every compressor thread to leave zstd's JNI critical section.
   */
  private final ConcurrentLinkedQueue<byte[]> inputs = new ConcurrentLinkedQueue<>();

  private final ConcurrentLinkedQueue<byte[]> outputs = new ConcurrentLinkedQueue<>();

  /**
   * Reused direct buffers that cache entries are read into and written to the image from: a warm
   * build moves hundreds of MB of entries, which a heap array would copy twice more (into it from
   * the kernel's buffer, and out again) and allocate fresh for every entry.
   */
  private final ConcurrentLinkedQueue<ByteBuffer> hitBuffers = new ConcurrentLinkedQueue<>();

  /** A block of zeros to compare blocks with (never written to). */
  private final byte[] zeros;

  /** A deferred tail in a fragment block: {@code length} bytes of a file from {@code from} on. */
  private static final class Piece {
    final TreeEntry entry;
    final long from;
    final int offset;
    final int length;
    final byte[] sha256;

    Piece(TreeEntry entry, long from, int offset, int length, byte[] sha256) {
      this.entry = entry;
      this.from = from;
      this.offset = offset;
      this.length = length;
      this.sha256 = sha256;
    }
  }

  /** The deferred tails of the fragment block being filled. */
  private List<Piece> pieces = new ArrayList<>();

  /** Whether every tail in the fragment block being filled is deferred (so far). */
  private boolean fragmentAllDeferred = true;

  /** The tail of the file being read, until it is copied into the fragment block. */
  private final byte[] tailBuffer;

  private int fragmentFill;

  /** Whether the fragment block being filled continues a run (it began at an overflow). */
  private boolean fragmentContinuesRun;

  /** Whether the last unit written was a fragment block (then a run's next block follows it). */
  private boolean lastWasFragment;

  private int fragmentCount;
  private long dataBlocks;
  private long sparseBlocks;
  private int duplicates;
  private long paddingBytes;

  /**
   * @param out where data goes, positioned at the first data byte
   * @param base the image offset of {@code out}'s current position
   */
  DataWriter(SquashfsOptions options, SeekableByteChannel out, long base) throws IOException {
    this(options, out, base, null);
  }

  /**
   * @param out where data goes, positioned at the first data byte
   * @param base the image offset of {@code out}'s current position
   * @param cache compressed blocks to reuse and to add to, or null
   */
  DataWriter(SquashfsOptions options, SeekableByteChannel out, long base, BlockCache cache)
      throws IOException {
    this.options = options;
    this.cache = cache;
    this.cacheSettings = cache != null ? BlockCache.settings(options) : null;
    this.blockSize = options.blockSize();
    this.out = out;
    this.base = base;
    this.position = base;
    this.channelBase = out.position();
    this.zeros = new byte[blockSize];
    this.tailBuffer = new byte[blockSize];
    this.fragment = inputBuffer();
    this.pool = newPool(options.threads(), "squashfs-compress-");
    this.fragmentPool = newPool(options.threads(), "squashfs-fragment-");
    this.codec =
        ThreadLocal.withInitial(
            () -> {
              Codec c = Codec.create(options);
              synchronized (codecs) {
                codecs.add(c);
              }
              return c;
            });
    this.maxPending = Math.max(options.threads() * 4 + 8, QUEUE_BYTES / blockSize);
    this.batch = Math.max(1, maxPending / 8);
  }

  private static ExecutorService newPool(int threads, String name) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(
        threads,
        r -> {
          Thread t = new Thread(r, name + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * Reads {@code entry}'s content and stores it (or finds an identical earlier file).
   *
   * @throws IOException naming the entry when its content cannot be read or changed while read
   */
  FileData add(TreeEntry entry) throws IOException {
    long size = entry.size();
    boolean tailToFragment = options.fragments() && (size < blockSize || options.tailPacking());
    long tail = size % blockSize;
    if (!tailToFragment) {
      tail = 0;
    }
    long fullBlocks = (size - tail) / blockSize + ((size - tail) % blockSize != 0 ? 1 : 0);
    if (fullBlocks > Integer.MAX_VALUE) {
      throw new IOException(entry.path() + ": file too large (" + size + " bytes)");
    }
    FileData fd = new FileData(size, (int) fullBlocks);
    if (size == 0) {
      return fd;
    }
    byte[] known = entry.content().sha256();
    if (known != null && options.deduplicate()) {
      FileData earlier = byContent.get(contentKey(known, size));
      if (earlier != null) {
        // As a DISCARD leaves it when the duplicate's blocks were written and cut off again.
        if (fullBlocks > 0) {
          pending.add(new Pending(CompletableFuture.completedFuture(null), Kind.SKIP, fd, 0));
        }
        duplicates++;
        drain(false);
        return earlier;
      }
    }
    boolean fromRecord = false;
    if (known != null && cache != null && fullBlocks > 0) {
      MessageDigest md = digests.get();
      String rk = recordKey(md, known, size, (int) fullBlocks, tail);
      byte[] record = cache.getRecord(rk);
      if (record != null && record.length == fullBlocks * RECORD_ENTRY) {
        submitFromRecord(fd, entry, record);
        fromRecord = true;
      } else {
        fd.recordKey = rk;
        fd.blockKeys = new String[(int) fullBlocks];
      }
    }
    MessageDigest whole = known == null && options.deduplicate() ? BlockCache.sha256() : null;
    // With a digest and a cache, a tail is read when its fragment block is made, and only if the
    // block is not in the cache; a file taken from its record is then not opened at all.
    boolean deferTail = known != null && cache != null && tail > 0;
    boolean readBlocks = !fromRecord && fullBlocks > 0;
    boolean readTail = tail > 0 && !deferTail;
    int tailLength = (int) tail;
    if (readBlocks || readTail) {
      try (InputStream in = entry.content().openAt(readBlocks ? 0 : size - tail)) {
        long remaining = size;
        for (int i = 0; i < fullBlocks && readBlocks; i++) {
          int len = (int) Math.min(blockSize, remaining);
          byte[] block = readFully(in, inputBuffer(), len, entry);
          if (whole != null) {
            whole.update(block, 0, len);
          }
          remaining -= len;
          submitBlock(fd, i, block, len);
        }
        if (readTail) {
          readFully(in, tailBuffer, tailLength, entry);
          if (whole != null) {
            whole.update(tailBuffer, 0, tailLength);
          }
        }
        if ((readTail || tail == 0) && in.read() >= 0) {
          throw new IOException(
              entry.path() + ": grew while being read (expected " + size + " bytes)");
        }
      } catch (IOException e) {
        throw new IOException(entry.path() + " (" + entry.content() + "): " + e.getMessage(), e);
      }
    }
    if (options.deduplicate()) {
      String ck = contentKey(known != null ? known : whole.digest(), size);
      FileData earlier = byContent.get(ck);
      if (earlier != null) {
        if (fullBlocks > 0) {
          pending.add(new Pending(CompletableFuture.completedFuture(null), Kind.DISCARD, fd, 0));
        }
        duplicates++;
        return earlier;
      }
      byContent.put(ck, fd);
    }
    if (tailLength > 0) {
      if (fragmentFill > 0 && cutBefore(entry.path(), tailLength, blockSize)) {
        flushFragment();
        fragmentContinuesRun = false;
      }
      addToFragment(fd, tailLength, deferTail ? entry : null, size - tail, known);
    }
    drain(false);
    return fd;
  }

  /**
   * Whether the fragment run in progress ends before the tail of {@code path} ({@code length}
   * bytes): a content-defined cut, taken with probability {@code length / (2 * blockSize)} from a
   * hash of the path alone. A run (on average two blocks of tails) is packed first-fit into
   * fragment blocks, its first block starts on a 4 KiB boundary and the others follow it. A file
   * added, removed or changed then repacks only its own run; a single global first-fit stream
   * repacks every later fragment block, and all of them move. Measured on the default image (zstd
   * 3): targets of 0.5, 2, 4 and 8 blocks cost 3.1 %, 1.4 %, 1.1 % and 1.0 % of image size and
   * leave 0.26 %, 0.37 %, 0.46 % and 0.47 % of the squashfs new after adding one package.
   */
  static boolean cutBefore(String path, int length, int blockSize) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < path.length(); i++) {
      h = (h ^ path.charAt(i)) * 0x100000001b3L;
    }
    // finalizer (SplitMix64's mix) so that every bit of the path reaches the top 32 bits
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    h ^= h >>> 31;
    long threshold = ((long) length << 32) / (2L * blockSize);
    return (h >>> 32) < threshold;
  }

  /** A block-sized array from the pool (contents undefined), or a new one. */
  private byte[] inputBuffer() {
    byte[] b = inputs.poll();
    return b != null ? b : new byte[blockSize];
  }

  private static byte[] readFully(InputStream in, byte[] b, int len, TreeEntry entry)
      throws IOException {
    return readFully(in, b, 0, len, entry);
  }

  private static byte[] readFully(InputStream in, byte[] b, int off, int len, TreeEntry entry)
      throws IOException {
    int n = in.readNBytes(b, off, len);
    if (n != len) {
      throw new IOException("ended early: expected " + entry.size() + " bytes");
    }
    return b;
  }

  /** The dedupe key of a file: SHA-256 of its bytes (equal: the same bytes) and its size. */
  private static String contentKey(byte[] sha256, long size) {
    return HexFormat.of().formatHex(sha256) + " " + size;
  }

  /** Bytes per block in a file record: a kind (0: cache key follows, 1: sparse) and a key. */
  static final int RECORD_ENTRY = 1 + 32;

  /**
   * The cache key of a file record: the compression settings, how the file is cut into blocks (its
   * size, its number of full blocks and the tail that goes to a fragment) and SHA-256 of its bytes.
   */
  private String recordKey(MessageDigest md, byte[] sha256, long size, int blocks, long tail) {
    md.reset();
    md.update(cacheSettings);
    md.update(
        ("file " + size + " blocks " + blocks + " tail " + tail + "\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    md.update(sha256);
    return HexFormat.of().formatHex(md.digest());
  }

  /**
   * Queues the blocks of {@code entry} as its file record lists them: sparse ones as holes, the
   * others taken from the cache by a compressor thread, which reads and compresses the block from
   * the file only when the cache no longer holds it (evicted or damaged).
   */
  private void submitFromRecord(FileData fd, TreeEntry entry, byte[] record) throws IOException {
    HexFormat hex = HexFormat.of();
    long remaining = fd.size;
    for (int i = 0; i < fd.blockSizes.length; i++) {
      int len = (int) Math.min(blockSize, remaining);
      remaining -= len;
      int at = i * RECORD_ENTRY;
      Future<Result> f;
      if (record[at] == 1) {
        f = CompletableFuture.completedFuture(new Result(null, 0, false, true, null, null));
      } else {
        String key = hex.formatHex(record, at + 1, at + RECORD_ENTRY);
        long from = (long) i * blockSize;
        f = pool.submit(() -> cached(entry, from, len, key));
      }
      pending.add(new Pending(f, Kind.BLOCK, fd, i));
      drain(false);
    }
  }

  /** The block {@code key} of {@code entry} at {@code from}: from the cache, else compressed. */
  private Result cached(TreeEntry entry, long from, int len, String key) throws IOException {
    BlockCache.Hit hit = lookUp(key);
    if (hit != null && !hit.uncompressed()) {
      return Result.hit(hit.data(), null, key);
    }
    byte[] block = inputBuffer();
    try (InputStream in = entry.content().openAt(from)) {
      readFully(in, block, len, entry);
    } catch (IOException e) {
      throw new IOException(entry.path() + " (" + entry.content() + "): " + e.getMessage(), e);
    }
    if (hit != null) {
      return new Result(block, len, true, false, block, null).withKey(key);
    }
    return compress(block, len, true);
  }

  private void submitBlock(FileData fd, int index, byte[] block, int len) throws IOException {
    Future<Result> f = pool.submit(() -> compress(block, len, true));
    pending.add(new Pending(f, Kind.BLOCK, fd, index));
    drain(false);
  }

  /**
   * Adds a tail of {@code length} bytes to the fragment block: from {@link #tailBuffer}, or with
   * {@code entry}, its bytes from {@code from} on, read when the block is made.
   */
  private void addToFragment(FileData fd, int length, TreeEntry entry, long from, byte[] sha256)
      throws IOException {
    if (fragmentFill + length > blockSize) {
      flushFragment();
    }
    fd.fragment = fragmentCount;
    fd.fragmentOffset = fragmentFill;
    if (entry == null) {
      System.arraycopy(tailBuffer, 0, fragment, fragmentFill, length);
      fragmentAllDeferred = false;
    } else {
      pieces.add(new Piece(entry, from, fragmentFill, length, sha256));
    }
    fragmentFill += length;
  }

  /**
   * The fragment block {@code block[0, len)}: when every tail in it is deferred and known by its
   * file's digest, from the cache's fragment record (key: the settings and each tail's file digest,
   * offset in the file, offset in the block and length; data: the block's key); else, and when the
   * block is not in the cache, its deferred tails are read and it is compressed (and the record
   * stored).
   */
  private Result fragmentBlock(byte[] block, int len, List<Piece> ps, boolean all)
      throws IOException {
    MessageDigest md = digests.get();
    String fk = null;
    String storedUncompressed = null;
    if (all) {
      md.reset();
      md.update(cacheSettings);
      md.update(
          ("fragment " + len + " tails " + ps.size() + "\n")
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      ByteBuffer b = ByteBuffer.allocate(32 + 8 + 4 + 4);
      for (Piece p : ps) {
        b.clear();
        b.put(p.sha256).putLong(p.from).putInt(p.offset).putInt(p.length);
        md.update(b.array());
      }
      fk = HexFormat.of().formatHex(md.digest());
      byte[] record = cache.getRecord(fk);
      if (record != null && record.length == 32) {
        String key = HexFormat.of().formatHex(record);
        BlockCache.Hit hit = lookUp(key);
        if (hit != null && !hit.uncompressed()) {
          return Result.hit(hit.data(), block, key);
        }
        if (hit != null) {
          storedUncompressed = key; // the block as its tails are: read them, nothing to compress
        }
      }
    }
    for (Piece p : ps) {
      try (InputStream in = p.entry.content().openAt(p.from)) {
        readFully(in, block, p.offset, p.length, p.entry);
        if (in.read() >= 0) {
          throw new IOException("grew while being read (expected " + p.entry.size() + " bytes)");
        }
      } catch (IOException e) {
        throw new IOException(
            p.entry.path() + " (" + p.entry.content() + "): " + e.getMessage(), e);
      }
    }
    if (storedUncompressed != null) {
      return new Result(block, len, true, false, block, null).withKey(storedUncompressed);
    }
    Result r = compress(block, len, false);
    if (fk != null && r.key != null) {
      cache.putRecord(fk, HexFormat.of().parseHex(r.key));
    }
    return r;
  }

  private void flushFragment() throws IOException {
    if (fragmentFill == 0) {
      return;
    }
    byte[] block = fragment;
    int len = fragmentFill;
    List<Piece> ps = pieces;
    boolean all = fragmentAllDeferred;
    Future<Result> f =
        ps.isEmpty()
            ? fragmentPool.submit(() -> compress(block, len, false))
            : fragmentPool.submit(() -> fragmentBlock(block, len, ps, all));
    pieces = new ArrayList<>();
    fragmentAllDeferred = true;
    pending.add(new Pending(f, Kind.FRAGMENT, null, fragmentCount, fragmentContinuesRun));
    fragmentContinuesRun = true;
    fragmentCount++;
    fragment = inputBuffer();
    fragmentFill = 0;
    drain(false);
  }

  private Result compress(byte[] block, int len, boolean sparseCheck) throws IOException {
    if (sparseCheck && allZero(block, len)) {
      return new Result(null, 0, false, true, block, null);
    }
    MessageDigest md = null;
    String key = null;
    if (cache != null) {
      md = digests.get();
      key = BlockCache.key(md, cacheSettings, block, len);
      BlockCache.Hit hit = lookUp(key);
      if (hit != null) {
        return hit.uncompressed()
            ? new Result(block, len, true, false, block, null).withKey(key)
            : Result.hit(hit.data(), block, key);
      }
    }
    Codec c = codec.get();
    int bound = c.bound(blockSize);
    byte[] dst = outputs.poll();
    if (dst == null || dst.length < bound) {
      dst = new byte[bound];
    }
    int n = c.compress(block, 0, len, dst);
    if (cache != null) {
      cache.put(key, n <= 0, dst, n);
    }
    if (n > 0) {
      return new Result(dst, n, false, false, block, dst).withKey(key);
    }
    return new Result(block, len, true, false, block, dst).withKey(key);
  }

  /**
   * The cache's block {@code key} in a pooled buffer (given back here when it is a miss or a note
   * without data, else by {@link #drain} once written), or null.
   */
  private BlockCache.Hit lookUp(String key) {
    ByteBuffer buf = hitBuffers.poll();
    if (buf == null) {
      buf = ByteBuffer.allocateDirect(BlockCache.bufferSize(blockSize));
    }
    BlockCache.Hit hit = cache.get(key, buf);
    if (hit == null || hit.uncompressed()) {
      hitBuffers.add(buf);
    }
    return hit;
  }

  private boolean allZero(byte[] b, int len) {
    // Arrays.mismatch compares in wide words (a JIT intrinsic), not byte by byte.
    return java.util.Arrays.mismatch(b, 0, len, zeros, 0, len) < 0;
  }

  /** Writes finished results in order; with {@code all}, waits for every pending one. */
  private void drain(boolean all) throws IOException {
    if (!all && pending.size() > maxPending) {
      awaitBatch();
    }
    while (!pending.isEmpty()
        && (all || pending.size() > maxPending || pending.peekFirst().future.isDone())) {
      Pending p = pending.pollFirst();
      Result r;
      try {
        r = p.future.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while compressing");
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof IOException) {
          throw (IOException) cause;
        }
        throw new IOException("compression failed: " + cause, cause);
      }
      switch (p.kind) {
        case BLOCK:
          if (p.file.start < 0) {
            align();
            p.file.start = position;
            lastWasFragment = false;
          }
          if (r.sparse) {
            p.file.blockSizes[p.index] = 0;
            p.file.sparseBytes += blockSize;
            sparseBlocks++;
          } else {
            write(r);
            p.file.blockSizes[p.index] = r.length | (r.uncompressed ? UNCOMPRESSED_BIT : 0);
            dataBlocks++;
          }
          noteKey(p.file, p.index, r);
          break;
        case FRAGMENT:
          if (!(p.continuesRun && lastWasFragment)) {
            align();
          }
          lastWasFragment = true;
          // squashfs_fragment_entry: u64 start_block, u32 size (bit 24 = uncompressed), u32 unused
          fragmentTable
              .u64(position)
              .u32(r.length | (r.uncompressed ? UNCOMPRESSED_BIT : 0))
              .u32(0);
          write(r);
          break;
        case DISCARD:
          // The file turned out to duplicate an earlier one: drop the blocks it wrote.
          if (p.file.start >= 0) {
            position = p.file.start;
            // Cut them off (not just seek back): a hashing channel (dm-verity while writing)
            // then follows the rewritten stream instead of re-reading the rest at the end.
            out.truncate(channelBase + (position - base));
            out.position(channelBase + (position - base));
            dataBlocks -= countStored(p.file);
            lastWasFragment = false;
            sparseBlocks -= countSparse(p.file);
          }
          break;
        case SKIP:
          align();
          lastWasFragment = false;
          break;
        default:
          throw new IllegalStateException();
      }
      if (r != null) {
        // Written (or a hole): the arrays can carry the next blocks.
        if (r.input != null) {
          inputs.add(r.input);
        }
        if (r.output != null) {
          outputs.add(r.output);
        }
        if (r.hit != null) {
          hitBuffers.add(r.hit.clear());
        }
      }
    }
  }

  /**
   * Waits until the result {@code batch} places from the head is done (or failed: the failure is
   * reported in order by {@link #drain}). Both pools run their tasks in submission order, so the
   * results before it are then done or nearly so.
   */
  private void awaitBatch() throws IOException {
    int i = 0;
    for (Pending p : pending) {
      if (++i >= batch) {
        try {
          p.future.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while compressing");
        } catch (ExecutionException e) {
          // reported by drain when this result's turn comes
        }
        return;
      }
    }
  }

  /**
   * Notes block {@code index}'s key for {@code f}'s file record and stores the record once every
   * block is known (a block without a key, e.g. stored when the cache was full, means no record).
   */
  private void noteKey(FileData f, int index, Result r) {
    if (f.blockKeys == null) {
      return;
    }
    if (!r.sparse && r.key == null) {
      f.blockKeys = null;
      return;
    }
    f.blockKeys[index] = r.sparse ? null : r.key;
    if (++f.keysSeen < f.blockKeys.length) {
      return;
    }
    byte[] record = new byte[f.blockKeys.length * RECORD_ENTRY];
    HexFormat hex = HexFormat.of();
    for (int i = 0; i < f.blockKeys.length; i++) {
      if (f.blockKeys[i] == null) {
        record[i * RECORD_ENTRY] = 1;
      } else {
        System.arraycopy(hex.parseHex(f.blockKeys[i]), 0, record, i * RECORD_ENTRY + 1, 32);
      }
    }
    cache.putRecord(f.recordKey, record);
    f.blockKeys = null;
  }

  private static long countStored(FileData f) {
    long n = 0;
    for (int s : f.blockSizes) {
      n += s != 0 ? 1 : 0;
    }
    return n;
  }

  private static long countSparse(FileData f) {
    return f.blockSizes.length - countStored(f);
  }

  /** Zeros up to the next multiple of {@link #ALIGN} (image offset). */
  private void align() throws IOException {
    int pad = (int) (-position & (ALIGN - 1));
    if (pad > 0) {
      ByteBuffer bb = ByteBuffer.wrap(zeros, 0, pad);
      while (bb.hasRemaining()) {
        out.write(bb);
      }
      position += pad;
      paddingBytes += pad;
    }
  }

  private void write(Result r) throws IOException {
    ByteBuffer bb = r.hit != null ? r.hit : ByteBuffer.wrap(r.data, 0, r.length);
    while (bb.hasRemaining()) {
      out.write(bb);
    }
    position += r.length;
  }

  /**
   * Flushes the last fragment and waits for every block; returns the end of the data area, padded
   * to {@link #ALIGN} so that the tables that follow share no block with data.
   */
  long finish() throws IOException {
    flushFragment();
    drain(true);
    align();
    return position;
  }

  int fragmentCount() {
    return fragmentCount;
  }

  /** The fragment entries, 16 bytes each, valid after {@link #finish()}. */
  LeBuffer fragmentTable() {
    return fragmentTable;
  }

  long dataBlocks() {
    return dataBlocks;
  }

  long sparseBlocks() {
    return sparseBlocks;
  }

  int duplicates() {
    return duplicates;
  }

  /** Zero bytes written to align units (see {@link #ALIGN}). */
  long paddingBytes() {
    return paddingBytes;
  }

  @Override
  public void close() {
    pool.shutdownNow();
    fragmentPool.shutdownNow();
    try {
      pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
      fragmentPool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (codecs) {
      for (Codec c : codecs) {
        c.close();
      }
      codecs.clear();
    }
  }
}
