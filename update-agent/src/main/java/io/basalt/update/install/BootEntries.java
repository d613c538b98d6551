package io.basalt.update.install;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Basalt's Boot Loader Specification type 1 entries on the ESP ({@code loader/entries/
 * basalt-VERSION-SLOT[+LEFT[-DONE]].conf}, boot counting as systemd-boot does it) and the slot
 * kernels under {@code basalt/SLOT/}. Writes go to a temp file in the same directory, are fsynced,
 * renamed atomically, and the directory is fsynced. Not thread-safe.
 */
public final class BootEntries {

  /** Tries a fresh entry gets (boot contract: +3). */
  public static final int TRIES = 3;

  private static final Pattern NAME = Pattern.compile("basalt-(.+)-([AB])(?:\\+(\\d+)(?:-(\\d+))?)?\\.conf");

  /** One entry file. {@code triesLeft} is null for an entry without a counter (blessed or never counted). Immutable. */
  public record Entry(Path file, String version, String slot, Integer triesLeft, Integer triesDone) {
    /** Whether the loader still boots it: no counter, or tries left. */
    public boolean bootable() {
      return triesLeft == null || triesLeft > 0;
    }

    /** Whether the entry was blessed (no counter any more). */
    public boolean blessed() {
      return triesLeft == null;
    }
  }

  private final Path esp;

  /** Uses the ESP mounted at {@code esp}. */
  public BootEntries(Path esp) {
    this.esp = esp;
  }

  /** The ESP root. */
  public Path esp() {
    return esp;
  }

  /** {@code loader/entries}. */
  public Path entriesDir() {
    return esp.resolve("loader").resolve("entries");
  }

  /**
   * Every Basalt entry, sorted by file name.
   *
   * @throws IOException if the directory cannot be listed
   */
  public List<Entry> list() throws IOException {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(entriesDir())) {
      return out;
    }
    try (Stream<Path> s = Files.list(entriesDir())) {
      for (Path p : s.sorted().toList()) {
        parse(p).ifPresent(out::add);
      }
    }
    return out;
  }

  /** Parses an entry file name. */
  public static Optional<Entry> parse(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    if (!m.matches()) {
      return Optional.empty();
    }
    Integer left = m.group(3) == null ? null : Integer.valueOf(m.group(3));
    Integer done = m.group(4) == null ? null : Integer.valueOf(m.group(4));
    return Optional.of(new Entry(p, m.group(1), m.group(2), left, done));
  }

  /**
   * The entries of one slot.
   *
   * @throws IOException if the directory cannot be listed
   */
  public List<Entry> ofSlot(String slot) throws IOException {
    return list().stream().filter(e -> e.slot().equals(slot)).toList();
  }

  /**
   * Reads the {@code options} line of an entry.
   *
   * @throws IOException if the file cannot be read or has no options line
   */
  public static String options(Entry e) throws IOException {
    for (String l : Files.readAllLines(e.file(), StandardCharsets.UTF_8)) {
      String t = l.strip();
      if (t.startsWith("options ") || t.startsWith("options\t")) {
        return t.substring(8).strip();
      }
    }
    throw new IOException(e.file() + ": no options line");
  }

  /** The entry text per the boot contract. */
  public static String entryText(String version, String slot, String options) {
    return "title Basalt " + version + " (" + slot + ")\n"
        + "version " + version + "\n"
        + "linux /basalt/" + slot + "/vmlinuz\n"
        + "initrd /basalt/" + slot + "/initramfs\n"
        + "options " + options + "\n";
  }

  /**
   * Writes {@code basalt-VERSION-SLOT+3.conf} (temp file, fsync, atomic rename, directory fsync).
   *
   * @return the entry file
   * @throws IOException on write failure (no entry is left half-written)
   */
  public Path writeEntry(String version, String slot, String options) throws IOException {
    Path f = entriesDir().resolve("basalt-" + version + "-" + slot + "+" + TRIES + ".conf");
    writeAtomically(f, entryText(version, slot, options).getBytes(StandardCharsets.UTF_8));
    return f;
  }

  /**
   * Deletes entries (a slot's stale ones before the slot is overwritten), then fsyncs the directory.
   *
   * @throws IOException if one cannot be deleted
   */
  public void delete(List<Entry> entries) throws IOException {
    for (Entry e : entries) {
      Files.deleteIfExists(e.file());
    }
    if (!entries.isEmpty()) {
      fsyncDir(entriesDir());
    }
  }

  /**
   * Renames an entry so the loader treats it as having no tries left ({@code +0-N}): it sorts
   * after every bootable entry (systemd-boot's boot counting), so the other slot becomes the
   * default; used by {@code basaltctl rollback}.
   *
   * @return the new file
   * @throws IOException if the rename fails
   */
  public Path markBad(Entry e) throws IOException {
    int done = (e.triesDone() == null ? 0 : e.triesDone()) + (e.triesLeft() == null ? 0 : e.triesLeft());
    Path target = e.file().resolveSibling("basalt-" + e.version() + "-" + e.slot() + "+0-" + Math.max(done, 1) + ".conf");
    Files.move(e.file(), target, StandardCopyOption.ATOMIC_MOVE);
    fsyncDir(target.getParent());
    return target;
  }

  /**
   * Copies a file into the ESP: temp file, fsync, atomic rename, directory fsync.
   *
   * @throws IOException on failure
   */
  public void copyIn(Path source, String espRelative) throws IOException {
    Path target = esp.resolve(espRelative);
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
    fsync(tmp);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    fsyncDir(target.getParent());
  }

  static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    fsync(tmp);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    fsyncDir(target.getParent());
  }

  static void fsync(Path f) throws IOException {
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  static void fsyncDir(Path dir) {
    // Linux allows fsync on a directory opened read-only; other file systems (jimfs) may refuse.
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // best effort: vfat on Linux syncs the directory entry with the file's fsync
    }
  }
}
