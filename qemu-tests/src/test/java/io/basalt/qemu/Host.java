package io.basalt.qemu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs reference host tools for tests, failing with their output when they fail. */
final class Host {
  private Host() {}

  static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException(List.of(cmd) + " timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(List.of(cmd) + " failed with exit " + p.exitValue() + ":\n" + out);
    }
    return out;
  }

  /**
   * Copies {@code from} to {@code to} (replacing it) keeping holes: a built disk.raw is 2.5 GB long
   * with 0.36 GB of data, and a plain {@code Files.copy} writes every zero of it. Test runs copy
   * the disk several times; dense copies filled the CI machine's disk.
   *
   * @throws IOException if cp fails
   */
  static void sparseCopy(Path from, Path to) throws IOException, InterruptedException {
    run("cp", "--sparse=always", "--reflink=auto", "-f", "--", from.toString(), to.toString());
  }

  /** Bytes of disk that {@code file} takes (its allocated 512-byte blocks), from stat(1). */
  static long allocatedBytes(Path file) throws IOException, InterruptedException {
    return 512 * Long.parseLong(run("stat", "-c", "%b", "--", file.toString()).strip());
  }
}
