package io.basalt.update.strategy;

import java.io.IOException;
import java.util.Optional;

/**
 * A cluster service the machine's reboot must not hurt, asked by {@link RebootCoordinator} at fixed
 * points: before the reboot lock is asked for ({@link #beforeLock}), with the lock held right
 * before the reboot ({@link #beforeReboot}, asked again on every step until it has nothing left to
 * wait for), when a reboot that was being prepared is off for now ({@link #standDown}), and after
 * the new version's boot is blessed, before the lock is given back ({@link #afterBoot}). The etcd
 * quorum check and the Docker Swarm drain are the two. Implementations are called from the one
 * agent thread that drives the coordinator and need not be thread-safe.
 */
public interface ClusterGuard {

  /**
   * Whether the lock may be asked for now; asked on every step, also while the lock is held.
   *
   * @return empty to go on, or why the machine waits (nothing is taken then)
   * @throws IOException if the service cannot be asked (the machine does not reboot then)
   */
  default Optional<String> beforeLock() throws IOException {
    return Optional.empty();
  }

  /**
   * Prepares the reboot with the lock held; asked on every step until it returns empty.
   *
   * @return empty when the reboot may start now, or what is still awaited (ask again soon)
   * @throws IOException if the service cannot be asked (the machine does not reboot then)
   */
  default Optional<String> beforeReboot() throws IOException {
    return Optional.empty();
  }

  /**
   * Undoes what {@link #beforeReboot} did: the reboot is not going to happen soon (a local hold, an
   * inhibitor, the window closed, the lock lost or a failed check).
   *
   * @throws IOException if undoing failed (asked again the next time the reboot is called off)
   */
  default void standDown() throws IOException {}

  /**
   * Restores what {@link #beforeReboot} changed, once the boot is blessed and before the lock is
   * given back; asked again until it returns true.
   *
   * @return true when done or when it gave up (it logs that), false to be asked again later
   */
  default boolean afterBoot() {
    return true;
  }
}
