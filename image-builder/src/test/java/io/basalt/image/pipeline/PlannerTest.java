package io.basalt.image.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.KernelCommandLine;
import io.basalt.host.RootPartition;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.api.ImagePlan;
import io.basalt.image.esp.BootEntries;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.spec.ImageSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlannerTest {
  private static final String HASH =
      "26fa93882d2dc3c748ad4a5c82eac7d6f5a2478697b9fc4b91899f53cf9c6647";

  @Test
  void defaultSpecLayoutIsContiguousOnMiBBoundariesWithSeededGuids() {
    ImageSpec spec = ImageSpec.loadDefault();
    ImagePlan p = BuildPipeline.plan(spec, OptionalLong.of(1700000000L));
    DiskLayout d = p.disk().orElseThrow();
    assertEquals(
        List.of("EFI-SYSTEM", "USR-A", "USR-B", "OEM", "ROOT"),
        d.partitions().stream().map(DiskLayout.Partition::label).toList());
    long next = 2048;
    for (DiskLayout.Partition q : d.partitions()) {
      assertEquals(next, q.firstLba(), q.label());
      assertEquals(GptDisk.partitionGuid(p.guidSeed(), q.label()), q.partUuid());
      next = q.lastLba() + 1;
    }
    assertEquals(spec.partitions().usr(), d.partition("USR-B").sizeBytes());
    assertEquals((next + 2048) * 512, d.sizeBytes(), "1 MiB after the last partition");
    assertEquals(GptDisk.diskGuid(spec.name() + " " + spec.version()), d.diskGuid());
  }

  @Test
  void theBuiltRootPartitionCarriesTheFirstBootMarker(@TempDir Path tmp) throws IOException {
    // The disk writer keeps the planned content of ROOT (only ESP, USR-A and OEM are filled in).
    GptDisk.Builder b = GptDisk.builder("marker test");
    Planner.partitions(ImageSpec.loadDefault()).forEach(b::add);
    GptDisk disk = b.build();
    Path raw = tmp.resolve("disk.raw");
    disk.writeTo(raw);
    GptDisk.Placed root =
        disk.partitions().stream().filter(q -> q.name().equals("ROOT")).findFirst().orElseThrow();
    byte[] head = new byte[4096];
    try (SeekableByteChannel ch = Files.newByteChannel(raw, StandardOpenOption.READ)) {
      ch.position(root.offset());
      ByteBuffer bb = ByteBuffer.wrap(head);
      while (bb.hasRemaining() && ch.read(bb) > 0) {}
    }
    int n = RootPartition.firstBootMarker().length;
    assertEquals(
        RootPartition.FIRST_BOOT_MARKER,
        new String(head, 0, n, StandardCharsets.US_ASCII).replace('\0', '.'),
        "ROOT's first bytes");
    assertArrayEquals(
        new byte[head.length - n], Arrays.copyOfRange(head, n, head.length), "then zeros");
  }

  @Test
  void commandLineTemplatesResolveToWhatBootEntriesWrites() {
    ImageSpec spec = ImageSpec.loadDefault();
    ImagePlan p = BuildPipeline.plan(spec, OptionalLong.empty());
    String usrA = p.disk().orElseThrow().partition("USR-A").partUuid().toString();
    assertEquals(
        BootEntries.diskCmdline(usrA, HASH, 342396928, "A", spec.version(), spec.cmdline()),
        p.commandLine(Planner.DISK_SLOT_A).resolve(HASH, 342396928));
    assertEquals(
        BootEntries.liveCmdline(HASH, 342396928, spec.version(), spec.cmdline()),
        p.commandLine(Planner.PXE).resolve(HASH, 342396928));
    String pxe = p.commandLine(Planner.PXE).template();
    assertTrue(pxe.contains("usrhash=" + ImagePlan.USR_ROOT_HASH), pxe);
    assertFalse(p.sourceDateEpoch().isPresent());
  }

  @Test
  void artifactsAreSortedWithTheManifestLast() {
    ImagePlan p = BuildPipeline.plan(ImageSpec.loadDefault(), OptionalLong.empty());
    List<String> paths = p.artifactPaths();
    assertEquals("manifest.json", paths.get(paths.size() - 1));
    List<String> rest = paths.subList(0, paths.size() - 1);
    assertEquals(rest.stream().sorted().toList(), rest);
    assertTrue(rest.containsAll(Planner.PAYLOAD_FILES), rest.toString());
  }

  @Test
  void isoIsADefaultOutputWithTheLiveCommandLineAndBothConsoles() {
    ImageSpec spec = ImageSpec.loadDefault();
    ImagePlan p = BuildPipeline.plan(spec, OptionalLong.empty());
    assertTrue(p.artifactPaths().contains("basalt-" + spec.version() + ".iso"));
    String iso = p.commandLine(Planner.ISO).resolve(HASH, 342396928);
    assertEquals(BootEntries.isoCmdline(HASH, 342396928, spec.version(), spec.cmdline()), iso);
    assertTrue(iso.startsWith("basalt.live usrhash=" + HASH), iso);
    assertTrue(iso.contains("console=tty0 console=ttyS0,115200"), iso);
    assertTrue(
        p.trees().stream().anyMatch(t -> t.name().equals("initramfs (live)")),
        "the ISO needs the live initramfs");
  }

  @Test
  void pxeServesTheInitramfsAndUsrImgAndPassesTheScriptsFolder() throws Exception {
    ImageSpec spec = ImageSpec.parse("outputs: [pxe]\n", "s.yaml", null);
    ImagePlan p = BuildPipeline.plan(spec, OptionalLong.empty());
    assertFalse(Planner.wantsLive(spec), "PXE fetches usr.img: no initramfs carrying it");
    assertTrue(p.trees().stream().noneMatch(t -> t.name().equals("initramfs (live)")));
    assertEquals(
        List.of(
            "pxe/boot.ipxe",
            "pxe/cmdline",
            "pxe/initramfs",
            "pxe/usr.img",
            "pxe/vmlinuz",
            "manifest.json"),
        p.artifactPaths());
    String cmdline = p.commandLine(Planner.PXE).resolve(HASH, 342396928);
    assertEquals(
        "#!ipxe\nkernel vmlinuz "
            + cmdline
            + " basalt.live.base=${cwduri}\ninitrd initramfs\nboot\n",
        Planner.bootIpxe(cmdline));
    assertFalse(cmdline.contains(KernelCommandLine.LIVE_BASE), "pxe/cmdline has no folder");
  }

  @Test
  void isoAloneStillMakesTheLiveInitramfs() throws Exception {
    ImageSpec spec = ImageSpec.parse("outputs: [iso]\n", "s.yaml", null);
    ImagePlan p = BuildPipeline.plan(spec, OptionalLong.empty());
    assertTrue(Planner.wantsLive(spec));
    assertEquals(List.of("basalt-" + spec.version() + ".iso", "manifest.json"), p.artifactPaths());
    assertFalse(p.disk().isPresent());
  }
}
