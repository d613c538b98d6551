package io.basalt.update.agent;

import io.basalt.host.HostPaths;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the agent finds things, all under one root ({@code /} on a host; a temp or jimfs directory
 * in tests). Immutable.
 */
public record AgentPaths(Path root) {

  public Path cmdline() {
    return HostPaths.under(root, HostPaths.PROC_CMDLINE);
  }

  public Path noUpdate() {
    return root.resolve("usr/.noupdate");
  }

  public Path defaultsConf() {
    return HostPaths.under(root, HostPaths.UPDATE_CONF_DEFAULTS);
  }

  public Path overridesConf() {
    return HostPaths.under(root, HostPaths.UPDATE_CONF);
  }

  /** The trusted TUF root shipped in the image. */
  public Path shippedRoot() {
    return HostPaths.under(root, HostPaths.SHIPPED_TUF_ROOT);
  }

  public Path stateDir() {
    return HostPaths.under(root, HostPaths.STATE);
  }

  /** The initramfs' marker that the slot with this /usr root hash was fully checked. */
  public Path verifiedMark(String rootHash) {
    return HostPaths.under(root, HostPaths.VERIFIED).resolve(rootHash);
  }

  public Path tufDir() {
    return HostPaths.under(root, HostPaths.TUF_STATE);
  }

  public Path downloads() {
    return HostPaths.under(root, HostPaths.DOWNLOADS);
  }

  public Path socket() {
    return HostPaths.under(root, HostPaths.STATUS_SOCKET);
  }

  /** systemd-boot's {@code LoaderBootCountPath} EFI variable (present on a counted boot). */
  public Path loaderBootCountPath() {
    return HostPaths.under(root, HostPaths.LOADER_BOOT_COUNT_PATH);
  }

  public Path machineId() {
    return root.resolve("etc/machine-id");
  }

  /**
   * The ESP mount: the first of /efi, /boot, /boot/efi holding {@code loader/entries} (default
   * /efi).
   */
  public Path esp() {
    for (String c : new String[] {"efi", "boot", "boot/efi"}) {
      Path p = root.resolve(c);
      if (Files.isDirectory(p.resolve("loader/entries"))) {
        return p;
      }
    }
    return root.resolve("efi");
  }
}
