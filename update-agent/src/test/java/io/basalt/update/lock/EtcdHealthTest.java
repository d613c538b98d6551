package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
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
      // The client alone would wait a minute for the silent endpoint; the check's bound is 500 ms.
      // The margin up to 30 s is for a loaded machine, not for the bound.
      EtcdConfig c =
          EtcdConfig.builder()
              .endpoints("http://127.0.0.1:" + silent.getLocalPort())
              .requestTimeout(Duration.ofMinutes(1))
              .build();
      long t0 = System.nanoTime();
      EtcdHealth.Report r = EtcdHealth.check(c, Duration.ofMillis(500));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 30_000, ms + " ms");
      assertEquals(0, r.members());
      assertFalse(r.quorum());
      assertTrue(r.render().startsWith("unreachable: no etcd endpoint answered ("), r.render());
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  /**
   * The one definition of healthy, member by member: member a answers on a fake gateway, member b
   * is unreachable; a is healthy only while it follows itself, not while it follows b or has an
   * alarm.
   */
  @Test
  void aMemberIsHealthyOnlyWhenItAnswersWithoutAlarmAndItsLeaderAnsweredToo() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    AtomicReference<String> status = new AtomicReference<>();
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    String url = "http://127.0.0.1:" + server.getAddress().getPort();
    String list =
        "{\"members\":[{\"ID\":\"1\",\"name\":\"a\",\"clientURLs\":[\""
            + url
            + "\"]},{\"ID\":\"2\",\"name\":\"b\",\"clientURLs\":[\"http://127.0.0.1:"
            + closedPort
            + "\"]}]}";
    server.createContext(
        "/v3/",
        x -> {
          byte[] body =
              (x.getRequestURI().getPath().equals("/v3/cluster/member/list") ? list : status.get())
                  .getBytes(StandardCharsets.UTF_8);
          x.sendResponseHeaders(200, body.length);
          x.getResponseBody().write(body);
          x.close();
        });
    server.start();
    try {
      EtcdConfig c = EtcdConfig.builder().endpoints(url).build();

      status.set("{\"header\":{\"member_id\":\"1\"},\"leader\":\"1\"}");
      EtcdHealth.Report r = EtcdHealth.check(c, Duration.ofSeconds(2));
      assertEquals("1 of 2 members healthy (leader a; no quorum)", r.render());
      assertEquals(List.of("a", "b"), r.each().stream().map(m -> m.member().name()).toList());
      assertTrue(r.each().get(0).healthy(), r.toString());
      assertEquals("unreachable", r.each().get(1).problem());

      status.set("{\"header\":{\"member_id\":\"1\"},\"leader\":\"2\"}");
      r = EtcdHealth.check(c, Duration.ofSeconds(2));
      assertEquals("0 of 2 members healthy (no leader; no quorum)", r.render());
      assertEquals("follows leader b, which is not healthy", r.each().get(0).problem());

      status.set("{\"header\":{\"member_id\":\"1\"},\"leader\":\"1\",\"errors\":[\"NOSPACE\"]}");
      r = EtcdHealth.check(c, Duration.ofSeconds(2));
      assertEquals("reports NOSPACE", r.each().get(0).problem());

      status.set("{\"header\":{\"member_id\":\"1\"},\"leader\":\"0\"}");
      r = EtcdHealth.check(c, Duration.ofSeconds(2));
      assertEquals("has no leader", r.each().get(0).problem());
      assertEquals(0, r.healthy());
    } finally {
      server.stop(0);
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
