package io.basalt.image.pipeline;

import io.basalt.image.cpio.Compression;
import io.basalt.image.cpio.CpioWriter;
import io.basalt.image.cpio.InitramfsWriter;
import io.basalt.image.fat.FatWriter;
import io.basalt.image.initramfs.Initramfs;
import io.basalt.image.initramfs.InitramfsBuilder;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.verity.Verity;
import io.basalt.image.verity.VerityParams;
import io.basalt.image.verity.VerityResult;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The bridge from the pipeline to the format writers and builders of the other packages
 * (tar reader, squashfs, dm-verity, initramfs + cpio, FAT, qcow2; GPT is used directly).
 * Stateless, thread-safe.
 */
final class Writers {
  private Writers() {}

  /** The result of appending a dm-verity hash tree to a data image. */
  record Verity2(String rootHash, long hashOffset, long totalSize) {}

  /** Reads a tar archive as a tree without extracting it. */
  static FileTree readTar(Path tar) throws IOException {
    return io.basalt.image.tree.TarTreeReader.read(tar);
  }

  /** Writes {@code usr} as a squashfs image at {@code out}. */
  static void squashfs(FileTree usr, ImageSpec.Compressor compressor, java.util.OptionalInt level, long epoch, Path out)
      throws IOException {
    io.basalt.image.squashfs.SquashfsCompression c;
    switch (compressor) {
      case XZ:
        c = io.basalt.image.squashfs.SquashfsCompression.XZ;
        break;
      case GZIP:
        c = io.basalt.image.squashfs.SquashfsCompression.GZIP;
        break;
      default:
        c = io.basalt.image.squashfs.SquashfsCompression.ZSTD;
    }
    io.basalt.image.squashfs.SquashfsOptions.Builder o = io.basalt.image.squashfs.SquashfsOptions.builder()
        .compression(c).mtime(epoch).keepEntryMtimes(true);
    level.ifPresent(o::level);
    new io.basalt.image.squashfs.SquashfsWriter(o.build()).write(usr, out);
  }

  /** Pads {@code img} to 4096 and appends the dm-verity superblock + hash tree (salt and UUID from {@code seed}). */
  static Verity2 verity(Path img, String seed) throws IOException {
    VerityResult r = Verity.formatAppended(img, VerityParams.fromSeed(seed));
    return new Verity2(r.rootHashHex(), r.hashOffset(), java.nio.file.Files.size(img));
  }

  /** The initramfs tree of the image (disk boot), or of a live boot carrying {@code liveUsrImg}. */
  static Initramfs initramfsTree(FileTree image, long epoch, Content liveUsrImg) throws IOException {
    InitramfsBuilder b = InitramfsBuilder.forImage(image).mtime(epoch);
    if (liveUsrImg != null) {
      b.liveUsrImage(liveUsrImg);
    }
    return b.build();
  }

  /**
   * Writes an initramfs: the tree as a zstd cpio; a live tree's /basalt/usr.img (already
   * compressed squashfs) goes into a second, uncompressed cpio member instead of being compressed
   * again.
   */
  static void writeInitramfs(FileTree tree, long epoch, Path out) throws IOException {
    String img = "/basalt/usr.img";
    TreeEntry usr = tree.get(img);
    InitramfsWriter w = InitramfsWriter.empty();
    if (usr == null) {
      w = w.add(tree, CpioWriter.of(Compression.ZSTD).withMtime(epoch).withXattrsDropped());
    } else {
      FileTree main = tree.toBuilder().remove(img).build();
      FileTree.Builder second = FileTree.builder();
      second.put(TreeEntry.directory("/").withMtime(epoch));
      second.putWithParents(usr);
      FileTree live = second.build().map(e -> e.withMtime(epoch));
      w = w.add(main, CpioWriter.of(Compression.ZSTD).withMtime(epoch).withXattrsDropped())
          .add(live, CpioWriter.of(Compression.NONE).withMtime(epoch));
    }
    w.write(out);
  }

  /** A FAT writer for a volume label, all timestamps at {@code epoch}. */
  static FatWriter fat(String label, long epoch, long hiddenSectors) throws IOException {
    return FatWriter.builder().label(label).sourceDateEpoch(epoch).hiddenSectors(hiddenSectors).build();
  }

  /** Converts a raw disk to qcow2. */
  static void qcow2(Path raw, Path out) throws IOException {
    io.basalt.image.qcow2.Qcow2Writer.convert(raw, out);
  }
}
