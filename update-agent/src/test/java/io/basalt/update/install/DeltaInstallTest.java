package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.BootEntry;
import io.basalt.host.ChunkIndex;
import io.basalt.host.DeltaPlan;
import io.basalt.update.agent.SemVer;
import io.basalt.update.agent.UpdateChecker;
import io.basalt.update.testing.PowerCutFileSystem;
import io.basalt.update.testing.RepoRangeSource;
import io.basalt.update.testing.TufFixture;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The delta path of the installer on jimfs: a v1 slot, a v2 published by the real publisher (index
 * + chunks), chunks served from memory with faults injected.
 */
class DeltaInstallTest {

  /** 3 MiB of data: the image is data + verity superblock + tree = 3 MiB + 32 KiB. */
  static final long HASH_OFFSET = 3L << 20;

  static final String RUNNING_ROOT_HASH = "11".repeat(32);

  static final String CMDLINE =
      "mount.usr=PARTUUID=aaaaaaaa-0000-0000-0000-00000000000a usrhash="
          + RUNNING_ROOT_HASH
          + " basalt.usr.hashoffset="
          + HASH_OFFSET
          + " basalt.slot=A basalt.version=1.0.0 console=ttyS0";

  static final String ROOT_HASH = "cd".repeat(32);
  static final int CHANGED_AT = 1 << 20;
  static final int CHANGED_LEN = 100 << 10;

  private static final FileSystem REPO_FS = Jimfs.newFileSystem(Configuration.unix());
  private static TufFixture tuf;
  private static byte[] v1;
  private static byte[] v2;

  private FileSystem fs;
  private Path esp;
  private Offer offer;
  private HostInfo host;
  private final List<String> log = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void repo() throws Exception {
    int len = (int) ChunkIndex.Verity.imageLength(HASH_OFFSET);
    assertEquals((3 << 20) + (8 << 12), len);
    v1 = new byte[len];
    new SplittableRandom(1).nextBytes(v1);
    v2 = v1.clone();
    byte[] changed = new byte[CHANGED_LEN];
    new SplittableRandom(2).nextBytes(changed);
    System.arraycopy(changed, 0, v2, CHANGED_AT, CHANGED_LEN);
    // the verity hash area: the superblock (same salt and size in both) and a tree that differs
    byte[] sb = superblock(HASH_OFFSET / 4096);
    System.arraycopy(sb, 0, v1, (int) HASH_OFFSET, sb.length);
    System.arraycopy(sb, 0, v2, (int) HASH_OFFSET, sb.length);
    byte[] tree = new byte[len - (int) HASH_OFFSET - 4096];
    new SplittableRandom(4).nextBytes(tree);
    System.arraycopy(tree, 0, v2, (int) HASH_OFFSET + 4096, tree.length);
    tuf = new TufFixture(REPO_FS.getPath("/t"));
    // v1 is still published: its chunk index says where the running slot has each chunk
    tuf.addPayload(
        "stable", "1.0.0", v1, RUNNING_ROOT_HASH, HASH_OFFSET, new byte[] {3}, new byte[] {4});
    tuf.addPayload("stable", "2.0.0", v2, ROOT_HASH, HASH_OFFSET, new byte[] {1}, new byte[] {2});
    tuf.publish();
  }

