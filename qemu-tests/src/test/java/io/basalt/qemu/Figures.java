package io.basalt.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The figures a long QEMU scenario prints: each line goes to standard output and is appended to
 * {@code WORK/figures.txt}, prefixed with the scenario's name. Stateless.
 */
final class Figures {
  private Figures() {}

  /** Prints {@code format} with {@code args} as one line of {@code scenario}'s figures. */
  static void print(String scenario, Path work, String format, Object... args) {
    String line = scenario + ": " + String.format(format, args);
    System.out.println(line);
    try {
      Files.writeString(
          work.resolve("figures.txt"),
          line + "\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      // the console has it
    }
  }

  /** The host's 1-minute load average, or "?" (printed beside figures taken on a shared host). */
  static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "?";
    }
  }

  /** Whole seconds since {@code nanos} ({@link System#nanoTime}). */
  static long secondsSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000_000L;
  }
}
