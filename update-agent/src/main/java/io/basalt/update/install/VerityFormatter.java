package io.basalt.update.install;

import io.basalt.host.ChunkIndex;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a USR image's dm-verity superblock and hash tree over its data, in place, and says which
 * root hash that tree has: a delta update neither downloads nor trusts them, it compares the root
 * hash with the signed one. For the same data and parameters the bytes are the builder's.
 */
@FunctionalInterface
public interface VerityFormatter {

  /**
   * Reads the {@code verity.hashOffset()} data bytes of {@code image} (a slot device or a file),
   * writes the superblock and hash tree from {@code verity.hashOffset()} on, and returns the root
   * hash of that tree (64 lower-case hex digits). The data is only read. The superblock takes 512
   * bytes of its 4096-byte block; the rest of that block is left as it was (the builder's images
   * have zeros there).
   *
   * @throws IOException naming the image when the tree cannot be made
   */
  String format(Path image, ChunkIndex.Verity verity) throws IOException;

  /**
   * {@code veritysetup format --hash-offset=N --data-blocks=N/4096 --salt=S --uuid=U IMG IMG} with
   * the format's fixed parameters spelled out (version 1, sha256, 4096-byte blocks): the tool the
   * builder's tree is byte-identical to (image-builder {@code VerityIT}, update-agent {@code
   * VerityIT}); the root hash is the one it prints.
   */
  static VerityFormatter veritysetup() {
    return (image, v) -> {
      String img = image.toAbsolutePath().toString();
      ProcessBuilder pb =
          new ProcessBuilder(
                  "veritysetup",
                  "format",
                  "--format=1",
                  "--hash=sha256",
                  "--data-block-size=4096",
                  "--hash-block-size=4096",
                  "--data-blocks=" + v.hashOffset() / 4096,
                  "--hash-offset=" + v.hashOffset(),
                  "--salt=" + (v.salt().isEmpty() ? "-" : v.salt()),
                  "--uuid=" + v.uuid(),
                  img,
                  img)
              .redirectErrorStream(true);
      Process p = pb.start();
      String out;
      try (var in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
      }
      int rc;
      try {
        rc = p.waitFor();
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while veritysetup formatted " + img);
      }
      if (rc != 0) {
        throw new IOException(
            img
                + ": veritysetup format failed (exit "
                + rc
                + (out.isEmpty() ? "" : ": " + out)
                + ")");
      }
      Matcher m = Pattern.compile("(?m)^Root hash:\\s+([0-9a-f]{64})$").matcher(out);
      if (!m.find()) {
        throw new IOException(img + ": veritysetup format printed no root hash: " + out);
      }
      return m.group(1);
    };
  }
}
