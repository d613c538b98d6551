package io.basalt.update.strategy;

import java.io.IOException;
import java.util.List;
import java.util.TreeSet;

/** Source of the users logged in to this machine (for the reboot grace period). Thread-safe. */
@FunctionalInterface
public interface UserSessions {

  /**
   * The distinct user names with a login session, sorted.
   *
   * @throws IOException if they cannot be listed
   */
  List<String> loggedIn() throws IOException;

  /** Nobody, ever. */
  static UserSessions none() {
    return List::of;
  }

  /** The users {@code who} lists (utmp login sessions: consoles, ssh). */
  static UserSessions who(HostCommands host) {
    return () -> {
      TreeSet<String> users = new TreeSet<>();
      for (String line : host.run(List.of("who"), null).split("\n")) {
        String[] f = line.strip().split("\\s+");
        if (!f[0].isEmpty()) {
          users.add(f[0]);
        }
      }
      return List.copyOf(users);
    };
  }
}
