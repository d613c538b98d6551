package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuLongTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two machines of the default image on a private L2 network (tier qemu-long:
 * -Dbasalt.qemu.long=true or -Dbasalt.qemu.image=DIR): each has its user-mode NIC (restrict=on) and
 * a second virtio NIC on an {@link L2Hub} in the test JVM; its OEM cloud-config gives that NIC
 * (matched by MAC) a fixed address through a networkd unit. The test hook in each guest waits for
 * its address, pings the other machine and reports the reply count, the peer's MAC in the neighbour
 * table and the routes over the private NIC. Not thread-safe (one run at a time).
 */
@QemuLongTest(orWhenSet = "basalt.qemu.image")
class PrivateNetworkIT {
  static final String SCENARIO = "PrivateNetworkIT";
  static final String[] MACS = {"52:54:00:10:00:01", "52:54:00:10:00:02"};
  static final String[] ADDRESSES = {"10.10.0.1", "10.10.0.2"};

  /** The cloud-config of machine {@code i}: host name and the private NIC's networkd unit. */
  static String cloudConfig(int i) {
    return String.join(
        "\n",
        "#cloud-config",
        "hostname: lan-" + (i + 1),
        "coreos:",
        "  units:",
        "    - name: 10-lan.network",
        "      content: |",
        "        [Match]",
        "        MACAddress=" + MACS[i],
        "        [Network]",
        "        Address=" + ADDRESSES[i] + "/24",
        "        LinkLocalAddressing=no",
        "");
  }

  /**
   * The hook script of machine {@code i}: finds the private NIC by MAC, waits (bounded) for its
   * address and for the peer to answer one ping, then pings it three times and reports.
   */
  static String script(int i) {
    String peer = ADDRESSES[1 - i];
    return String.join(
        "\n",
        "mac=" + MACS[i],
        "dev=",
        "for d in /sys/class/net/*; do [ \"$(cat $d/address)\" = \"$mac\" ] && dev=${d##*/}; done",
        "echo \"T: dev=$dev\"",
        "i=0",
        "while [ $i -lt 180 ] && ! ip -4 -o addr show dev \"$dev\" | grep -q ' "
            + ADDRESSES[i]
            + "/24 '; do sleep 1; i=$((i + 1)); done",
        "echo \"T: addr=$(ip -4 -o addr show dev \"$dev\" | awk '{print $4}' | tr '\\n' ' ')\"",
        "i=0",
        "while [ $i -lt 300 ] && ! busybox ping -c 1 -W 2 " + peer + " >/dev/null 2>&1; do",
        "  sleep 1; i=$((i + 1))",
        "done",
        "echo \"T: waited=$i\"",
        "echo \"T: ping=$(busybox ping -c 3 -W 5 " + peer + " 2>&1 | grep 'packets transmitted')\"",
        "echo \"T: neigh=$(ip neigh show " + peer + " dev \"$dev\")\"",
        "echo \"T: lanroutes=$(ip -4 route show dev \"$dev\" | tr '\\n' ';')\"",
        "echo \"T: hostname=$(hostname)\"",
        "");
  }

  @Test
  void twoMachinesPingEachOtherOverTheHub() throws Exception {
    Path work = Path.of("target", "private-network").toAbsolutePath();
    List<GuestImage> images = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      GuestImage g = new GuestImage(GuestImage.defaultImage(), work.resolve("lan-" + (i + 1)));
      g.appendCmdline("basalt.testhook");
      g.putOem("cloud-config.yml", cloudConfig(i));
      g.putOem("basalt-test.sh", script(i));
      images.add(g);
    }
    long start = System.nanoTime();
    List<Map<String, String>> out = new ArrayList<>();
    List<String> learned;
    try (L2Hub hub = L2Hub.start(work.resolve("hub.sock"))) {
      List<QemuVm> vms = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          GuestImage g = images.get(i);
          String name = "lan-" + (i + 1);
          List<String> args = g.uefiVirtio(name, g.overlay(name, null), "");
          args.addAll(hub.nicArgs("lan", MACS[i]));
          vms.add(QemuVm.start(name, args, work.resolve(name + ".log")));
        }
        for (QemuVm vm : vms) {
          out.add(GuestImage.hookOutput(vm, 0));
        }
        learned = hub.learned(); // while the VMs run: a port's MACs go with it
      } finally {
        for (QemuVm vm : vms) {
          vm.close();
        }
      }
      Figures.print(
          SCENARIO,
          work,
          "2 machines booted and pinged each other in %d s (load %s); hub: %d frames in, %d"
              + " forwarded, %d dropped, learned %s",
          Figures.secondsSince(start),
          Figures.load(),
          hub.received(),
          hub.forwarded(),
          hub.dropped(),
          learned);
      for (int i = 0; i < 2; i++) {
        Figures.print(SCENARIO, work, "lan-%d: %s", i + 1, out.get(i));
      }
      assertTrue(hub.received() >= 12, "frames through the hub: " + hub.received());
      assertTrue(learned.containsAll(List.of(MACS)), "learned: " + learned);
    }
    for (int i = 0; i < 2; i++) {
      Map<String, String> m = out.get(i);
      assertEquals(ADDRESSES[i] + "/24", m.get("addr").trim(), m.toString());
      assertTrue(m.get("ping").contains("3 packets transmitted, 3 packets received"), m.toString());
      assertTrue(m.get("neigh").contains("lladdr " + MACS[1 - i]), "the peer's MAC answers: " + m);
      String route = "10.10.0.0/24 proto kernel scope link src " + ADDRESSES[i];
      assertTrue(
          m.get("lanroutes").replace(" ;", ";").equals(route + ";"),
          "only the private subnet goes over the private NIC: " + m);
      assertEquals("lan-" + (i + 1), m.get("hostname"), m.toString());
    }
  }
}
