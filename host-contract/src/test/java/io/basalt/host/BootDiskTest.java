package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class BootDiskTest {

  @Test
  void formatAndParseAgreeAndNamesMayHoldSpaces() {
    BootDisk d =
        new BootDisk(
            "/dev/nvme0n1",
            OptionalLong.of(12),
            "0a1b2c3d-0000-4000-8000-000000000001",
            List.of(
                new BootDisk.Part(
                    "/dev/nvme0n1p1",
                    "0a1b2c3d-0000-4000-8000-000000000002",
                    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                    "EFI SYSTEM"),
                new BootDisk.Part(
                    "/dev/nvme0n1p2",
                    "0a1b2c3d-0000-4000-8000-000000000003",
                    "0fc63daf-8483-4772-8e79-3d69d8477de4",
                    "USR-A")));
    assertEquals(d, BootDisk.parse(d.format(), "f"));
    assertEquals("/dev/nvme0n1p2", d.partition("USR-A").orElseThrow().device());
    assertTrue(d.partition("USR-B").isEmpty());
  }

  @Test
  void guidsAreReadInAnyCase() {
    BootDisk d =
        BootDisk.parse(
            "disk /dev/vda\ndisk-guid 0A1B2C3D-0000-4000-8000-00000000000A\n"
                + "part /dev/vda2 AAAAAAAA-0000-0000-0000-00000000000A"
                + " 0FC63DAF-8483-4772-8E79-3D69D8477DE4 USR-A\n",
            "f");
    assertEquals("0a1b2c3d-0000-4000-8000-00000000000a", d.diskGuid());
    assertEquals("aaaaaaaa-0000-0000-0000-00000000000a", d.partitions().get(0).partuuid());
  }

  @Test
  void badRecordsNameFileAndLine() {
    assertEquals(
        "f:2: not a device path under /dev: '/etc/shadow'",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    BootDisk.parse(
                        "disk-guid 0a1b2c3d-0000-4000-8000-000000000001\ndisk /etc/shadow\n", "f"))
            .getMessage());
    assertEquals(
        "f:1: not a device path under /dev: '/dev/../etc/shadow'",
        assertThrows(
                IllegalArgumentException.class,
                () -> BootDisk.parse("disk /dev/../etc/shadow\n", "f"))
            .getMessage());
    assertEquals(
        "f:2: diskseq is not a number: 'x'",
        assertThrows(
                IllegalArgumentException.class,
                () -> BootDisk.parse("disk /dev/vda\ndiskseq x\n", "f"))
            .getMessage());
    assertEquals(
        "f:1: unknown item 'disks'",
        assertThrows(IllegalArgumentException.class, () -> BootDisk.parse("disks /dev/vda\n", "f"))
            .getMessage());
    assertEquals(
        "f: incomplete boot disk record (needs 'disk' and 'disk-guid' lines)",
        assertThrows(IllegalArgumentException.class, () -> BootDisk.parse("disk /dev/vda\n", "f"))
            .getMessage());
    assertEquals(
        "f:2: 'disk' given twice",
        assertThrows(
                IllegalArgumentException.class,
                () -> BootDisk.parse("disk /dev/vda\ndisk /dev/vdb\n", "f"))
            .getMessage());
  }
}
