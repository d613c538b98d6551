package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The initramfs {@code /init}'s live-boot functions, sourced with {@code BASALT_INIT_FUNCTIONS=1}:
 * the size of a usr.img from its hash offset (against {@code veritysetup format}), the memory check
 * and its message on a fake {@code /proc/meminfo}, the check of a usr.img the kernel unpacked, the
 * URL usr.img is fetched from, and the fetch itself with busybox {@code wget} from an HTTP server
 * on loopback. Run with {@code sh} and, where installed, busybox's sh (the initramfs' shell).
 */
class InitramfsLiveIT {

  private static final Path INIT = InitUnitsScripts.INIT;

  @TempDir Path tmp;

  /** The outcome of one run: exit status and output. */
  private record Run(int exit, String out) {
    boolean emergency() {
      return exit == 3 && out.contains("EMERGENCY");
    }
  }

  @Test
  void usrImageSizeFromTheHashOffsetIsWhatVeritysetupFormatWrites() throws Exception {
    assumeTrue(onPath("veritysetup"), "veritysetup (cryptsetup-bin) not installed");
    // One hash level, two, three (the default image: 85071 data blocks, 351207424 bytes).
    for (long blocks : List.of(1L, 128L, 129L, 16384L, 16385L, 85071L)) {
      Path img = tmp.resolve("v" + blocks + ".img");
      try (RandomAccessFile f = new RandomAccessFile(img.toString(), "rw")) {
        f.setLength(blocks * 4096);
      }
      String offset = Long.toString(blocks * 4096);
      exec("veritysetup", "format", "--hash-offset=" + offset, img.toString(), img.toString());
      Run r = run(Map.of(), "usr_img_bytes " + offset);
      assertEquals(0, r.exit(), r.out());
      assertEquals(Long.toString(Files.size(img)), r.out().strip(), blocks + " data blocks");
      Files.delete(img);
    }
  }

  @Test
  void tooLittleMemoryForUsrStopsWithAMessageThatSaysHowMuchToGive() throws Exception {
    Path meminfo = meminfo(582, 474);
    long bytes = 351207424L; // 335 MiB
    Run r =
        run(
            Map.of("BASALT_MEMINFO", meminfo.toString()),
            "check_live_memory " + bytes + " \"fetching /usr\"",
            "echo PASSED");
    assertTrue(r.emergency(), r.out());
    assertFalse(r.out().contains("PASSED"), r.out());
    assertTrue(
        r.out()
            .contains(
                "basalt-initramfs: not enough memory for a live boot: fetching /usr needs 559 MiB"
                    + " of RAM (335 MiB for /usr, about 224 MiB for the system) and 474 MiB are"
                    + " available (MemTotal 582 MiB). Give this machine at least 128 MiB more RAM,"
                    + " or install Basalt to a disk"),
        r.out());

    Run enough =
        run(
            Map.of("BASALT_MEMINFO", meminfo(900, 600).toString()),
            "check_live_memory " + bytes + " \"fetching /usr\"",
            "echo PASSED");
    assertEquals(new Run(0, "PASSED\n"), enough);
    // What is in RAM already counts for nothing more.
    Run inRam =
        run(
            Map.of("BASALT_MEMINFO", meminfo(700, 300).toString()),
            "check_live_memory 0 \"/usr from the initramfs\"",
            "echo PASSED");
    assertEquals(new Run(0, "PASSED\n"), inRam);
  }

  @Test
  void aUsrImageTheKernelCutShortWhileUnpackingIsBlamedOnMemory() throws Exception {
    Path img = tmp.resolve("usr.img");
    Files.write(img, new byte[12288]);
    Map<String, String> env = Map.of("BASALT_MEMINFO", meminfo(982, 700).toString());
    String quiet = "kernel_log() { echo '[    2.9] Freeing initrd memory: 7280K'; }";
    Run whole = run(env, quiet, "check_unpacked \"" + img + "\" 12288", "echo PASSED");
    assertEquals(new Run(0, "PASSED\n"), whole);
    Run shorter = run(env, quiet, "check_unpacked \"" + img + "\" 16384", "echo PASSED");
    assertTrue(shorter.emergency(), shorter.out());
    assertTrue(
        shorter
            .out()
            .contains(
                "not enough memory for a live boot: the kernel could not unpack the initramfs ("
                    + img
                    + " holds 12288 of its 16384 bytes; MemTotal 982 MiB)"),
        shorter.out());
    Run missing = run(env, quiet, "check_unpacked \"" + tmp.resolve("none") + "\" 16384");
    assertTrue(missing.out().contains("holds 0 of its 16384 bytes"), missing.out());
    // Full size, zeros where the kernel's writes failed (-m 1088M, usr.img as an iPXE initrd).
    Run writeError =
        run(
            env,
            "kernel_log() { printf '%s\\n' '[    2.899814] Initramfs unpacking failed: write"
                + " error' '[    2.9] Freeing initrd memory: 350000K'; }",
            "check_unpacked \"" + img + "\" 12288",
            "echo PASSED");
    assertTrue(writeError.emergency(), writeError.out());
    assertTrue(
        writeError
            .out()
            .contains(
                "not enough memory for a live boot: the kernel could not unpack the initramfs"
                    + " (Initramfs unpacking failed: write error; MemTotal 982 MiB). An initramfs"
                    + " that carries /usr is in RAM twice while it is unpacked"),
        writeError.out());
  }

