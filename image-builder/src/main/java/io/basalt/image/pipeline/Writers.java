package io.basalt.image.pipeline;

import io.basalt.image.cpio.InitramfsWriter;
import io.basalt.image.fat.FatWriter;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.PartitionContent;
import io.basalt.image.initramfs.Initramfs;
import io.basalt.image.initramfs.InitramfsBuilder;
import io.basalt.image.iso.IsoWriter;
import io.basalt.image.qcow2.Qcow2Writer;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.squashfs.BlockCache;
import io.basalt.image.squashfs.SquashfsCompression;
import io.basalt.image.squashfs.SquashfsWriter;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.verity.VerityChannel;
import io.basalt.image.verity.VerityResult;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The bridge from the pipeline to the format writers and builders of the other packages (tar
 * reader, squashfs, dm-verity, initramfs + cpio, FAT, qcow2; GPT is used directly). Stateless,
 * thread-safe.
 */
final class Writers {
  private Writers() {}

  /** The result of appending a dm-verity hash tree to a data image. */
  record Verity2(String rootHash, long hashOffset, long totalSize) {}

  /** Reads a tar archive as a tree without extracting it. */
  static FileTree readTar(Path tar) throws IOException {
    return FileTree.readTar(tar);
  }

  /**
   * usr.img written once, hashed for dm-verity while the squashfs writer writes it (the block
   * digests are made on the writing thread, which otherwise mostly waits for the compressors), so
   * the verity stage only re-reads the superblock's block, builds the upper levels, appends
   * superblock + tree and syncs; the image is never read back whole. The bytes are those of a
   * squashfs image padded to 4096 followed by {@code veritysetup format --hash-offset} of it. Not
   * thread-safe.
   */
  static final class UsrImage implements AutoCloseable {
    private final FileChannel file;
    private final VerityChannel channel;

    UsrImage(Path out, String veritySeed) throws IOException {
      file =
          FileChannel.open(
              out,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      channel = VerityChannel.fromSeed(file, veritySeed);
      readableByAll(out);
    }

    /**
     * Writes {@code usr} as squashfs from offset 0; returns the image size (a multiple of 4096).
     */
    long squashfs(
        FileTree usr,
        ImageSpec.Compressor compressor,
        java.util.OptionalInt level,
        long epoch,
        Optional<BlockCache> cache)
        throws IOException {
      return SquashfsWriter.writeImage(usr, channel, compression(compressor), level, epoch, cache);
    }

    /** Appends the dm-verity superblock + hash tree after the squashfs image and syncs the file. */
    Verity2 appendVerity() throws IOException {
      VerityResult r = channel.appendHashTree();
      file.force(false);
      return new Verity2(r.rootHashHex(), r.hashOffset(), file.size());
    }

    @Override
    public void close() throws IOException {
      file.close();
    }
  }

  private static SquashfsCompression compression(ImageSpec.Compressor compressor) {
    switch (compressor) {
      case XZ:
        return SquashfsCompression.XZ;
      case GZIP:
        return SquashfsCompression.GZIP;
      default:
        return SquashfsCompression.ZSTD;
    }
  }

  /** The initramfs tree of the image (disk boot), or of a live boot carrying {@code liveUsrImg}. */
  static Initramfs initramfsTree(FileTree image, long epoch, Content liveUsrImg)
      throws IOException {
    InitramfsBuilder b = InitramfsBuilder.forImage(image).mtime(epoch);
    if (liveUsrImg != null) {
      b.liveUsrImage(liveUsrImg);
    }
    return b.build();
  }

  /** Writes the initramfs of {@code tree} (as {@link InitramfsWriter#forImage}) to {@code out}. */
  static HashingChannel.Digest writeInitramfs(FileTree tree, long epoch, Path out)
      throws IOException {
    InitramfsWriter w = InitramfsWriter.forImage(tree, epoch);
    Files.createDirectories(out.getParent());
    try (HashingChannel ch = create(out)) {
      OutputStream buffered = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
      w.writeTo(buffered);
      buffered.flush();
      return ch.finish();
    }
  }

