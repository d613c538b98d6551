package io.basalt.signing.tuf.repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.host.AtomicFiles;
import io.basalt.host.ChunkIndex;
import io.basalt.host.Chunker;
import io.basalt.host.UpdatePayload;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Stages an image build's update payload directory ({@code out/<image>/update/}, the {@link
 * UpdatePayload} contract) as TUF targets {@code CHANNEL/ARCH/VERSION/FILE} whose signed {@code
 * custom} object is {@link UpdatePayload#targetCustom}, plus the {@link ChunkIndex} of {@code
 * usr.img} as the target {@code CHANNEL/ARCH/VERSION/usr.img.chunks.json.gz} and its chunks under
 * {@code targets/chunks/}. Every file's size and sha256 are checked against {@code payload.json}
 * first. Stateless; thread-safe.
 */
public final class PayloadPublisher {

  private PayloadPublisher() {}

  /**
   * Stages the payload's targets (call {@link Repository#publish()} afterwards to sign them).
   *
   * @param channel the channel to publish on, or null for the one in {@code payload.json}
   * @return the staged target paths
   * @throws IOException naming {@code payload.json} and the field, or the file, when the payload is
   *     incomplete, malformed or its files do not match their recorded size/sha256
   */
  public static List<String> stage(Repository repo, String role, Path payloadDir, String channel)
      throws IOException {
    UpdatePayload payload = read(payloadDir, channel);
    List<String> staged = new ArrayList<>();
    for (UpdatePayload.FileEntry f : payload.files()) {
      String target = payload.targetPath(f.path());
      repo.addTarget(role, target, payloadDir.resolve(f.path()), payload.targetCustom(f.path()));
      staged.add(target);
    }
    staged.add(stageChunkIndex(repo, role, payload, payloadDir.resolve(UpdatePayload.USR_IMG)));
    return staged;
  }

  /**
   * Cuts {@code usr.img} with {@link Chunker#DEFAULT} (data and verity hash area apart, {@link
   * ChunkIndex#ofImage}), stores every chunk not yet in the repository at {@code targets/}{@link
   * ChunkIndex#chunkPath} (content-addressed, so a chunk already there is the same bytes) and
   * stages the index as the target {@code CHANNEL/ARCH/VERSION/usr.img.chunks.json.gz} with the
   * payload's custom fields.
   */
  private static String stageChunkIndex(
      Repository repo, String role, UpdatePayload payload, Path usrImg) throws IOException {
    Path targets = repo.dir().resolve("targets");
    ChunkIndex index;
    try (InputStream in = Files.newInputStream(usrImg)) {
      index =
          ChunkIndex.ofImage(
              UpdatePayload.USR_IMG,
              Chunker.DEFAULT,
              in,
              payload.usrHashOffset(),
              (c, buf, from) -> {
                Path f = targets.resolve(ChunkIndex.chunkPath(c.sha256()));
                if (!Files.isRegularFile(f) || Files.size(f) != c.length()) {
                  byte[] bytes = Arrays.copyOfRange(buf, from, from + c.length());
                  Files.createDirectories(f.getParent());
                  AtomicFiles.writeOutput(f, tmp -> Files.write(tmp, bytes));
                }
              });
    }
    UpdatePayload.FileEntry usr = payload.files().get(0);
    if (index.size() != usr.size() || !index.sha256().equals(usr.sha256())) {
      throw new IOException(usrImg + ": changed while it was published");
    }
    String name = ChunkIndex.indexName(UpdatePayload.USR_IMG);
    String target = payload.targetPath(name);
    Path tmp = Files.createTempFile(repo.dir(), ".index-", ".part");
    try {
      Files.write(tmp, index.toGzip());
      repo.addTarget(role, target, tmp, payload.targetCustom(name));
    } finally {
      Files.deleteIfExists(tmp);
    }
    return target;
  }

