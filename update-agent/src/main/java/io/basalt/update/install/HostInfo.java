package io.basalt.update.install;

import io.basalt.host.KernelCommandLine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What the running system says about itself on the kernel command line (the boot contract): {@code
 * basalt.version}, {@code basalt.slot}, {@code mount.usr=PARTUUID=}, {@code basalt.live}.
 * Immutable.
 */
public record HostInfo(
    String version, String slot, String usrPartuuid, boolean live, String cmdline) {

  /**
   * Reads {@code /proc/cmdline} (or the given file).
   *
   * @throws IOException if the file cannot be read or lacks {@code basalt.version=}
   */
  public static HostInfo read(Path procCmdline) throws IOException {
    return parse(
        Files.readString(procCmdline, StandardCharsets.UTF_8).strip(), procCmdline.toString());
  }

  /**
   * Parses a kernel command line.
   *
   * @throws IOException naming {@code where} when {@code basalt.version=} is missing
   */
  public static HostInfo parse(String cmdline, String where) throws IOException {
    Map<String, String> args = KernelCommandLine.parse(cmdline);
    String version = args.get(KernelCommandLine.VERSION);
    if (version == null || version.isEmpty()) {
      throw new IOException(
          where + ": no basalt.version= on the kernel command line; not a Basalt boot?");
    }
    boolean live = args.containsKey(KernelCommandLine.LIVE);
    String slot = args.get(KernelCommandLine.SLOT);
    if (!live && (slot == null || !(slot.equals("A") || slot.equals("B")))) {
      throw new IOException(where + ": basalt.slot= must be A or B on a disk boot, found " + slot);
    }
    String usr = args.getOrDefault(KernelCommandLine.MOUNT_USR, "");
    String partuuid =
        usr.startsWith(KernelCommandLine.PARTUUID)
            ? usr.substring(KernelCommandLine.PARTUUID.length()).toLowerCase(Locale.ROOT)
            : null;
    return new HostInfo(version, live ? null : slot, partuuid, live, cmdline);
  }

  /** The other USR slot. */
  public Optional<String> otherSlot() {
    return slot == null ? Optional.empty() : Optional.of(slot.equals("A") ? "B" : "A");
  }
}
