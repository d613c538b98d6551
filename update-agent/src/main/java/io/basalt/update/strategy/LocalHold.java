package io.basalt.update.strategy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The local reboot inhibitor set by {@code basaltctl lock hold [--reason]} and cleared by {@code
 * basaltctl lock release}: a small JSON file {@code reboot-hold.json} in the agent's state
 * directory, so it survives reboots. Written with a temp file and an atomic move. Thread-safe as
 * far as the file system is (each call is one read or one atomic replace).
 */
public final class LocalHold {

  /** File name inside the state directory. */
  public static final String FILE = "reboot-hold.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;

  /** A hold kept in {@code stateDir} (for example {@code /var/lib/basalt}). */
  public LocalHold(Path stateDir) {
    this.file = stateDir.resolve(FILE);
  }

  /**
   * The current hold.
   *
   * @param reason why reboots are held (may be empty)
   * @param since when the hold was set
   */
  public record Hold(String reason, Instant since) {}

  /** The file the hold lives in. */
  public Path file() {
    return file;
  }

  /**
   * Sets (or replaces) the hold.
   *
   * @throws IOException if the state directory cannot be written
   */
  public void hold(String reason, Instant now) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("reason", reason == null ? "" : reason);
    n.put("since", now.toString());
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
  }

  /**
   * Clears the hold; returns whether there was one.
   *
   * @throws IOException if the file cannot be deleted
   */
  public boolean release() throws IOException {
    boolean deleted = Files.deleteIfExists(file);
    if (deleted) {
      AtomicFiles.fsyncDirectory(file.toAbsolutePath().getParent()); // the release survives a crash
    }
    return deleted;
  }

  /**
   * The current hold, if any. A file that cannot be parsed still holds reboots back (its reason
   * says so): an inhibitor must fail closed.
   *
   * @throws IOException if the file exists but cannot be read
   */
  public Optional<Hold> current() throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(bytes);
      Instant since = Instant.parse(n.path("since").asText());
      return Optional.of(new Hold(n.path("reason").asText(""), since));
    } catch (IOException | DateTimeParseException e) {
      return Optional.of(
          new Hold("unreadable hold file " + file + " (" + e.getMessage() + ")", Instant.EPOCH));
    }
  }
}
