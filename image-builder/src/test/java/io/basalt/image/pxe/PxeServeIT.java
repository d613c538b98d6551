package io.basalt.image.pxe;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.spec.PxeConfig;
import io.basalt.image.testfixtures.HostTool;
import io.basalt.testing.EnabledIfHost;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code basalt pxe serve}'s server against real clients: curl for HTTP (scripts, files, ranges)
 * and TFTP with RFC 2347-2349 options (blksize, tsize), tftp-hpa for plain RFC 1350 reads in octet
 * and netascii mode, including a file long enough for the 16-bit block number to roll over.
 */
@EnabledIfHost(
    tools = {"curl", "tftp"},
    reason = "real HTTP and TFTP clients (curl, tftp-hpa)")
class PxeServeIT {
  static final String MAC = "52:54:00:12:34:56";
  static final String BUILD_SCRIPT =
      "#!ipxe\nkernel vmlinuz basalt.live usrhash=ab basalt.usr.hashoffset=4096"
          + " basalt.version=1.0 console=ttyS0,115200\ninitrd initramfs\nboot\n";

  Path dir;
  PxeServer server;
  final List<String> log = new CopyOnWriteArrayList<>();
  byte[] initramfs;
  byte[] usrImg;
  String http;
  int tftpPort;

  static byte[] pseudoRandom(int n, long seed) {
    byte[] b = new byte[n];
    long x = seed;
    for (int i = 0; i < n; i++) {
      x = x * 6364136223846793005L + 1442695040888963407L;
      b[i] = (byte) (x >>> 56);
    }
    return b;
  }

