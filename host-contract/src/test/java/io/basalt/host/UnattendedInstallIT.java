package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * init-units' {@code /usr/lib/basalt/unattended-install} (basalt-unattended-install.service) with a
 * command line made from {@link KernelCommandLine}'s install keys, a fake {@code basalt} that
 * records its arguments and exits as told, and a fake {@code systemctl}: the install contract's
 * arguments, reboot only after a successful install that asked for it, a failure said on the
 * console with no reboot, and no install on a disk boot.
 */
class UnattendedInstallIT {
  private static final Path SCRIPT = InitUnitsScripts.script("libexec/unattended-install");
  private static final String SOURCE = "http://10.0.2.100/update/";
  private static final String CLOUD_CONFIG =
      "http://10.0.2.100/machines/52-54-00-12-34-56/cloud-config.yml";

  @TempDir Path tmp;
  private Path bin;
  private Path cmdline;
  private int basaltExit;

  @BeforeEach
  void fakes() throws IOException {
    assertTrue(Files.isRegularFile(SCRIPT), "script not found at " + SCRIPT.toAbsolutePath());
    bin = Files.createDirectories(tmp.resolve("bin"));
    InitUnitsScripts.fake(bin, "systemctl", "echo \"CALLED systemctl $*\"");
    // the route DHCP gave the live system, which the script waits for before an http(s) install
    InitUnitsScripts.fake(bin, "ip", "echo 'default via 10.0.2.2 dev eth0 proto dhcp'");
    cmdline = tmp.resolve("cmdline");
  }

  private void commandLine(String... args) throws IOException {
    Files.writeString(cmdline, "BOOT_IMAGE=vmlinuz " + String.join(" ", args) + " console=ttyS0\n");
  }

  private static String arg(String key, String value) {
    return KernelCommandLine.argument(key, value);
  }

  private Result run() throws Exception {
    Result r = run(List.of("sh"));
    if (InitUnitsScripts.busybox().isPresent()) {
      Result b = run(List.of(InitUnitsScripts.busybox().get().toString(), "sh"));
      assertEquals(r.out, b.out, "busybox sh differs from sh");
      assertEquals(r.exit, b.exit, "busybox sh differs from sh");
    }
    return r;
  }

  record Result(int exit, String out) {
    List<String> calls() {
      return out.lines().filter(l -> l.startsWith("CALLED ")).toList();
    }
  }

  private Result run(List<String> shell) throws Exception {
    InitUnitsScripts.fake(
        bin,
        "basalt",
        "echo \"CALLED basalt $*\"\n"
            + (basaltExit == 0 ? "" : "echo \"basalt install: /dev/vda: no such device\" >&2\n")
            + "exit "
            + basaltExit);
    List<String> cmd = new ArrayList<>(shell);
    cmd.add(SCRIPT.toAbsolutePath().toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put(
        "PATH",
        bin
            + File.pathSeparator
            + "/usr/sbin"
            + File.pathSeparator
            + "/usr/bin"
            + File.pathSeparator
            + "/sbin"
            + File.pathSeparator
            + "/bin");
    env.put("BASALT_CMDLINE", cmdline.toString());
    env.put("BASALT_INSTALL", bin.resolve("basalt").toString());
    env.put("BASALT_SYSTEMCTL", bin.resolve("systemctl").toString());
    env.put("BASALT_IP", bin.resolve("ip").toString());
    env.put("BASALT_INSTALL_LOG", tmp.resolve("run/install.log").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Result(p.exitValue(), out);
  }

  @Test
  void installsWithTheContractsOptionsThenReboots() throws Exception {
    commandLine(
        KernelCommandLine.LIVE,
        arg(KernelCommandLine.INSTALL_DEV, "/dev/vda"),
        arg(KernelCommandLine.INSTALL_SOURCE, SOURCE),
        arg(KernelCommandLine.INSTALL_CLOUD_CONFIG, CLOUD_CONFIG),
        KernelCommandLine.INSTALL_REBOOT);
    Result r = run();
    assertEquals(0, r.exit, r.out);
    assertEquals(
        List.of(
            "CALLED basalt install --source "
                + SOURCE
                + " --cloud-config "
                + CLOUD_CONFIG
                + " /dev/vda",
            "CALLED systemctl reboot"),
        r.calls(),
        r.out);
    assertTrue(r.out.contains("basalt-install: installed Basalt to /dev/vda"), r.out);
  }

  @Test
  void withoutRebootItInstallsAndStaysUp() throws Exception {
    commandLine(KernelCommandLine.LIVE, arg(KernelCommandLine.INSTALL_DEV, "/dev/sda"));
    Result r = run();
    assertEquals(0, r.exit, r.out);
    assertEquals(List.of("CALLED basalt install /dev/sda"), r.calls(), r.out);
    assertTrue(r.out.contains("not rebooting"), r.out);
  }

  @Test
  void aFailedInstallSaysSoAndNeverReboots() throws Exception {
    basaltExit = 3;
    commandLine(
        KernelCommandLine.LIVE,
        arg(KernelCommandLine.INSTALL_DEV, "/dev/vda"),
        arg(KernelCommandLine.INSTALL_SOURCE, SOURCE),
        KernelCommandLine.INSTALL_REBOOT);
    Result r = run();
    assertEquals(1, r.exit, r.out);
    assertEquals(
        List.of("CALLED basalt install --source " + SOURCE + " /dev/vda"), r.calls(), r.out);
    assertTrue(
        r.out.contains(
            "basalt-install: FAILED: the install to /dev/vda ended with exit code 3:"
                + " basalt install: /dev/vda: no such device"),
        r.out);
    assertTrue(r.out.contains("stays up and does not retry or reboot"), r.out);
  }

  @Test
  void aDiskBootNeverInstalls() throws Exception {
    commandLine(
        arg(KernelCommandLine.SLOT, "A"),
        arg(KernelCommandLine.INSTALL_DEV, "/dev/vda"),
        KernelCommandLine.INSTALL_REBOOT);
    Result r = run();
    assertEquals(0, r.exit, r.out);
    assertEquals(List.of(), r.calls(), r.out);
    assertTrue(r.out.contains("not a live boot"), r.out);
  }

  @Test
  void withoutTheDeviceNothingHappens() throws Exception {
    commandLine(KernelCommandLine.LIVE, KernelCommandLine.INSTALL_REBOOT);
    Result r = run();
    assertEquals(0, r.exit, r.out);
    assertEquals(List.of(), r.calls(), r.out);
  }
}
