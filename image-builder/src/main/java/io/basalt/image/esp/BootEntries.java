package io.basalt.image.esp;

import io.basalt.host.BootEntry;
import io.basalt.host.KernelCommandLine;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The EFI system partition's files per the boot contract (image-builder/README.md, "Boot
 * contract"): systemd-boot as the default loader, {@code loader.conf}, and for each slot its
 * kernel, initramfs and a Boot Loader Specification type 1 entry with a boot counter. Also the
 * kernel command lines of disk slots and of PXE live boots. The entry's name and text and the
 * command-line keys are the host contract's ({@link BootEntry}, {@link KernelCommandLine}).
 * Stateless, thread-safe.
 */
public final class BootEntries {
  /** Where Debian's systemd-boot-efi package puts the loader, in the image tree. */
  public static final String SYSTEMD_BOOT_EFI = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

  /** loader.conf: pick the newest basalt-* entry, 3 s menu, keep the console mode, no editor. */
  public static final String LOADER_CONF =
      "timeout 3\ndefault basalt-*\nconsole-mode keep\neditor no\n";

  private BootEntries() {}

  /**
   * One slot's boot files.
   *
   * @param slot "A" or "B"
   * @param version the image version in that slot
   * @param kernel the kernel image
   * @param initramfs the initramfs
   * @param options the kernel command line
   */
  public record Slot(
      String slot, String version, Content kernel, Content initramfs, String options) {
    public Slot {
      if (!slot.equals("A") && !slot.equals("B")) {
        throw new IllegalArgumentException("slot must be A or B, found " + slot);
      }
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(kernel, "kernel");
      Objects.requireNonNull(initramfs, "initramfs");
      Objects.requireNonNull(options, "options");
    }
  }

  /**
   * The entry's file name: {@code basalt-<version>-<slot>+3.conf} (boot counting, 3 tries left).
   */
  public static String entryFileName(String version, String slot) {
    return BootEntry.fresh(version, slot).fileName();
  }

  /** The Boot Loader Specification type 1 entry text for a slot. */
  public static String entry(Slot s) {
    return BootEntry.fresh(s.version(), s.slot()).text(s.options());
  }

  /**
   * The kernel command line of a disk slot.
   *
   * @param usrPartUuid the slot partition's PARTUUID (lower-case)
   * @param rootHash the slot's dm-verity root hash (hex)
   * @param hashOffset byte offset of the verity superblock in the slot (the padded squashfs size)
   * @param additions the spec's kernel.cmdline
   */
  public static String diskCmdline(
      String usrPartUuid,
      String rootHash,
      long hashOffset,
      String slot,
      String version,
      List<String> additions) {
    List<String> a =
        arguments(
            KernelCommandLine.slotArguments(usrPartUuid, rootHash, hashOffset, slot, version));
    a.add("console=tty0");
    a.add("console=ttyS0,115200");
    a.addAll(additions);
    return String.join(" ", a);
  }

  /** The kernel command line of a PXE live boot (/usr from /basalt/usr.img in the initramfs). */
  public static String liveCmdline(
      String rootHash, long hashOffset, String version, List<String> additions) {
    List<String> a = arguments(KernelCommandLine.liveArguments(rootHash, hashOffset, version));
    a.add("console=ttyS0,115200");
    a.addAll(additions);
    return String.join(" ", a);
  }

  /**
   * The kernel command line of an ISO or USB live boot: the live arguments ({@link #liveCmdline})
   * with both consoles of a disk boot, since such a machine may have a screen.
   */
  public static String isoCmdline(
      String rootHash, long hashOffset, String version, List<String> additions) {
    List<String> a = arguments(KernelCommandLine.liveArguments(rootHash, hashOffset, version));
    a.add("console=tty0");
    a.add("console=ttyS0,115200");
    a.addAll(additions);
    return String.join(" ", a);
  }

