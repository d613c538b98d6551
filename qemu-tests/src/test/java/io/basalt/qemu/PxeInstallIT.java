package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.cli.Basalt;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 19's unattended install, end to end: {@code basalt pxe serve} on 127.0.0.1 with a machines
 * file that puts this guest's MAC in install mode; the guest, with an empty virtio disk, PXE-boots
 * through QEMU's iPXE (QEMU's own TFTP carries only a one-line chain script to the server, reached
 * through {@code guestfwd}), boots live, runs {@code basalt install} to {@code /dev/vda} from the
 * server's {@code update/} with the machine's cloud-config, and reboots. A second QEMU start boots
 * the same disk through UEFI, without the install arguments, and applies the cloud-config: the user
 * and its key are checked with a real {@code ssh} through {@code hostfwd}. The image is v1 of
 * {@link UpdateImages}: the installed machine then updates itself to v2 from the test repository (a
 * {@link GuestServer} behind {@code guestfwd}) like any disk-installed machine, and a third start
 * boots v2 from slot B with the cloud-config's user still there.
 */
@QemuLongTest
class PxeInstallIT {
  static final String MAC = "52:54:00:19:00:01";
  static final String USER = "ops";
  static final String HOSTNAME = "pxe-node";
  static final String[] INSTALL_FAILURES = {
    "Kernel panic",
    "basalt-initramfs: dropping to an emergency shell",
    "basalt-install: FAILED",
    "basalt-install: basalt.install.dev=/dev/vda ignored"
  };

