package io.basalt.image.install;

import io.basalt.host.AtomicFiles;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.gpt.ChannelWindow;
import io.basalt.image.gpt.GptFormatException;
import io.basalt.image.pipeline.BasaltDisk;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code basalt install}: writes a verified payload to a target as the disk {@code basalt build}
 * writes ({@link BasaltDisk}), slot A holding the payload, with an optional cloud-config on OEM and
 * extra kernel arguments. Every check comes before the first write: the target ({@link Target}),
 * the payload ({@link Payload}), the size. An image file is written to a temp file renamed over it
 * at the end (an interrupted install leaves the old file); a disk is written in place, after the
 * first MiB of every partition is cleared so no old file system signature survives (the initramfs
 * makes ROOT's file system only where it finds none). Not thread-safe; one instance per install.
 */
public final class DiskInstall {

  /** Bytes cleared at the start of each partition of a reused disk. */
  static final int WIPE_BYTES = 1 << 20;

  /**
   * What to install.
   *
   * @param payload the verified payload
   * @param partitions partition sizes (the image spec's)
   * @param cmdlineAdditions kernel arguments for slot A's entry after the slot's own
   * @param cloudConfig a cloud-config for OEM, if any (validated by the caller)
   */
  public record Request(
      Payload payload,
      ImageSpec.Partitions partitions,
      List<String> cmdlineAdditions,
      Optional<Content> cloudConfig) {
    public Request {
      Objects.requireNonNull(payload, "payload");
      Objects.requireNonNull(partitions, "partitions");
      cmdlineAdditions = List.copyOf(cmdlineAdditions);
      Objects.requireNonNull(cloudConfig, "cloudConfig");
    }
  }

  private final Request req;
  private final Target target;
  private final BasaltDisk disk;

  private DiskInstall(Request req, Target target, BasaltDisk disk) {
    this.req = req;
    this.target = target;
    this.disk = disk;
  }

  /**
   * Lays the disk out for {@code target}: the target's size, or for a new image file the layout's
   * own size.
   *
   * @throws InstallException of kind TARGET when the target is smaller than the layout
   */
  public static DiskInstall plan(Request req, Target target) throws InstallException {
    long min = BasaltDisk.minimumSize(req.partitions());
    long size = target.sizeBytes() < 0 ? min : target.sizeBytes();
    if (size < min) {
      throw Target.refused(
          "too small: "
              + size
              + " bytes ("
              + mib(size)
              + "), the layout needs "
              + min
              + " bytes ("
              + mib(min)
              + ")");
    }
    if (size % 512 != 0) {
      throw Target.refused("size " + size + " is not a multiple of 512 bytes");
    }
    Payload p = req.payload();
    BasaltDisk disk;
    try {
      disk =
          BasaltDisk.of(
              new BasaltDisk.Inputs(
                  p.meta().name(),
                  p.meta().version(),
                  req.partitions(),
                  req.cmdlineAdditions(),
                  p.epoch(),
                  p.systemdBoot(),
                  Content.ofFile(p.kernel()),
                  Content.ofFile(p.initramfs()),
                  p.meta().usrRootHash(),
                  p.meta().usrHashOffset(),
                  req.cloudConfig(),
                  size),
              Content.ofFile(p.usrImg()));
    } catch (GptFormatException e) {
      throw Target.refused(e.getMessage());
    } catch (IOException e) {
      throw new InstallException(InstallException.Kind.PAYLOAD, e.getMessage(), e);
    }
    return new DiskInstall(req, target, disk);
  }

  /** The disk that {@link #write} writes. */
  public BasaltDisk disk() {
    return disk;
  }

  /** Prints what would be written (the {@code --dry-run} output). */
  public void describe(PrintWriter out) {
    Payload p = req.payload();
    out.printf(
        Locale.ROOT,
        "target %s (%s), %d bytes (%s)%n",
        target.path(),
        target.device() ? "block device" : target.sizeBytes() < 0 ? "new image file" : "image file",
        disk.sizeBytes(),
        mib(disk.sizeBytes()));
    out.printf(
        Locale.ROOT,
        "payload %s %s (%s, %s) from %s, usr root hash %s%n",
        p.meta().name(),
        p.meta().version(),
        p.meta().channel(),
        p.meta().arch(),
        p.dir(),
        p.meta().usrRootHash());
    DiskLayout l = disk.layout();
    out.printf(Locale.ROOT, "GPT disk GUID %s%n", l.diskGuid());
    for (DiskLayout.Partition part : l.partitions()) {
      out.printf(
          Locale.ROOT,
          "  %d %-10s LBA %9d-%-9d %9s  PARTUUID %s: %s%n",
          part.number(),
          part.label(),
          part.firstLba(),
          part.lastLba(),
          mib(part.sizeBytes()),
          part.partUuid(),
          content(part.label()));
    }
    out.println("EFI-SYSTEM files:");
    for (TreeEntry e : disk.esp()) {
      if (!e.isDirectory()) {
        out.printf(Locale.ROOT, "  %s (%d bytes)%n", e.path(), e.content().size());
      }
    }
    out.println("OEM files:");
    for (TreeEntry e : disk.oem()) {
      if (!e.isDirectory()) {
        out.printf(Locale.ROOT, "  %s (%d bytes)%n", e.path(), e.content().size());
      }
    }
    out.println("slot A options: " + disk.cmdline());
  }

  private String content(String label) {
    switch (label) {
      case "USR-A":
        return "usr.img (" + req.payload().meta().file("usr.img").size() + " bytes)";
      case "USR-B":
        return target.device() ? "first MiB cleared" : "empty";
      case "ROOT":
        return "first-boot marker (made ext4 and grown on first boot)";
      default:
        return "FAT";
    }
  }

  /**
   * Writes the disk to the target.
   *
   * @throws InstallException of kind IO naming the target when writing fails
   */
  public void write() throws InstallException {
    Path path = target.path();
    try {
      if (target.device()) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
          wipe(ch);
          disk.write(new ChannelWindow(ch, 0, disk.sizeBytes(), path.toString()));
          ch.force(true);
        }
      } else {
        AtomicFiles.write(
            path,
            tmp -> {
              try (SeekableByteChannel ch =
                  Files.newByteChannel(
                      tmp,
                      StandardOpenOption.WRITE,
                      StandardOpenOption.READ,
                      StandardOpenOption.TRUNCATE_EXISTING)) {
                disk.write(ch);
              }
              return null;
            });
      }
    } catch (IOException e) {
      throw new InstallException(InstallException.Kind.IO, "writing failed: " + e.getMessage(), e);
    }
  }

  /** Clears the first MiB of every partition of the layout (old file system signatures). */
  private void wipe(SeekableByteChannel ch) throws IOException {
    byte[] zeros = new byte[WIPE_BYTES];
    for (DiskLayout.Partition p : disk.layout().partitions()) {
      long at = p.firstLba() * 512;
      ByteBuffer b = ByteBuffer.wrap(zeros, 0, (int) Math.min(WIPE_BYTES, p.sizeBytes()));
      ch.position(at);
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }
}
