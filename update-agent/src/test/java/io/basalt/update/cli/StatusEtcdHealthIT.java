package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.host.HostPaths;
import io.basalt.update.status.AgentStatus;
import io.basalt.update.status.PeerAccess;
import io.basalt.update.status.StatusProtocol;
import io.basalt.update.status.StatusServer;
import io.basalt.update.testing.EtcdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code basaltctl status} against a real three-member etcd cluster on loopback: all healthy, one
 * member stopped (2 of 3, quorum kept), two stopped (no quorum), and etcd unreachable, always
 * within the bounded time and with exit 0 (the agent answered).
 */
class StatusEtcdHealthIT {

  @TempDir Path dir;

  private static final AgentStatus STATUS =
      new AgentStatus(
          "1.2.0",
          "A",
          "stable",
          "etcd-lock",
          "up-to-date",
          -1,
          null,
          null,
          null,
          null,
          null,
          List.of(),
          -1,
          -1);

  private static final Pattern LINE =
      Pattern.compile("(?m)^etcd:\\s+(\\d) of 3 members healthy \\(leader (m\\d)\\)$");

  @Test
  void showsMembersHealthyLeaderAndQuorum() throws Exception {
    Path sock = dir.resolve("agent.sock");
    Path root = dir.resolve("root");
    try (StatusServer server =
        new StatusServer(
            sock,
            req -> new StatusProtocol.Reply(true, "ok", STATUS),
            peer -> PeerAccess.Level.READ_ONLY,
            Duration.ofSeconds(5))) {
      server.start();
      // No ETCD_ENDPOINTS and no local member: no etcd line at all.
      CliRunner.Result r = status(sock, root);
      assertEquals(0, r.exit(), r.toString());
      assertTrue(!r.out().contains("\netcd:"), r.toString());

      List<EtcdProcess> members = EtcdProcess.cluster(3);
      try {
        Path conf = HostPaths.under(root, HostPaths.UPDATE_CONF);
        Files.createDirectories(conf.getParent());
        Files.writeString(
            conf,
            "REBOOT_STRATEGY=etcd-lock\nETCD_ENDPOINTS="
                + members.get(0).endpoint()
                + ","
                + members.get(1).endpoint()
                + ","
                + members.get(2).endpoint()
                + "\n");
        r = status(sock, root);
        System.out.print("3 up:\n" + r.out());
        Matcher m = LINE.matcher(r.out());
        assertTrue(m.find(), r.toString());
        assertEquals("3", m.group(1));
        String leader = m.group(2);

        // Stop a member that is not the leader: the leader stays, quorum stays.
        int leaderIndex = Integer.parseInt(leader.substring(1));
        int stopped = (leaderIndex + 1) % 3;
        members.get(stopped).kill();
        long t0 = System.nanoTime();
        r = status(sock, root);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.print("m" + stopped + " stopped (" + ms + " ms):\n" + r.out());
        assertTrue(
            r.out().contains("etcd:       2 of 3 members healthy (leader " + leader + ")\n"),
            r.toString());
        r = status(sock, root, "--json");
        JsonNode etcd = new ObjectMapper().readTree(r.out()).path("etcd");
        System.out.println("json: " + etcd);
        assertEquals(3, etcd.path("members").asInt());
        assertEquals(2, etcd.path("healthy").asInt());
        assertEquals(leader, etcd.path("leader").asText());
        assertTrue(etcd.path("quorum").asBoolean());
        assertTrue(etcd.path("error").isNull());
        assertEquals("1.2.0", new ObjectMapper().readTree(r.out()).path("version").asText());

        // A second member gone: the last one has no leader and the cluster no quorum.
        members.get(leaderIndex).kill();
        t0 = System.nanoTime();
        r = status(sock, root);
        ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.print("two stopped (" + ms + " ms):\n" + r.out());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(
            r.out().contains("etcd:       0 of 3 members healthy (no leader; no quorum)\n"),
            r.toString());
        assertTrue(ms < 10_000, ms + " ms");
      } finally {
        members.forEach(EtcdProcess::close);
      }

      // All gone: shown as unreachable, not an exception, in bounded time.
      long t0 = System.nanoTime();
      r = status(sock, root);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.print("all stopped (" + ms + " ms):\n" + r.out());
      assertEquals(0, r.exit(), r.toString());
      assertTrue(
          r.out().contains("etcd:       unreachable: no etcd endpoint answered ("), r.toString());
      assertTrue(ms < 10_000, ms + " ms");
    }
  }

  @Test
  void aLocalMemberIsFoundFromCloudConfigsDropIn() throws Exception {
    Path sock = dir.resolve("agent.sock");
    Path root = dir.resolve("root");
    try (StatusServer server =
            new StatusServer(
                sock,
                req -> new StatusProtocol.Reply(true, "ok", STATUS),
                peer -> PeerAccess.Level.READ_ONLY,
                Duration.ofSeconds(5));
        EtcdProcess etcd = EtcdProcess.start()) {
      server.start();
      Path dropIn = HostPaths.under(root, HostPaths.ETCD_MEMBER_DROP_IN);
      Files.createDirectories(dropIn.getParent());
      Files.writeString(
          dropIn,
          "[Service]\nEnvironment=\"ETCD_NAME=basalt-test\"\n"
              + "Environment=\"ETCD_ADVERTISE_CLIENT_URLS="
              + etcd.endpoint()
              + "\"\n");
      CliRunner.Result r = status(sock, root);
      System.out.print("local member:\n" + r.out());
      assertTrue(
          r.out().contains("etcd:       1 of 1 member healthy (leader basalt-test)\n"),
          r.toString());
    }
  }

  private static CliRunner.Result status(Path sock, Path root, String... more) {
    String[] args = new String[4 + more.length];
    args[0] = "status";
    args[1] = "--socket=" + sock;
    args[2] = "--root";
    args[3] = root.toString();
    System.arraycopy(more, 0, args, 4, more.length);
    return CliRunner.basaltctl(Map.of(), Clock.systemUTC(), args);
  }
}
