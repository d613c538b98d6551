package io.basalt.cloudconfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What the validator knows about the image the config is for: which systemd units the image ships
 * (for the fleet/flannel warnings). Immutable and thread-safe.
 */
public final class ValidationOptions {

  /** Units the default Basalt image ships (package set of the default image spec). */
  public static final Set<String> DEFAULT_IMAGE_UNITS =
      Set.of(
          "etcd.service",
          "containerd.service",
          "docker.service",
          "ssh.service",
          "systemd-networkd.service",
          "systemd-resolved.service",
          "basalt-update-agent.service",
          "basalt-update-agent.socket");

  private final Predicate<String> shipsUnit;

  private ValidationOptions(Predicate<String> shipsUnit) {
    this.shipsUnit = shipsUnit;
  }

  /** For the default Basalt image (no fleet, no flannel). */
  public static ValidationOptions defaultImage() {
    return new ValidationOptions(DEFAULT_IMAGE_UNITS::contains);
  }

  /**
   * For the image whose root file system is at {@code root} (a host's {@code /}, or an unpacked
   * image): a unit is shipped when it exists under usr/lib/systemd/system or lib/systemd/system.
   */
  public static ValidationOptions forRoot(Path root) {
    Objects.requireNonNull(root, "root");
    return new ValidationOptions(
        unit ->
            Files.exists(root.resolve("usr/lib/systemd/system").resolve(unit))
                || Files.exists(root.resolve("lib/systemd/system").resolve(unit)));
  }

  /** Whether the image ships {@code unit} (e.g. {@code fleet.service}). */
  public boolean imageShipsUnit(String unit) {
    return shipsUnit.test(unit);
  }
}
