package io.basalt.update.strategy;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host command (busctl, who, wall, systemctl) and returns its standard output; the seam
 * tests replace. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface HostCommands {

  /**
   * Runs {@code command} with {@code stdin} (may be null) as input.
   *
   * @throws java.nio.file.NoSuchFileException if the program does not exist
   * @throws IOException if it fails, times out or exits non-zero (the message carries its stderr)
   */
  String run(List<String> command, String stdin) throws IOException;

  /** The real thing: a child process with a 30 s limit. */
  static HostCommands system() {
    return (command, stdin) -> {
      Process p;
      try {
        p = new ProcessBuilder(command).redirectErrorStream(false).start();
      } catch (IOException e) {
        if (String.valueOf(e.getMessage()).contains("error=2")) {
          throw new java.nio.file.NoSuchFileException(command.get(0), null, "program not found");
        }
        throw e;
      }
      try (OutputStream in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      byte[] out = p.getInputStream().readAllBytes();
      byte[] err = p.getErrorStream().readAllBytes();
      try {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IOException(String.join(" ", command) + ": timed out");
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new InterruptedIOException(String.join(" ", command) + ": interrupted");
      }
      if (p.exitValue() != 0) {
        throw new IOException(
            String.join(" ", command)
                + " exited with "
                + p.exitValue()
                + ": "
                + new String(err, StandardCharsets.UTF_8).strip());
      }
      return new String(out, StandardCharsets.UTF_8);
    };
  }
}
