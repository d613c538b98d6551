package io.basalt.host;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One Basalt boot loader entry on the ESP (Boot Loader Specification type 1): its file name {@code
 * loader/entries/basalt-<version>-<slot>[+<left>[-<done>]].conf} with systemd-boot's boot counter,
 * its text, and the slot's kernel and initramfs paths. {@code triesLeft} is null for an entry
 * without a counter (blessed, or never counted); {@code triesDone} is null when the name has no
 * {@code -<done>} part. Immutable, thread-safe.
 *
 * @param version the image version the entry boots
 * @param slot the USR slot, {@code A} or {@code B}
 * @param triesLeft boots left before the loader gives up on the entry, or null
 * @param triesDone boots tried so far, or null
 */
public record BootEntry(String version, String slot, Integer triesLeft, Integer triesDone) {

  /** Tries a new entry gets before systemd-boot gives up on it (the "+3" in the file name). */
  public static final int TRIES = 3;

  /** The entries folder, relative to the ESP root. */
  public static final String ENTRIES_DIR = "loader/entries";

  private static final Pattern NAME =
      Pattern.compile("basalt-(.+)-([AB])(?:\\+(\\d+)(?:-(\\d+))?)?\\.conf");

  /**
   * Checks the fields.
   *
   * @throws IllegalArgumentException when the slot is not A or B, or a counter is negative
   */
  public BootEntry {
    Objects.requireNonNull(version, "version");
    if (!"A".equals(slot) && !"B".equals(slot)) {
      throw new IllegalArgumentException("slot must be A or B, found " + slot);
    }
    if ((triesLeft != null && triesLeft < 0) || (triesDone != null && triesDone < 0)) {
      throw new IllegalArgumentException(
          "boot counter must not be negative, found +" + triesLeft + "-" + triesDone);
    }
    if (triesLeft == null && triesDone != null) {
      throw new IllegalArgumentException("tries done (" + triesDone + ") without tries left");
    }
  }

  /** The entry a new install writes: {@link #TRIES} tries left, none done. */
  public static BootEntry fresh(String version, String slot) {
    return new BootEntry(version, slot, TRIES, null);
  }

  /** Parses an entry file name; empty when it is not a Basalt entry. */
  public static Optional<BootEntry> parse(String fileName) {
    Matcher m = NAME.matcher(fileName);
    if (!m.matches()) {
      return Optional.empty();
    }
    Integer left = m.group(3) == null ? null : Integer.valueOf(m.group(3));
    Integer done = m.group(4) == null ? null : Integer.valueOf(m.group(4));
    return Optional.of(new BootEntry(m.group(1), m.group(2), left, done));
  }

  /** The file name, {@code basalt-<version>-<slot>[+<left>[-<done>]].conf}. */
  public String fileName() {
    String counter =
        triesLeft == null ? "" : "+" + triesLeft + (triesDone == null ? "" : "-" + triesDone);
    return "basalt-" + version + "-" + slot + counter + ".conf";
  }

  /** Whether the loader still boots it: no counter, or tries left. */
  public boolean bootable() {
    return triesLeft == null || triesLeft > 0;
  }

  /** Whether the entry was blessed (no counter any more). */
  public boolean blessed() {
    return triesLeft == null;
  }

  /**
   * The same entry with no tries left ({@code +0-N}, N at least 1): it sorts after every bootable
   * entry, so the loader boots the other slot (systemd-boot's boot counting).
   */
  public BootEntry markedBad() {
    int done = (triesDone == null ? 0 : triesDone) + (triesLeft == null ? 0 : triesLeft);
    return new BootEntry(version, slot, 0, Math.max(done, 1));
  }

  /** The entry text: title, version, the slot's kernel and initramfs, and {@code options}. */
  public String text(String options) {
    return "title Basalt "
        + version
        + " ("
        + slot
        + ")\n"
        + "version "
        + version
        + "\n"
        + "linux /"
        + kernelPath(slot)
        + "\n"
        + "initrd /"
        + initramfsPath(slot)
        + "\n"
        + "options "
        + options
        + "\n";
  }

  /** The slot's kernel, relative to the ESP root: {@code basalt/<slot>/vmlinuz}. */
  public static String kernelPath(String slot) {
    return "basalt/" + slot + "/vmlinuz";
  }

  /** The slot's initramfs, relative to the ESP root: {@code basalt/<slot>/initramfs}. */
  public static String initramfsPath(String slot) {
    return "basalt/" + slot + "/initramfs";
  }

  /** The value of the {@code options} line of an entry text; empty when there is none. */
  public static Optional<String> options(String entryText) {
    for (String l : entryText.lines().toList()) {
      String t = l.strip();
      if (t.startsWith("options ") || t.startsWith("options\t")) {
        return Optional.of(t.substring(8).strip());
      }
    }
    return Optional.empty();
  }
}
