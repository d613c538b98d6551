package io.basalt.image.pipeline;

import io.basalt.host.HostPaths;
import io.basalt.host.KernelCommandLine;
import io.basalt.host.RootPartition;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.api.ImagePlan;
import io.basalt.image.base.BaseTreeCache;
import io.basalt.image.esp.BootEntries;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptFormatException;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.gpt.PartitionContent;
import io.basalt.image.opennebula.OpenNebulaTemplate;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.spec.ImageSpec.Output;
import io.basalt.image.tree.Content;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Computes the {@link ImagePlan} of a spec: pure, reads and writes no file. The disk layout comes
 * from the same GPT placement the disk writer uses, and the kernel command lines from {@link
 * BootEntries} with placeholders for the root hash and hash offset of the built usr.img. Stateless,
 * thread-safe.
 */
final class Planner {
  /** GPT partition labels, in table order. */
  static final String ESP = "EFI-SYSTEM";

  static final String USR_A = "USR-A";
  static final String USR_B = "USR-B";
  static final String OEM = "OEM";
  static final String ROOT = "ROOT";

  /** Command line names. */
  static final String DISK_SLOT_A = "disk slot A";

  static final String PXE = "pxe";

  static final String ISO = "iso";

  /** The update payload's files, in payload.json order. */
  static final List<String> PAYLOAD_FILES =
      List.of("update/usr.img", "update/vmlinuz", "update/initramfs");

  private Planner() {}

  static ImagePlan plan(ImageSpec spec, OptionalLong envEpoch) {
    boolean disk = wantsDisk(spec);
    ImageSpec.Debian d = spec.debian();
    ImagePlan.Base base =
        new ImagePlan.Base(d.suite(), d.variant(), d.mirror(), d.packages(), BaseTreeCache.key(d));
    OptionalLong epoch = envEpoch.isPresent() ? envEpoch : spec.sourceDateEpoch();
    return new ImagePlan(
        spec.name(),
        spec.version(),
        spec.channel(),
        spec.arch(),
        guidSeed(spec),
        epoch,
        base,
        trees(spec),
        disk ? Optional.of(layout(spec)) : Optional.empty(),
        spec.partitions().usr(),
        artifacts(spec),
        commandLines(spec),
        knownAtBuild(spec, epoch.isPresent()),
        spec.update()
            .map(
                u ->
                    new ImagePlan.Update(
                        u.root().toString(),
                        u.rootVersion(),
                        u.rootKeyIds(),
                        u.rootThreshold(),
                        HostPaths.SHIPPED_TUF_ROOT,
                        HostPaths.UPDATE_CONF_DEFAULTS,
                        u.settings())));
  }

  /**
   * Whether the build makes the live initramfs, the initramfs plus /basalt/usr.img: the ISO boots
   * it. PXE boots the initramfs alone, which fetches pxe/usr.img into RAM.
   */
  static boolean wantsLive(ImageSpec spec) {
    return spec.outputs().contains(Output.ISO);
  }

  /**
   * {@code pxe/boot.ipxe}: the kernel with the live command line plus {@code
   * basalt.live.base=${cwduri}} (iPXE's folder of the script, where the initramfs fetches usr.img;
   * empty before iPXE 2024, when the initramfs falls back to the DHCP lease), and the initramfs.
   */
  static String bootIpxe(String liveCmdline) {
    return "#!ipxe\nkernel vmlinuz "
        + liveCmdline
        + " "
        + KernelCommandLine.argument(KernelCommandLine.LIVE_BASE, "${cwduri}")
        + "\ninitrd initramfs\nboot\n";
  }

  /** The ISO's file name: {@code <name>-<version>.iso}. */
  static String isoName(ImageSpec spec) {
    return spec.name() + "-" + spec.version() + ".iso";
  }

  private static boolean wantsDisk(ImageSpec spec) {
    return spec.outputs().contains(Output.DISK_RAW) || spec.outputs().contains(Output.DISK_QCOW2);
  }

