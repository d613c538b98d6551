package io.basalt.image.cpio;

import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes an initramfs made of several cpio archives one after the other, e.g. an uncompressed early
 * microcode archive ({@code kernel/x86/microcode/GenuineIntel.bin}) followed by the compressed main
 * archive. The kernel unpacks such a buffer member by member (init/initramfs.c {@code
 * unpack_to_rootfs}): it skips zero bytes between members, takes a member starting with "0" as an
 * uncompressed newc archive, which must start at a multiple of 4 bytes, and anything else as a
 * compressed one identified by its magic. Each member therefore starts at a multiple of 4, after
 * zeros where needed (uncompressed archives are already padded to 512); nothing follows the last
 * one, so tools that test the last compressed member to the end of the file (unmkinitramfs) accept
 * it. Immutable and thread-safe.
 */
public final class InitramfsWriter {
  /** Where one archive landed in the written initramfs. */
  public record Member(long offset, long length, Compression compression) {}

  private record Part(FileTree tree, CpioWriter writer) {}

  private final List<Part> parts;

  private InitramfsWriter(List<Part> parts) {
    this.parts = List.copyOf(parts);
  }

  /** An initramfs with no archive yet. */
  static InitramfsWriter empty() {
    return new InitramfsWriter(List.of());
  }

  /**
   * The initramfs of an image: {@code tree} as one zstd cpio (xattrs dropped), except that a live
   * tree's {@code /basalt/usr.img} (already compressed squashfs) goes into a second, uncompressed
   * cpio instead of being compressed again; every time is {@code epoch}.
   */
  public static InitramfsWriter forImage(FileTree tree, long epoch) {
    String img = "/basalt/usr.img";
    TreeEntry usr = tree.get(img);
    InitramfsWriter w = empty();
    if (usr == null) {
      return w.add(tree, CpioWriter.of(Compression.ZSTD).withMtime(epoch).withXattrsDropped());
    }
    FileTree main = tree.toBuilder().remove(img).build();
    FileTree.Builder second = FileTree.builder();
    second.put(TreeEntry.directory("/").withMtime(epoch));
    second.putWithParents(usr);
    FileTree live = second.build().map(e -> e.withMtime(epoch));
    return w.add(main, CpioWriter.of(Compression.ZSTD).withMtime(epoch).withXattrsDropped())
        .add(live, CpioWriter.of(Compression.NONE).withMtime(epoch));
  }

  /** A copy with {@code tree}, written by {@code writer}, appended as the next archive. */
  InitramfsWriter add(FileTree tree, CpioWriter writer) {
    List<Part> more = new ArrayList<>(parts);
    more.add(
        new Part(Objects.requireNonNull(tree, "tree"), Objects.requireNonNull(writer, "writer")));
    return new InitramfsWriter(more);
  }

  /**
   * Writes every archive in order to {@code out}, which is flushed but not closed.
   *
   * @return where each archive landed, in order
   * @throws CpioEntryException naming an entry that cannot be written
   * @throws IllegalStateException if no archive was added
   * @throws IOException if {@code out} fails
   */
  public List<Member> writeTo(OutputStream out) throws IOException {
    if (parts.isEmpty()) {
      throw new IllegalStateException("an initramfs needs at least one archive");
    }
    List<Member> members = new ArrayList<>(parts.size());
    long offset = 0;
    for (Part p : parts) {
      int pad = (int) ((4 - offset % 4) % 4);
      out.write(new byte[pad]);
      offset += pad;
      long n = p.writer().write(p.tree(), out);
      members.add(new Member(offset, n, p.writer().compression()));
      offset += n;
    }
    out.flush();
    return List.copyOf(members);
  }

  /**
   * Writes the initramfs to {@code file} through a temporary file in the same directory and an
   * atomic move; on failure nothing is left at {@code file}.
   *
   * @throws CpioEntryException naming an entry that cannot be written
   * @throws IOException if the file cannot be written
   */
  public List<Member> write(Path file) throws IOException {
    List<List<Member>> result = new ArrayList<>(1);
    CpioWriter.AtomicFile.write(
        file,
        out -> {
          OutputStream buffered = new BufferedOutputStream(out, 64 * 1024);
          result.add(writeTo(buffered));
          buffered.flush();
          return 0;
        });
    return result.get(0);
  }
}
