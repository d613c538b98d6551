package io.basalt.update.agent;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the agent finds things, all under one root ({@code /} on a host; a temp or jimfs directory
 * in tests). Immutable.
 */
public record AgentPaths(Path root) {

  public Path cmdline() {
    return root.resolve("proc/cmdline");
  }

  public Path noUpdate() {
    return root.resolve("usr/.noupdate");
  }

  public Path defaultsConf() {
    return root.resolve(UpdateConfig.DEFAULTS_PATH.substring(1));
  }

  public Path overridesConf() {
    return root.resolve(UpdateConfig.OVERRIDES_PATH.substring(1));
  }

  /** The trusted TUF root shipped in the image. */
  public Path shippedRoot() {
    return root.resolve("usr/share/basalt/root.json");
  }

  public Path stateDir() {
    return root.resolve("var/lib/basalt");
  }

  /** The initramfs' marker that the slot with this /usr root hash was fully checked. */
  public Path verifiedMark(String rootHash) {
    return stateDir().resolve("verified").resolve(rootHash);
  }

  public Path tufDir() {
    return stateDir().resolve("tuf");
  }

  public Path downloads() {
    return stateDir().resolve("downloads");
  }

  public Path socket() {
    return root.resolve("run/basalt/update-agent.sock");
  }

  public Path diskDir() {
    return root.resolve("dev/disk");
  }

  public Path machineId() {
    return root.resolve("etc/machine-id");
  }

  /** The ESP mount: the first of /efi, /boot, /boot/efi holding {@code loader/entries} (default /efi). */
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
