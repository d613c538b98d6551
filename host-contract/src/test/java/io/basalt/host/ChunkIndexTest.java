package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
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
    assertEquals(idx.chunks().size() + 7, text.split("\n").length);
  }

  @Test
  void gzipFileRoundTripAndErrors() throws IOException {
    ChunkIndex idx = index(SMALL, random(8, 30_000));
    byte[] file = idx.toFile();
    assertEquals(idx, ChunkIndex.parseFile(file, "x.gz"));
    assertEquals(0, file[4] | file[5] | file[6] | file[7], "gzip mtime is 0");
    assertTrue(java.util.Arrays.equals(file, idx.toFile()));
    assertTrue(
        assertThrows(IOException.class, () -> ChunkIndex.parseFile(idx.toJson(), "x.gz"))
            .getMessage()
            .startsWith("x.gz: not a gzip file"));
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
            .startsWith("i.chunks:6: chunks: lengths add up to 5000 bytes, size is 5001"));
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
        "i.chunks:7: chunks[0]: expected 64 lower-case hex digits, found \"XYZ\"", error(badChunk));
    assertTrue(
        error(ok.replaceFirst("\\[(\\d+), ", "[99999, "))
            .startsWith("i.chunks:7: chunks[0]: length 99999 outside 1..4096"));
    assertTrue(error("").startsWith("i.chunks:1:1: expected a JSON object"));
    assertTrue(
        assertThrows(IOException.class, () -> ChunkIndex.parse(new byte[] {'{', (byte) 0xff}, "i"))
            .getMessage()
            .equals("i: not UTF-8 text"));
  }
}