  @BeforeEach
  void start() throws Exception {
    dir = Files.createTempDirectory("pxeserveit");
    Path pxe = Files.createDirectories(dir.resolve("build/pxe"));
    Path update = Files.createDirectories(dir.resolve("build/update"));
    Files.writeString(pxe.resolve("boot.ipxe"), BUILD_SCRIPT);
    Files.write(pxe.resolve("vmlinuz"), pseudoRandom(100_000, 1));
    // 33 MiB + 5: more than 65535 blocks of 512 bytes, so tftp-hpa's read rolls block 65535 to 0
    initramfs = pseudoRandom((33 << 20) + 5, 2);
    Files.write(pxe.resolve("initramfs"), initramfs);
    usrImg = pseudoRandom(1 << 20, 3);
    Files.write(update.resolve("usr.img"), usrImg);
    Files.writeString(update.resolve("payload.json"), "{\"version\":\"1.0\"}\n");
    Files.writeString(dir.resolve("build/manifest.json"), "{}\n");
    Files.writeString(dir.resolve("node1.yml"), "#cloud-config\nhostname: node1\n");
    Path machines =
        Files.writeString(
            dir.resolve("machines.yaml"),
            "machines:\n"
                + "  \""
                + MAC
                + "\":\n"
                + "    mode: install\n"
                + "    install-device: /dev/vda\n"
                + "    cloud-config: node1.yml\n");
    InetAddress lo = InetAddress.getLoopbackAddress();
    server =
        PxeServer.start(
            new PxeServer.Settings(
                pxe,
                update,
                PxeConfig.read(machines),
                List.of(new InetSocketAddress(lo, 0)),
                List.of(new InetSocketAddress(lo, 0)),
                null,
                null,
                List.of()),
            log::add);
    http = "http://127.0.0.1:" + server.httpAddresses().get(0).getPort() + "/";
    tftpPort = server.tftpAddresses().get(0).getPort();
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  HostTool curl(String... args) throws Exception {
    List<String> argv = new java.util.ArrayList<>(List.of("curl", "-sS", "--noproxy", "*"));
    argv.addAll(Arrays.asList(args));
    return HostTool.run(120, argv.toArray(String[]::new));
  }

  @Test
  void httpServesScriptsPerMacAndTheBuildsFiles() throws Exception {
    HostTool chain = curl("-f", http + "boot.ipxe");
    assertEquals(0, chain.exit, chain.toString());
    assertTrue(
        chain.outText().endsWith("chain " + http + "pxe/boot.ipxe?mac=${mac:hexhyp}\n"),
        chain.outText());

    HostTool install = curl("-f", http + "pxe/boot.ipxe?mac=52-54-00-12-34-56");
    assertEquals(0, install.exit, install.toString());
    assertEquals(
        BUILD_SCRIPT.replace(
            "console=ttyS0,115200\n",
            "console=ttyS0,115200 basalt.install.dev=/dev/vda basalt.install.source="
                + http
                + "update/ basalt.install.cloud-config="
                + http
                + "machines/52-54-00-12-34-56/cloud-config.yml basalt.install.reboot\n"),
        install.outText());
    HostTool other = curl("-f", http + "pxe/boot.ipxe?mac=52-54-00-00-00-01");
    assertEquals(BUILD_SCRIPT, other.outText(), "a machine not listed boots live");

    HostTool cc = curl("-f", http + "machines/52-54-00-12-34-56/cloud-config.yml");
    assertEquals("#cloud-config\nhostname: node1\n", cc.outText());
    assertEquals(
        "404",
        curl(
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                http + "machines/52-54-00-00-00-01/cloud-config.yml")
            .outText());

    Path got = dir.resolve("initramfs.http");
    HostTool f = curl("-f", "-o", got.toString(), http + "pxe/initramfs");
    assertEquals(0, f.exit, f.toString());
    assertTrue(Arrays.equals(initramfs, Files.readAllBytes(got)), "initramfs over HTTP");

    HostTool range = curl("-f", "-r", "1000-1999", http + "update/usr.img");
    assertArrayEquals(Arrays.copyOfRange(usrImg, 1000, 2000), range.out);
    HostTool head = curl("-fI", http + "update/usr.img");
    assertTrue(
        head.outText()
            .toLowerCase(java.util.Locale.ROOT)
            .contains("content-length: " + usrImg.length),
        head.outText());

    for (String p :
        List.of("pxe/../manifest.json", "update/%2e%2e/manifest.json", "manifest.json", "pxe/")) {
      assertEquals(
          "404",
          curl("--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", http + p).outText(),
          p);
    }
    assertEquals(
        "405",
        curl("-X", "POST", "-o", "/dev/null", "-w", "%{http_code}", http + "boot.ipxe").outText());
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.contains(
                        "GET /pxe/boot.ipxe?mac=52-54-00-12-34-56 (52:54:00:12:34:56: install) 200")),
        log.toString());
  }

  @Test
  void tftpServesTheChainScriptAndTheBuildsFilesWithAndWithoutOptions() throws Exception {
    // tftp-hpa: plain RFC 1350, 512-byte blocks, block numbers rolling over past 65535
    Path a = dir.resolve("initramfs.tftp");
    HostTool t =
        HostTool.run(
            300,
            "tftp",
            "-m",
            "octet",
            "127.0.0.1",
            Integer.toString(tftpPort),
            "-c",
            "get",
            "initramfs",
            a.toString());
    assertEquals(0, t.exit, t.toString());
    assertTrue(Arrays.equals(initramfs, Files.readAllBytes(a)), "initramfs over plain TFTP");

    Path chain = dir.resolve("boot.ipxe.netascii");
    HostTool n =
        HostTool.run(
            60,
            "tftp",
            "-m",
            "netascii",
            "127.0.0.1",
            Integer.toString(tftpPort),
            "-c",
            "get",
            "boot.ipxe",
            chain.toString());
    assertEquals(0, n.exit, n.toString());
    assertEquals(BootScripts.chain(http), Files.readString(chain, UTF_8));

    // curl: RFC 2347 option negotiation with blksize (RFC 2348) and tsize (RFC 2349)
    Path b = dir.resolve("initramfs.curl");
    HostTool c =
        curl(
            "--tftp-blksize",
            "1468",
            "-o",
            b.toString(),
            "tftp://127.0.0.1:" + tftpPort + "/initramfs");
    assertEquals(0, c.exit, c.toString());
    assertTrue(
        Arrays.equals(initramfs, Files.readAllBytes(b)), "initramfs over TFTP, blksize 1468");
    assertTrue(
        log.stream()
            .anyMatch(
                l -> l.contains("RRQ initramfs " + initramfs.length + " bytes, blksize 1468")),
        log.toString());

    HostTool missing = curl("-o", "/dev/null", "tftp://127.0.0.1:" + tftpPort + "/nothing");
    assertTrue(missing.exit != 0, missing.toString());
    HostTool escape =
        curl("-o", "/dev/null", "tftp://127.0.0.1:" + tftpPort + "/../build/manifest.json");
    assertTrue(escape.exit != 0, escape.toString());
    HostTool put =
        HostTool.run(
            30,
            "tftp",
            "127.0.0.1",
            Integer.toString(tftpPort),
            "-c",
            "put",
            chain.toString(),
            "x");
    assertTrue(
        put.outText().contains("read-only") || put.err.contains("read-only"), put.toString());
  }

  @Test
  void proxyDhcpAnswersPxeClientsOnlyOnTheAddressGiven() throws Exception {
    InetAddress lo = InetAddress.getLoopbackAddress();
    try (PxeServer p =
            PxeServer.start(
                new PxeServer.Settings(
                    dir.resolve("build/pxe"),
                    null,
                    PxeConfig.allLive(),
                    List.of(new InetSocketAddress(lo, 0)),
                    List.of(new InetSocketAddress(lo, 0)),
                    null,
                    null,
                    List.of(new InetSocketAddress(lo, 0))),
                log::add);
        java.net.DatagramSocket client =
            new java.net.DatagramSocket(new InetSocketAddress(lo, 0))) {
      InetSocketAddress dhcp = p.proxyDhcpAddresses().get(0);
      assertEquals(lo, dhcp.getAddress());
      client.setSoTimeout(5000);
      byte[] discover =
          ProxyDhcpTest.request(
              ProxyDhcp.DISCOVER,
              new int[] {60, 77},
              ProxyDhcpTest.ascii("PXEClient:Arch:00000"),
              ProxyDhcpTest.ascii("iPXE"));
      client.send(new java.net.DatagramPacket(discover, discover.length, dhcp));
      java.net.DatagramPacket r = new java.net.DatagramPacket(new byte[1500], 1500);
      client.receive(r);
      byte[] offer = Arrays.copyOf(r.getData(), r.getLength());
      assertEquals(
          "http://127.0.0.1:" + p.httpAddresses().get(0).getPort() + "/boot.ipxe",
          ProxyDhcp.bootFile(offer));
      assertArrayEquals(lo.getAddress(), Arrays.copyOfRange(offer, 20, 24), "siaddr = TFTP");

      byte[] other =
          ProxyDhcpTest.request(
              ProxyDhcp.DISCOVER, new int[] {60}, ProxyDhcpTest.ascii("MSFT 5.0"));
      client.send(new java.net.DatagramPacket(other, other.length, dhcp));
      client.setSoTimeout(1500);
      assertThrowsTimeout(client);
    }
  }

  private static void assertThrowsTimeout(java.net.DatagramSocket s) {
    org.junit.jupiter.api.Assertions.assertThrows(
        java.net.SocketTimeoutException.class,
        () -> s.receive(new java.net.DatagramPacket(new byte[1500], 1500)),
        "a DHCP client that is not PXE gets no answer");
  }
}
