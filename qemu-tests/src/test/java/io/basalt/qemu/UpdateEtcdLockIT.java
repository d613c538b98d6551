package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Strategy etcd-lock end to end (issue 7): two v1 machines configured by cloud-config on OEM
 * ({@code coreos.update.reboot_strategy: etcd-lock}, {@code coreos.locksmith.endpoint}) reach a
 * real etcd on the host's loopback through QEMU forwarding; both install v2; with the semaphore's
 * max = 1 only the holder reboots, the other waits until the first one's v2 boot is blessed and
 * releases the lock; both end on v2. The semaphore is read with etcdctl at every moment a VM
 * reboots. Two VMs at once: run holding two QEMU slots. Opt-in like {@link UpdateEndToEndIT}.
 */
@QemuLongTest(orWhenSet = "basalt.qemu.update.images")
class UpdateEtcdLockIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY = "coreos.com/updateengine/rebootlock/semaphore";

  static Path work;
  static UpdateImages images;
  static GuestImage disk;
  static Process etcd;
  static int etcdPort;
  static final List<Machine> machines = new ArrayList<>();

  /** One VM with its own overlay, variable store and server (control channel). */
  static final class Machine {
    final String name;
    final GuestServer server;
    final Path overlay;
    QemuVm vm;
    String boot;
    String machineId;
    int boots;

    Machine(String name, Path repo) throws Exception {
      this.name = name;
      server = new GuestServer();
      server.serve(repo);
      overlay = disk.overlay(name, "4G");
    }

    void start() throws IOException {
      if (vm != null) {
        vm.close();
      }
      boots++;
      vm =
          QemuVm.start(
              "etcd-" + name + "-" + boots,
              disk.uefiVirtio(
                  name,
                  overlay,
                  server.guestfwd()
                      + ",guestfwd=tcp:10.0.2.101:2379-cmd:busybox nc 127.0.0.1 "
                      + etcdPort),
              work.resolve(name + "-boot-" + boots + ".log"));
    }

    JsonNode status() throws Exception {
      return server.status(vm);
    }
  }

  @BeforeAll
  static void setUp() throws Exception {
    work = Path.of("target", "update-etcd").toAbsolutePath();
    UpdateImages.deleteTree(work);
    Files.createDirectories(work);
    images = UpdateImages.get(Path.of("target", "update-e2e").toAbsolutePath());
    Path repo = work.resolve("repo");
    images.repository(repo, 2);
    startEtcd();
    disk = GuestImage.driven(images.image(1), work.resolve("vm"));
    disk.putOem(
        "cloud-config.yml",
        String.join(
            "\n",
            "#cloud-config",
            "coreos:",
            "  update:",
            "    reboot_strategy: etcd-lock",
            "  locksmith:",
            "    endpoint: http://10.0.2.101:2379",
            ""));
    machines.add(new Machine("a", repo));
    machines.add(new Machine("b", repo));
  }

  static void startEtcd() throws Exception {
    etcdPort = Host.freePort();
    int peer = Host.freePort();
    Path data = work.resolve("etcd-data");
    etcd =
        new ProcessBuilder(
                "etcd",
                "--name",
                "e2e",
                "--data-dir",
                data.toString(),
                "--listen-client-urls",
                "http://127.0.0.1:" + etcdPort,
                "--advertise-client-urls",
                "http://127.0.0.1:" + etcdPort,
                "--listen-peer-urls",
                "http://127.0.0.1:" + peer,
                "--initial-advertise-peer-urls",
                "http://127.0.0.1:" + peer,
                "--initial-cluster",
                "e2e=http://127.0.0.1:" + peer)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    long t0 = System.nanoTime();
    while (true) {
      try {
        etcdctl("endpoint", "health");
        return;
      } catch (IOException e) {
        if (System.nanoTime() - t0 > 30_000_000_000L || !etcd.isAlive()) {
          throw new IOException("etcd did not come up on 127.0.0.1:" + etcdPort, e);
        }
        Thread.sleep(300);
      }
    }
  }

  static String etcdctl(String... args) throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(List.of("etcdctl", "--endpoints=http://127.0.0.1:" + etcdPort));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("ETCDCTL_API", "3");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("etcdctl " + List.of(args) + ": " + out);
    }
    return out;
  }

  /** The semaphore's holders now (empty when the key does not exist yet). */
  static List<String> holders() throws Exception {
    String v = etcdctl("get", KEY, "--print-value-only").strip();
    List<String> h = new ArrayList<>();
    if (!v.isEmpty()) {
      JSON.readTree(v).path("holders").forEach(n -> h.add(n.asText()));
    }
    return h;
  }

  @AfterAll
  static void tearDown() {
    for (Machine m : machines) {
      if (m.vm != null) {
        m.vm.close();
      }
      m.server.close();
    }
    if (etcd != null) {
      etcd.destroyForcibly();
    }
  }

  @Test
  void twoMachinesWithMaxOneNeverRebootTogetherAndBothEndOnV2() throws Exception {
    long t0 = System.nanoTime();
    for (Machine m : machines) {
      m.start();
    }
    for (Machine m : machines) {
      m.boot = m.server.awaitBoot(null, UpdateEndToEndIT.BOOT, m.vm);
      m.machineId = m.server.run(m.vm, "cat /etc/machine-id", Duration.ofMinutes(2)).out().strip();
      assertEquals("etcd-lock", m.status().path("strategy").asText());
      figure("%s: v1 up after %d s, machine id %s", m.name, secondsSince(t0), m.machineId);
    }
    List<String> order = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofMinutes(90).toNanos();
    long lastStatus = 0;
    // phase per machine: 1 = running v1, 2 = rebooted into v2 (booting), 3 = v2 up
    while (machines.stream()
        .anyMatch(
            m -> m.boots < 2 || !m.vm.console().contains("multi-user reached (version 2.0.0"))) {
      assertTrue(
          System.nanoTime() < deadline,
          "not both on v2 within 90 min; reboot order so far " + order);
      for (Machine m : machines) {
        if (m.boots == 1 && m.vm.waitForExit(Duration.ZERO) != -1) {
          // QEMU runs with -no-reboot: the guest rebooted. At that moment it must be the only
          // holder.
          List<String> h = holders();
          figure(
              "%s rebooted at +%d s; holders then: %s (load %s)",
              m.name, secondsSince(t0), h, load());
          assertEquals(List.of(m.machineId), h, m.name + " rebooted without holding the only slot");
          for (Machine other : machines) {
            if (other != m && other.boots >= 2) {
              // the other one rebooted earlier: its v2 boot must be up (and blessed: it gave the
              // lock back)
              assertTrue(
                  other.vm.console().contains("basalt: multi-user reached (version 2.0.0"),
                  m.name
                      + " rebooted while "
                      + other.name
                      + " was still rebooting\n"
                      + other.vm.tail());
            }
          }
          order.add(m.name);
          m.start();
        } else if (m.boots == 2 && m.vm.waitForExit(Duration.ZERO) != -1) {
          throw new AssertionError(m.name + ": QEMU exited during the v2 boot\n" + m.vm.tail());
        }
      }
      if (secondsSince(lastStatus) > 60) {
        lastStatus = System.nanoTime();
        for (Machine m : machines) {
          if (m.boots == 1) {
            try {
              JsonNode st = m.status();
              figure(
                  "%s +%d s: %s %d%% (%s) holders %s",
                  m.name,
                  secondsSince(t0),
                  st.path("state").asText(),
                  st.path("progress").asInt(),
                  st.path("message").asText(),
                  holders());
            } catch (GuestServer.VmExited | AssertionError e) {
              // rebooting right now: seen on the next round
            }
          }
        }
      }
      Thread.sleep(1000);
    }
    for (Machine m : machines) {
      m.boot = m.server.awaitBoot(m.boot, UpdateEndToEndIT.BOOT, m.vm);
      assertTrue(
          m.vm.console().contains("basalt: multi-user reached (version 2.0.0, slot B"),
          m.vm.tail());
    }
    assertEquals(2, order.size(), "both machines rebooted once");
    // Both on v2 and, once blessed, the lock is free again.
    long t1 = System.nanoTime();
    while (!holders().isEmpty()) {
      assertTrue(secondsSince(t1) < 600, "lock still held: " + holders());
      Thread.sleep(10_000);
    }
    for (Machine m : machines) {
      JsonNode s = m.status();
      assertEquals("2.0.0", s.path("version").asText(), s.toString());
      assertEquals("B", s.path("slot").asText(), s.toString());
    }
    // Every revision the key ever had: never more than one holder (max = 1).
    JsonNode head = JSON.readTree(etcdctl("get", KEY, "-w", "json"));
    long rev = head.path("kvs").get(0).path("mod_revision").asLong();
    java.util.SortedMap<Long, String> versions = new java.util.TreeMap<>();
    for (long r = 1; r <= rev; r++) {
      JsonNode kvs = JSON.readTree(etcdctl("get", KEY, "--rev=" + r, "-w", "json")).path("kvs");
      if (kvs.size() == 1) {
        String v =
            new String(
                java.util.Base64.getDecoder().decode(kvs.get(0).path("value").asText()),
                StandardCharsets.UTF_8);
        versions.put(kvs.get(0).path("mod_revision").asLong(), v);
      }
    }
    for (var e : versions.entrySet()) {
      JsonNode n = JSON.readTree(e.getValue());
      figure("  semaphore at revision %d: %s", e.getKey(), e.getValue());
      assertTrue(
          n.path("holders").size() <= 1 && n.path("max").asInt() == 1,
          "revision " + e.getKey() + ": " + e.getValue());
    }
    figure(
        "reboot order %s; both on v2 and the lock free after %d s (load %s); %d writes of the semaphore, none with 2 holders",
        order, secondsSince(t0), load(), versions.size());
  }

  static String load() {
    return Figures.load();
  }

  static long secondsSince(long nanos) {
    return Figures.secondsSince(nanos);
  }

  static void figure(String format, Object... args) {
    Figures.print("UpdateEtcdLockIT", work, format, args);
  }
}
