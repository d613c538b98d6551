package io.basalt.update.strategy;

import io.basalt.update.lock.FleetLockClient;
import io.basalt.update.lock.FleetLockException;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.Semaphore;
import java.io.IOException;
import java.util.Locale;

/**
 * How a machine gets permission to reboot: {@code etcd-lock} (the locksmith semaphore), {@code
 * fleetlock} (a FleetLock server), {@code reboot} (no coordination) or {@code off} (never
 * automatically). Implementations are thread-safe; {@link #acquire} and {@link #release} are
 * idempotent.
 */
public interface RebootStrategy {

  /** The strategy's configuration name. */
  String name();

  /**
   * Asks for permission to reboot now (takes the cluster slot where there is one).
   *
   * @throws IOException if the coordination service cannot be asked (no permission then)
   */
  Permission acquire() throws IOException;

  /**
   * Gives back whatever {@link #acquire} took; nothing happens when nothing is held.
   *
   * @throws IOException if the coordination service cannot be reached
   */
  void release() throws IOException;

  /**
   * Renews whatever {@link #acquire} took, so that other machines do not free it as stale; nothing
   * happens when nothing is held or the strategy has no leases.
   *
   * @throws IOException if the coordination service cannot be reached
   */
  default void renew() throws IOException {}

  /**
   * An answer from {@link #acquire}.
   *
   * @param granted whether the machine may reboot now
   * @param reason why not, or how it was granted
   */
  record Permission(boolean granted, String reason) {}

  /** The strategy names accepted in configuration. */
  enum Kind {
    ETCD_LOCK("etcd-lock"),
    FLEETLOCK("fleetlock"),
    REBOOT("reboot"),
    OFF("off");

    private final String configName;

    Kind(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }

    /**
     * Parses a configured strategy name.
     *
     * @throws IllegalArgumentException listing the valid names
     */
    public static Kind parse(String s) {
      String t = s == null ? "" : s.strip().toLowerCase(Locale.ROOT);
      for (Kind k : values()) {
        if (k.configName.equals(t)) {
          return k;
        }
      }
      throw new IllegalArgumentException(
          "unknown reboot strategy '" + s + "'; expected one of etcd-lock, fleetlock, reboot, off");
    }
  }

  /** {@code etcd-lock}: hold a slot of the locksmith semaphore for {@code machineId}. */
  static RebootStrategy etcdLock(RebootLock lock, String machineId) {
    return new RebootStrategy() {
      @Override
      public String name() {
        return Kind.ETCD_LOCK.configName();
      }

      @Override
      public Permission acquire() throws IOException {
        RebootLock.LockResult r = lock.tryLock(machineId);
        Semaphore s = r.status().semaphore();
        return switch (r.outcome()) {
          case ACQUIRED -> new Permission(true, "took a slot of " + lock.key());
          case ALREADY_HELD -> new Permission(true, "holds a slot of " + lock.key());
          case FULL ->
              new Permission(
                  false,
                  "reboot lock "
                      + lock.key()
                      + " is full ("
                      + s.holders().size()
                      + " of max "
                      + s.max()
                      + ": "
                      + String.join(", ", s.holders())
                      + ")");
        };
      }

      @Override
      public void release() throws IOException {
        lock.unlock(machineId);
      }

      @Override
      public void renew() throws IOException {
        lock.renew(machineId);
      }
    };
  }

  /** {@code fleetlock}: pre-reboot / steady-state against a FleetLock server. */
  static RebootStrategy fleetLock(FleetLockClient client, String machineId, String group) {
    return new RebootStrategy() {
      @Override
      public String name() {
        return Kind.FLEETLOCK.configName();
      }

      @Override
      public Permission acquire() throws IOException {
        try {
          client.preReboot(machineId, group);
          return new Permission(true, "FleetLock pre-reboot granted");
        } catch (FleetLockException e) {
          return new Permission(false, e.getMessage());
        }
      }

      @Override
      public void release() throws IOException {
        client.steadyState(machineId, group);
      }
    };
  }

  /** {@code reboot}: reboot as soon as the window, inhibitors and grace allow. */
  static RebootStrategy immediate() {
    return new RebootStrategy() {
      @Override
      public String name() {
        return Kind.REBOOT.configName();
      }

      @Override
      public Permission acquire() {
        return new Permission(true, "strategy reboot needs no coordination");
      }

      @Override
      public void release() {}
    };
  }

  /** {@code off}: never reboot automatically; the update waits for a manual reboot. */
  static RebootStrategy off() {
    return new RebootStrategy() {
      @Override
      public String name() {
        return Kind.OFF.configName();
      }

      @Override
      public Permission acquire() {
        return new Permission(
            false, "strategy off: the update is applied at the next manual reboot");
      }

      @Override
      public void release() {}
    };
  }
}