  @Test
  void usrImageUrlFromTheCommandLineOrElseTheDhcpLease() throws Exception {
    Path lease = tmp.resolve("lease");
    Map<String, String> env = Map.of("BASALT_LEASE", lease.toString());
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("LIVE_USR=http://h/x/usr-1.img LIVE_BASE=http://h/pxe/", "http://h/x/usr-1.img");
    cases.put("LIVE_BASE=http://10.0.2.100:8080/pxe/", "http://10.0.2.100:8080/pxe/usr.img");
    cases.put("LIVE_BASE=http://10.0.2.100:8080/pxe", "http://10.0.2.100:8080/pxe/usr.img");
    cases.put("LIVE_BASE=tftp://10.0.2.2/", "tftp://10.0.2.2/usr.img");
    // iPXE before 2024 expands ${cwduri} to nothing: no lease, no URL.
    cases.put("LIVE_BASE=", "");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Files.deleteIfExists(lease);
      Run r = run(env, c.getKey(), "echo \"URL=$(live_usr_url)\"");
      assertEquals(new Run(0, "URL=" + c.getValue() + "\n"), r, c.getKey());
    }
    Map<String, String> leases = new LinkedHashMap<>();
    leases.put("siaddr=10.0.2.2\nboot_file=boot.ipxe", "tftp://10.0.2.2/usr.img");
    leases.put(
        "siaddr=192.0.2.5\nboot_file=/srv/pxe/boot.ipxe", "tftp://192.0.2.5/srv/pxe/usr.img");
    leases.put(
        "siaddr=0.0.0.0\nboot_file=http://192.0.2.7/pxe/boot.ipxe", "http://192.0.2.7/pxe/usr.img");
    leases.put("siaddr=0.0.0.0\nboot_file=", "");
    for (Map.Entry<String, String> c : leases.entrySet()) {
      Files.writeString(lease, "interface=eth0\nip=10.0.2.15\n" + c.getKey() + "\n");
      Run r = run(env, "LIVE_BASE=", "echo \"URL=$(live_usr_url)\"");
      assertEquals(new Run(0, "URL=" + c.getValue() + "\n"), r, c.getKey());
    }
  }

  @Test
  void liveUsrImageFetchesUsrImgOverHttpWithBusyboxWgetAndChecksItsSize() throws Exception {
    assumeTrue(InitUnitsScripts.busybox().isPresent(), "busybox not installed");
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Files.createSymbolicLink(bin.resolve("wget"), InitUnitsScripts.busybox().get());
    long hashOffset = 129 * 4096;
    byte[] img = new byte[133 * 4096]; // usr_img_bytes of that offset
    for (int i = 0; i < img.length; i++) {
      img[i] = (byte) (i * 31 + (i >> 12));
    }
    byte[] other = new byte[img.length - 4096];
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/pxe/usr.img", x -> send(x, img));
    server.createContext("/old/usr.img", x -> send(x, other));
    server.start();
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();
      Path live = tmp.resolve("root/basalt/usr.img");
      Map<String, String> env =
          Map.of(
              "BASALT_LIVE_IMG",
              live.toString(),
              "BASALT_MEMINFO",
              meminfo(4096, 4000).toString(),
              "TEST_PATH",
              bin.toString());
      String[] driver = {
        "net_up() { echo net_up; }",
        "net_down() { echo net_down; }",
        "grow_live_root() { echo grow_live_root; }",
        "HASHOFFSET=" + hashOffset,
        "live_usr_image",
        "echo \"USRIMG=$USRIMG\""
      };
      Run r = run(env, concat("rm -f \"$BASALT_LIVE_IMG\"; LIVE_BASE=" + base + "/pxe/", driver));
      assertEquals(0, r.exit(), r.out());
      assertEquals(
          "grow_live_root\nnet_up\nbasalt-initramfs: fetching /usr into RAM: "
              + base
              + "/pxe/usr.img (1 MiB; 4000 of 4096 MiB available)\nnet_down\nUSRIMG="
              + live
              + "\n",
          r.out());
      assertArrayEquals(img, Files.readAllBytes(live));
      assertFalse(Files.exists(tmp.resolve("root/basalt/usr.img.part")));

      // In the initramfs already (the ISO): used as it is, nothing fetched.
      Run again = run(env, concat("LIVE_BASE=" + base + "/none/", driver));
      assertEquals(new Run(0, "USRIMG=" + live + "\n"), again);

      Files.delete(live);
      Run wrong =
          run(env, concat("rm -f \"$BASALT_LIVE_IMG\"; LIVE_USR=" + base + "/old/usr.img", driver));
      assertTrue(wrong.emergency(), wrong.out());
      assertTrue(
          wrong
              .out()
              .contains(
                  "live boot: "
                      + base
                      + "/old/usr.img is "
                      + other.length
                      + " bytes, the usr.img of this kernel command line"
                      + " (basalt.usr.hashoffset="
                      + hashOffset
                      + ") is "
                      + img.length
                      + ": another build's usr.img?"),
          wrong.out());
      assertFalse(Files.exists(live), "nothing left behind");
      assertFalse(Files.exists(tmp.resolve("root/basalt/usr.img.part")), "nothing left behind");

      Run missing = run(env, concat("LIVE_USR=" + base + "/nothing/usr.img", driver));
      assertTrue(missing.emergency(), missing.out());
      assertTrue(
          missing
              .out()
              .contains("live boot: fetching /usr from " + base + "/nothing/usr.img failed"),
          missing.out());
      assertFalse(Files.exists(tmp.resolve("root/basalt/usr.img.part")), "nothing left behind");
    } finally {
      server.stop(0);
    }
  }

  private static void send(com.sun.net.httpserver.HttpExchange x, byte[] body) throws IOException {
    x.sendResponseHeaders(200, body.length);
    try (OutputStream o = x.getResponseBody()) {
      o.write(body);
    }
  }

  private static String[] concat(String first, String... rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  private Path meminfo(int totalMib, int availableMib) throws IOException {
    Path f = tmp.resolve("meminfo-" + totalMib + "-" + availableMib);
    Files.writeString(
        f,
        "MemTotal:       "
            + totalMib * 1024L
            + " kB\nMemFree:        "
            + availableMib * 1024L
            + " kB\nMemAvailable:   "
            + availableMib * 1024L
            + " kB\n");
    return f;
  }

  /**
   * Sources /init and runs {@code lines} after it with emergency() replaced by one that exits 3;
   * with sh, and with busybox sh where installed (both must give the same result).
   */
  private Run run(Map<String, String> env, String... lines) throws Exception {
    String driver =
        String.join(
            "\n",
            "BASALT_INIT_FUNCTIONS=1",
            ". \"$INIT\"",
            // /init sets its own PATH; a test's tools (busybox wget) come first.
            "[ -n \"$TEST_PATH\" ] && PATH=$TEST_PATH:$PATH",
            "emergency() { say \"$*\"; echo EMERGENCY; exit 3; }",
            String.join("\n", lines),
            "");
    Path script = tmp.resolve("driver.sh");
    Files.writeString(script, driver);
    Run sh = run(List.of("sh"), script, env);
    if (InitUnitsScripts.busybox().isPresent()) {
      Run bb = run(List.of(InitUnitsScripts.busybox().get().toString(), "sh"), script, env);
      assertEquals(sh, bb, "busybox sh differs from sh");
    }
    return sh;
  }

  private Run run(List<String> shell, Path script, Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>(shell);
    cmd.add(script.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Map<String, String> e = pb.environment();
    e.put("PATH", "/usr/bin" + File.pathSeparator + "/bin");
    e.put("INIT", INIT.toAbsolutePath().toString());
    e.putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out);
  }

  private static boolean onPath(String tool) {
    for (String d : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  private static void exec(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
  }
}
