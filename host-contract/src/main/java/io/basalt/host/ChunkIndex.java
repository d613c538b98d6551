package io.basalt.host;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 *  "verity": {"hash_offset": 343527424, "salt": "<hex>", "uuid": "<8-4-4-4-12>"},
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
 * @param verity where the file's dm-verity superblock and hash tree start and the parameters that
 *     rebuild them from the data before it ({@code veritysetup format}), or null
 * @param chunks its chunks in file order
 */
public record ChunkIndex(
    String file, long size, String sha256, Chunker chunker, Verity verity, List<Chunk> chunks) {

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

  /**
   * The dm-verity hash area of a USR image: from {@code hashOffset} to the end, the superblock and
   * hash tree (version 1, sha256, 4096-byte blocks) that {@code veritysetup format --hash-offset=N
   * --salt=SALT --uuid=UUID} writes for the data before it. A machine that has the data rebuilds
   * them instead of downloading them.
   *
   * @param hashOffset where the superblock starts (= the data's length, a multiple of 4096)
   * @param salt the salt (lower-case hex)
   * @param uuid the superblock's UUID ({@code 8-4-4-4-12} lower-case hex)
   */
  public record Verity(long hashOffset, String salt, String uuid) {
    /** Checks the fields. */
    public Verity {
      if (hashOffset <= 0 || hashOffset % 4096 != 0) {
        throw new IllegalArgumentException("verity hash offset " + hashOffset);
      }
      if (!salt.matches("([0-9a-f]{2}){0,256}")) {
        throw new IllegalArgumentException("verity salt " + salt);
      }
      if (!uuid.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
        throw new IllegalArgumentException("verity uuid " + uuid);
      }
    }

    /**
     * The length of a USR image whose verity hash area starts at {@code hashOffset}: the data, the
     * 4096-byte superblock and every level of the tree (4096-byte blocks of 128 sha256 hashes;
     * dm-verity on-disk format as {@code veritysetup format} writes it).
     */
    public static long imageLength(long hashOffset) {
      long blocks = (hashOffset + 4095) / 4096;
      long tree = 0;
      do {
        blocks = (blocks + 127) / 128;
        tree += blocks;
      } while (blocks > 1);
      return hashOffset + 4096 + tree * 4096;
    }

    /**
     * The hash offset of a USR image of {@code length} bytes ({@link #imageLength} inverted), or -1
     * when no hash offset gives that length.
     */
    public static long hashOffsetOf(long length) {
      for (long h = Math.max(4096, (length - length / 64) / 4096 * 4096); h < length; h += 4096) {
        long l = imageLength(h);
        if (l == length) {
          return h;
        }
        if (l > length) {
          break;
        }
      }
      return -1;
    }

    /**
     * Reads the dm-verity superblock (cryptsetup {@code struct verity_sb}, little-endian: signature
     * "verity\0\0" at 0, version at 8, hash type at 12, uuid[16] at 16, algorithm[32] at 32, data
     * and hash block size at 64 and 68, data blocks at 72, salt size at 80, salt at 88) found at
     * {@code hashOffset}, when it is one this index format can describe: version 1, hash type 1,
     * sha256, 4096-byte blocks, {@code hashOffset / 4096} data blocks.
     *
     * @param sb at least the superblock's first 344 bytes
     * @return the parameters, or empty when the bytes are not such a superblock
     */
    public static Optional<Verity> read(byte[] sb, long hashOffset) {
      if (sb.length < 344 || hashOffset <= 0 || hashOffset % 4096 != 0) {
        return Optional.empty();
      }
      ByteBuffer b = ByteBuffer.wrap(sb).order(ByteOrder.LITTLE_ENDIAN);
      byte[] sig = Arrays.copyOf(sb, 8);
      byte[] alg = Arrays.copyOfRange(sb, 32, 64);
      int saltSize = b.getShort(80) & 0xffff;
      if (!Arrays.equals(sig, "verity\0\0".getBytes(StandardCharsets.US_ASCII))
          || b.getInt(8) != 1
          || b.getInt(12) != 1
          || !Arrays.equals(alg, Arrays.copyOf("sha256".getBytes(StandardCharsets.US_ASCII), 32))
          || b.getInt(64) != 4096
          || b.getInt(68) != 4096
          || b.getLong(72) != hashOffset / 4096
          || saltSize > 256) {
        return Optional.empty();
      }
      HexFormat hex = HexFormat.of();
      String u = hex.formatHex(sb, 16, 32);
      String uuid =
          u.substring(0, 8)
              + "-"
              + u.substring(8, 12)
              + "-"
              + u.substring(12, 16)
              + "-"
              + u.substring(16, 20)
              + "-"
              + u.substring(20);
      return Optional.of(new Verity(hashOffset, hex.formatHex(sb, 88, 88 + saltSize), uuid));
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
    if (verity != null && !startsChunk(chunks, verity.hashOffset())) {
      throw new IllegalArgumentException(
          "no chunk starts at the verity hash offset " + verity.hashOffset());
    }
  }

  private static boolean startsChunk(List<Chunk> chunks, long offset) {
    for (Chunk c : chunks) {
      if (c.offset() == offset) {
        return true;
      }
    }
    return false;
  }

  /** The chunks before the verity hash area (all of them without one). */
  public List<Chunk> dataChunks() {
    if (verity == null) {
      return chunks;
    }
    List<Chunk> out = new ArrayList<>();
    for (Chunk c : chunks) {
      if (c.offset() < verity.hashOffset()) {
        out.add(c);
      }
    }
    return out;
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
    return new ChunkIndex(
        file, size, HexFormat.of().formatHex(whole.digest()), chunker, null, chunks);
  }

  /**
   * Chunks and hashes a USR image: the data {@code [0, hashOffset)} and the verity hash area from
   * {@code hashOffset} to the end are cut separately, so a chunk starts at {@code hashOffset}; when
   * a dm-verity superblock this format can describe starts there ({@link Verity#read}), the index
   * records it.
   *
   * @param also called with every chunk too, its offset in the whole file (may be null)
   * @throws IOException from the stream or {@code also}
   */
  public static ChunkIndex ofImage(
      String file, Chunker chunker, InputStream in, long hashOffset, Chunker.Sink also)
      throws IOException {
    MessageDigest whole = Chunker.sha256();
    List<Chunk> chunks = new ArrayList<>();
    byte[][] superblock = {new byte[0]};
    long[] base = {0};
    Chunker.Sink sink =
        (c, buf, from) -> {
          Chunker.Cut abs = new Chunker.Cut(base[0] + c.offset(), c.length(), c.sha256());
          whole.update(buf, from, c.length());
          chunks.add(new Chunk(abs.offset(), abs.length(), abs.sha256()));
          if (abs.offset() == hashOffset) {
            superblock[0] = Arrays.copyOfRange(buf, from, from + Math.min(c.length(), 512));
          }
          if (also != null) {
            also.chunk(abs, buf, from);
          }
        };
    long data = chunker.chunk(in, hashOffset, sink);
    base[0] = data;
    long size = data + chunker.chunk(in, sink);
    Verity verity = data == hashOffset ? Verity.read(superblock[0], hashOffset).orElse(null) : null;
    return new ChunkIndex(
        file, size, HexFormat.of().formatHex(whole.digest()), chunker, verity, chunks);
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
    if (verity == null) {
      b.append(" \"verity\": null,\n");
    } else {
      b.append(" \"verity\": {\"hash_offset\": ")
          .append(verity.hashOffset())
          .append(", \"salt\": \"")
          .append(verity.salt())
          .append("\", \"uuid\": \"")
          .append(verity.uuid())
          .append("\"},\n");
    }
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
  public byte[] toGzip() {
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
    r.keys(top, "", "format", "file", "size", "sha256", "chunker", "verity", "chunks");
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
    Verity verity = null;
    if (top.get("verity") != null) {
      Map<String, Object> v = r.object(top, "", "verity");
      r.keys(v, "verity.", "hash_offset", "salt", "uuid");
      try {
        verity =
            new Verity(
                r.integer(v, "verity.", "hash_offset", 1, Long.MAX_VALUE),
                r.string(v, "verity.", "salt"),
                r.string(v, "verity.", "uuid"));
      } catch (IllegalArgumentException e) {
        throw r.error("verity", e.getMessage(), v);
      }
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
    try {
      return new ChunkIndex(file, size, sha, chunker, verity, chunks);
    } catch (IllegalArgumentException e) {
      throw r.error("verity", e.getMessage());
    }
  }

  /** A one-line summary (logs). */
  @Override
  public String toString() {
    return "ChunkIndex[" + file + ", " + size + " bytes, " + chunks.size() + " chunks]";
  }
}
