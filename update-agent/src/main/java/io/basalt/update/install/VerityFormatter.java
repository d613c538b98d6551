package io.basalt.update.install;

import io.basalt.host.ChunkIndex;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Rebuilds a USR image's dm-verity superblock and hash tree from its data, so a delta update need
 * not download them: the result must be byte for byte what the builder wrote (the assembled file's
 * sha256 is checked against the signed one afterwards, and the slot against the signed root hash).
 */
@FunctionalInterface
public interface VerityFormatter {

  /**
   * Writes the superblock and hash tree of {@code data}, which holds exactly the {@code
   * verity.hashOffset()} data bytes, to the new file {@code hashArea}: the bytes the image has from
   * {@code verity.hashOffset()} on. {@code data} is only read.
   *
   * @throws IOException naming the file when the tree cannot be made
   */
  void format(Path data, Path hashArea, ChunkIndex.Verity verity) throws IOException;

  /**
   * {@code veritysetup format --data-blocks=N/4096 --salt=S --uuid=U DATA HASH_AREA} with the
   * format's fixed parameters spelled out (version 1, sha256, 4096-byte blocks): the tool the
   * builder's tree is byte-identical to (image-builder {@code VerityIT}); a hash device of its own
   * holds what a combined image has at its hash offset (update-agent {@code VerityIT}).
   */
  static VerityFormatter veritysetup() {
    return (data, hashArea, v) -> {
      String img = data.toAbsolutePath().toString();
      java.nio.file.Files.deleteIfExists(hashArea);
      ProcessBuilder pb =
          new ProcessBuilder(
                  "veritysetup",
                  "format",
                  "--format=1",
                  "--hash=sha256",
                  "--data-block-size=4096",
                  "--hash-block-size=4096",
                  "--data-blocks=" + v.hashOffset() / 4096,
                  "--salt=" + (v.salt().isEmpty() ? "-" : v.salt()),
                  "--uuid=" + v.uuid(),
                  img,
                  hashArea.toAbsolutePath().toString())
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
    };
  }
}