  private static List<ImagePlan.Tree> trees(ImageSpec spec) {
    ImageSpec.Debian d = spec.debian();
    List<ImagePlan.Tree> trees = new ArrayList<>();
    trees.add(
        new ImagePlan.Tree(
            "base",
            "Debian "
                + d.suite()
                + " ("
                + d.variant()
                + "), "
                + d.packages().size()
                + " packages, read from the cached base.tar"));
    trees.add(
        new ImagePlan.Tree(
            "usr",
            "merged /usr of the base tree, /etc defaults, Basalt jars"
                + " and units, "
                + spec.files().size()
                + " spec files, os-release"
                + (spec.update().isPresent()
                    ? ", the update: section's root.json and update.conf"
                    : "")
                + "; squashfs ("
                + spec.compressor().key()
                + ") + dm-verity"));
    trees.add(
        new ImagePlan.Tree(
            "initramfs",
            "init, busybox, veritysetup/e2fsprogs and their libraries, kernel modules"));
    if (wantsLive(spec)) {
      trees.add(
          new ImagePlan.Tree(
              "initramfs (live)", "the initramfs plus /basalt/usr.img, for the ISO's live boot"));
    }
    if (wantsDisk(spec)) {
      trees.add(
          new ImagePlan.Tree(
              "esp",
              "systemd-boot, loader.conf, slot A kernel + initramfs,"
                  + " entry "
                  + BootEntries.entryFileName(spec.version(), "A")));
      trees.add(new ImagePlan.Tree("oem", "README.TXT"));
    }
    if (spec.outputs().contains(Output.ISO)) {
      trees.add(
          new ImagePlan.Tree(
              "esp (live)",
              "systemd-boot, loader.conf, kernel + live initramfs, entry "
                  + BootEntries.liveEntryPath(spec.version())));
      trees.add(
          new ImagePlan.Tree(
              "iso",
              "README.TXT, basalt/esp.img (El Torito EFI image and the hybrid GPT's ESP),"
                  + " basalt/update/ (the update payload), cloud-config.yml when given"));
    }
    return trees;
  }

  private static List<ImagePlan.CommandLine> commandLines(ImageSpec spec) {
    List<ImagePlan.CommandLine> cmdlines = new ArrayList<>();
    String hash = ImagePlan.USR_ROOT_HASH;
    if (wantsDisk(spec)) {
      String usrA = GptDisk.partitionGuid(guidSeed(spec), USR_A).toString();
      cmdlines.add(
          new ImagePlan.CommandLine(
              DISK_SLOT_A,
              template(
                  BootEntries.diskCmdline(
                      usrA, hash, SENTINEL, "A", spec.version(), spec.cmdline()))));
    }
    if (spec.outputs().contains(Output.PXE)) {
      cmdlines.add(
          new ImagePlan.CommandLine(
              PXE,
              template(BootEntries.liveCmdline(hash, SENTINEL, spec.version(), spec.cmdline()))));
    }
    if (spec.outputs().contains(Output.ISO)) {
      cmdlines.add(
          new ImagePlan.CommandLine(
              ISO,
              template(BootEntries.isoCmdline(hash, SENTINEL, spec.version(), spec.cmdline()))));
    }
    return cmdlines;
  }

  private static List<String> knownAtBuild(ImageSpec spec, boolean epochFixed) {
    List<String> known = new ArrayList<>();
    known.add("package versions and the kernel release (from the base tree)");
    if (!epochFixed) {
      known.add("SOURCE_DATE_EPOCH (newest /usr/share/doc/*/copyright mtime of the base tree)");
    }
    known.add(
        "BUILD_ID (base tree key, SOURCE_DATE_EPOCH, Basalt version, spec text"
            + (spec.update().isPresent() ? ", the update root's sha256)" : ")"));
    known.add(
        "usr.img size, usr root hash "
            + ImagePlan.USR_ROOT_HASH
            + " and hash offset "
            + ImagePlan.USR_HASH_OFFSET
            + " (the padded squashfs size); usr.img must fit the "
            + spec.partitions().usr()
            + "-byte USR slot");
    known.add("artifact sizes and sha256");
    return known;
  }

  static String guidSeed(ImageSpec spec) {
    return guidSeed(spec.name(), spec.version());
  }

  /** The seed of the disk and partition GUIDs of image {@code name} at {@code version}. */
  static String guidSeed(String name, String version) {
    return name + " " + version;
  }

  /** Stands for the hash offset in BootEntries' output until it is replaced by the placeholder. */
  private static final long SENTINEL = Long.MIN_VALUE;

  private static String template(String cmdline) {
    return cmdline.replace("=" + SENTINEL, "=" + ImagePlan.USR_HASH_OFFSET);
  }

  /**
   * The partitions in table order, with no content but ROOT's first-boot marker ({@link
   * RootPartition}, which the initramfs requires before it makes a file system there): what the
   * disk writer places.
   */
  static List<GptPartition> partitions(ImageSpec spec) {
    return partitions(spec.partitions());
  }

