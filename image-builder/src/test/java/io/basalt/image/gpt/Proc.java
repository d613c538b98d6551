package io.basalt.image.gpt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a reference tool with a timeout, capturing stdout (bytes) and stderr; for integration tests. */
public final class Proc {
  public final int exit;
  public final byte[] out;
  public final String err;

  private Proc(int exit, byte[] out, String err) {
    this.exit = exit;
    this.out = out;
    this.err = err;
  }

  public String outText() {
    return new String(out, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "exit " + exit + "\nstdout:\n" + outText() + "\nstderr:\n" + err;
  }

  /** Runs {@code cmd} (give absolute paths), killing it after {@code seconds}. */
  public static Proc run(long seconds, String... cmd) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(List.of(cmd));
    pb.environment().put("LC_ALL", "C.UTF-8");
    pb.environment().put("MTOOLS_SKIP_CHECK", "1");
    Process p = pb.start();
    try {
      p.getOutputStream().close();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Thread to = pump(p.getInputStream(), out);
      Thread te = pump(p.getErrorStream(), err);
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        throw new IOException(String.join(" ", cmd) + ": timed out after " + seconds + " s");
      }
      to.join();
      te.join();
      return new Proc(p.exitValue(), out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }

  private static Thread pump(InputStream in, ByteArrayOutputStream to) {
    Thread t = new Thread(() -> {
      try {
        in.transferTo(to);
      } catch (IOException ignored) {
        // the process died; what was read is kept
      }
    });
    t.start();
    return t;
  }
}
