package io.basalt.image.base;

import io.basalt.image.spec.ImageSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs {@code mmdebstrap} to write the base tree as a tar (ownership, device nodes and xattrs
 * survive even when run without root, in unshare mode). Thread-safe.
 */
final class MmdebstrapRunner implements BootstrapRunner {
  private final String executable;

  /** Runs the {@code mmdebstrap} found on PATH. */
  MmdebstrapRunner() {
    this("mmdebstrap");
  }

  MmdebstrapRunner(String executable) {
    this.executable = executable;
  }

  /** The mmdebstrap command line for {@code debian} writing {@code tarOut}. */
  public List<String> command(ImageSpec.Debian debian, Path tarOut) {
    List<String> cmd = new ArrayList<>();
    cmd.add(executable);
    cmd.add("--variant=" + debian.variant());
    cmd.add("--format=tar");
    cmd.add("--architectures=amd64");
    cmd.add("--include=" + String.join(",", debian.packages()));
    // update-alternatives (openjdk's postinst) needs the man1 folder even when man pages are
    // filtered out by path-exclude.
    cmd.add("--essential-hook=mkdir -p \"$1/usr/share/man/man1\"");
    for (String p : debian.pathExclude()) {
      cmd.add("--dpkgopt=path-exclude=" + p);
    }
    for (String p : debian.pathInclude()) {
      cmd.add("--dpkgopt=path-include=" + p);
    }
    cmd.add(debian.suite());
    cmd.add(tarOut.toString());
    cmd.add(debian.mirror());
    return cmd;
  }

  @Override
  public void bootstrap(ImageSpec.Debian debian, Path tarOut, Consumer<String> log)
      throws IOException, InterruptedException {
    List<String> cmd = command(debian, tarOut);
    log.accept("running " + String.join(" ", cmd));
    Process p;
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("LC_ALL", "C.UTF-8");
      pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
      p = pb.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run "
              + executable
              + " (install the mmdebstrap package; ./basalt build does): "
              + e.getMessage(),
          e);
    }
    Deque<String> tail = new ArrayDeque<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        log.accept(line);
        tail.addLast(line);
        if (tail.size() > 20) {
          tail.removeFirst();
        }
      }
      int rc = p.waitFor();
      if (rc != 0) {
        throw new IOException(
            executable
                + " failed with exit code "
                + rc
                + "; last output:\n  "
                + String.join("\n  ", tail));
      }
    } finally {
      if (p.isAlive()) {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }
}
