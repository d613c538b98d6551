package io.basalt.update.install;

import java.io.IOException;
import java.nio.file.Path;

/** Checks a slot's dm-verity hash tree against the signed root hash. */
@FunctionalInterface
public interface VerityVerifier {

  /**
   * Verifies every data and hash block of {@code device} (data from 0, superblock and tree at
   * {@code hashOffset}) against {@code rootHash}.
   *
   * @throws IOException naming the device when the check fails or cannot run
   */
  void verify(Path device, String rootHash, long hashOffset) throws IOException;

  /** {@code veritysetup verify --hash-offset=N DEV DEV ROOTHASH} (cryptsetup-bin). */
  static VerityVerifier veritysetup() {
    return (device, rootHash, hashOffset) -> {
      String dev = device.toAbsolutePath().toString();
      ProcessBuilder pb =
          new ProcessBuilder(
                  "veritysetup", "verify", "--hash-offset=" + hashOffset, dev, dev, rootHash)
              .redirectErrorStream(true);
      Process p = pb.start();
      String out;
      try (var in = p.getInputStream()) {
        out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      }
      int rc;
      try {
        rc = p.waitFor();
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while veritysetup verified " + dev);
      }
      if (rc != 0) {
        throw new IOException(
            dev
                + ": dm-verity check against the signed root hash "
                + rootHash
                + " failed (veritysetup exit "
                + rc
                + (out.isEmpty() ? "" : ": " + out)
                + ")");
      }
    };
  }
}
