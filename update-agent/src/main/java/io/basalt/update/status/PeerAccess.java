package io.basalt.update.status;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may use the control socket, decided from the peer's credentials ({@code SO_PEERCRED}): root
 * may do everything; members of group {@code basalt} or {@code sudo} (primary group or listed in
 * the group file) may use the read-only request {@code status}; everyone else is refused.
 */
@FunctionalInterface
public interface PeerAccess {

  /** The groups whose members may use read-only requests. */
  List<String> READ_GROUPS = List.of("basalt", "sudo");

  /** What a peer may do. */
  enum Level {
    /** Refused. */
    NONE,
    /** Read-only requests ({@code status}). */
    READ_ONLY,
    /** Every request. */
    ALL
  }

  /**
   * The peer's level.
   *
   * @throws IOException if the group file cannot be read
   */
  Level level(UnixDomainPrincipal peer) throws IOException;

  /**
   * Root, or a member of {@link #READ_GROUPS} according to {@code groupFile} (re-read per call).
   */
  static PeerAccess groups(Path groupFile) {
    return peer -> {
      String user = peer.user().getName();
      if (user.equals("root") || user.equals("0")) {
        return Level.ALL;
      }
      if (READ_GROUPS.contains(peer.group().getName())) {
        return Level.READ_ONLY;
      }
      List<String> lines;
      try {
        lines = Files.readAllLines(groupFile, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        return Level.NONE;
      }
      for (String line : lines) {
        String[] f = line.split(":", -1);
        if (f.length >= 4
            && READ_GROUPS.contains(f[0])
            && Set.copyOf(Arrays.asList(f[3].split(","))).contains(user)) {
          return Level.READ_ONLY;
        }
      }
      return Level.NONE;
    };
  }
}
