package io.basalt.update.install;

import io.basalt.host.AtomicFiles;
import io.basalt.host.ChunkIndex;
import io.basalt.host.DeltaPlan;
import io.basalt.host.UpdatePayload;
import io.basalt.signing.tuf.client.TargetInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
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
 * Assembles the new {@code usr.img} from its signed chunk index instead of downloading it whole:
 *
 * <ol>
 *   <li>download the index ({@code usr.img.chunks.json.gz}, a TUF target: length and sha256 checked
 *       by {@link ResumableDownload}); its size and sha256 must be the signed {@code usr.img}'s;
 *   <li>cut the running slot with the index's chunker: every chunk found there is reused;
 *   <li>fetch the missing chunks from {@code targets/chunks/AB/SHA256} (a few at once; each one's
 *       length and sha256 checked against the index before it is kept, a bad one fetched again
 *       once) into {@code DIR/chunks/SHA256}, each fsynced, where a later run finds them again
 *       (resume, also after a power cut);
 *   <li>write {@code DIR/usr.img.assembling} in index order, every chunk's sha256 checked again as
 *       it is copied (with a {@code verity} index: the data only, then the hash area the {@link
 *       VerityFormatter} makes from it appended), and rename it to {@code DIR/usr.img} only when
 *       its length and sha256 are the signed ones.
 * </ol>
 *
 * The result is the same verified file the full download gives, so the {@link Installer} goes on
 * exactly as after a full download (slot write, dm-verity check against the signed root hash, boot
 * entry last). Any failure throws; the installer then falls back to the full payload. Not
 * thread-safe (it runs its own fetch threads).
 */
public final class DeltaInstall {

  /** What was planned: bytes to fetch and to reuse, of the total. */
  @FunctionalInterface
  public interface Planned {
    void planned(DeltaPlan plan);
  }

  /** Chunk downloads running at once. */
  public static final int PARALLEL = 4;

  private static final String CHUNKS = "chunks";

  private final ResumableDownload download;
  private final RangeSource source;
  private final Duration deadline;
  private final Consumer<String> log;
  private final VerityFormatter formatter;

  /**
   * Uses {@code download} for the index and {@code source} for the chunks (each within {@code
   * deadline}); {@code log} gets one line per event; {@code formatter} rebuilds the verity hash
   * area when the index describes it (null: it is fetched or reused like the data).
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

  /**
   * Assembles {@code DIR/usr.img}.
   *
   * @param index the signed index target
   * @param usr the signed {@code usr.img} target the result must equal
   * @param running the running slot's device (read only)
   * @param runningHashOffset where the running image's verity hash area starts (its data and hash
   *     area are cut apart, as the publisher cut them)
   * @param progress bytes of the new image present so far (reused, fetched, then written)
   * @return {@code DIR/usr.img}, length and sha256 as signed
   * @throws IOException when any step fails (the caller falls back to the full payload)
   */
  public Path assemble(
      URI targetsBase,
      boolean consistentSnapshot,
      TargetInfo index,
      TargetInfo usr,
      Path running,
      long runningHashOffset,
      Path dir,
      Planned planned,
      LongConsumer progress)
      throws IOException {
    String wantSha = usr.hashes().get("sha256");
    Path done = dir.resolve(UpdatePayload.USR_IMG);
    if (Files.isRegularFile(done)
        && Files.size(done) == usr.length()
        && wantSha.equals(ResumableDownload.sha256(done, Long.MAX_VALUE))) {
      return done;
    }
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
    // 2. what the running slot has (first offset of each chunk)
    Map<String, Long> inSlot = new HashMap<>();
    try (InputStream in =
        new BoundedInputStream(
            Files.newInputStream(running), ChunkIndex.Verity.imageLength(runningHashOffset))) {
      ChunkIndex.ofImage(
          UpdatePayload.USR_IMG,
          idx.chunker(),
          in,
          runningHashOffset,
          (c, b, f) -> inSlot.putIfAbsent(c.sha256(), c.offset()));
    }
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
    // 4. the image, every chunk checked again as it is copied
    Path partial = dir.resolve(UpdatePayload.USR_IMG + ".assembling");
    MessageDigest whole = ResumableDownload.digest();
    try (FileChannel slot = FileChannel.open(running, StandardOpenOption.READ);
        OutputStream out = Files.newOutputStream(partial)) {
      byte[] buf = new byte[idx.chunker().max()];
      for (ChunkIndex.Chunk c : copied) {
        Long at = inSlot.get(c.sha256());
        if (at != null) {
          readFully(slot, at, buf, c.length());
        } else {
          Path f = chunkDir.resolve(c.sha256());
          try (InputStream in = Files.newInputStream(f)) {
            if (in.readNBytes(buf, 0, c.length()) != c.length()) {
              throw new IOException(f + ": shorter than the " + c.length() + " bytes indexed");
            }
          }
        }
        String got = sha256(buf, c.length());
        if (!got.equals(c.sha256())) {
          Files.deleteIfExists(chunkDir.resolve(c.sha256()));
          throw new IOException(
              "chunk at offset "
                  + c.offset()
                  + " of the new image: sha256 "
                  + got
                  + ", the index says "
                  + c.sha256());
        }
        out.write(buf, 0, c.length());
        whole.update(buf, 0, c.length());
      }
    }
    if (rebuild) {
      // The hash area is made from the data into a file of its own and appended: the sha256 of
      // the data bytes above goes on over exactly the bytes appended (one pass over the image).
      Path hashArea = dir.resolve(UpdatePayload.USR_IMG + ".verity");
      try {
        formatter.format(partial, hashArea, idx.verity());
        try (InputStream in = Files.newInputStream(hashArea);
            OutputStream out = Files.newOutputStream(partial, StandardOpenOption.APPEND)) {
          byte[] buf = new byte[1 << 16];
          int n;
          while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            whole.update(buf, 0, n);
          }
        }
      } finally {
        Files.deleteIfExists(hashArea);
      }
    }
    String got = HexFormat.of().formatHex(whole.digest());
    if (Files.size(partial) != usr.length() || !got.equals(wantSha)) {
      Files.delete(partial);
      throw new IOException(
          "assembled usr.img: sha256 " + got + ", the signed usr.img has " + wantSha);
    }
    try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
      ch.force(true); // as a full download: durable before it gets its final name
    }
    AtomicFiles.rename(partial, done);
    log.accept(
        "delta update: usr.img assembled ("
            + plan.fetchBytes()
            + " bytes fetched, "
            + plan.reuseBytes()
            + " bytes reused); sha256 matches the signed one");
    return done;
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

  private static void readFully(FileChannel ch, long at, byte[] buf, int len) throws IOException {
    ByteBuffer bb = ByteBuffer.wrap(buf, 0, len);
    while (bb.hasRemaining()) {
      int n = ch.read(bb, at + bb.position());
      if (n < 0) {
        throw new IOException("running slot: ends before offset " + (at + len));
      }
    }
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