  @Test
  void pxeBootInstallsToTheEmptyDiskRebootsFromItAndAppliesTheCloudConfig() throws Exception {
    Path work = Path.of("target", "pxe-install-it").toAbsolutePath();
    Files.createDirectories(work);
    // v1 of the update images: it trusts the test repository, which offers v2 once installed
    UpdateImages images = UpdateImages.get(work);
    Path image = images.image(1);
    String version = "1.0.0";
    Path key = work.resolve("id_ed25519");
    Files.deleteIfExists(key);
    Files.deleteIfExists(work.resolve("id_ed25519.pub"));
    Host.run(
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "pxe-install-it",
        "-f",
        key.toString());
    String publicKey = Files.readString(work.resolve("id_ed25519.pub")).trim();
    Files.writeString(
        work.resolve("node.yml"),
        String.join(
            "\n",
            "#cloud-config",
            "hostname: " + HOSTNAME,
            "users:",
            "  - name: " + USER,
            "    ssh_authorized_keys:",
            "      - \"" + publicKey + "\"",
            ""));
    Path machines =
        Files.writeString(
            work.resolve("machines.yaml"),
            String.join(
                "\n",
                "machines:",
                "  \"" + MAC + "\":",
                "    mode: install",
                "    install-device: /dev/vda",
                "    cloud-config: node.yml",
                ""));

    int httpPort = Host.freePort();
    StringWriter serverLog = new StringWriter();
    PrintWriter serverOut = new PrintWriter(serverLog, true);
    Thread server =
        new Thread(
            () ->
                Basalt.commandLine()
                    .setOut(serverOut)
                    .setErr(serverOut)
                    .execute(
                        "pxe",
                        "serve",
                        image.toString(),
                        "--listen",
                        "127.0.0.1:" + httpPort,
                        "--machines",
                        machines.toString()),
            "basalt-pxe-serve");
    server.setDaemon(true);
    server.start();
    awaitListening(httpPort, serverLog);

    Path tftp = Files.createDirectories(work.resolve("tftp"));
    // QEMU's TFTP only hands iPXE the way to the server; everything else comes from basalt pxe
    // serve
    Files.writeString(tftp.resolve("boot.ipxe"), "#!ipxe\nchain http://10.0.2.100/boot.ipxe\n");
    Path disk = work.resolve("disk.qcow2");
    Files.deleteIfExists(disk);
    Host.run("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "8G");

    List<String> pxe =
        List.of(
            "-machine",
            "pc",
            "-m",
            GuestImage.MEMORY_PXE,
            "-smp",
            "2",
            "-boot",
            "n",
            "-netdev",
            "user,id=n0,restrict=on,tftp="
                + tftp
                + ",bootfile=boot.ipxe,guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 "
                + httpPort,
            "-device",
            "virtio-net-pci,netdev=n0,mac=" + MAC,
            "-drive",
            "if=none,id=d0,format=qcow2,file=" + disk,
            "-device",
            "virtio-blk-pci,drive=d0");
    long t0 = System.nanoTime();
    long installed;
    try (QemuVm vm = QemuVm.start("pxe-install", pxe, work.resolve("install.log"))) {
      QemuVm.Match start =
          vm.expect(
              0,
              Duration.ofMinutes(20),
              "basalt-install: installing Basalt to /dev/vda",
              INSTALL_FAILURES);
      vm.expect(
          start.end,
          Duration.ofMinutes(40),
          "basalt-install: installed Basalt to /dev/vda",
          INSTALL_FAILURES);
      installed = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
      vm.expect(
          start.end, Duration.ofMinutes(2), "basalt-install: rebooting into the installed disk");
      // -no-reboot: the guest's reboot ends this QEMU
      assertEquals(0, vm.waitForExit(Duration.ofMinutes(5)), vm.tail());
    }
    String log = serverLog.toString();
    assertTrue(
        log.contains(
            "GET /pxe/boot.ipxe?mac=" + MAC.replace(':', '-') + " (" + MAC + ": install) 200"),
        "the server handed this MAC its install script:\n" + log);
    assertTrue(
        log.contains("GET /update/usr.img"), "the install took usr.img from the server:\n" + log);
    assertTrue(
        log.contains("GET /machines/" + MAC.replace(':', '-') + "/cloud-config.yml 200"),
        "the install fetched the machine's cloud-config:\n" + log);

    GuestServer repo = new GuestServer();
    repo.serve(images.repository(work.resolve("repo"), 1, 2));
    Path vars = work.resolve("vars.fd");
    Files.copy(
        Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"), vars, StandardCopyOption.REPLACE_EXISTING);
    int sshPort = Host.freePort();
    List<String> uefi =
        List.of(
            "-machine",
            "q35",
            "-m",
            "2G",
            "-smp",
            "2",
            "-drive",
            "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
            "-drive",
            "if=pflash,format=raw,unit=1,file=" + vars,
            "-netdev",
            "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:" + sshPort + "-:22" + repo.guestfwd(),
            "-device",
            "virtio-net-pci,netdev=n0,mac=" + MAC,
            "-drive",
            "if=none,id=d0,format=qcow2,file=" + disk,
            "-device",
            "virtio-blk-pci,drive=d0,bootindex=0");
    try (QemuVm vm = QemuVm.start("pxe-installed", uefi, work.resolve("installed.log"))) {
      vm.expect(
          0,
          GuestImage.BOOT,
          "basalt: multi-user reached (version " + version + ", slot A",
          GuestImage.FAILURES);
      String who = Host.ssh(key, USER, sshPort, "echo $(id -un) $(hostname)");
      assertEquals(USER + " " + HOSTNAME, who, vm.tail());
      assertFalse(
          vm.console().contains("basalt-install:"),
          "the installed disk installed again:\n" + vm.tail());
      System.out.printf(
          "PxeInstallIT: installed %d s after the PXE boot started; disk boot and ssh as %s ok%n",
          installed, USER);
      // like any disk-installed machine, it updates itself A -> B from the repository and
      // reboots (-no-reboot: the reboot ends this QEMU)
      long t1 = System.nanoTime();
      assertEquals(0, vm.waitForExit(UPDATE), vm.tail());
      assertTrue(repo.requests("usr.img") + repo.requests("chunks.json.gz") > 0, vm.tail());
      System.out.printf(
          "PxeInstallIT: v1 installed v2 into slot B and rebooted %d s after the ssh check%n",
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t1));
    } finally {
      server.interrupt();
    }
    try (QemuVm vm = QemuVm.start("pxe-updated", uefi, work.resolve("updated.log"))) {
      vm.expect(
          0,
          GuestImage.BOOT,
          "basalt: multi-user reached (version 2.0.0, slot B",
          GuestImage.FAILURES);
      assertEquals(
          USER + " " + HOSTNAME,
          Host.ssh(key, USER, sshPort, "echo $(id -un) $(hostname)"),
          vm.tail());
      System.out.println(
          "PxeInstallIT: the installed disk runs v2 from slot B; ssh as " + USER + " ok");
    } finally {
      repo.close();
    }
  }

  /** How long the installed v1 may take to find, write and reboot into v2 under TCG. */
  static final Duration UPDATE = Duration.ofMinutes(40);

  private static void awaitListening(int port, StringWriter log) throws InterruptedException {
    for (int i = 0; i < 600; i++) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new AssertionError("basalt pxe serve did not listen on 127.0.0.1:" + port + ":\n" + log);
  }
}
