package io.basalt.update.install;

import io.basalt.host.AtomicFiles;
import io.basalt.host.BootEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The mounted EFI system partition as the agent changes it: Basalt's boot entries under {@code
 * loader/entries} (name, text and boot counter are the host contract's {@link BootEntry}) and the
 * slot kernels under {@code basalt/SLOT/}. Every write goes through {@link AtomicFiles} (temp file,
 * fsync, atomic rename, fsync of the renamed file, folder fsync). Not thread-safe.
 */
public final class Esp {

  /** One entry file and what its name says. Immutable. */
  public record Entry(Path file, BootEntry boot) {
    /** The image version the entry boots. */
    public String version() {
      return boot.version();
    }

    /** The slot, A or B. */
    public String slot() {
      return boot.slot();
    }

    /** Whether the loader still boots it: no counter, or tries left. */
    public boolean bootable() {
      return boot.bootable();
    }

    /** Whether the entry was blessed (no counter any more). */
    public boolean blessed() {
      return boot.blessed();
    }
  }

  private final Path root;

  /** Uses the ESP mounted at {@code root}. */
  public Esp(Path root) {
    this.root = root;
  }

  /** {@code loader/entries}. */
  public Path entriesDir() {
    return root.resolve(BootEntry.ENTRIES_DIR);
  }

  /**
   * Every Basalt entry, sorted by file name.
   *
   * @throws IOException if the folder cannot be listed
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

  /** Parses an entry file's name; empty when it is not a Basalt entry. */
  static Optional<Entry> parse(Path p) {
    return BootEntry.parse(p.getFileName().toString()).map(b -> new Entry(p, b));
  }

  /**
   * The entries of one slot.
   *
   * @throws IOException if the folder cannot be listed
   */
  public List<Entry> ofSlot(String slot) throws IOException {
    return list().stream().filter(e -> e.slot().equals(slot)).toList();
  }

  /**
   * The entry file systemd-boot booted with a boot counter, when it still has that name: read from
   * the loader's {@code LoaderBootCountPath} EFI variable ({@link
   * io.basalt.host.HostPaths#LOADER_BOOT_COUNT_PATH}); systemd-bless-boot renames the file once the
   * boot is good, so an existing file means the boot is still on trial.
   *
   * @param loaderBootCountPath the variable's file under efivarfs (missing: not a counted boot)
   * @return the counted entry file, or empty
   * @throws IOException if the variable exists but cannot be read
   */
  public Optional<Path> countedBootEntry(Path loaderBootCountPath) throws IOException {
    if (!Files.isRegularFile(loaderBootCountPath)) {
      return Optional.empty();
    }
    byte[] b = Files.readAllBytes(loaderBootCountPath);
    if (b.length < 6) {
      return Optional.empty();
    }
    // efivarfs: 4 attribute bytes, then the value (a NUL-terminated UTF-16LE ESP path)
    String v = new String(b, 4, (b.length - 4) & ~1, StandardCharsets.UTF_16LE);
    int nul = v.indexOf('\0');
    String rel = (nul < 0 ? v : v.substring(0, nul)).replace('\\', '/');
    while (rel.startsWith("/")) {
      rel = rel.substring(1);
    }
    if (rel.isEmpty() || rel.contains("..")) {
      return Optional.empty();
    }
    Path f = root.resolve(rel);
    return Files.exists(f) ? Optional.of(f) : Optional.empty();
  }

  /**
   * Reads the {@code options} line of an entry.
   *
   * @throws IOException if the file cannot be read or has no options line
   */
  static String options(Entry e) throws IOException {
    return BootEntry.options(Files.readString(e.file(), StandardCharsets.UTF_8))
        .orElseThrow(() -> new IOException(e.file() + ": no options line"));
  }

  /**
   * Writes the fresh entry {@code basalt-VERSION-SLOT+3.conf}.
   *
   * @return the entry file
   * @throws IOException on write failure (no entry is left half-written)
   */
  Path writeEntry(String version, String slot, String options) throws IOException {
    BootEntry b = BootEntry.fresh(version, slot);
    Path f = entriesDir().resolve(b.fileName());
    AtomicFiles.write(f, b.text(options).getBytes(StandardCharsets.UTF_8));
    return f;
  }

  /**
   * Deletes entries (a slot's stale ones before the slot is overwritten), then fsyncs the folder.
   *
   * @throws IOException if one cannot be deleted
   */
  void delete(List<Entry> entries) throws IOException {
    for (Entry e : entries) {
      Files.deleteIfExists(e.file());
    }
    if (!entries.isEmpty()) {
      AtomicFiles.fsyncDirectory(entriesDir());
    }
  }

  /**
   * Renames an entry so the loader treats it as having no tries left ({@code +0-N}): it sorts after
   * every bootable entry (systemd-boot's boot counting), so the other slot becomes the default;
   * used by {@code basaltctl rollback}.
   *
   * @return the new file
   * @throws IOException if the rename fails
   */
  public Path markBad(Entry e) throws IOException {
    Path target = e.file().resolveSibling(e.boot().markedBad().fileName());
    AtomicFiles.rename(e.file(), target);
    return target;
  }

  /**
   * Copies a file into the ESP ({@code espRelative}, e.g. {@code basalt/B/vmlinuz}).
   *
   * @throws IOException on failure (the old file, if any, is then unchanged)
   */
  void copyIn(Path source, String espRelative) throws IOException {
    AtomicFiles.copy(source, root.resolve(espRelative));
  }
}
