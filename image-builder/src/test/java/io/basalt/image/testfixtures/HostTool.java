package io.basalt.image.testfixtures;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One finished run of a reference Linux tool (sgdisk, cpio, veritysetup, mtools, unsquashfs …) that
 * an integration test uses as its oracle: exit code, stdout as bytes, stderr as text. The tool runs
 * with stdin closed, {@code LC_ALL=C.UTF-8}, {@code TZ=UTC} and {@code MTOOLS_SKIP_CHECK=1} unless
 * the caller overrides them, and is killed when it outlives its timeout. Immutable; the static
 * methods are thread-safe.
 */
public final class HostTool {
  private static final Map<String, String> ENVIRONMENT =
      Map.of("LC_ALL", "C.UTF-8", "TZ", "UTC", "MTOOLS_SKIP_CHECK", "1");

  /** Exit code of the tool. */
  public final int exit;

  /** Everything the tool wrote to stdout. */
  public final byte[] out;

  /** Everything the tool wrote to stderr, as UTF-8. */
  public final String err;

  private final List<String> command;

  private HostTool(List<String> command, int exit, byte[] out, String err) {
    this.command = command;
    this.exit = exit;
    this.out = out;
    this.err = err;
  }

  /** Stdout as UTF-8 text. */
  public String outText() {
    return new String(out, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return String.join(" ", command)
        + ": exit "
        + exit
        + "\nstdout:\n"
        + outText()
        + "\nstderr:\n"
        + err;
  }

  /**
   * Runs {@code cmd} with the default environment in the current directory.
   *
   * @throws IOException when the tool cannot be started or outlives {@code seconds}
   */
  public static HostTool run(long seconds, String... cmd) throws IOException, InterruptedException {
    return run(seconds, Map.of(), null, cmd);
  }

  /**
   * Runs {@code cmd} in {@code dir} (null: the current directory) with {@code env} on top of the
   * default environment.
   *
   * @throws IOException when the tool cannot be started or outlives {@code seconds}
   */
  public static HostTool run(long seconds, Map<String, String> env, Path dir, String... cmd)
      throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>();
    if (dir != null) {
      // A shell changes directory, so the test's paths never go through java.io.File.
      argv.addAll(List.of("sh", "-c", "cd \"$0\" && exec \"$@\"", dir.toString()));
    }
    argv.addAll(List.of(cmd));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(ENVIRONMENT);
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      p.getOutputStream().close();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      Thread o = drain(p.getInputStream(), out);
      Thread e = drain(p.getErrorStream(), err);
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        throw new IOException(String.join(" ", cmd) + ": timed out after " + seconds + " s");
      }
      o.join();
      e.join();
      return new HostTool(
          List.of(cmd), p.exitValue(), out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * Runs {@code cmd} like {@link #run(long, String...)} and fails the test unless it exits 0.
   *
   * @throws AssertionError naming the command, its exit code and its output when it fails
   */
  public static HostTool ok(long seconds, String... cmd) throws IOException, InterruptedException {
    return ok(seconds, Map.of(), null, cmd);
  }

  /**
   * Runs {@code cmd} like {@link #run(long, Map, Path, String...)} and fails the test unless it
   * exits 0.
   *
   * @throws AssertionError naming the command, its exit code and its output when it fails
   */
  public static HostTool ok(long seconds, Map<String, String> env, Path dir, String... cmd)
      throws IOException, InterruptedException {
    HostTool t = run(seconds, env, dir, cmd);
    if (t.exit != 0) {
      throw new AssertionError(t.toString());
    }
    return t;
  }

  private static Thread drain(InputStream in, ByteArrayOutputStream to) {
    Thread t =
        new Thread(
            () -> {
              try (in) {
                in.transferTo(to);
              } catch (IOException ignored) {
                // the process died; its exit code tells and what was read is kept
              }
            });
    t.start();
    return t;
  }
}
