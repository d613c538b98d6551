package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HealthCheckTest {

  @Test
  void listedUnitsMustBeActiveAndConfigMustLoad() throws Exception {
    Path root = Jimfs.newFileSystem(Configuration.unix()).getPath("/");
    AgentPaths p = new AgentPaths(root);
    Files.createDirectories(p.shippedRoot().getParent());
    Files.writeString(p.shippedRoot(), "{}");
    Files.writeString(p.defaultsConf(), "HEALTH_UNITS=containerd.service etcd-member.service\n");
    List<List<String>> calls = new ArrayList<>();
    List<String> problems =
        HealthCheck.run(
            p,
            (cmd, in) -> {
              calls.add(cmd);
              return cmd.get(5).equals("etcd-member.service") ? "failed\n" : "active\n";
            });
    assertEquals(
        List.of(
            List.of("systemctl", "show", "-p", "ActiveState", "--value", "containerd.service"),
            List.of("systemctl", "show", "-p", "ActiveState", "--value", "etcd-member.service")),
        calls);
    assertEquals(List.of("etcd-member.service is failed"), problems);
    assertEquals(true, HealthCheck.failedUnit(problems.get(0)));
    assertEquals(
        List.of("containerd.service is activating"),
        HealthCheck.run(
            p, (cmd, in) -> cmd.get(5).equals("containerd.service") ? "activating\n" : "active\n"));
    assertEquals(
        List.of(
            "containerd.service: cannot ask systemd (no bus)",
            "etcd-member.service: cannot ask systemd (no bus)"),
        HealthCheck.run(
            p,
            (cmd, in) -> {
              throw new IOException("no bus");
            }));
    Files.writeString(
        p.overridesConf().getParent() == null ? p.overridesConf() : createParent(p.overridesConf()),
        "X=1\n");
    Files.delete(p.shippedRoot());
    assertEquals(
        List.of(
            "update configuration: /etc/basalt/update.conf:1: unknown key X; expected one of "
                + "[ARCH, CHANNEL, CHECK_INTERVAL, CHECK_JITTER, DOWNLOAD_DEADLINE, ETCD_CAFILE, ETCD_CERTFILE, "
                + "ETCD_ENDPOINTS, ETCD_KEYFILE, ETCD_PASSWORD, ETCD_QUORUM_CHECK, ETCD_USERNAME, FLEETLOCK_TOKEN_FILE, FLEETLOCK_URL, GROUP, HEALTH_UNITS, "
                + "LOCKSMITHD_ENDPOINT, LOCKSMITHD_ETCD_CAFILE, LOCKSMITHD_ETCD_CERTFILE, LOCKSMITHD_ETCD_KEYFILE, "
                + "LOCKSMITHD_ETCD_PASSWORD, LOCKSMITHD_ETCD_USERNAME, LOCKSMITHD_GROUP, LOCKSMITHD_REBOOT_WINDOW_LENGTH, "
                + "LOCKSMITHD_REBOOT_WINDOW_START, LOCK_GROUP, LOCK_LEASE, "
                + "REBOOT_GRACE, REBOOT_STRATEGY, REBOOT_WINDOW, REBOOT_WINDOW_ZONE, REPOSITORY_URL, SERVER, SWARM_DRAIN, SWARM_DRAIN_TIMEOUT]"),
        HealthCheck.run(p, (cmd, in) -> "active\n"));
  }

  private static Path createParent(Path f) throws IOException {
    Files.createDirectories(f.getParent());
    return f;
  }
}
