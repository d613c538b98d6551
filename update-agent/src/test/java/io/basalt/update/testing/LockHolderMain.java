package io.basalt.update.testing;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import java.time.Clock;

/**
 * A stand-in agent run as a separate JVM: takes the reboot lock for a machine id, prints {@code
 * HOLDING}, then sleeps until it is killed. Args: ENDPOINT GROUP MACHINE-ID.
 */
public final class LockHolderMain {
  public static void main(String[] args) throws Exception {
    EtcdClient c = EtcdClient.create(EtcdConfig.builder().endpoint(args[0]).build());
    RebootLock lock = new RebootLock(c, args[1], Clock.systemUTC(), RetryPolicy.defaults());
    RebootLock.LockResult r = lock.tryLock(args[2]);
    System.out.println(r.held() ? "HOLDING" : "FULL");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  private LockHolderMain() {}
}
