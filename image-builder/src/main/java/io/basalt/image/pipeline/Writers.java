package io.basalt.image.pipeline;

import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.FileTree;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The bridge from the pipeline to the format writers and builders of the other packages
 * (tar reader, squashfs, dm-verity, initramfs + cpio, FAT, GPT, qcow2). A writer that is not part
 * of this build yet fails with {@link BuildException.Kind#UNAVAILABLE} naming it, so a build never
 * pretends. Stateless, thread-safe.
 */
final class Writers {
  private Writers() {}

  /** The result of appending a dm-verity hash tree to a data image. */
  record Verity(String rootHash, long hashOffset, long totalSize) {}

  private static BuildException unavailable(String stage, String what) {
    return new BuildException(stage, BuildException.Kind.UNAVAILABLE,
        what + " is not part of this Basalt build yet; this stage cannot run (nothing was written for it)");
  }

  /** Reads a tar archive as a tree without extracting it. */
  static FileTree readTar(Path tar) throws BuildException, IOException {
    throw unavailable("read base tree", "the tar tree reader (io.basalt.image.tree, tar → FileTree)");
  }

  /** Writes {@code usr} as a squashfs image at {@code out}. */
  static void squashfs(FileTree usr, ImageSpec.Compressor compressor, long epoch, Path out) throws BuildException, IOException {
    throw unavailable("usr squashfs", "the squashfs writer (io.basalt.image.squashfs)");
  }

  /** Pads {@code img} to 4096 and appends the dm-verity superblock + hash tree. */
  static Verity verity(Path img, String salt) throws BuildException, IOException {
    throw unavailable("usr verity", "the dm-verity writer (io.basalt.image.verity)");
  }

  /** Builds the disk (live=null) or PXE initramfs (live = usr.img) as compressed cpio at {@code out}. */
  static void initramfs(FileTree image, long epoch, Path liveUsrImg, Path out) throws BuildException, IOException {
    throw unavailable("initramfs", "the initramfs builder (io.basalt.image.initramfs) with the cpio writer (io.basalt.image.cpio)");
  }

  /** Writes {@code tree} as a FAT file system of {@code size} bytes with volume label {@code label}. */
  static void fat(FileTree tree, String label, long size, long epoch, Path out) throws BuildException, IOException {
    throw unavailable("fat", "the FAT writer (io.basalt.image.fat)");
  }

  /** Converts a raw disk to qcow2. */
  static void qcow2(Path raw, Path out) throws BuildException, IOException {
    throw unavailable("disk.qcow2", "the qcow2 writer (io.basalt.image.qcow2)");
  }
}
