package io.basalt.cloudconfig.render;

import java.io.IOException;
import java.util.List;

/**
 * Runs the system's own tools (useradd, groupadd, usermod, chpasswd, systemctl, hostname,
 * systemd-run) for the applier. Implementations must never log {@code stdin}: it carries password
 * hashes. Implementations need not be thread-safe; the applier calls them from one thread.
 */
public interface SystemTools {

  /** The outcome of one command. */
  record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /**
   * Runs {@code argv} with {@code stdin} (may be empty) and waits for it.
   *
   * @throws IOException when the command cannot be started or times out
   */
  Result run(List<String> argv, byte[] stdin) throws IOException;
}
