package io.basalt.signing.tuf.repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stages an image build's update payload directory ({@code out/<image>/update/}: {@code usr.img},
 * {@code vmlinuz}, {@code initramfs}, {@code payload.json}) as TUF targets
 * {@code CHANNEL/ARCH/VERSION/FILE} with the custom metadata the update agent reads
 * ({@code version}, {@code channel}, {@code arch}, {@code name}; on {@code usr.img} also
 * {@code usr_root_hash} and {@code usr_hash_offset}). Every file's size and sha256 are checked
 * against {@code payload.json} first. Stateless; thread-safe.
 */
public final class PayloadPublisher {

  /** The payload files, in the order they are staged. */
  public static final List<String> FILES = List.of("usr.img", "vmlinuz", "initramfs");

  private PayloadPublisher() {}

  /**
   * Stages the payload's targets (call {@link Repository#publish()} afterwards to sign them).
   *
   * @param channel the channel to publish on, or null for the one in {@code payload.json}
   * @return the staged target paths
   * @throws IOException naming {@code payload.json} and the field, or the file, when the payload
   *     is incomplete, malformed or its files do not match their recorded size/sha256
   */
  public static List<String> stage(Repository repo, String role, Path payloadDir, String channel) throws IOException {
    Path pj = payloadDir.resolve("payload.json");
    if (!Files.isRegularFile(pj)) {
      throw new NoSuchFileException(pj.toString(), null, "not an update payload directory (no payload.json; expected out/<image>/update)");
    }
    JsonNode p;
    try {
      p = new ObjectMapper().readTree(Files.readAllBytes(pj));
    } catch (IOException e) {
      throw new IOException(pj + ": not valid JSON: " + e.getMessage(), e);
    }
    String name = text(p, "name", pj, "[a-z0-9-]{1,63}");
    String version = text(p, "version", pj, "[0-9A-Za-z.+~_-]+");
    String arch = text(p, "arch", pj, "[a-z0-9_-]+");
    String ch = channel != null ? channel : text(p, "channel", pj, "[a-z0-9-]+");
    if (!ch.matches("[a-z0-9][a-z0-9-]*")) {
      throw new IOException("--channel: expected [a-z0-9-], found \"" + ch + "\"");
    }
    String rootHash = text(p, "usrRootHash", pj, "[0-9a-f]{64}");
    JsonNode off = p.get("usrHashOffset");
    if (off == null || !off.canConvertToLong() || !off.isIntegralNumber() || off.asLong() <= 0 || off.asLong() % 4096 != 0) {
      throw new IOException(pj + ": usrHashOffset: expected a positive multiple of 4096, found " + off);
    }
    JsonNode files = p.get("files");
    for (String f : FILES) {
      JsonNode e = files == null ? null : files.get(f);
      if (e == null || !e.path("size").canConvertToLong() || !e.path("sha256").isTextual()) {
        throw new IOException(pj + ": files." + f + ": expected {\"size\": N, \"sha256\": HEX}, found " + e);
      }
      Path file = payloadDir.resolve(f);
      if (!Files.isRegularFile(file)) {
        throw new NoSuchFileException(file.toString(), null, "listed in payload.json but missing");
      }
      long size = Files.size(file);
      if (size != e.get("size").asLong()) {
        throw new IOException(file + ": " + size + " bytes, payload.json says " + e.get("size").asLong());
      }
      String sha = sha256(file);
      if (!sha.equals(e.get("sha256").asText())) {
        throw new IOException(file + ": sha256 " + sha + ", payload.json says " + e.get("sha256").asText());
      }
    }
    if (off.asLong() >= Files.size(payloadDir.resolve("usr.img"))) {
      throw new IOException(pj + ": usrHashOffset " + off.asLong() + " is not inside usr.img");
    }
    List<String> staged = new ArrayList<>();
    for (String f : FILES) {
      Map<String, Object> custom = new LinkedHashMap<>();
      custom.put("version", version);
      custom.put("channel", ch);
      custom.put("arch", arch);
      custom.put("name", name);
      if (f.equals("usr.img")) {
        custom.put("usr_root_hash", rootHash);
        custom.put("usr_hash_offset", off.asLong());
      }
      String target = ch + "/" + arch + "/" + version + "/" + f;
      repo.addTarget(role, target, payloadDir.resolve(f), custom);
      staged.add(target);
    }
    return staged;
  }

  private static String text(JsonNode p, String field, Path pj, String pattern) throws IOException {
    JsonNode n = p.get(field);
    if (n == null || !n.isTextual() || !n.asText().matches(pattern)) {
      throw new IOException(pj + ": " + field + ": expected a string matching " + pattern + ", found " + n);
    }
    return n.asText();
  }

  private static String sha256(Path f) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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
