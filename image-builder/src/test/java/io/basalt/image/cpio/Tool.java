package io.basalt.image.cpio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a reference tool with a timeout and captures its output (test helper). */
final class Tool {
  final int exit;
  final String out;
  final byte[] outBytes;
  final String err;

  private Tool(int exit, byte[] out, String err) {
    this.exit = exit;
    this.outBytes = out;
    this.out = new String(out, StandardCharsets.UTF_8);
    this.err = err;
  }

  static Tool run(String... cmd) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(List.of(cmd));
    pb.environment().put("LC_ALL", "C.UTF-8");
    pb.environment().put("TZ", "UTC");
    Process p = pb.start();
    try {
      p.getOutputStream().close();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Thread o = drain(p.getInputStream(), out);
      Thread e = drain(p.getErrorStream(), err);
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        throw new AssertionError(String.join(" ", cmd) + ": timed out");
      }
      o.join(10_000);
      e.join(10_000);
      return new Tool(p.exitValue(), out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }

  /** Runs {@code cmd} and fails the test unless it exits 0. */
  static Tool ok(String... cmd) throws IOException, InterruptedException {
    Tool t = run(cmd);
    if (t.exit != 0) {
      throw new AssertionError(String.join(" ", cmd) + " exited " + t.exit + ":\n" + t.out + t.err);
    }
    return t;
  }

  private static Thread drain(InputStream in, ByteArrayOutputStream to) {
    Thread t = new Thread(() -> {
      try (in) {
        in.transferTo(to);
      } catch (IOException ignored) {
        // the process died; its exit code tells
      }
    });
    t.start();
    return t;
  }
}
