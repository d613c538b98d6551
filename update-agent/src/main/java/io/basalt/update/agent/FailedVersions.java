package io.basalt.update.agent;

import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The versions whose boot never reached boot-complete, one per line in {@code
 * /var/lib/basalt/failed-versions}; written through a temp file and an atomic move. Not
 * thread-safe.
 */
final class FailedVersions {

  private final Path file;

  /** Uses {@code stateDir/failed-versions}. */
  public FailedVersions(Path stateDir) {
    this.file = stateDir.resolve("failed-versions");
  }

  /**
   * The recorded versions.
   *
   * @throws IOException if the file exists but cannot be read
   */
  public Set<String> read() throws IOException {
    try {
      Set<String> out = new TreeSet<>();
      for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!l.isBlank()) {
          out.add(l.strip());
        }
      }
      return out;
    } catch (NoSuchFileException e) {
      return new TreeSet<>();
    }
  }

  /**
   * Records a version as failed (idempotent).
   *
   * @return true when it was not recorded before
   * @throws IOException if the file cannot be written
   */
  public boolean add(String version) throws IOException {
    Set<String> s = read();
    if (!s.add(version)) {
      return false;
    }
    AtomicFiles.write(file, tmp -> Files.write(tmp, List.copyOf(s), StandardCharsets.UTF_8));
    return true;
  }
}