  /** As {@link #partitions(ImageSpec)}, from the partition sizes alone. */
  static List<GptPartition> partitions(ImageSpec.Partitions p) {
    return List.of(
        GptPartition.of(ESP, GptPartition.EFI_SYSTEM, p.esp(), PartitionContent.empty()),
        GptPartition.of(USR_A, GptPartition.USR_X86_64, p.usr(), PartitionContent.empty()),
        GptPartition.of(USR_B, GptPartition.USR_X86_64, p.usr(), PartitionContent.empty()),
        GptPartition.of(OEM, GptPartition.LINUX_DATA, p.oem(), PartitionContent.empty()),
        GptPartition.of(
            ROOT,
            GptPartition.ROOT_X86_64,
            p.root(),
            PartitionContent.of(Content.ofBytes(RootPartition.firstBootMarker()))));
  }

  static DiskLayout layout(ImageSpec spec) {
    GptDisk.Builder b = GptDisk.builder(guidSeed(spec));
    partitions(spec).forEach(b::add);
    GptDisk disk;
    try {
      disk = b.build();
    } catch (GptFormatException e) {
      throw new IllegalArgumentException("partitions: " + e.getMessage(), e);
    }
    return layoutOf(disk);
  }

  static DiskLayout layoutOf(GptDisk disk) {
    List<DiskLayout.Partition> parts = new ArrayList<>();
    for (GptDisk.Placed p : disk.partitions()) {
      parts.add(
          new DiskLayout.Partition(
              p.number(),
              p.name(),
              p.type(),
              p.guid(),
              p.firstLba(),
              p.lastLba(),
              content(p.name())));
    }
    return new DiskLayout(disk.diskGuid(), 512, disk.sizeBytes(), parts);
  }

  private static String content(String label) {
    switch (label) {
      case ESP:
        return "FAT: systemd-boot, loader entries, slot A kernel + initramfs";
      case USR_A:
        return "usr.img (squashfs + dm-verity hash tree)";
      case USR_B:
        return "empty until the first update";
      case OEM:
        return "FAT, label OEM: README.TXT";
      default:
        return "the first-boot marker; made ext4 and grown on first boot";
    }
  }

  private static List<ImagePlan.Artifact> artifacts(ImageSpec spec) {
    Set<Output> out = spec.outputs();
    List<ImagePlan.Artifact> a = new ArrayList<>();
    if (out.contains(Output.ISO)) {
      a.add(
          new ImagePlan.Artifact(
              isoName(spec),
              "hybrid UEFI ISO: live boot from CD or USB stick, the update payload for an"
                  + " offline install"));
    }
    if (out.contains(Output.DISK_RAW)) {
      a.add(new ImagePlan.Artifact("disk.raw", "GPT disk image (sparse)"));
    }
    if (out.contains(Output.DISK_QCOW2)) {
      a.add(new ImagePlan.Artifact("disk.qcow2", "the disk as qcow2"));
    }
    if (out.contains(Output.OPENNEBULA)) {
      a.add(
          new ImagePlan.Artifact(
              OpenNebulaTemplate.FILE,
              "OpenNebula VM template for disk.qcow2: UEFI, virtio disk and NIC, CONTEXT"));
    }
    if (out.contains(Output.PXE)) {
      a.add(new ImagePlan.Artifact("pxe/boot.ipxe", "iPXE script"));
      a.add(new ImagePlan.Artifact("pxe/cmdline", "live kernel command line"));
      a.add(
          new ImagePlan.Artifact(
              "pxe/initramfs", "initramfs (= update/initramfs); fetches usr.img into RAM"));
      a.add(new ImagePlan.Artifact("pxe/usr.img", "/usr of the live boot (= usr.img)"));
      a.add(new ImagePlan.Artifact("pxe/vmlinuz", "kernel"));
    }
    if (out.contains(Output.USR_IMG)) {
      a.add(new ImagePlan.Artifact("usr.img", "/usr squashfs + dm-verity hash tree"));
      a.add(new ImagePlan.Artifact("usr.roothash", "dm-verity root hash of usr.img"));
    }
    if (out.contains(Output.UPDATE)) {
      a.add(new ImagePlan.Artifact("update/initramfs", "initramfs"));
      a.add(new ImagePlan.Artifact("update/payload.json", "update payload description"));
      a.add(new ImagePlan.Artifact("update/usr.img", "USR slot image"));
      a.add(new ImagePlan.Artifact("update/vmlinuz", "kernel"));
    }
    a.sort(Comparator.comparing(ImagePlan.Artifact::path));
    a.add(
        new ImagePlan.Artifact(
            "manifest.json", "sizes and sha256 of the artifacts above, package versions"));
    return a;
  }
}
