package io.basalt.update.agent;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses human durations such as {@code 90s}, {@code 10m}, {@code 1h30m}, {@code 2d}. Stateless.
 */
public final class Durations {

  private static final Pattern PART = Pattern.compile("(\\d+)(ms|d|h|m|s)");

  private Durations() {}

  /**
   * Parses a duration.
   *
   * @param what the flag or setting name, for the error message
   * @throws IllegalArgumentException naming {@code what} if the text is not a duration
   */
  public static Duration parse(String text, String what) {
    String t = text == null ? "" : text.strip();
    if (t.matches("\\d+")) {
      return Duration.ofSeconds(Long.parseLong(t));
    }
    Matcher m = PART.matcher(t);
    Duration d = Duration.ZERO;
    int pos = 0;
    while (pos < t.length() && m.find(pos) && m.start() == pos) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms" -> d = d.plusMillis(n);
        case "d" -> d = d.plusDays(n);
        case "h" -> d = d.plusHours(n);
        case "m" -> d = d.plusMinutes(n);
        default -> d = d.plusSeconds(n);
      }
      pos = m.end();
    }
    if (t.isEmpty() || pos != t.length()) {
      throw new IllegalArgumentException(
          what + ": '" + text + "' is not a duration; expected e.g. 90s, 10m, 1h30m");
    }
    return d;
  }
}
