package io.basalt.update.strategy;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * When a machine may reboot: on some weekdays (or daily), from a local start time, for a length of
 * elapsed time, in a time zone. Written {@code "Mon,Thu 04:00 1h30m"}, {@code "Mon-Fri 22:30 3h"}
 * or {@code "daily 03:00 45m"}.
 *
 * <p>Time-zone rules: the start is a wall-clock time in the zone; the length is real elapsed time
 * (a 2h window stays 2h long on a DST night). A start that does not exist on a spring-forward day
 * (e.g. 02:30 in Europe/Berlin on the last Sunday of March) opens at the same instant the clock
 * jumps past it (03:30 local); a start that exists twice on a fall-back day opens at its first
 * occurrence only. A window may run past midnight into the next day. Immutable and thread-safe.
 */
public final class RebootWindow {

  private final Set<DayOfWeek> days;
  private final LocalTime start;
  private final Duration length;
  private final ZoneId zone;

  /**
   * A window.
   *
   * @throws IllegalArgumentException if {@code days} is empty or the length is not in (0, 7 days]
   */
  public RebootWindow(Set<DayOfWeek> days, LocalTime start, Duration length, ZoneId zone) {
    if (days.isEmpty()) {
      throw new IllegalArgumentException("reboot window: no weekday given");
    }
    if (length.isNegative() || length.isZero() || length.compareTo(Duration.ofDays(7)) > 0) {
      throw new IllegalArgumentException(
          "reboot window: length must be more than 0 and at most 7 days, got " + length);
    }
    this.days = Set.copyOf(EnumSet.copyOf(days));
    this.start = start;
    this.length = length;
    this.zone = zone;
  }

  /**
   * Parses {@code "DAYS HH:MM LENGTH"}: DAYS is {@code daily}, or weekdays ({@code Mon}..{@code
   * Sun}, full names too) separated by commas, with ranges such as {@code Mon-Fri}; LENGTH like
   * {@code 90m}, {@code 1h30m}.
   *
   * @throws IllegalArgumentException naming the part that is wrong
   */
  public static RebootWindow parse(String spec, ZoneId zone) {
    String[] parts = spec.strip().split("\\s+");
    if (parts.length != 3) {
      throw new IllegalArgumentException(
          "reboot window '"
              + spec
              + "': expected 'DAYS HH:MM LENGTH', e.g. 'Mon,Thu 04:00 1h30m' or 'daily 03:00 45m'");
    }
    Set<DayOfWeek> days = parseDays(parts[0], spec);
    LocalTime start;
    try {
      start = LocalTime.parse(parts[1].length() == 4 ? "0" + parts[1] : parts[1]);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "reboot window '" + spec + "': start '" + parts[1] + "' is not a time of day HH:MM");
    }
    Duration length = parseLength(parts[2], spec);
    return new RebootWindow(days, start, length, zone);
  }

  private static Set<DayOfWeek> parseDays(String text, String spec) {
    String t = text.toLowerCase(Locale.ROOT);
    if (t.equals("daily") || t.equals("*")) {
      return EnumSet.allOf(DayOfWeek.class);
    }
    EnumSet<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
    for (String item : t.split(",")) {
      String[] range = item.split("-");
      if (range.length == 1) {
        days.add(day(range[0], spec));
      } else if (range.length == 2) {
        DayOfWeek from = day(range[0], spec);
        DayOfWeek to = day(range[1], spec);
        for (DayOfWeek d = from; ; d = d.plus(1)) {
          days.add(d);
          if (d == to) {
            break;
          }
        }
      } else {
        throw new IllegalArgumentException(
            "reboot window '" + spec + "': bad day range '" + item + "'");
      }
    }
    return days;
  }

  private static DayOfWeek day(String s, String spec) {
    for (DayOfWeek d : DayOfWeek.values()) {
      String full = d.name().toLowerCase(Locale.ROOT);
      if (s.length() >= 3 && full.startsWith(s)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "reboot window '"
            + spec
            + "': '"
            + s
            + "' is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun or 'daily')");
  }

  private static Duration parseLength(String s, String spec) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?").matcher(s);
    if (!m.matches() || s.isEmpty()) {
      throw new IllegalArgumentException(
          "reboot window '" + spec + "': length '" + s + "' is not like 45m, 2h or 1h30m");
    }
    long h = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
    long min = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
    return Duration.ofHours(h).plusMinutes(min);
  }

  public ZoneId zone() {
    return zone;
  }

  public Duration length() {
    return length;
  }

  /** Whether {@code t} falls inside one of the window's occurrences. */
  public boolean contains(Instant t) {
    LocalDate today = t.atZone(zone).toLocalDate();
    long back = length.toDays() + 2;
    for (LocalDate d = today.minusDays(back); !d.isAfter(today.plusDays(1)); d = d.plusDays(1)) {
      if (!days.contains(d.getDayOfWeek())) {
        continue;
      }
      Instant open = opening(d);
      if (!t.isBefore(open) && t.isBefore(open.plus(length))) {
        return true;
      }
    }
    return false;
  }

  /** The first opening at or after {@code t} (the current one's start is before {@code t}). */
  public Instant nextOpening(Instant t) {
    LocalDate d = t.atZone(zone).toLocalDate().minusDays(1);
    while (true) {
      if (days.contains(d.getDayOfWeek())) {
        Instant open = opening(d);
        if (!open.isBefore(t)) {
          return open;
        }
      }
      d = d.plusDays(1);
    }
  }

  /**
   * The instant the window opens on local date {@code d} (gap: shifted forward; overlap: first).
   */
  Instant opening(LocalDate d) {
    return ZonedDateTime.ofLocal(d.atTime(start), zone, null)
        .withEarlierOffsetAtOverlap()
        .toInstant();
  }

  /** When the occurrence containing {@code t} closes, if {@code t} is inside one. */
  public Optional<Instant> closing(Instant t) {
    LocalDate today = t.atZone(zone).toLocalDate();
    for (LocalDate d = today;
        !d.isBefore(today.minusDays(length.toDays() + 2));
        d = d.minusDays(1)) {
      if (days.contains(d.getDayOfWeek())) {
        Instant open = opening(d);
        if (!t.isBefore(open) && t.isBefore(open.plus(length))) {
          return Optional.of(open.plus(length));
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    String d =
        days.size() == 7
            ? "daily"
            : days.stream()
                .sorted()
                .map(x -> x.name().charAt(0) + x.name().substring(1, 3).toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(","));
    long h = length.toHours();
    long m = length.toMinutesPart();
    return d
        + " "
        + start
        + " "
        + (h > 0 ? h + "h" : "")
        + (m > 0 || h == 0 ? m + "m" : "")
        + " "
        + zone;
  }
}