  /** The live ESP's entry file: {@code loader/entries/basalt-<version>-live.conf}, no counter. */
  public static String liveEntryPath(String version) {
    return BootEntry.ENTRIES_DIR + "/basalt-" + version + "-live.conf";
  }

  /** Where the live ESP keeps the kernel and the live initramfs, relative to its root. */
  public static final String LIVE_KERNEL = "basalt/live/vmlinuz";

  /** See {@link #LIVE_KERNEL}. */
  public static final String LIVE_INITRAMFS = "basalt/live/initramfs";

  /**
   * The ESP of a live medium (the ISO's El Torito image and hybrid partition): systemd-boot,
   * loader.conf, the kernel and live initramfs under {@code basalt/live/}, and one entry without a
   * boot counter (the medium may be read-only, and a live boot has no other slot to fall back to).
   * The entry's name does not match {@link BootEntry#parse}, so the update agent never takes it for
   * a slot's entry.
   */
  public static FileTree liveEspTree(
      Content systemdBoot,
      String version,
      Content kernel,
      Content initramfs,
      String options,
      long mtime) {
    FileTree.Builder b = FileTree.builder();
    b.put(TreeEntry.directory("/").withMtime(mtime));
    put(b, "/EFI/BOOT/BOOTX64.EFI", systemdBoot, mtime);
    put(b, "/EFI/systemd/systemd-bootx64.efi", systemdBoot, mtime);
    put(b, "/loader/loader.conf", text(LOADER_CONF), mtime);
    put(b, "/" + LIVE_KERNEL, kernel, mtime);
    put(b, "/" + LIVE_INITRAMFS, initramfs, mtime);
    String entry =
        "title Basalt "
            + version
            + " (live)\nversion "
            + version
            + "\nlinux /"
            + LIVE_KERNEL
            + "\ninitrd /"
            + LIVE_INITRAMFS
            + "\noptions "
            + options
            + "\n";
    put(b, "/" + liveEntryPath(version), text(entry), mtime);
    return b.build();
  }

  /**
   * The ESP's files for the given slots, every entry root-owned with mtime {@code mtime}.
   *
   * @param systemdBoot the systemd-boot EFI binary (from the image's own package set)
   */
  public static FileTree espTree(Content systemdBoot, List<Slot> slots, long mtime) {
    FileTree.Builder b = FileTree.builder();
    b.put(TreeEntry.directory("/").withMtime(mtime));
    put(b, "/EFI/BOOT/BOOTX64.EFI", systemdBoot, mtime);
    put(b, "/EFI/systemd/systemd-bootx64.efi", systemdBoot, mtime);
    put(b, "/loader/loader.conf", text(LOADER_CONF), mtime);
    dir(b, "/" + BootEntry.ENTRIES_DIR, mtime);
    for (Slot s : slots) {
      put(b, "/" + BootEntry.kernelPath(s.slot()), s.kernel(), mtime);
      put(b, "/" + BootEntry.initramfsPath(s.slot()), s.initramfs(), mtime);
      String entryPath = "/" + BootEntry.ENTRIES_DIR + "/" + entryFileName(s.version(), s.slot());
      put(b, entryPath, text(entry(s)), mtime);
    }
    return b.build();
  }

  private static List<String> arguments(Map<String, String> args) {
    List<String> a = new ArrayList<>();
    args.forEach((k, v) -> a.add(KernelCommandLine.argument(k, v)));
    return a;
  }

  private static Content text(String s) {
    return Content.ofBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  private static void dir(FileTree.Builder b, String path, long mtime) {
    String parent = path.substring(0, path.lastIndexOf('/'));
    if (!parent.isEmpty() && b.get(parent) == null) {
      dir(b, parent, mtime);
    }
    if (b.get(path) == null) {
      b.put(TreeEntry.directory(path).withMtime(mtime));
    }
  }

  private static void put(FileTree.Builder b, String path, Content c, long mtime) {
    dir(b, path.substring(0, path.lastIndexOf('/')), mtime);
    b.put(TreeEntry.regular(path, c).withMtime(mtime));
  }
}