  /** A dm-verity superblock as veritysetup writes it (cryptsetup struct verity_sb). */
  static byte[] superblock(long dataBlocks) {
    ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    b.put("verity\0\0".getBytes(StandardCharsets.US_ASCII));
    b.putInt(8, 1).putInt(12, 1);
    b.put(16, new byte[] {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    b.put(32, "sha256".getBytes(StandardCharsets.US_ASCII));
    b.putInt(64, 4096).putInt(68, 4096).putLong(72, dataBlocks);
    b.putShort(80, (short) 2);
    b.put(88, new byte[] {(byte) 0xbe, (byte) 0xef});
    return b.array();
  }

  /**
   * Stands in for veritysetup format: writes v2's hash area after the data and returns the signed
   * root hash only when the data on the device is v2's (another one otherwise).
   */
  final List<String> formatted = Collections.synchronizedList(new ArrayList<>());

  final VerityFormatter tail =
      (image, v) -> {
        formatted.add(v.toString());
        byte[] data = Arrays.copyOf(Files.readAllBytes(image), (int) v.hashOffset());
        try (var ch = java.nio.channels.FileChannel.open(image, StandardOpenOption.WRITE)) {
          ch.write(
              ByteBuffer.wrap(Arrays.copyOfRange(v2, (int) HASH_OFFSET, v2.length)),
              v.hashOffset());
        }
        return Arrays.equals(data, Arrays.copyOf(v2, (int) HASH_OFFSET))
            ? ROOT_HASH
            : "00".repeat(32);
      };

  @BeforeEach
  void setUp() throws Exception {
    fs = Jimfs.newFileSystem(Configuration.unix());
    offer =
        new UpdateChecker(tuf.updater(TufFixture.T0.plusSeconds(60)), tuf.clientDir)
            .check("stable", "x86-64", SemVer.parse("1.0.0"), Set.of(), null, false)
            .offer()
            .orElseThrow();
    host = HostInfo.parse(CMDLINE, "cmdline");
    esp = fs.getPath("/efi");
    Files.createDirectories(esp.resolve("loader/entries"));
    Files.writeString(
        esp.resolve("loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(CMDLINE));
    Path dev = fs.getPath("/dev");
    Files.createDirectories(dev);
    TestBootDisk.write(fs.getPath("/"));
    // slot A runs v1 (followed by stale bytes); slot B holds garbage
    byte[] a = new byte[8 << 20];
    new SplittableRandom(3).nextBytes(a);
    System.arraycopy(v1, 0, a, 0, v1.length);
    Files.write(dev.resolve("vda2"), a);
    Files.write(dev.resolve("vda3"), new byte[8 << 20]);
  }

  /** Serves the repository from memory, thread-safe, recording every URI and faults. */
  static final class Source implements RangeSource {
    final RepoRangeSource repo = new RepoRangeSource(tuf.repoDir);
    final List<String> asked = Collections.synchronizedList(new ArrayList<>());

    /** Answers garbage for these URIs (the predicate sees the path and the attempt number). */
    volatile Predicate<String> corrupt = u -> false;

    /** Fails these URIs like a dropped connection. */
    volatile Predicate<String> fail = u -> false;

    @Override
    public synchronized Opened open(URI uri, long offset) throws IOException {
      String p = uri.getPath();
      asked.add(p);
      if (fail.test(p)) {
        throw new IOException("connection reset (test)");
      }
      Opened o = repo.open(uri, offset);
      if (corrupt.test(p)) {
        byte[] b = o.stream().readAllBytes();
        b[b.length / 2] ^= 1;
        return new Opened(new ByteArrayInputStream(b), o.offset());
      }
      return o;
    }

    long chunkRequests() {
      synchronized (asked) {
        return asked.stream().filter(p -> p.contains("/chunks/")).count();
      }
    }

    boolean askedFullImage() {
      synchronized (asked) {
        return asked.stream().anyMatch(p -> p.endsWith("usr.img"));
      }
    }
  }

  private final VerityVerifier contentCheck =
      (device, rootHash, hashOffset) -> {
        byte[] onSlot = Arrays.copyOf(Files.readAllBytes(device), v2.length);
        if (!rootHash.equals(ROOT_HASH)
            || hashOffset != HASH_OFFSET
            || !Arrays.equals(onSlot, v2)) {
          throw new IOException(device + ": verity check failed");
        }
      };

  private Path downloads() {
    return fs.getPath("/var/lib/basalt/downloads");
  }

  private Path install(Source src, DeltaInstall.Planned planned) throws IOException {
    return install(src, planned, tail);
  }

  private Path install(Source src, DeltaInstall.Planned planned, VerityFormatter f)
      throws IOException {
    return install(src, planned, f, null);
  }

  private Path install(
      Source src, DeltaInstall.Planned planned, VerityFormatter f, Installer.Hooks hooks)
      throws IOException {
    DeltaInstall delta =
        new DeltaInstall(new ResumableDownload(src), src, Duration.ofMinutes(1), log::add, f);
    return new Installer(
            new ResumableDownload(src),
            new SlotDevices(fs.getPath("/")),
            contentCheck,
            new Esp(esp),
            downloads(),
            hooks,
            null,
            delta,
            planned,
            log::add)
        .install(offer, URI.create("http://repo/targets/"), true, host);
  }

  private Path store() {
    return fs.getPath("/var/lib/basalt/chunk-indexes");
  }

  private DeltaInstall.Running running(Path slotA) {
    return new DeltaInstall.Running(slotA, HASH_OFFSET, RUNNING_ROOT_HASH);
  }

  private List<String> entries() throws IOException {
    try (var s = Files.list(esp.resolve("loader/entries"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private void assertSlotBHoldsV2() throws IOException {
    byte[] b = Files.readAllBytes(fs.getPath("/dev/vda3"));
    assertArrayEquals(v2, Arrays.copyOf(b, v2.length));
    assertTrue(Files.exists(esp.resolve("loader/entries/basalt-2.0.0-B+3.conf")));
  }

  @Test
  void reusesTheRunningSlotAndFetchesOnlyTheChangedChunks() throws IOException {
    assertTrue(offer.usrIndex() != null, "the checker found the index");
    Source src = new Source();
    DeltaPlan[] plan = new DeltaPlan[1];
    install(src, p -> plan[0] = p);
    assertSlotBHoldsV2();
    assertFalse(src.askedFullImage(), "no full download: " + src.asked);
    // the changed 100 KiB plus at most one chunk (256 KiB at most) on either side
    assertTrue(plan[0].fetchBytes() >= CHANGED_LEN, "fetch " + plan[0].fetchBytes());
    assertTrue(plan[0].fetchBytes() <= CHANGED_LEN + (512 << 10), "fetch " + plan[0].fetchBytes());
    assertEquals(v2.length, plan[0].fetchBytes() + plan[0].reuseBytes() + plan[0].rebuildBytes());
    assertEquals(v2.length - HASH_OFFSET, plan[0].rebuildBytes(), "the hash area is rebuilt");
    assertEquals(
        List.of(
            "Verity[hashOffset="
                + HASH_OFFSET
                + ", salt=beef, uuid=12345678-0000-0000-0000-000000000001]"),
        formatted);
    assertTrue(
        log.contains(
            "delta update: the running slot's chunks from stable/x86-64/1.0.0/usr.img.chunks.json.gz"),
        log.toString());
    // the new image's index is kept for the next update, by its root hash
    assertTrue(Files.isRegularFile(store().resolve(ROOT_HASH + ".chunks.json.gz")));
    assertEquals(plan[0].fetchChunks(), src.chunkRequests());
    assertTrue(
        log.stream().anyMatch(l -> l.startsWith("delta update: fetch " + plan[0].fetchBytes())),
        log.toString());
    assertFalse(Files.exists(downloads().resolve("2.0.0")), "downloads removed after install");
  }

  /** Chunk indexes of test images, as the publisher cuts them. */
  static final class ChunkIndexes {
    static ChunkIndex of(byte[] image, long hashOffset) throws IOException {
      return ChunkIndex.ofImage(
          "usr.img",
          io.basalt.host.Chunker.DEFAULT,
          new ByteArrayInputStream(image),
          hashOffset,
          null);
    }
  }

  @Test
  void withoutAFormatterTheHashAreaIsFetched() throws IOException {
    Source src = new Source();
    DeltaPlan[] plan = new DeltaPlan[1];
    install(src, p -> plan[0] = p, null);
    assertSlotBHoldsV2();
    assertFalse(src.askedFullImage());
    assertEquals(0, plan[0].rebuildBytes());
    assertTrue(plan[0].fetchBytes() >= CHANGED_LEN + (v2.length - HASH_OFFSET - 4096));
    assertEquals(v2.length, plan[0].fetchBytes() + plan[0].reuseBytes());
  }

  @Test
  void aTreeThatDoesNotMatchFallsBackToTheFullPayload() throws IOException {
    Source src = new Source();
    install(src, p -> {}, (image, v) -> "00".repeat(32));
    assertSlotBHoldsV2();
    assertTrue(src.askedFullImage());
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith(
                        "delta update failed: /dev/vda3: dm-verity root hash of the assembled data "
                            + "00".repeat(32)
                            + ", the signed one is "
                            + ROOT_HASH)),
        log.toString());
    assertFalse(Files.exists(downloads().resolve("2.0.0")));
  }

  @Test
  void aMissingChunkFallsBackToTheFullPayload() throws IOException {
    Source src = new Source();
    src.fail = p -> p.contains("/chunks/");
    install(src, p -> {});
    assertSlotBHoldsV2();
    assertTrue(src.askedFullImage());
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith("delta update failed: connection reset (test)")
                        && l.endsWith(
                            "falling back to the full usr.img (" + v2.length + " bytes)")),
        log.toString());
  }

  @Test
  void aCorruptedChunkIsRefusedAndFetchedAgain() throws IOException {
    Source src = new Source();
    AtomicInteger served = new AtomicInteger();
    // the first chunk request is answered with one bit flipped, the retry is intact
    src.corrupt = p -> p.contains("/chunks/") && served.getAndIncrement() == 0;
    DeltaPlan[] plan = new DeltaPlan[1];
    install(src, p -> plan[0] = p);
    assertSlotBHoldsV2();
    assertFalse(src.askedFullImage(), src.asked.toString());
    assertEquals(plan[0].fetchChunks() + 1, src.chunkRequests());
    assertTrue(
        log.stream().anyMatch(l -> l.contains(": refused: ") && l.endsWith("(attempt 1 of 2)")),
        log.toString());
  }

  @Test
  void aChunkCorruptedOnTheServerIsRefusedThenTheFullPayloadIsUsed() throws IOException {
    Source src = new Source();
    String[] bad = {null};
    src.corrupt =
        p -> {
          if (p.contains("/chunks/")) {
            synchronized (bad) {
              if (bad[0] == null) {
                bad[0] = p;
              }
              return p.equals(bad[0]);
            }
          }
          return false;
        };
    install(src, p -> {});
    assertSlotBHoldsV2();
    assertTrue(src.askedFullImage());
    assertEquals(2, src.asked.stream().filter(p -> p.equals(bad[0])).count(), "fetched twice");
    assertTrue(
        log.stream().anyMatch(l -> l.contains(": refused: ") && l.endsWith("(attempt 2 of 2)")),
        log.toString());
    assertTrue(log.stream().anyMatch(l -> l.startsWith("delta update failed: ")), log.toString());
  }

  @Test
  void anInterruptedRunResumesWithTheChunksItAlreadyHas() throws IOException {
    Path dir = downloads().resolve("2.0.0");
    Path slotA = fs.getPath("/dev/vda2");
    Source first = new Source();
    AtomicInteger n = new AtomicInteger();
    first.fail = p -> p.contains("/chunks/") && n.incrementAndGet() > 2;
    DeltaInstall d1 =
        new DeltaInstall(
            new ResumableDownload(first), first, Duration.ofMinutes(1), log::add, tail);
    URI base = URI.create("http://repo/targets/");
    DeltaPlan[] plan = new DeltaPlan[2];
    assertThrows(
        IOException.class,
        () ->
            d1.prepare(base, true, offer, running(slotA), store(), dir, p -> plan[0] = p, x -> {}));
    long kept;
    try (var s = Files.list(dir.resolve("chunks"))) {
      kept = s.count();
    }
    assertTrue(kept >= 1 && kept <= 2, "chunks kept: " + kept);
    // a torn chunk file from the cut is dropped, not used
    Files.write(dir.resolve("chunks").resolve("ab".repeat(32)), new byte[] {1, 2, 3});

    Source second = new Source();
    DeltaInstall d2 =
        new DeltaInstall(
            new ResumableDownload(second), second, Duration.ofMinutes(1), log::add, tail);
    DeltaInstall.Prepared ready =
        d2.prepare(base, true, offer, running(slotA), store(), dir, p -> plan[1] = p, x -> {});
    Path slotB = fs.getPath("/dev/vda3");
    ready.writeSlot(slotB, x -> {});
    ready.check(slotB, ROOT_HASH, HASH_OFFSET, contentCheck);
    assertArrayEquals(v2, Arrays.copyOf(Files.readAllBytes(slotB), v2.length));
    assertEquals(plan[0].fetchChunks() - kept, second.chunkRequests());
    assertEquals(plan[0].fetchChunks() - kept, plan[1].fetchChunks());
    assertFalse(Files.exists(dir.resolve("chunks").resolve("ab".repeat(32))));
    assertTrue(
        log.stream()
            .anyMatch(
                l -> l.contains(" downloaded before)") && !l.contains(", 0 downloaded before)")),
        log.toString());
  }

  @Test
  void chunksKeptBeforeAPowerCutAreNotFetchedAgain() throws IOException {
    // The same jimfs seen through a disk that loses unsynced file content on a power cut.
    PowerCutFileSystem disk = new PowerCutFileSystem(fs);
    Path dir = disk.path("/var/lib/basalt/downloads/2.0.0");
    Path slotA = disk.path("/dev/vda2");
    URI base = URI.create("http://repo/targets/");
    DeltaPlan[] plan = new DeltaPlan[2];
    // The first chunk comes; every later request fails, after the first chunk was stored (the
    // failure waits, so the run stops with exactly one chunk kept).
    Source first = new Source();
    AtomicInteger n = new AtomicInteger();
    first.fail =
        p -> {
          if (!p.contains("/chunks/") || n.incrementAndGet() == 1) {
            return false;
          }
          try {
            Thread.sleep(300);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return true;
        };
    DeltaInstall d1 =
        new DeltaInstall(
            new ResumableDownload(first), first, Duration.ofMinutes(1), log::add, tail);
    Path store = disk.path("/var/lib/basalt/chunk-indexes");
    assertThrows(
        IOException.class,
        () -> d1.prepare(base, true, offer, running(slotA), store, dir, p -> plan[0] = p, x -> {}));
    assertTrue(plan[0].fetchChunks() >= 2, "the fixture needs 2 chunks to fetch: " + plan[0]);
    List<Path> kept;
    try (var s = Files.list(dir.resolve("chunks"))) {
      kept = s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{64}")).toList();
    }
    assertEquals(1, kept.size(), "chunks kept: " + kept);

    disk.cut(); // the power cut

    Source second = new Source();
    DeltaInstall d2 =
        new DeltaInstall(
            new ResumableDownload(second), second, Duration.ofMinutes(1), log::add, tail);
    DeltaInstall.Prepared ready =
        d2.prepare(base, true, offer, running(slotA), store, dir, p -> plan[1] = p, x -> {});
    Path slotB = disk.path("/dev/vda3");
    ready.writeSlot(slotB, x -> {});
    ready.check(slotB, ROOT_HASH, HASH_OFFSET, contentCheck);
    assertArrayEquals(v2, Arrays.copyOf(Files.readAllBytes(slotB), v2.length));
    assertEquals(
        plan[0].fetchChunks() - 1,
        second.chunkRequests(),
        "the chunk kept before the power cut is not fetched again: " + second.asked);
    assertEquals(plan[0].fetchChunks() - 1, plan[1].fetchChunks());
  }

  @Test
  void withoutTheRunningHashOffsetTheFullPayloadIsUsed() throws IOException {
    host = HostInfo.parse(CMDLINE.replace(" basalt.usr.hashoffset=" + HASH_OFFSET, ""), "cmdline");
    Source src = new Source();
    install(src, p -> {});
    assertSlotBHoldsV2();
    assertTrue(src.askedFullImage());
    assertEquals(0, src.chunkRequests());
    assertTrue(
        log.stream().anyMatch(l -> l.contains("no usable basalt.usr.hashoffset=")), log.toString());
  }

  @Test
  void theIndexKeptAtTheLastInstallIsUsedBeforeTheRepository() throws Exception {
    // v1's index as an earlier install kept it; the repository's copy is unreachable
    Path kept = store().resolve(RUNNING_ROOT_HASH + ".chunks.json.gz");
    Files.createDirectories(store());
    Files.write(kept, ChunkIndexes.of(v1, HASH_OFFSET).toGzip());
    Files.writeString(store().resolve("ef".repeat(32) + ".chunks.json.gz"), "an older image's");
    Source src = new Source();
    src.fail = p -> p.contains("/1.0.0/");
    install(src, p -> {});
    assertSlotBHoldsV2();
    assertFalse(src.askedFullImage(), src.asked.toString());
    assertTrue(
        log.contains("delta update: the running slot's chunks from " + kept), log.toString());
    // kept: the running image's (the fallback slot) and the new one's; the older one is gone
    try (var s = Files.list(store())) {
      assertEquals(
          List.of(RUNNING_ROOT_HASH + ".chunks.json.gz", ROOT_HASH + ".chunks.json.gz"),
          s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void aKeptIndexCutWithOtherChunkerParametersIsNotUsed() throws Exception {
    // the publisher retuned its chunker since: the kept index's chunks would hardly match
    Path kept = store().resolve(RUNNING_ROOT_HASH + ".chunks.json.gz");
    Files.createDirectories(store());
    Files.write(
        kept,
        ChunkIndex.ofImage(
                "usr.img",
                new io.basalt.host.Chunker(16 << 10, 32 << 10, 128 << 10),
                new ByteArrayInputStream(v1),
                HASH_OFFSET,
                null)
            .toGzip());
    Source src = new Source();
    src.fail = p -> p.contains("/1.0.0/");
    DeltaPlan[] plan = new DeltaPlan[1];
    install(src, p -> plan[0] = p);
    assertSlotBHoldsV2();
    assertTrue(
        log.stream().anyMatch(l -> l.startsWith("delta update: " + kept + " indexes ")),
        log.toString());
    assertTrue(
        log.contains("delta update: the running slot's chunks from cutting /dev/vda2"),
        log.toString());
    assertTrue(plan[0].fetchBytes() <= CHANGED_LEN + (512 << 10), "fetch " + plan[0].fetchBytes());
  }

  @Test
  void withoutTheRunningImagesIndexTheRunningSlotIsCut() throws IOException {
    // the running image is not the one the repository signed as 1.0.0: its index does not apply
    host = HostInfo.parse(CMDLINE.replace(RUNNING_ROOT_HASH, "22".repeat(32)), "cmdline");
    Source src = new Source();
    DeltaPlan[] plan = new DeltaPlan[1];
    install(src, p -> plan[0] = p);
    assertSlotBHoldsV2();
    assertFalse(src.askedFullImage());
    assertFalse(src.asked.stream().anyMatch(p -> p.contains("/1.0.0/")), src.asked.toString());
    assertTrue(
        log.contains("delta update: the running slot's chunks from cutting /dev/vda2"),
        log.toString());
    assertTrue(plan[0].fetchBytes() <= CHANGED_LEN + (512 << 10), "fetch " + plan[0].fetchBytes());
  }

  @Test
  void aWrongReusedChunkFailsTheRootHashCheckAndNoEntryIsWritten() throws IOException {
    // slot A is not what its index says at one byte the new image reuses (bit rot): the copy
    // takes it as it is; the root hash over the assembled data is not the signed one
    Path a = fs.getPath("/dev/vda2");
    byte[] slotA = Files.readAllBytes(a);
    slotA[100] ^= 1;
    Files.write(a, slotA);
    Source src = new Source();
    src.fail = p -> p.endsWith("usr.img"); // no full payload to fall back to
    assertThrows(IOException.class, () -> install(src, p -> {}));
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith(
                        "delta update failed: /dev/vda3: dm-verity root hash of the assembled data")),
        log.toString());
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
  }

  @Test
  void aWrongFetchedChunkFailsTheRootHashCheckAndNoEntryIsWritten() throws IOException {
    Source src = new Source();
    src.fail = p -> p.endsWith("usr.img");
    // a fetched chunk changes on disk after its check (the hook runs once all is downloaded)
    Installer.Hooks rot =
        step -> {
          if (step == Installer.Step.DOWNLOADED) {
            try (var s = Files.list(downloads().resolve("2.0.0/chunks"))) {
              Path c = s.sorted().findFirst().orElseThrow();
              byte[] b = Files.readAllBytes(c);
              b[0] ^= 1;
              Files.write(c, b);
            }
          }
        };
    assertThrows(IOException.class, () -> install(src, p -> {}, tail, rot));
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith(
                        "delta update failed: /dev/vda3: dm-verity root hash of the assembled data")),
        log.toString());
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
  }

  @Test
  void theIndexIsFoundNextToTheImage() {
    assertEquals(
        ChunkIndex.indexName("usr.img"),
        offer.usrIndex().path().substring("stable/x86-64/2.0.0/".length()));
  }
}
