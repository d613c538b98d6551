package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 5's QEMU scenarios: the default image boots with a {@code #cloud-config} from each
 * datasource in turn (the OEM partition, a config-2 ISO, an OpenNebula CONTEXT ISO in OpenNebula's
 * own context.sh format, {@code cloud-config-url=} served by this test over loopback), and every
 * boot shows the five effects on the booted host: the host name, a user whose ssh key logs in (a
 * real {@code ssh} from this machine through a QEMU port forward), a unit started, a file with the
 * configured mode and owner, and an etcd member running under the configured name (asked with the
 * host's {@code etcdctl} through a port forward, and in the guest). One first boot per datasource;
 * the guest is observed through the test hook ({@link GuestImage}).
 *
 * <p>Each scenario prepares the shared copy of the disk itself (OEM {@code cloud-config.yml}
 * present or not, the kernel command line), then boots a fresh overlay of it, so the scenarios do
 * not depend on their order. Only one datasource is present in each boot.
 */
@QemuLongTest(orWhenSet = "basalt.qemu.image")
class CloudConfigDatasourcesIT {
  static final String USER = "ops";
  static final String KEY_COMMENT = "basalt-cc-it";
  static final String UNIT = "basalt-cc-hello.service";
  static final String FILE = "/etc/basalt-cc/app.conf";

  /** QEMU's default MAC of the first NIC, given explicitly so the CONTEXT ISO can name it. */
  static final String MAC = "52:54:00:12:34:56";

  /** A first boot takes ~4 min on an idle machine and over 10 min on a loaded one. */
  static final Duration BOOT = Duration.ofMinutes(25);

  static GuestImage image;
  static Path work;
  static Path key;
  static String publicKey;
  static List<String> baseCmdline;

  @BeforeAll
  static void setUp() throws Exception {
    work = Path.of("target", "cloud-config-it").toAbsolutePath();
    image = new GuestImage(GuestImage.defaultImage(), work);
    image.appendCmdline("basalt.testhook");
    key = work.resolve("id_ed25519");
    Files.deleteIfExists(key);
    Files.deleteIfExists(work.resolve("id_ed25519.pub"));
    Host.run(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", KEY_COMMENT, "-f", key.toString());
    publicKey = Files.readString(work.resolve("id_ed25519.pub")).trim();
    image.putOem(
        "basalt-test.sh",
        String.join(
            "\n",
            "u=" + USER,
            "echo \"T: hostname=$(hostname)\"",
            "echo \"T: etchostname=$(cat /etc/hostname)\"",
            "echo \"T: passwd=$(getent passwd $u)\"",
            "echo \"T: groups=$(id -nG $u 2>&1)\"",
            "echo \"T: keys=$(awk '{print $NF}' /home/$u/.ssh/authorized_keys 2>&1 | tr '\\n' ' ')\"",
            "echo \"T: keysstat=$(stat -c '%a %U:%G' /home/$u/.ssh/authorized_keys 2>&1)\"",
            "echo \"T: corekeys=$(awk '{print $NF}' /home/core/.ssh/authorized_keys 2>/dev/null | tr '\\n' ' ')\"",
            "echo \"T: unit=$(systemctl is-active " + UNIT + ")\"",
            "echo \"T: unitout=$(cat /run/basalt-cc-hello 2>&1)\"",
            "echo \"T: file=$(stat -c '%a %U:%G' " + FILE + " 2>&1)\"",
            "echo \"T: filetext=$(cat " + FILE + " 2>&1)\"",
            "for i in $(seq 1 180); do systemctl is-active -q etcd.service && break; sleep 1; done",
            "echo \"T: etcd=$(systemctl is-active etcd.service)\"",
            "pid=$(systemctl show -p MainPID --value etcd.service)",
            "echo \"T: etcdenv=$(tr '\\0' '\\n' < /proc/$pid/environ 2>/dev/null | grep '^ETCD_NAME=')\"",
            "echo \"T: etcdmembers=$(busybox wget -q -O - --post-data '{}' http://127.0.0.1:2379/v3/cluster/member/list 2>&1)\"",
            "echo \"T: cloudinit=$(systemctl is-active basalt-cloudinit.service)\"",
            "echo \"T: datasource=$(journalctl -b -o cat -u basalt-cloudinit.service | grep -o 'datasource .*: using .*' | head -n 1)\"",
            "echo \"T: addr=$(ip -4 -o addr show scope global | awk '{print $2, $4}' | tr '\\n' ' ')\"",
            "echo \"T: route=$(ip -4 route show default | head -n 1)\"",
            "nic=$(ip -o link | grep -i '" + MAC + "' | awk -F': ' '{print $2}')",
            "echo \"T: netfiles=$(networkctl status --no-pager $nic 2>&1 | grep -i 'network file' | tr -s ' ')\"",
            "echo \"T: linkdns=$(cat /run/systemd/netif/links/* 2>/dev/null | grep '^DNS=' | tr '\\n' ' ')\"",
            // Diagnostics for a failing run (not parsed).
            "journalctl -b -o cat -u basalt-cloudinit.service | tail -n 60 | sed 's/^/cloudinit-log: /'",
            "systemctl --failed --no-legend --plain | sed 's/^/failed-unit: /'",
            "systemctl is-active -q etcd.service || journalctl -b -o cat -u etcd.service | tail -n 30 | sed 's/^/etcd-log: /'",
            "ip -o link | sed 's/^/link: /'",
            "networkctl list --no-pager 2>&1 | sed 's/^/networkctl: /'",
            "journalctl -b -o cat -u systemd-networkd.service | tail -n 40 | sed 's/^/networkd-log: /'",
            // When the NIC's driver was bound (the initramfs loads it) and anything udev gave up
            // on.
            "dmesg | grep -i -E 'virtio_net|renamed from|sr [0-9]|ahci' | head -n 12 | sed 's/^/dmesg-dev: /'",
            "journalctl -b -o cat -u systemd-udevd.service | grep -i -E 'killed|timeout|timed out' | head -n 20 | sed 's/^/udev-log: /'",
            ""));
  }

  @AfterAll
  static void tearDown() {
    // The copy of the disk is 2.4 GiB; the logs stay in target/cloud-config-it.
    if (work != null) {
      try {
        Files.deleteIfExists(work.resolve("base.raw"));
      } catch (IOException e) {
        // best effort
      }
    }
  }

  /** The user-data every scenario applies, naming the datasource in what it configures. */
  static String userData(String tag, boolean withHostname, String advertiseHost) {
    return String.join(
        "\n",
        "#cloud-config",
        withHostname ? "hostname: cc-" + tag : "# host name from the datasource's metadata",
        "users:",
        "  - name: " + USER,
        "    gecos: cloud-config " + tag,
        "    groups: [docker]",
        "    ssh_authorized_keys:",
        "      - " + publicKey,
        "write_files:",
        "  - path: " + FILE,
        "    permissions: '0640'",
        "    owner: " + USER + ":" + USER,
        "    content: |",
        "      written from " + tag,
        "coreos:",
        "  etcd2:",
        "    name: etcd-" + tag,
        "    listen-client-urls: http://0.0.0.0:2379",
        "    advertise-client-urls: http://" + advertiseHost + ":2379",
        "  units:",
        "    - name: etcd.service",
        "      command: start",
        "    - name: " + UNIT,
        "      command: start",
        "      content: |",
        "        [Unit]",
        "        Description=cloud-config test unit (" + tag + ")",
        "        [Service]",
        "        Type=oneshot",
        "        RemainAfterExit=yes",
        "        ExecStart=/bin/sh -c 'echo hello-" + tag + " > /run/basalt-cc-hello'",
        "");
  }

  @Test
  void oemPartition() throws Exception {
    prepare(userData("oem", true, "127.0.0.1"));
    Booted b = boot("oem", List.of(), "", "");
    b.assertEffects("cc-oem", "oem", "datasource oem: using oem:/run/basalt/oem/cloud-config.yml");
  }

  @Test
  void configDriveIso() throws Exception {
    prepare(null);
    Path dir = work.resolve("config-2");
    deleteTree(dir);
    Files.createDirectories(dir.resolve("openstack/latest"));
    Files.writeString(
        dir.resolve("openstack/latest/user_data"), userData("config2", true, "127.0.0.1"));
    Files.writeString(
        dir.resolve("openstack/latest/meta_data.json"),
        new ObjectMapper()
            .writeValueAsString(
                Map.of(
                    "uuid",
                    "83679162-1378-4288-a2d4-70e13ec132aa",
                    "name",
                    "cc-config2",
                    "public_keys",
                    Map.of("basalt", publicKey.replace(KEY_COMMENT, KEY_COMMENT + "-meta")))));
    Path iso = work.resolve("config-2.iso");
    Host.configIso(dir, "config-2", iso);
    Booted b =
        boot(
            "config2",
            List.of(
                "-drive",
                "if=none,id=cfg,format=raw,readonly=on,file=" + iso,
                "-device",
                "virtio-blk-pci,drive=cfg"),
            "",
            "");
    b.assertEffects(
        "cc-config2", "config2", "datasource config-2: using config-2:/run/basalt/config-2");
    // meta_data.json's public_keys go to the default user core, as coreos-cloudinit did.
    assertEquals(KEY_COMMENT + "-meta", b.t.get("corekeys"), b.vm.tail());
  }

  @Test
  void openNebulaContextIso() throws Exception {
    prepare(null);
    Path dir = work.resolve("context");
    deleteTree(dir);
    Files.createDirectories(dir);
    String ud =
        Base64.getEncoder()
            .encodeToString(
                userData("context", false, "$private_ipv4").getBytes(StandardCharsets.UTF_8));
    // As OpenNebula's one-context writes it (every variable of the VM's CONTEXT section,
    // single-quoted).
    Files.writeString(
        dir.resolve("context.sh"),
        String.join(
            "\n",
            "# Context variables generated by OpenNebula",
            "DISK_ID='1'",
            "ETH0_CONTEXT_FORCE_IPV4=''",
            "ETH0_DNS='10.0.2.3'",
            "ETH0_EXTERNAL=''",
            "ETH0_GATEWAY='10.0.2.2'",
            "ETH0_GATEWAY6=''",
            "ETH0_IP='10.0.2.50'",
            "ETH0_IP6=''",
            "ETH0_IP6_PREFIX_LENGTH=''",
            "ETH0_IP6_ULA=''",
            "ETH0_MAC='" + MAC + "'",
            "ETH0_MASK='255.255.255.0'",
            "ETH0_MTU=''",
            "ETH0_NETWORK='10.0.2.0'",
            "ETH0_SEARCH_DOMAIN=''",
            "ETH0_VLAN_ID=''",
            "ETH0_VROUTER_IP=''",
            "ETH0_VROUTER_IP6=''",
            "ETH0_VROUTER_MANAGEMENT=''",
            "NETWORK='YES'",
            "SET_HOSTNAME='cc-context'",
            "SSH_PUBLIC_KEY='" + publicKey.replace(KEY_COMMENT, KEY_COMMENT + "-context") + "'",
            "TARGET='hdb'",
            "USERDATA_ENCODING='base64'",
            "USER_DATA='" + ud + "'",
            ""));
    Path iso = work.resolve("context.iso");
    Host.configIso(dir, "CONTEXT", iso);
    // OpenNebula attaches the context as a CD-ROM; ssh and etcd are forwarded to the ETH0_IP
    // address,
    // so they answer only if the guest took the address from context.sh.
    Booted b =
        boot(
            "context",
            List.of(
                "-drive",
                "if=none,id=ctx,media=cdrom,readonly=on,format=raw,file=" + iso,
                "-device",
                "ide-cd,drive=ctx,bus=ide.1"),
            "",
            "10.0.2.50");
    b.assertEffects(
        "cc-context",
        "context",
        "datasource opennebula: using opennebula:/run/basalt/context/context.sh");
    assertEquals(KEY_COMMENT + "-context", b.t.get("corekeys"), b.vm.tail());
    assertTrue(b.t.get("addr").contains("10.0.2.50/24"), "ETH0_IP/ETH0_MASK: " + b.t.get("addr"));
    assertTrue(
        b.t.get("route").startsWith("default via 10.0.2.2"), "ETH0_GATEWAY: " + b.t.get("route"));
    assertTrue(
        b.t.get("netfiles").contains("10-basalt-context-eth0.network"),
        "networkd file: " + b.t.get("netfiles"));
    assertTrue(b.t.get("linkdns").contains("10.0.2.3"), "ETH0_DNS: " + b.t.get("linkdns"));
    // $private_ipv4 in the user-data was ETH0_IP.
    assertTrue(
        b.clientUrls.contains("http://10.0.2.50:2379"), "advertised client URLs: " + b.clientUrls);
  }

  @Test
  void cmdlineUrlOverLoopback() throws Exception {
    String body = userData("url", true, "127.0.0.1");
    List<String> requests = new CopyOnWriteArrayList<>();
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            requests.add(
                ex.getRequestMethod()
                    + " "
                    + ex.getRequestURI()
                    + " "
                    + ex.getRequestHeaders().getFirst("User-Agent"));
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            int code = ex.getRequestURI().getPath().equals("/basalt/cloud-config.yml") ? 200 : 404;
            ex.sendResponseHeaders(code, code == 200 ? b.length : -1);
            if (code == 200) {
              ex.getResponseBody().write(b);
            }
          }
        });
    server.start();
    try {
      prepare(
          null,
          "cloud-config-url=http://10.0.2.100/basalt/cloud-config.yml",
          "basalt.cloud-config-url.insecure=1"); // plain http needs the opt-in
      int port = server.getAddress().getPort();
      // One host process per guest connection (a chardev target would be a single connection,
      // opened
      // when QEMU starts and dead after the first response).
      Booted b =
          boot(
              "url", List.of(), ",guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 " + port, "");
      b.assertEffects(
          "cc-url",
          "url",
          "datasource cmdline-url: using url:http://10.0.2.100/basalt/cloud-config.yml");
      assertTrue(
          requests.stream().anyMatch(r -> r.startsWith("GET /basalt/cloud-config.yml ")),
          "requests: " + requests);
      System.out.println("CloudConfigDatasourcesIT url: HTTP requests served: " + requests);
    } finally {
      server.stop(0);
    }
  }

  /**
   * Sets up the shared disk copy for one scenario: OEM's {@code cloud-config.yml} is {@code
   * oemConfig} (absent when null) and the boot entries carry {@code basalt.testhook} plus {@code
   * extraCmdline}.
   */
  static void prepare(String oemConfig, String... extraCmdline)
      throws IOException, InterruptedException {
    String oem = image.base + "@@" + image.partitionStart(4);
    String listing = Host.run("env", "MTOOLS_SKIP_CHECK=1", "mdir", "-b", "-i", oem, "::/");
    if (listing.lines().anyMatch(l -> l.endsWith("/cloud-config.yml"))) {
      Host.run("env", "MTOOLS_SKIP_CHECK=1", "mdel", "-i", oem, "::/cloud-config.yml");
    }
    if (oemConfig != null) {
      image.putOem("cloud-config.yml", oemConfig);
    }
    setCmdlineExtra(extraCmdline);
  }

  /**
   * Replaces the words after {@code basalt.testhook} in every boot entry's options with {@code
   * words}.
   */
  static void setCmdlineExtra(String... words) throws IOException, InterruptedException {
    String esp = image.base + "@@" + image.partitionStart(1);
    String listing =
        Host.run("env", "MTOOLS_SKIP_CHECK=1", "mdir", "-b", "-i", esp, "::/loader/entries");
    for (String entry :
        listing
            .lines()
            .filter(l -> l.endsWith(".conf"))
            .map(l -> l.substring(l.indexOf("/loader/entries/")))
            .toList()) {
      String conf = Host.run("env", "MTOOLS_SKIP_CHECK=1", "mtype", "-i", esp, "::" + entry);
      List<String> out = new ArrayList<>();
      for (String line : conf.split("\n", -1)) {
        if (line.startsWith("options ")) {
          int at = line.indexOf(" basalt.testhook");
          if (at < 0) {
            throw new IOException(entry + " has no basalt.testhook: " + line);
          }
          line =
              line.substring(0, at + " basalt.testhook".length())
                  + (words.length == 0 ? "" : " " + String.join(" ", words));
        }
        out.add(line);
      }
      Path patched = work.resolve("entry.conf");
      Files.writeString(patched, String.join("\n", out));
      Host.run(
          "env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", esp, patched.toString(), "::" + entry);
    }
  }

  /**
   * One boot's observations: the hook's values, the etcd member seen from this machine, timings.
   */
  static final class Booted {
    final QemuVm vm;
    final Map<String, String> t;
    final String tag;
    String sshOutput;
    String memberName;
    String clientUrls;

    Booted(QemuVm vm, Map<String, String> t, String tag) {
      this.vm = vm;
      this.t = t;
      this.tag = tag;
    }

    void assertEffects(String hostname, String tag, String datasourceLine) {
      String tail = vm.tail();
      assertEquals("active", t.get("cloudinit"), "basalt-cloudinit.service\n" + tail);
      assertEquals(datasourceLine, t.get("datasource"), tail);
      // 1. host name
      assertEquals(hostname, t.get("hostname"), tail);
      assertEquals(hostname, t.get("etchostname"), tail);
      // 2. a user with an ssh key, which logs in
      assertTrue(
          t.get("passwd").startsWith(USER + ":x:")
              && t.get("passwd").contains(":cloud-config " + tag + ":/home/" + USER + ":"),
          "getent passwd: " + t.get("passwd"));
      assertTrue((" " + t.get("groups") + " ").contains(" docker "), "groups: " + t.get("groups"));
      assertEquals(KEY_COMMENT, t.get("keys"), tail);
      assertEquals("600 " + USER + ":" + USER, t.get("keysstat"), tail);
      assertEquals(USER + " " + hostname, sshOutput, "ssh " + USER + "@guest");
      // 3. a unit started
      assertEquals("active", t.get("unit"), tail);
      assertEquals("hello-" + tag, t.get("unitout"), tail);
      // 4. a file with mode and owner
      assertEquals("640 " + USER + ":" + USER, t.get("file"), tail);
      assertEquals("written from " + tag, t.get("filetext"), tail);
      // 5. an etcd member with the configured name
      assertEquals("active", t.get("etcd"), tail);
      assertEquals("ETCD_NAME=etcd-" + tag, t.get("etcdenv"), tail);
      assertTrue(
          t.get("etcdmembers").contains("\"name\":\"etcd-" + tag + "\""),
          "member list in the guest: " + t.get("etcdmembers"));
      assertEquals("etcd-" + tag, memberName, "etcdctl member list from the host");
    }
  }

  /**
   * Boots a fresh overlay of the prepared copy with {@code extraArgs} (extra drives) and {@code
   * netdevExtra}, forwarding ssh and etcd's client port from 127.0.0.1 to {@code guestIp} (empty:
   * the DHCP address); waits for the hook, then logs in with ssh and lists etcd's members with the
   * host's etcdctl. The VM is closed before this returns.
   */
  static Booted boot(String tag, List<String> extraArgs, String netdevExtra, String guestIp)
      throws Exception {
    int sshPort = Host.freePort();
    int etcdPort = Host.freePort();
    // 3 GiB: ROOT grows from 64 MiB to ~0.6 GiB on first boot; etcd preallocates a 64 MiB WAL.
    Path disk = image.overlay(tag, "3G");
    List<String> args =
        image.uefiVirtio(
            tag,
            disk,
            netdevExtra
                + ",hostfwd=tcp:127.0.0.1:"
                + sshPort
                + "-"
                + guestIp
                + ":22"
                + ",hostfwd=tcp:127.0.0.1:"
                + etcdPort
                + "-"
                + guestIp
                + ":2379");
    args.replaceAll(a -> a.equals("virtio-net-pci,netdev=n0") ? a + ",mac=" + MAC : a);
    args.addAll(extraArgs);
    long t0 = System.nanoTime();
    QemuVm vm = QemuVm.start("cc-" + tag, args, work.resolve(tag + ".log"));
    try {
      QemuVm.Match reached = vm.expect(0, BOOT, "basalt: multi-user reached", GuestImage.FAILURES);
      long multiUser = System.nanoTime();
      Map<String, String> t = GuestImage.hookOutput(vm, reached.start);
      long hook = System.nanoTime();
      Booted b = new Booted(vm, t, tag);
      b.sshOutput = Host.ssh(key, USER, sshPort, "echo $(id -un) $(hostname)");
      if ("active".equals(t.get("etcd"))) {
        String list = etcdctl(etcdPort, "member", "list", "-w", "json");
        JsonNode members =
            list.startsWith("{") ? new ObjectMapper().readTree(list).path("members") : null;
        b.memberName =
            members != null && members.size() == 1 ? members.get(0).path("name").asText() : list;
        b.clientUrls =
            members != null && members.size() == 1
                ? members.get(0).path("clientURLs").toString()
                : list;
      } else {
        b.memberName =
            b.clientUrls = "(not asked: etcd.service is " + t.get("etcd") + " in the guest)";
      }
      long done = System.nanoTime();
      System.out.printf(
          "CloudConfigDatasourcesIT %s: multi-user %d s, hook output %d s, ssh+etcdctl %d s after boot start;"
              + " ssh -> '%s', etcdctl member -> %s %s; hook: %s%n",
          tag,
          secs(multiUser - t0),
          secs(hook - t0),
          secs(done - t0),
          b.sshOutput,
          b.memberName,
          b.clientUrls,
          t);
      return b;
    } finally {
      vm.close();
    }
  }

  static long secs(long nanos) {
    return TimeUnit.NANOSECONDS.toSeconds(nanos);
  }

  /** The host's etcdctl (v3 API) against the guest's forwarded client port. */
  static String etcdctl(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "etcdctl",
                "--endpoints=http://127.0.0.1:" + port,
                "--dial-timeout=30s",
                "--command-timeout=60s"));
    cmd.addAll(List.of(args));
    return retried(cmd, "etcdctl");
  }

  private static String retried(List<String> cmd, String what)
      throws IOException, InterruptedException {
    String last = "";
    for (int attempt = 1; attempt <= 3; attempt++) {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("ETCDCTL_API", "3");
      Process p = pb.start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
      } else if (p.exitValue() == 0) {
        return out.trim();
      }
      last =
          "attempt "
              + attempt
              + ": exit "
              + (p.isAlive() ? "timeout" : p.exitValue())
              + ": "
              + out.trim();
      Thread.sleep(Duration.ofSeconds(10).toMillis());
    }
    return what + " failed: " + last;
  }

  static void deleteTree(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (var s = Files.walk(dir)) {
        for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
