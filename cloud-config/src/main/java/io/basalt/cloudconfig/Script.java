package io.basalt.cloudconfig;

import java.util.Objects;

/**
 * A user-data script (content starting with {@code #!}), run once per boot as a transient unit.
 * Immutable and thread-safe.
 *
 * @param name a stable name for the script (e.g. {@code user-data}, {@code part-2})
 * @param content the whole script, shebang included
 */
public record Script(String name, String content) {
  public Script {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(content, "content");
  }
}