  /**
   * A file's bytes copied to the start of a partition (as {@link PartitionContent#ofFile}), hashed
   * as they pass: usr.img gets its sha256 when it is copied into USR-A. Its squashfs superblock is
   * written last at offset 0, so it cannot be hashed while it is itself written. Not thread-safe.
   */
  static final class HashedFileContent implements PartitionContent {
    private final Content content;
    private HashingChannel.Digest digest;

    HashedFileContent(Path file) throws IOException {
      content = Content.ofFile(file);
    }

    @Override
    public void write(SeekableByteChannel window) throws IOException {
      if (content.size() > window.size()) {
        throw new IOException(
            content
                + ": "
                + content.size()
                + " bytes do not fit the partition of "
                + window.size()
                + " bytes");
      }
      MessageDigest md = HashingChannel.sha256();
      try (InputStream in = content.open()) {
        byte[] buf = new byte[1 << 20];
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
          ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
          while (bb.hasRemaining()) {
            window.write(bb);
          }
        }
      }
      String hex = HexFormat.of().formatHex(md.digest());
      digest = new HashingChannel.Digest(content.size(), hex, false);
    }

    /** The size and sha256 of the bytes copied, once {@link #write} has run. */
    Optional<HashingChannel.Digest> digest() {
      return Optional.ofNullable(digest);
    }
  }

  /** The size and sha256 of a file written earlier, read back whole. */
  static HashingChannel.Digest readBack(Path file) throws IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ)) {
      return HashingChannel.readBack(ch);
    }
  }

  /** Writes {@code disk} to {@code out} (a fresh file), hashing it as it is written. */
  static HashingChannel.Digest writeDisk(GptDisk disk, Path out) throws IOException {
    try (HashingChannel ch = create(out)) {
      disk.write(ch);
      return ch.finish();
    }
  }

  /** A new, empty file (mode 0644 whatever the umask), written through a hashing channel. */
  private static HashingChannel create(Path out) throws IOException {
    SeekableByteChannel ch =
        Files.newByteChannel(
            out,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    try {
      readableByAll(out);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return new HashingChannel(ch);
  }

  private static void readableByAll(Path file) throws IOException {
    if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }
  }

  /** A FAT writer for a volume label, all timestamps at {@code epoch}. */
  static FatWriter fat(String label, long epoch, long hiddenSectors) throws IOException {
    return FatWriter.builder()
        .label(label)
        .sourceDateEpoch(epoch)
        .hiddenSectors(hiddenSectors)
        .build();
  }

  /**
   * The size of a FAT image that holds {@code tree} with room to spare: every file and directory
   * rounded up to 64 KiB (FAT's largest cluster), plus 3% and 2 MiB for the FATs and reserved
   * sectors, in whole MiB, at least 8 MiB.
   */
  static long espImageBytes(FileTree tree) {
    long cluster = 64 * 1024;
    long bytes = 0;
    for (io.basalt.image.tree.TreeEntry e : tree) {
      long n = e.isDirectory() ? cluster : e.content().size();
      bytes += (n + cluster - 1) / cluster * cluster + cluster;
    }
    long mib = 1 << 20;
    long total = bytes + bytes / 33 + 2 * mib;
    return Math.max(8 * mib, (total + mib - 1) / mib * mib);
  }

  /**
   * Writes {@code tree} as the hybrid ISO: El Torito EFI boot image and GPT ESP {@code
   * /basalt/esp.img}, hashing it as it is written.
   */
  static HashingChannel.Digest iso(
      FileTree tree, long epoch, String label, String gptSeed, String espName, Path out)
      throws IOException {
    IsoWriter w =
        IsoWriter.builder()
            .volumeId(label)
            .sourceDateEpoch(epoch)
            .efiBootImage("/basalt/esp.img")
            .hybridGpt(gptSeed, espName)
            .build();
    try (HashingChannel ch = create(out)) {
      w.write(tree, ch);
      return ch.finish();
    }
  }

  /** Converts a raw disk to qcow2, hashing the qcow2 file as it is written. */
  static HashingChannel.Digest qcow2(Path raw, Path out) throws IOException {
    try (SeekableByteChannel in = Files.newByteChannel(raw, StandardOpenOption.READ);
        HashingChannel ch = create(out)) {
      Qcow2Writer.convert(in, ch, raw.toString());
      return ch.finish();
    }
  }
}
