package io.basalt.host;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The chunk index of an update payload file ({@code usr.img}): the file's size and sha256, the
 * {@link Chunker} parameters that cut it, and its chunks in file order, each with its length and
 * sha256. Published as the TUF target {@code <channel>/<arch>/<version>/usr.img.chunks.json.gz}
 * next to the payload files (hash and length signed); each chunk is stored once, content-addressed,
 * at {@link #chunkPath} under the repository's targets. Immutable, thread-safe.
 *
 * <p>File format: gzip (RFC 1952, header mtime 0) of UTF-8 JSON, keys in this order and no others,
 * one chunk per line:
 *
 * <pre>{@code
 * {"format": "basalt-chunk-index-1",
 *  "file": "usr.img",
 *  "size": 346247168,
 *  "sha256": "<64 hex>",
 *  "chunker": {"algorithm": "fastcdc-gear64-nc2", "min": 16384, "avg": 65536, "max": 262144},
 *  "chunks": [
 *   [37001, "<64 hex>"],
 *   ...
 *  ]}
 * }</pre>
 *
 * A chunk's offset is the sum of the lengths before it; the lengths add up to {@code size}. Reading
 * is strict ({@link #parse}): unknown or missing keys, wrong types, a chunk length outside the
 * chunker's bounds, lengths that do not add up, or trailing data are errors naming the file, line
 * and key.
 *
 * @param file the indexed file's name ({@code usr.img})
 * @param size its length in bytes
 * @param sha256 its sha256 (lower-case hex)
 * @param chunker the chunker that cut it
 * @param chunks its chunks in file order
 */
public record ChunkIndex(
    String file, long size, String sha256, Chunker chunker, List<Chunk> chunks) {

  /** The value of the {@code format} key. */
  public static final String FORMAT = "basalt-chunk-index-1";

  /**
   * The suffix of an index file's name: {@code usr.img} is indexed by {@code
   * usr.img.chunks.json.gz}.
   */
  public static final String SUFFIX = ".chunks.json.gz";

  /** The most bytes an index file may inflate to (about 2.7 million chunks). */
  public static final int MAX_JSON_BYTES = 256 << 20;

  /** The folder (under a repository's targets) that holds every chunk, shared by all versions. */
  public static final String CHUNK_DIR = "chunks";

  private static final String HEX64 = "[0-9a-f]{64}";

  /**
   * One chunk.
   *
   * @param offset its offset in the file
   * @param length its length
   * @param sha256 its sha256 (lower-case hex)
   */
  public record Chunk(long offset, int length, String sha256) {
    /** Checks the fields. */
    public Chunk {
      if (offset < 0 || length <= 0 || !sha256.matches(HEX64)) {
        throw new IllegalArgumentException(
            "chunk: offset " + offset + ", length " + length + ", sha256 " + sha256);
      }
    }
  }

  /** Checks that the chunks tile the file and copies the list. */
  public ChunkIndex {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(chunker, "chunker");
    if (!sha256.matches(HEX64)) {
      throw new IllegalArgumentException("sha256: expected 64 lower-case hex digits: " + sha256);
    }
    chunks = List.copyOf(chunks);
    long at = 0;
    for (Chunk c : chunks) {
      if (c.offset() != at) {
        throw new IllegalArgumentException("chunk at " + c.offset() + ", expected " + at);
      }
      at += c.length();
    }
    if (at != size) {
      throw new IllegalArgumentException("chunks cover " + at + " bytes, file size " + size);
    }
  }

  /** The index file's name for a file: {@code usr.img} → {@code usr.img.chunks.json.gz}. */
  public static String indexName(String file) {
    return file + SUFFIX;
  }

  /**
   * Where a chunk is stored, relative to the repository's targets: {@code chunks/AB/SHA256} with
   * {@code AB} the first two hex digits.
   */
  public static String chunkPath(String sha256) {
    if (!sha256.matches(HEX64)) {
      throw new IllegalArgumentException("not a sha256: " + sha256);
    }
    return CHUNK_DIR + "/" + sha256.substring(0, 2) + "/" + sha256;
  }

  /**
   * Chunks and hashes a whole stream.
   *
   * @param file the name to record
   * @param limit read at most this many bytes
   * @throws IOException from the stream
   */
  public static ChunkIndex of(String file, Chunker chunker, InputStream in, long limit)
      throws IOException {
    MessageDigest whole = Chunker.sha256();
    List<Chunk> chunks = new ArrayList<>();
    long size =
        chunker.chunk(
            in,
            limit,
            (c, buf, from) -> {
              whole.update(buf, from, c.length());
              chunks.add(new Chunk(c.offset(), c.length(), c.sha256()));
            });
    return new ChunkIndex(file, size, HexFormat.of().formatHex(whole.digest()), chunker, chunks);
  }

  /** The first chunk of each distinct sha256, by sha256 (insertion order = file order). */
  public Map<String, Chunk> bySha256() {
    Map<String, Chunk> m = new LinkedHashMap<>();
    for (Chunk c : chunks) {
      m.putIfAbsent(c.sha256(), c);
    }
    return m;
  }

  /** The index in its file format (UTF-8). */
  public byte[] toJson() {
    StringBuilder b = new StringBuilder(128 + chunks.size() * 80);
    b.append("{\"format\": \"").append(FORMAT).append("\",\n");
    b.append(" \"file\": \"").append(JsonText.escape(file)).append("\",\n");
    b.append(" \"size\": ").append(size).append(",\n");
    b.append(" \"sha256\": \"").append(sha256).append("\",\n");
    b.append(" \"chunker\": {\"algorithm\": \"")
        .append(Chunker.ALGORITHM)
        .append("\", \"min\": ")
        .append(chunker.min())
        .append(", \"avg\": ")
        .append(chunker.avg())
        .append(", \"max\": ")
        .append(chunker.max())
        .append("},\n");
    b.append(" \"chunks\": [");
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      b.append(i == 0 ? "\n  [" : ",\n  [").append(c.length()).append(", \"");
      b.append(c.sha256()).append("\"]");
    }
    b.append("\n ]}\n");
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The index file: {@link #toJson} gzipped (deterministic: the header has no time or name). */
  public byte[] toFile() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(toJson());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * Reads an index file written by {@link #toFile}.
   *
   * @param where the file's name for error messages
   * @throws IOException naming {@code where} when the file is not gzip, inflates to more than
   *     {@link #MAX_JSON_BYTES}, or is not a valid index
   */
  public static ChunkIndex parseFile(byte[] file, String where) throws IOException {
    byte[] json;
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(file))) {
      json = in.readNBytes(MAX_JSON_BYTES + 1);
    } catch (IOException e) {
      throw new IOException(where + ": not a gzip file: " + e.getMessage(), e);
    }
    if (json.length > MAX_JSON_BYTES) {
      throw new IOException(where + ": inflates to more than " + MAX_JSON_BYTES + " bytes");
    }
    return parse(json, where);
  }

  /**
   * Reads an index written by {@link #toJson}.
   *
   * @param where the file's name for error messages
   * @throws IOException naming {@code where}, the line and the key when the text is not a valid
   *     index
   */
  public static ChunkIndex parse(byte[] json, String where) throws IOException {
    JsonText.Reader r = new JsonText.Reader(json, where);
    Map<String, Object> top = r.document();
    r.keys(top, "", "format", "file", "size", "sha256", "chunker", "chunks");
    String format = r.string(top, "", "format");
    if (!format.equals(FORMAT)) {
      throw r.error("format", "expected \"" + FORMAT + "\", found \"" + format + "\"");
    }
    String file = r.string(top, "", "file");
    long size = r.integer(top, "", "size", 0, Long.MAX_VALUE);
    String sha = r.string(top, "", "sha256");
    if (!sha.matches(HEX64)) {
      throw r.error("sha256", "expected 64 lower-case hex digits, found \"" + sha + "\"");
    }
    Map<String, Object> ch = r.object(top, "", "chunker");
    r.keys(ch, "chunker.", "algorithm", "min", "avg", "max");
    String alg = r.string(ch, "chunker.", "algorithm");
    if (!alg.equals(Chunker.ALGORITHM)) {
      throw r.error(
          "chunker.algorithm", "expected \"" + Chunker.ALGORITHM + "\", found \"" + alg + "\"");
    }
    Chunker chunker;
    try {
      chunker =
          new Chunker(
              (int) r.integer(ch, "chunker.", "min", 0, Integer.MAX_VALUE),
              (int) r.integer(ch, "chunker.", "avg", 0, Integer.MAX_VALUE),
              (int) r.integer(ch, "chunker.", "max", 0, Integer.MAX_VALUE));
    } catch (IllegalArgumentException e) {
      throw r.error("chunker", e.getMessage());
    }
    List<Object> list = r.array(top, "", "chunks");
    List<Chunk> chunks = new ArrayList<>(list.size());
    long at = 0;
    for (int i = 0; i < list.size(); i++) {
      String key = "chunks[" + i + "]";
      Object node = list.get(i) instanceof List<?> ? list.get(i) : list;
      if (!(list.get(i) instanceof List<?> e)
          || e.size() != 2
          || !(e.get(0) instanceof Long len)
          || !(e.get(1) instanceof String h)) {
        throw r.error(key, "expected [LENGTH, \"SHA256\"], found " + list.get(i), node);
      }
      if (len < 1 || len > chunker.max()) {
        throw r.error(key, "length " + len + " outside 1.." + chunker.max(), node);
      }
      if (!h.matches(HEX64)) {
        throw r.error(key, "expected 64 lower-case hex digits, found \"" + h + "\"", node);
      }
      chunks.add(new Chunk(at, (int) (long) len, h));
      at += len;
    }
    if (at != size) {
      throw r.error("chunks", "lengths add up to " + at + " bytes, size is " + size, list);
    }
    return new ChunkIndex(file, size, sha, chunker, chunks);
  }

  /** A one-line summary (logs). */
  @Override
  public String toString() {
    return "ChunkIndex[" + file + ", " + size + " bytes, " + chunks.size() + " chunks]";
  }
}
