package io.basalt.qemu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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
}
