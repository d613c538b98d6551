package io.basalt.image.pipeline;

import io.basalt.image.api.DiskLayout;
import io.basalt.image.esp.BootEntries;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptFormatException;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.gpt.PartitionContent;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A Basalt disk with slot A installed: GPT with EFI-SYSTEM (systemd-boot, loader.conf, slot A's
 * kernel, initramfs and boot entry), USR-A (usr.img), USR-B (left as it is), OEM (FAT: README.TXT
 * and, when given, {@code cloud-config.yml}) and ROOT (the first-boot marker). The one home of the
 * disk's content: {@code basalt build} writes {@code disk.raw} with it and {@code basalt install}
 * writes a target with it, so the same payload gives the same bytes. Immutable once made; {@link
 * #write} may be called once per channel.
 */
public final class BasaltDisk {

  /** The name of the cloud-config file on OEM (HostPaths.OEM_CLOUD_CONFIG's file name). */
  public static final String OEM_CLOUD_CONFIG = "cloud-config.yml";

  /**
   * What the disk is made of.
   *
   * @param name image name (with the version, the seed of the disk and partition GUIDs)
   * @param version image version
   * @param partitions partition sizes
   * @param cmdlineAdditions kernel arguments after the slot's own (the spec's kernel.cmdline, then
   *     an install's --append-karg)
   * @param epoch SOURCE_DATE_EPOCH: every FAT timestamp
   * @param systemdBoot systemd-boot's EFI binary
   * @param kernel slot A's kernel
   * @param initramfs slot A's (disk) initramfs
   * @param usrRootHash usr.img's dm-verity root hash
   * @param usrHashOffset usr.img's hash offset
   * @param cloudConfig a cloud-config to put on OEM, if any
   * @param diskSize the disk size in bytes, or 0 for the layout's own size (1 MiB after the last
   *     partition)
   */
  public record Inputs(
      String name,
      String version,
      ImageSpec.Partitions partitions,
      List<String> cmdlineAdditions,
      long epoch,
      Content systemdBoot,
      Content kernel,
      Content initramfs,
      String usrRootHash,
      long usrHashOffset,
      Optional<Content> cloudConfig,
      long diskSize) {
    public Inputs {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(partitions, "partitions");
      cmdlineAdditions = List.copyOf(cmdlineAdditions);
      Objects.requireNonNull(systemdBoot, "systemdBoot");
      Objects.requireNonNull(kernel, "kernel");
      Objects.requireNonNull(initramfs, "initramfs");
      Objects.requireNonNull(usrRootHash, "usrRootHash");
      Objects.requireNonNull(cloudConfig, "cloudConfig");
      if (diskSize < 0) {
        throw new IllegalArgumentException("diskSize must be >= 0, found " + diskSize);
      }
    }
  }

  private final Inputs in;
  private final String cmdline;
  private final FileTree esp;
  private final FileTree oem;
  private final GptDisk disk;
  private final DiskLayout layout;

  private BasaltDisk(Inputs in, PartitionContent usrA) throws GptFormatException {
    this.in = in;
    String seed = Planner.guidSeed(in.name(), in.version());
    String usrPartUuid = GptDisk.partitionGuid(seed, Planner.USR_A).toString();
    this.cmdline =
        BootEntries.diskCmdline(
            usrPartUuid,
            in.usrRootHash(),
            in.usrHashOffset(),
            "A",
            in.version(),
            in.cmdlineAdditions());
    this.esp =
        BootEntries.espTree(
            in.systemdBoot(),
            List.of(new BootEntries.Slot("A", in.version(), in.kernel(), in.initramfs(), cmdline)),
            in.epoch());
    this.oem = oemTree(in.epoch(), in.cloudConfig());
    GptDisk.Builder b = GptDisk.builder(seed).diskSize(in.diskSize());
    Planner.partitions(in.partitions()).forEach(b::add);
    GptDisk placed = b.build();
    long espLba = placed.partitions().get(0).firstLba();
    long oemLba = placed.partitions().get(3).firstLba();
    GptDisk.Builder w = GptDisk.builder(seed).diskSize(in.diskSize());
    long epoch = in.epoch();
    for (GptPartition p : Planner.partitions(in.partitions())) {
      PartitionContent c =
          switch (p.name()) {
            case Planner.ESP ->
                ch -> Writers.fat(Planner.ESP, epoch, espLba).write(esp, ch, ch.size());
            case Planner.USR_A -> usrA;
            case Planner.OEM ->
                ch -> Writers.fat(Planner.OEM, epoch, oemLba).write(oem, ch, ch.size());
            default -> p.content();
          };
      w.add(new GptPartition(p.name(), p.type(), p.sizeBytes(), p.attributes(), c));
    }
    this.disk = w.build();
    this.layout = Planner.layoutOf(disk);
  }

  /**
   * Lays the disk out, with usr.img copied into USR-A.
   *
   * @throws GptFormatException if the partitions do not fit {@link Inputs#diskSize()}
   */
  public static BasaltDisk of(Inputs in, Content usrImg) throws GptFormatException {
    return new BasaltDisk(in, PartitionContent.of(usrImg));
  }

  /** As {@link #of(Inputs, Content)}, with USR-A's content written by {@code usrA}. */
  static BasaltDisk of(Inputs in, PartitionContent usrA) throws GptFormatException {
    return new BasaltDisk(in, usrA);
  }

  /** The inputs. */
  public Inputs inputs() {
    return in;
  }

  /** Slot A's kernel command line (its boot entry's {@code options}). */
  public String cmdline() {
    return cmdline;
  }

  /** The files of EFI-SYSTEM. */
  public FileTree esp() {
    return esp;
  }

  /** The files of OEM. */
  public FileTree oem() {
    return oem;
  }

  /** Where every partition goes. */
  public DiskLayout layout() {
    return layout;
  }

  /** The disk size in bytes. */
  public long sizeBytes() {
    return disk.sizeBytes();
  }

  /**
   * The smallest disk these partitions fit: the layout's own size ({@link Inputs#diskSize()} 0).
   */
  public static long minimumSize(ImageSpec.Partitions partitions) {
    GptDisk.Builder b = GptDisk.builder("size");
    Planner.partitions(partitions).forEach(b::add);
    try {
      return b.build().sizeBytes();
    } catch (GptFormatException e) {
      throw new IllegalArgumentException("partitions: " + e.getMessage(), e);
    }
  }

  /**
   * Writes the whole disk into {@code ch} (zero-filled where nothing is written: a fresh file, or a
   * device whose old signatures the caller cleared).
   *
   * @throws IOException if writing fails; the message names the partition
   */
  public void write(SeekableByteChannel ch) throws IOException {
    disk.write(ch);
  }

  GptDisk gpt() {
    return disk;
  }

  /** The OEM partition's files: a README for whoever mounts it on a laptop, the cloud-config. */
  static FileTree oemTree(long epoch, Optional<Content> cloudConfig) {
    String readme =
        "Basalt OEM partition.\r\n"
            + "Put cloud-config.yml (a #cloud-config document) and site files here; Basalt reads them on every boot.\r\n";
    FileTree.Builder b =
        FileTree.builder()
            .put(TreeEntry.directory("/").withMtime(epoch))
            .put(
                TreeEntry.regular(
                        "/README.TXT",
                        Content.ofBytes(
                            readme.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
                    .withMtime(epoch));
    cloudConfig.ifPresent(
        c -> b.put(TreeEntry.regular("/" + OEM_CLOUD_CONFIG, c).withMtime(epoch)));
    return b.build();
  }
}
