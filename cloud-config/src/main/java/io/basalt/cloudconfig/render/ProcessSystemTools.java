package io.basalt.cloudconfig.render;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link SystemTools} that runs real processes with a time limit (the host's tools). Unit commands
 * are issued with {@code --no-block} by the applier, so a limit of minutes is never reached in
 * normal operation. Not thread-safe.
 */
public final class ProcessSystemTools implements SystemTools {

  private final long timeoutSeconds;

  /** With a limit of {@code timeoutSeconds} per command. */
  public ProcessSystemTools(long timeoutSeconds) {
    if (timeoutSeconds <= 0) {
      throw new IllegalArgumentException("timeoutSeconds must be positive: " + timeoutSeconds);
    }
    this.timeoutSeconds = timeoutSeconds;
  }

  @Override
  public Result run(List<String> argv, byte[] stdin) throws IOException {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try {
      try (OutputStream in = p.getOutputStream()) {
        in.write(stdin);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Thread reader =
          new Thread(
              () -> {
                try (InputStream is = p.getInputStream()) {
                  is.transferTo(out);
                } catch (IOException ignored) {
                  // The process died; its exit code tells.
                }
              });
      reader.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(argv.get(0) + " did not finish within " + timeoutSeconds + " s");
      }
      reader.join(5000);
      return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8).trim());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + argv.get(0), e);
    }
  }
}
