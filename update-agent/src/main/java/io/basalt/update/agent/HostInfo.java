package io.basalt.update.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the running system says about itself on the kernel command line (the boot contract):
 * {@code basalt.version}, {@code basalt.slot}, {@code mount.usr=PARTUUID=}, {@code basalt.live}.
 * Immutable.
 */
public record HostInfo(String version, String slot, String usrPartuuid, boolean live, String cmdline) {

  /**
   * Reads {@code /proc/cmdline} (or the given file).
   *
   * @throws IOException if the file cannot be read or lacks {@code basalt.version=}
   */
  public static HostInfo read(Path procCmdline) throws IOException {
    return parse(Files.readString(procCmdline, StandardCharsets.UTF_8).strip(), procCmdline.toString());
  }

  /**
   * Parses a kernel command line.
   *
   * @throws IOException naming {@code where} when {@code basalt.version=} is missing
   */
  public static HostInfo parse(String cmdline, String where) throws IOException {
    Map<String, String> args = arguments(cmdline);
    String version = args.get("basalt.version");
    if (version == null || version.isEmpty()) {
      throw new IOException(where + ": no basalt.version= on the kernel command line; not a Basalt boot?");
    }
    boolean live = args.containsKey("basalt.live");
    String slot = args.get("basalt.slot");
    if (!live && (slot == null || !(slot.equals("A") || slot.equals("B")))) {
      throw new IOException(where + ": basalt.slot= must be A or B on a disk boot, found " + slot);
    }
    String usr = args.getOrDefault("mount.usr", "");
    String partuuid = usr.startsWith("PARTUUID=") ? usr.substring("PARTUUID=".length()).toLowerCase(java.util.Locale.ROOT) : null;
    return new HostInfo(version, live ? null : slot, partuuid, live, cmdline);
  }

  /** The command line as key → value (flags map to ""), later occurrences winning, in order. */
  public static Map<String, String> arguments(String cmdline) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String w : cmdline.strip().split("\\s+")) {
      if (w.isEmpty()) {
        continue;
      }
      int eq = w.indexOf('=');
      out.put(eq < 0 ? w : w.substring(0, eq), eq < 0 ? "" : w.substring(eq + 1));
    }
    return out;
  }

  /** The other USR slot. */
  public Optional<String> otherSlot() {
    return slot == null ? Optional.empty() : Optional.of(slot.equals("A") ? "B" : "A");
  }
}