  /** Reads and checks {@code payload.json} and the files it lists; {@code channel} overrides. */
  static UpdatePayload read(Path payloadDir, String channel) throws IOException {
    Path pj = payloadDir.resolve(UpdatePayload.PAYLOAD_JSON);
    if (!Files.isRegularFile(pj)) {
      throw new NoSuchFileException(
          pj.toString(),
          null,
          "not an update payload directory (no payload.json; expected out/<image>/update)");
    }
    JsonNode p;
    try {
      p = new ObjectMapper().readTree(Files.readAllBytes(pj));
    } catch (IOException e) {
      throw new IOException(pj + ": not valid JSON: " + e.getMessage(), e);
    }
    String name = text(p, UpdatePayload.JSON_NAME, pj, "[a-z0-9-]{1,63}");
    String version = text(p, UpdatePayload.JSON_VERSION, pj, UpdatePayload.VERSION_PATTERN);
    String arch = text(p, UpdatePayload.JSON_ARCH, pj, "[a-z0-9_-]+");
    String ch = channel != null ? channel : text(p, UpdatePayload.JSON_CHANNEL, pj, "[a-z0-9-]+");
    if (!ch.matches("[a-z0-9][a-z0-9-]*")) {
      throw new IOException("--channel: expected [a-z0-9-], found \"" + ch + "\"");
    }
    String rootHash =
        text(p, UpdatePayload.JSON_USR_ROOT_HASH, pj, UpdatePayload.ROOT_HASH_PATTERN);
    JsonNode off = p.get(UpdatePayload.JSON_USR_HASH_OFFSET);
    if (off == null
        || !off.canConvertToLong()
        || !off.isIntegralNumber()
        || off.asLong() <= 0
        || off.asLong() % UpdatePayload.HASH_OFFSET_ALIGNMENT != 0) {
      throw new IOException(
          pj
              + ": "
              + UpdatePayload.JSON_USR_HASH_OFFSET
              + ": expected a positive multiple of "
              + UpdatePayload.HASH_OFFSET_ALIGNMENT
              + ", found "
              + off);
    }
    JsonNode files = p.get(UpdatePayload.JSON_FILES);
    List<UpdatePayload.FileEntry> entries = new ArrayList<>();
    for (String f : UpdatePayload.FILES) {
      JsonNode e = files == null ? null : files.get(f);
      if (e == null
          || !e.path(UpdatePayload.JSON_SIZE).canConvertToLong()
          || !e.path(UpdatePayload.JSON_SHA256).isTextual()) {
        throw new IOException(
            pj
                + ": "
                + UpdatePayload.JSON_FILES
                + "."
                + f
                + ": expected {\"size\": N, \"sha256\": HEX}, found "
                + e);
      }
      long expectedSize = e.get(UpdatePayload.JSON_SIZE).asLong();
      String expectedSha = e.get(UpdatePayload.JSON_SHA256).asText();
      Path file = payloadDir.resolve(f);
      if (!Files.isRegularFile(file)) {
        throw new NoSuchFileException(file.toString(), null, "listed in payload.json but missing");
      }
      long size = Files.size(file);
      if (size != expectedSize) {
        throw new IOException(file + ": " + size + " bytes, payload.json says " + expectedSize);
      }
      String sha = sha256(file);
      if (!sha.equals(expectedSha)) {
        throw new IOException(file + ": sha256 " + sha + ", payload.json says " + expectedSha);
      }
      entries.add(new UpdatePayload.FileEntry(f, size, sha));
    }
    if (off.asLong() >= Files.size(payloadDir.resolve(UpdatePayload.USR_IMG))) {
      throw new IOException(
          pj
              + ": "
              + UpdatePayload.JSON_USR_HASH_OFFSET
              + " "
              + off.asLong()
              + " is not inside "
              + UpdatePayload.USR_IMG);
    }
    return new UpdatePayload(name, version, ch, arch, rootHash, off.asLong(), entries);
  }

  private static String text(JsonNode p, String field, Path pj, String pattern) throws IOException {
    JsonNode n = p.get(field);
    if (n == null || !n.isTextual() || !n.asText().matches(pattern)) {
      throw new IOException(
          pj + ": " + field + ": expected a string matching " + pattern + ", found " + n);
    }
    return n.asText();
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(Path f) throws IOException {
    MessageDigest md = digest();
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
