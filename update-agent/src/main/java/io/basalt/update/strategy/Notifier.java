package io.basalt.update.strategy;

import java.io.IOException;
import java.util.List;

/** Tells logged-in users about the coming reboot. Thread-safe. */
@FunctionalInterface
public interface Notifier {

  /**
   * Broadcasts {@code message}.
   *
   * @throws IOException if it could not be sent
   */
  void broadcast(String message) throws IOException;

  /** {@code wall}, message on standard input. */
  static Notifier wall(HostCommands host) {
    return message -> host.run(List.of("wall"), message + "\n");
  }
}
