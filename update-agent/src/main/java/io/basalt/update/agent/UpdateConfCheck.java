package io.basalt.update.agent;

import java.io.IOException;
import java.util.List;

/**
 * Checks an {@code update.conf} text exactly as the agent loads it ({@link UpdateConfig}: keys,
 * values, durations, windows and the rules between keys), without a host. The image builder checks
 * the image's default update.conf with it, since a file the agent cannot load fails the boot health
 * check. Stateless, thread-safe.
 */
public final class UpdateConfCheck {

  private UpdateConfCheck() {}

  /**
   * Loads {@code text} as the only update.conf (no machine overrides).
   *
   * @param name the file name errors start with ({@code name:line: KEY: ...})
   * @throws IOException naming {@code name:line}, the key, what was expected and what was found,
   *     when the agent would refuse the file
   */
  public static void check(String text, String name) throws IOException {
    List<String> lines = text.lines().toList();
    UpdateConfig.from(new java.util.LinkedHashMap<>(UpdateConfig.read(lines, name)));
  }
}
