package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EtcdHealthTest {

  /** An endpoint that accepts connections and never answers does not hold status up. */
  @Test
  void aSilentEndpointIsReportedWithinTheBound() throws Exception {
    List<Socket> held = new ArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept());
                  }
                } catch (Exception closed) {
                  // test over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      EtcdConfig c =
          EtcdConfig.builder().endpoints("http://127.0.0.1:" + silent.getLocalPort()).build();
      long t0 = System.nanoTime();
      EtcdHealth.Report r = EtcdHealth.check(c, Duration.ofMillis(500));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 2_000, ms + " ms");
      assertEquals(0, r.members());
      assertFalse(r.quorum());
      assertTrue(r.render().startsWith("unreachable: no etcd endpoint answered ("), r.render());
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  @Test
  void rendersTheLine() {
    assertEquals(
        "3 of 3 members healthy (leader etcd-2)",
        new EtcdHealth.Report(3, 3, "etcd-2", true, null).render());
    assertEquals(
        "1 of 3 members healthy (no leader; no quorum)",
        new EtcdHealth.Report(3, 1, null, false, null).render());
    assertEquals(
        "1 of 1 member healthy (leader a)", new EtcdHealth.Report(1, 1, "a", true, null).render());
    assertEquals(
        "unknown: AccessDeniedException: /etc/basalt/update.conf",
        new EtcdHealth.Report(0, 0, null, false, "AccessDeniedException: /etc/basalt/update.conf")
            .render());
  }
}
