package io.basalt.image.base;

import io.basalt.image.spec.ImageSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Makes a Debian base tree as a tar file from the spec's Debian inputs (the real one runs
 * mmdebstrap; tests inject their own). Implementations must be thread-safe.
 */
@FunctionalInterface
public interface BootstrapRunner {

  /** The real runner: {@code mmdebstrap} from PATH. */
  static BootstrapRunner mmdebstrap() {
    return new MmdebstrapRunner();
  }

  /**
   * Writes the base tree for {@code debian} as a tar archive at {@code tarOut} (which does not
   * exist yet), reporting progress lines to {@code log}.
   *
   * @throws IOException if the tree cannot be made; the message says what failed
   * @throws InterruptedException if interrupted while waiting for a child process
   */
  void bootstrap(ImageSpec.Debian debian, Path tarOut, Consumer<String> log)
      throws IOException, InterruptedException;
}
