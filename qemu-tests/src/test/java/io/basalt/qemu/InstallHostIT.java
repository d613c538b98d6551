package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.testing.QemuLongTest;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /usr/bin/basalt install} on a running Basalt host (one UEFI boot of the default image's
 * disk, with an empty second virtio disk of disk.raw's size): the boot disk is refused, then the
 * image's payload, fetched from the host's loopback server over HTTP, is installed to the second
 * disk, which then holds exactly disk.raw's bytes (the manifest's sha256). Then, with a partition
 * of the second disk mounted, an install to it is refused and writes nothing: the disk still holds
 * disk.raw's bytes when the machine is off.
 */
@QemuLongTest
class InstallHostIT {
  @TempDir static Path work;

  @Test
  void theHostInstallsToASecondDiskAndRefusesItsOwn() throws Exception {
    Path image = GuestImage.defaultImage();
    JsonNode manifest =
        new ObjectMapper().readTree(Files.readAllBytes(image.resolve("manifest.json")));
    long size = 0;
    String sha = null;
    for (JsonNode a : manifest.get("artifacts")) {
      if (a.get("path").asText().equals("disk.raw")) {
        size = a.get("size").asLong();
        sha = a.get("sha256").asText();
      }
    }
    Path target = work.resolve("second.raw");
    try (SeekableByteChannel ch =
        Files.newByteChannel(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.position(size - 1);
      ch.write(ByteBuffer.wrap(new byte[1]));
    }
    String source = "http://10.0.2.100/repo/update/";
    try (GuestServer server = new GuestServer()) {
      server.serve(image);
      GuestImage disk = GuestImage.driven(image, work.resolve("vm"));
      Path overlay = disk.overlay("disk", null);
      List<String> args =
          new java.util.ArrayList<>(disk.uefiVirtio("host", overlay, server.guestfwd()));
      args.addAll(
          List.of(
              "-drive",
              "if=none,id=d1,format=raw,file=" + target,
              "-device",
              "virtio-blk-pci,drive=d1"));
      try (QemuVm vm = QemuVm.start("install-host", args, work.resolve("boot.log"))) {
        GuestServer.Result own =
            server.run(
                vm, "basalt install --source " + source + " /dev/vda", Duration.ofMinutes(10));
        assertEquals(3, own.rc(), own.out());
        assertTrue(
            own.out().contains("basalt install: /dev/vda: it is the disk this system booted from"),
            own.out());
        GuestServer.Result r =
            server.run(
                vm,
                "basalt install --source " + source + " /dev/vdb && sync",
                Duration.ofMinutes(20));
        assertEquals(0, r.rc(), r.out());
        assertTrue(r.out().contains("installed basalt"), r.out());
        // with vdb's OEM mounted (read-only, so the mount itself writes nothing) the install
        // must refuse and write nothing: the disk keeps disk.raw's bytes (checked below)
        GuestServer.Result mounted =
            server.run(
                vm,
                String.join(
                    "; ",
                    "blockdev --rereadpt /dev/vdb && udevadm settle",
                    "mkdir -p /run/oem-b && mount -o ro /dev/vdb4 /run/oem-b || exit 9",
                    "basalt install --source " + source + " /dev/vdb; rc=$?",
                    "umount /run/oem-b",
                    "exit $rc"),
                Duration.ofMinutes(10));
        assertEquals(3, mounted.rc(), mounted.out());
        assertTrue(
            mounted.out().contains("basalt install: /dev/vdb: in use: /dev/vdb4 is mounted at"),
            mounted.out());
      }
    }
    assertEquals(sha, sha256(target));
  }

  private static String sha256(Path p) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
