package io.basalt.update.install;

import io.basalt.host.AtomicFiles;
import io.basalt.host.ChunkIndex;
import io.basalt.host.DeltaPlan;
import io.basalt.host.UpdatePayload;
import io.basalt.signing.tuf.client.TargetInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Assembles the new {@code usr.img} in the inactive slot from its signed chunk index instead of
 * downloading it whole. {@link #prepare} runs before the slot is touched:
 *
 * <ol>
 *   <li>download the index ({@code usr.img.chunks.json.gz}, a TUF target: length and sha256 checked
 *       by {@link ResumableDownload}); its size and sha256 must be the signed {@code usr.img}'s,
 *       its verity hash offset the signed one;
 *   <li>find where the running slot has each chunk, from the running image's own chunk index: the
 *       one kept at the last install ({@code STORE/ROOTHASH.chunks.json.gz}, by the running {@code
 *       usrhash=}), else the running version's index when the repository still signs it (its signed
 *       {@code usr_root_hash} must be the running {@code usrhash=}), either only when cut with the
 *       new index's chunker; only without such an index is the running slot cut with the new
 *       index's chunker (reads and hashes the whole slot);
 *   <li>fetch the missing chunks from {@code targets/chunks/AB/SHA256} (a few at once; each one's
 *       length and sha256 checked against the index before it is kept, a bad one fetched again
 *       once) into {@code DIR/chunks/SHA256}, each fsynced, where a later run finds them again
 *       (resume, also after a power cut).
 * </ol>
 *
 * Then, once the slot's boot entries are gone, {@link Prepared#writeSlot} copies the reused chunks
 * from the running slot (runs of adjacent chunks as one range) and the fetched ones from their
 * files straight to their offsets in the inactive slot, and {@link Prepared#check} is the one check
 * of the result: with a {@code verity} index, {@code veritysetup format} writes the superblock and
 * hash tree over the slot's data and the root hash it computes must be the signed one; without, the
 * whole image was copied and {@code veritysetup verify} checks it against the signed root hash.
 * Nothing read from the running slot or from a chunk file is trusted before that check. Any failure
 * throws; the installer then falls back to the full payload. Not thread-safe (it runs its own fetch
 * threads).
 */
public final class DeltaInstall {

  /** What was planned: bytes to fetch and to reuse, of the total. */
  @FunctionalInterface
  public interface Planned {
    void planned(DeltaPlan plan);
  }

  /** Chunk downloads running at once. */
  public static final int PARALLEL = 4;

  /** Bytes copied at once from the running slot. */
  private static final int COPY_BUFFER = 1 << 20;

  private static final String CHUNKS = "chunks";

  /** The running version's index, when downloaded from the repository. */
  private static final String RUNNING_INDEX =
      "running." + ChunkIndex.indexName(UpdatePayload.USR_IMG);

  private final ResumableDownload download;
  private final RangeSource source;
  private final Duration deadline;
  private final Consumer<String> log;
  private final VerityFormatter formatter;

  /**
   * Uses {@code download} for the indexes and {@code source} for the chunks (each within {@code
   * deadline}); {@code log} gets one line per event; {@code formatter} writes the verity hash area
   * over the assembled data when the index describes it (null: it is fetched or reused like the
   * data, then verified).
   */
  public DeltaInstall(
      ResumableDownload download,
      RangeSource source,
      Duration deadline,
      Consumer<String> log,
      VerityFormatter formatter) {
    this.download = download;
    this.source = source;
    this.deadline = deadline;
    this.log = log;
    this.formatter = formatter;
  }

  /** The running image: its slot device (read only), verity hash offset and root hash. */
  public record Running(Path device, long hashOffset, String rootHash) {}

  /**
   * Downloads the index and the missing chunks; touches no slot.
   *
   * @param offer the signed offer: its {@code usr.img} and chunk index, and the running version's
   *     index when the repository still signs it
   * @param store where the indexes of installed images are kept (by root hash)
   * @param progress bytes of the new image present so far (reused, then fetched)
   * @return what {@link Prepared#writeSlot} needs
   * @throws IOException when any step fails (the caller falls back to the full payload)
   */
  public Prepared prepare(
      URI targetsBase,
      boolean consistentSnapshot,
      Offer offer,
      Running running,
      Path store,
      Path dir,
      Planned planned,
      LongConsumer progress)
      throws IOException {
    TargetInfo index = offer.usrIndex();
    TargetInfo usr = offer.usr();
    String wantSha = usr.hashes().get("sha256");
    // 1. the signed index
    Path idxFile =
        download.fetch(
            ResumableDownload.targetUri(targetsBase, index, consistentSnapshot),
            index,
            dir,
            ChunkIndex.indexName(UpdatePayload.USR_IMG),
            n -> {});
    ChunkIndex idx = ChunkIndex.parseFile(Files.readAllBytes(idxFile), index.path());
    if (idx.size() != usr.length() || !idx.sha256().equals(wantSha)) {
      throw new IOException(
          index.path()
              + ": indexes a file of "
              + idx.size()
              + " bytes with sha256 "
              + idx.sha256()
              + ", the signed usr.img has "
              + usr.length()
              + " bytes and sha256 "
              + wantSha);
    }
    if (idx.verity() != null && idx.verity().hashOffset() != offer.usrHashOffset()) {
      throw new IOException(
          index.path()
              + ": verity hash offset "
              + idx.verity().hashOffset()
              + ", the signed one is "
              + offer.usrHashOffset());
    }
    // 2. where the running slot has each chunk (first offset of each)
    Map<String, Long> inSlot =
        runningChunks(targetsBase, consistentSnapshot, offer, running, store, dir, idx);
    Path chunkDir = dir.resolve(CHUNKS);
    Files.createDirectories(chunkDir);
    Set<String> present = new HashSet<>(inSlot.keySet());
    Set<String> downloaded = new HashSet<>();
    try (var s = Files.list(chunkDir)) {
      for (Path p : s.sorted().toList()) {
        String name = p.getFileName().toString();
        // a chunk of an earlier run counts only when its bytes still hash to its name
        if (name.matches("[0-9a-f]{64}")
            && name.equals(ResumableDownload.sha256(p, Long.MAX_VALUE))) {
          downloaded.add(name);
        } else {
          Files.delete(p);
        }
      }
    }
    present.addAll(downloaded);
    boolean rebuild = formatter != null && idx.verity() != null;
    DeltaPlan plan = DeltaPlan.of(idx, present, rebuild);
    List<ChunkIndex.Chunk> copied = rebuild ? idx.dataChunks() : idx.chunks();
    long fromSlot = 0;
    for (ChunkIndex.Chunk c : copied) {
      if (inSlot.containsKey(c.sha256())) {
        fromSlot += c.length();
      }
    }
    log.accept(
        "delta update: fetch "
            + plan.fetchBytes()
            + " bytes in "
            + plan.fetchChunks()
            + " chunks, reuse "
            + plan.reuseBytes()
            + " bytes ("
            + fromSlot
            + " from the running slot, "
            + (plan.reuseBytes() - fromSlot)
            + " downloaded before), rebuild "
            + plan.rebuildBytes()
            + " bytes of verity hash tree, of "
            + plan.totalBytes()
            + "; index "
            + index.length()
            + " bytes");
    planned.planned(plan);
    // 3. the missing chunks
    fetchAll(targetsBase, plan.missing(), chunkDir, plan.reuseBytes(), progress);
    return new Prepared(idx, idxFile, copied, inSlot, chunkDir, running.device(), rebuild, plan);
  }

  /**
   * The chunks of the running image by sha256 (first offset of each): from its kept index, else
   * from the running version's signed index, else by cutting the running slot.
   */
  private Map<String, Long> runningChunks(
      URI targetsBase,
      boolean consistentSnapshot,
      Offer offer,
      Running running,
      Path store,
      Path dir,
      ChunkIndex idx)
      throws IOException {
    long runningLength = ChunkIndex.Verity.imageLength(running.hashOffset());
    ChunkIndex old = null;
    String from = null;
    Path kept = store == null ? null : storedIndex(store, running.rootHash());
    if (kept != null && Files.isRegularFile(kept)) {
      try {
        old = ChunkIndex.parseFile(Files.readAllBytes(kept), kept.toString());
        from = kept.toString();
      } catch (IOException e) {
        log.accept("delta update: " + kept + ": unreadable, not used: " + e.getMessage());
      }
    }
    if (old == null
        && offer.runningIndex() != null
        && running.rootHash().equals(offer.runningRootHash())) {
      try {
        Path f =
            download.fetch(
                ResumableDownload.targetUri(targetsBase, offer.runningIndex(), consistentSnapshot),
                offer.runningIndex(),
                dir,
                RUNNING_INDEX,
                n -> {});
        old = ChunkIndex.parseFile(Files.readAllBytes(f), offer.runningIndex().path());
        from = offer.runningIndex().path();
      } catch (IOException e) {
        log.accept(
            "delta update: the running version's index "
                + offer.runningIndex().path()
                + ": "
                + e.getMessage()
                + "; cutting the running slot instead");
      }
    }
    Map<String, Long> inSlot = new HashMap<>();
    if (old != null && old.size() == runningLength && old.chunker().equals(idx.chunker())) {
      for (ChunkIndex.Chunk c : old.chunks()) {
        inSlot.putIfAbsent(c.sha256(), c.offset());
      }
      log.accept("delta update: the running slot's chunks from " + from);
      return inSlot;
    }
    if (old != null) {
      log.accept(
          "delta update: "
              + from
              + " indexes "
              + old.size()
              + " bytes cut by "
              + old.chunker()
              + ", the running image has "
              + runningLength
              + " and the new index's chunker is "
              + idx.chunker()
              + "; cutting the running slot instead");
    }
    try (InputStream in =
        new BoundedInputStream(Files.newInputStream(running.device()), runningLength)) {
      ChunkIndex.ofImage(
          UpdatePayload.USR_IMG,
          idx.chunker(),
          in,
          running.hashOffset(),
          (c, b, f) -> inSlot.putIfAbsent(c.sha256(), c.offset()));
    }
    log.accept("delta update: the running slot's chunks from cutting " + running.device());
    return inSlot;
  }

  /** {@code STORE/ROOTHASH.chunks.json.gz}: the index of the image with that verity root hash. */
  public static Path storedIndex(Path store, String rootHash) {
    if (rootHash == null || !rootHash.matches(UpdatePayload.ROOT_HASH_PATTERN)) {
      return null;
    }
    return store.resolve(rootHash + ChunkIndex.SUFFIX);
  }

  /**
   * Keeps {@code indexFile} (checked against the signed target before) as the index of the image
   * with root hash {@code rootHash} and deletes every other kept index but {@code alsoKeep}'s (the
   * running image's, the fallback slot's).
   */
  public static void keepIndex(Path store, Path indexFile, String rootHash, String alsoKeep)
      throws IOException {
    Path target = storedIndex(store, rootHash);
    if (target == null) {
      return;
    }
    Files.createDirectories(store);
    AtomicFiles.write(target, Files.readAllBytes(indexFile));
    Path other = storedIndex(store, alsoKeep);
    try (var s = Files.list(store)) {
      for (Path p : s.sorted().toList()) {
        if (!p.equals(target) && !p.equals(other)) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** The downloaded index and chunks, and where the running slot has the rest. Not thread-safe. */
  public final class Prepared {
    private final ChunkIndex idx;
    private final Path indexFile;
    private final List<ChunkIndex.Chunk> copied;
    private final Map<String, Long> inSlot;
    private final Path chunkDir;
    private final Path running;
    private final boolean rebuild;
    private final DeltaPlan plan;

    private Prepared(
        ChunkIndex idx,
        Path indexFile,
        List<ChunkIndex.Chunk> copied,
        Map<String, Long> inSlot,
        Path chunkDir,
        Path running,
        boolean rebuild,
        DeltaPlan plan) {
      this.idx = idx;
      this.indexFile = indexFile;
      this.copied = copied;
      this.inSlot = inSlot;
      this.chunkDir = chunkDir;
      this.running = running;
      this.rebuild = rebuild;
      this.plan = plan;
    }

    /** The new image's index file (signed length and sha256 checked). */
    public Path indexFile() {
      return indexFile;
    }

    /**
     * Writes the image's data (all of it when the hash area is not rebuilt) into {@code dev} at its
     * offsets, then fsyncs. Nothing is checked here: {@link #check} is the check.
     *
     * @param progress bytes written so far
     */
    public void writeSlot(Path dev, LongConsumer progress) throws IOException {
      long length = rebuild ? idx.verity().hashOffset() : idx.size();
      try (FileChannel in = FileChannel.open(running, StandardOpenOption.READ);
          FileChannel out = FileChannel.open(dev, StandardOpenOption.WRITE)) {
        // A block device reports size 0 here (the kernel refuses writes past its end anyway).
        if (Files.isRegularFile(dev) && out.size() < idx.size()) {
          throw new IOException(
              dev + ": slot is " + out.size() + " bytes, the image needs " + idx.size());
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(COPY_BUFFER);
        long runFrom = 0;
        long runTo = 0;
        long runLen = 0;
        long done = 0;
        for (ChunkIndex.Chunk c : copied) {
          Long at = inSlot.get(c.sha256());
          if (at != null && runLen > 0 && at == runFrom + runLen && c.offset() == runTo + runLen) {
            runLen += c.length();
            continue;
          }
          copy(in, runFrom, out, runTo, runLen, buf);
          done += runLen;
          runLen = 0;
          if (at != null) {
            runFrom = at;
            runTo = c.offset();
            runLen = c.length();
          } else {
            Path f = chunkDir.resolve(c.sha256());
            byte[] b = Files.readAllBytes(f);
            if (b.length != c.length()) {
              throw new IOException(f + ": " + b.length + " bytes, the index says " + c.length());
            }
            writeFully(out, ByteBuffer.wrap(b), c.offset());
            done += b.length;
          }
          progress.accept(done);
        }
        copy(in, runFrom, out, runTo, runLen, buf);
        done += runLen;
        if (done != length) {
          throw new IOException("delta update: wrote " + done + " bytes, the image has " + length);
        }
        if (rebuild) {
          // veritysetup writes the 512-byte superblock and the tree, not the rest of the
          // superblock's 4096-byte block: zeroed first, the slot is byte for byte the image
          ByteBuffer zeros = ByteBuffer.allocate(COPY_BUFFER);
          for (long at = length; at < idx.size(); at += zeros.limit()) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), idx.size() - at));
            writeFully(out, zeros, at);
          }
        }
        out.force(true);
        progress.accept(done);
      }
      log.accept(
          "delta update: "
              + length
              + " bytes written to "
              + dev
              + " ("
              + plan.reuseBytes()
              + " reused, "
              + plan.fetchBytes()
              + " fetched)");
    }

    /**
     * The one check of the written slot: with a rebuilt hash area, {@code veritysetup format} over
     * the slot's data must compute the signed root hash; else {@code verifier} checks the copied
     * image against it.
     *
     * @throws IOException when the root hash is not the signed one or the tool fails
     */
    public void check(
        Path dev, String signedRootHash, long signedHashOffset, VerityVerifier verifier)
        throws IOException {
      if (!rebuild) {
        verifier.verify(dev, signedRootHash, signedHashOffset);
        return;
      }
      if (idx.verity().hashOffset() != signedHashOffset) {
        throw new IOException(
            "verity hash offset "
                + idx.verity().hashOffset()
                + ", the signed one is "
                + signedHashOffset);
      }
      String got = formatter.format(dev, idx.verity());
      if (!signedRootHash.equals(got)) {
        throw new IOException(
            dev
                + ": dm-verity root hash of the assembled data "
                + got
                + ", the signed one is "
                + signedRootHash);
      }
      try (FileChannel ch = FileChannel.open(dev, StandardOpenOption.WRITE)) {
        ch.force(true); // the hash area veritysetup wrote
      }
      log.accept("delta update: " + dev + ": dm-verity root hash matches the signed one");
    }
  }

  private static void copy(
      FileChannel in, long from, FileChannel out, long to, long len, ByteBuffer buf)
      throws IOException {
    long done = 0;
    while (done < len) {
      buf.clear();
      buf.limit((int) Math.min(buf.capacity(), len - done));
      while (buf.hasRemaining()) {
        int n = in.read(buf, from + done + buf.position());
        if (n < 0) {
          throw new IOException("running slot: ends before offset " + (from + len));
        }
      }
      buf.flip();
      writeFully(out, buf, to + done);
      done += buf.limit();
    }
  }

  private static void writeFully(FileChannel out, ByteBuffer b, long at) throws IOException {
    long pos = at;
    while (b.hasRemaining()) {
      pos += out.write(b, pos);
    }
  }

  private void fetchAll(
      URI targetsBase,
      List<ChunkIndex.Chunk> missing,
      Path chunkDir,
      long reused,
      LongConsumer progress)
      throws IOException {
    progress.accept(reused);
    if (missing.isEmpty()) {
      return;
    }
    ExecutorService pool =
        Executors.newFixedThreadPool(
            Math.min(PARALLEL, missing.size()),
            r -> {
              Thread t = new Thread(r, "basalt-chunk-fetch");
              t.setDaemon(true);
              return t;
            });
    long[] have = {reused};
    try {
      List<Future<?>> jobs = new ArrayList<>();
      for (ChunkIndex.Chunk c : missing) {
        jobs.add(
            pool.submit(
                () -> {
                  fetchChunk(targetsBase, c, chunkDir);
                  synchronized (have) {
                    have[0] += c.length();
                    progress.accept(have[0]);
                  }
                  return null;
                }));
      }
      for (Future<?> f : jobs) {
        try {
          f.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          throw new IOException(e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while fetching chunks");
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Fetches one chunk, checks its length and sha256, keeps it durably; one retry after a bad copy.
   */
  private void fetchChunk(URI targetsBase, ChunkIndex.Chunk c, Path chunkDir) throws IOException {
    URI uri = chunkUri(targetsBase, c.sha256());
    IOException last = null;
    for (int attempt = 1; attempt <= 2; attempt++) {
      byte[] bytes;
      try {
        RangeSource.Opened o = source.open(uri, 0, deadline);
        try (InputStream in = o.stream()) {
          bytes = in.readNBytes(c.length() + 1);
        }
      } catch (IOException e) {
        last = e;
        log.accept("delta update: " + uri + ": " + e.getMessage());
        continue;
      }
      String got = sha256(bytes, bytes.length);
      if (bytes.length != c.length() || !got.equals(c.sha256())) {
        last =
            new IOException(
                uri
                    + ": refused: "
                    + bytes.length
                    + " bytes with sha256 "
                    + got
                    + ", the signed index says "
                    + c.length()
                    + " bytes with sha256 "
                    + c.sha256());
        log.accept("delta update: " + last.getMessage() + " (attempt " + attempt + " of 2)");
        continue;
      }
      // Durable (fsync of the file and its folder) before the next chunk: a kept chunk is what a
      // later run resumes from, and an unsynced one is lost on a power cut (ext4's delayed
      // allocation leaves an empty file), so every cut during the fetch started it over.
      AtomicFiles.write(chunkDir.resolve(c.sha256()), bytes);
      return;
    }
    throw last;
  }

  /** {@code targetsBase/chunks/AB/SHA256}. */
  public static URI chunkUri(URI targetsBase, String sha256) {
    String base = targetsBase.toString();
    return URI.create((base.endsWith("/") ? base : base + "/") + ChunkIndex.chunkPath(sha256));
  }

  /** Reads at most {@code limit} bytes of a stream (a slot device is larger than its image). */
  private static final class BoundedInputStream extends java.io.FilterInputStream {
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      byte[] b = new byte[1];
      return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }

  private static String sha256(byte[] b, int len) {
    MessageDigest md = ResumableDownload.digest();
    md.update(b, 0, len);
    return HexFormat.of().formatHex(md.digest());
  }
}
