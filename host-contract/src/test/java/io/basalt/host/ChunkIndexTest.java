package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ChunkIndexTest {

  private static final Chunker SMALL = new Chunker(256, 1024, 4096);

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  private static ChunkIndex index(Chunker c, byte[] data) throws IOException {
    return ChunkIndex.of("usr.img", c, new ByteArrayInputStream(data), Long.MAX_VALUE);
  }

  @Test
  void chunksTileTheFileWithinTheBounds() throws IOException {
    byte[] data = random(1, 300_000);
    ChunkIndex idx = index(SMALL, data);
    assertEquals(data.length, idx.size());
    for (int i = 0; i < idx.chunks().size() - 1; i++) {
      int len = idx.chunks().get(i).length();
      assertTrue(len > 256 && len <= 4096, "chunk " + i + " length " + len);
    }
    double avg = (double) data.length / idx.chunks().size();
    assertTrue(avg > 700 && avg < 2000, "average " + avg);
    // same bytes, same chunks: whole-file hash and chunk list
    assertEquals(idx, index(SMALL, data.clone()));
  }

  @Test
  void anInsertionChangesOnlyTheChunksAroundIt() throws IOException {
    byte[] a = random(2, 400_000);
    byte[] b = new byte[a.length + 37];
    System.arraycopy(a, 0, b, 0, 200_000);
    System.arraycopy(random(3, 37), 0, b, 200_000, 37);
    System.arraycopy(a, 200_000, b, 200_037, a.length - 200_000);
    Set<String> old = new HashSet<>();
    index(SMALL, a).chunks().forEach(c -> old.add(c.sha256()));
    DeltaPlan p = DeltaPlan.of(index(SMALL, b), old);
    assertTrue(p.fetchChunks() <= 3, "chunks to fetch: " + p.fetchChunks());
    assertTrue(p.fetchBytes() <= 3 * 4096 + 37, "bytes to fetch: " + p.fetchBytes());
    assertEquals(b.length, p.reuseBytes() + p.fetchBytes());
  }

  @Test
  void aLimitStopsTheStream() throws IOException {
    byte[] data = random(4, 50_000);
    ChunkIndex idx = ChunkIndex.of("usr.img", SMALL, new ByteArrayInputStream(data), 10_000);
    assertEquals(10_000, idx.size());
  }

  @Test
  void repeatedMissingChunksAreFetchedOnce() throws IOException {
    byte[] unit = random(5, 8192);
    byte[] data = new byte[unit.length * 4];
    for (int i = 0; i < 4; i++) {
      System.arraycopy(unit, 0, data, i * unit.length, unit.length);
    }
    ChunkIndex idx = index(new Chunker(64, 256, 8192), data);
    DeltaPlan p = DeltaPlan.of(idx, Set.of());
    assertEquals(0, p.reuseBytes());
    assertTrue(p.fetchBytes() < data.length, "fetch " + p.fetchBytes());
    assertEquals(p.fetchBytes(), p.missing().stream().mapToLong(ChunkIndex.Chunk::length).sum());
  }

  @Test
  void jsonRoundTrip() throws IOException {
    ChunkIndex idx = index(SMALL, random(6, 20_000));
    byte[] json = idx.toJson();
    assertEquals(idx, ChunkIndex.parse(json, "usr.img.chunks"));
    String text = new String(json, StandardCharsets.UTF_8);
    assertTrue(
        text.startsWith("{\"format\": \"basalt-chunk-index-1\",\n \"file\": \"usr.img\",\n"));
    assertEquals(idx.chunks().size() + 8, text.split("\n").length);
  }

  @Test
  void gzipFileRoundTripAndErrors() throws IOException {
    ChunkIndex idx = index(SMALL, random(8, 30_000));
    byte[] file = idx.toGzip();
    assertEquals(idx, ChunkIndex.parseFile(file, "x.gz"));
    assertEquals(0, file[4] | file[5] | file[6] | file[7], "gzip mtime is 0");
    assertTrue(java.util.Arrays.equals(file, idx.toGzip()));
    assertTrue(
        assertThrows(IOException.class, () -> ChunkIndex.parseFile(idx.toJson(), "x.gz"))
            .getMessage()
            .startsWith("x.gz: not a gzip file"));
  }

  /** A dm-verity superblock as veritysetup writes it (cryptsetup struct verity_sb). */
  static byte[] superblock(long dataBlocks, byte[] salt, byte[] uuid) {
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put("verity\0\0".getBytes(StandardCharsets.US_ASCII));
    b.putInt(8, 1).putInt(12, 1);
    b.put(16, uuid);
    b.put(32, "sha256".getBytes(StandardCharsets.US_ASCII));
    b.putInt(64, 4096).putInt(68, 4096).putLong(72, dataBlocks);
    b.putShort(80, (short) salt.length);
    b.put(88, salt);
    return b.array();
  }

  @Test
  void anImageIsCutAtItsVerityHashOffsetAndTheSuperblockRecorded() throws IOException {
    byte[] data = random(9, 40 * 4096);
    byte[] uuid = new byte[16];
    uuid[0] = (byte) 0xab;
    uuid[15] = 0x01;
    byte[] sb = superblock(40, new byte[] {1, 2, (byte) 0xff}, uuid);
    byte[] tree = random(10, 3 * 4096);
    byte[] img = new byte[data.length + sb.length + tree.length];
    System.arraycopy(data, 0, img, 0, data.length);
    System.arraycopy(sb, 0, img, data.length, sb.length);
    System.arraycopy(tree, 0, img, data.length + sb.length, tree.length);
    List<Long> seen = new java.util.ArrayList<>();
    ChunkIndex idx =
        ChunkIndex.ofImage(
            "usr.img",
            SMALL,
            new ByteArrayInputStream(img),
            data.length,
            (c, b, f) -> seen.add(c.offset()));
    assertEquals(
        new ChunkIndex.Verity(data.length, "0102ff", "ab000000-0000-0000-0000-000000000001"),
        idx.verity());
    assertTrue(seen.contains((long) data.length), "a chunk starts at the hash offset");
    assertEquals(idx.chunks().stream().map(ChunkIndex.Chunk::offset).toList(), seen);
    assertEquals(index(SMALL, img).sha256(), idx.sha256());
    assertEquals(idx, ChunkIndex.parse(idx.toJson(), "i"));
    DeltaPlan rebuild = DeltaPlan.of(idx, Set.of(), true);
    assertEquals(img.length - data.length, rebuild.rebuildBytes());
    assertEquals(data.length, rebuild.fetchBytes());
    assertEquals(img.length, DeltaPlan.of(idx, Set.of(), false).fetchBytes());
    // not a superblock this format describes: no verity, still cut at the offset
    sb[8] = 2;
    System.arraycopy(sb, 0, img, data.length, sb.length);
    assertEquals(
        null,
        ChunkIndex.ofImage("usr.img", SMALL, new ByteArrayInputStream(img), data.length, null)
            .verity());
    assertTrue(
        ChunkIndex.Verity.read(superblock(41, new byte[0], uuid), data.length).isEmpty(),
        "data blocks must match");
    String bad =
        new String(idx.toJson(), StandardCharsets.UTF_8)
            .replace("\"salt\": \"0102ff\"", "\"salt\": \"XY\"");
    assertTrue(error(bad).startsWith("i.chunks:6: verity: verity salt XY"), error(bad));
  }

  @Test
  void imageLengthIsTheVerityLayout() {
    // the default image: 83,869 data blocks, tree 656 + 6 + 1 blocks, superblock 1 block
    assertEquals(346_247_168L, ChunkIndex.Verity.imageLength(343_527_424L));
    assertEquals(343_527_424L, ChunkIndex.Verity.hashOffsetOf(346_247_168L));
    assertEquals(343_531_520L, ChunkIndex.Verity.hashOffsetOf(346_247_168L + 4096));
    assertEquals(-1, ChunkIndex.Verity.hashOffsetOf(346_247_168L + 1));
    assertEquals((3 << 20) + (8 << 12), ChunkIndex.Verity.imageLength(3 << 20));
  }

  @Test
  void chunkPathIsContentAddressed() {
    String h = "ab" + "0".repeat(62);
    assertEquals("chunks/ab/" + h, ChunkIndex.chunkPath(h));
    assertThrows(IllegalArgumentException.class, () -> ChunkIndex.chunkPath("../x"));
  }

  private static String valid() throws IOException {
    return new String(index(SMALL, random(7, 5_000)).toJson(), StandardCharsets.UTF_8);
  }

  private static String error(String json) {
    return assertThrows(
            IOException.class,
            () -> ChunkIndex.parse(json.getBytes(StandardCharsets.UTF_8), "i.chunks"))
        .getMessage();
  }

  @Test
  void strictReading() throws IOException {
    String ok = valid();
    assertEquals(
        "i.chunks:1: extra: unknown key",
        error(ok.replace("{\"format\"", "{\"extra\": 1, \"format\"")));
    assertEquals("i.chunks:1: size: missing", error(ok.replaceFirst(" \"size\": \\d+,\n", "")));
    assertEquals(
        "i.chunks:1: size: expected an integer in 0..9223372036854775807, found -1",
        error(ok.replaceFirst("\"size\": \\d+", "\"size\": -1")));
    assertTrue(
        error(ok.replaceFirst("\"size\": \\d+", "\"size\": 5001"))
            .startsWith("i.chunks:7: chunks: lengths add up to 5000 bytes, size is 5001"));
    assertTrue(
        error(ok.replaceFirst("\"size\": (\\d+)", "\"size\": 1.5")).startsWith("i.chunks:3:"));
    assertTrue(error(ok + "x").contains("unexpected data after the JSON value"));
    assertTrue(
        error(ok.replace("\"file\": \"usr.img\"", "\"file\": \"a\", \"file\": \"b\""))
            .contains("duplicate key \"file\""));
    assertTrue(
        error(ok.replace("fastcdc-gear64-nc2", "rabin"))
            .startsWith("i.chunks: chunker.algorithm: expected"));
    assertTrue(
        error(ok.replace("\"avg\": 1024", "\"avg\": 1000"))
            .startsWith("i.chunks: chunker: chunker sizes"));
    String badChunk = ok.replaceFirst("\\[(\\d+), \"[0-9a-f]{64}\"\\]", "[$1, \"XYZ\"]");
    assertEquals(
        "i.chunks:8: chunks[0]: expected 64 lower-case hex digits, found \"XYZ\"", error(badChunk));
    assertTrue(
        error(ok.replaceFirst("\\[(\\d+), ", "[99999, "))
            .startsWith("i.chunks:8: chunks[0]: length 99999 outside 1..4096"));
    assertTrue(error("").startsWith("i.chunks:1:1: expected a JSON object"));
    assertTrue(
        assertThrows(IOException.class, () -> ChunkIndex.parse(new byte[] {'{', (byte) 0xff}, "i"))
            .getMessage()
            .equals("i: not UTF-8 text"));
  }
}
