package io.basalt.update.strategy;

import java.io.IOException;
import java.util.List;

/** What actually reboots the machine; tests substitute a recorder. Thread-safe. */
@FunctionalInterface
public interface Rebooter {

  /**
   * Starts the reboot.
   *
   * @throws IOException if it could not be started
   */
  void reboot() throws IOException;

  /** {@code systemctl reboot}. */
  static Rebooter systemctl(HostCommands host) {
    return () -> host.run(List.of("systemctl", "reboot"), null);
  }
}
