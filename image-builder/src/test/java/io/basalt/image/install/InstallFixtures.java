package io.basalt.image.install;

import io.basalt.image.squashfs.SquashfsCompression;
import io.basalt.image.squashfs.SquashfsWriter;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.OptionalInt;

/**
 * A small update payload made by code: usr.img a squashfs holding a fake systemd-boot (no hash
 * tree: the unit tests' verity verifier is a stand-in), a fake kernel and initramfs, and
 * payload.json as the builder writes it.
 */
public final class InstallFixtures {
  static final long EPOCH = 1700000000L;
  static final String ROOT_HASH = "5d".repeat(32);
  static final byte[] SDBOOT = "MZ fake systemd-boot".getBytes(StandardCharsets.US_ASCII);

  private InstallFixtures() {}

  /** Writes the payload into {@code dir}; returns usr.img's size (its hash offset too). */
  public static long payload(Path dir) throws IOException {
    Files.createDirectories(dir);
    FileTree.Builder t = FileTree.builder();
    t.put(TreeEntry.directory("/"));
    t.putWithParents(
        TreeEntry.regular("/lib/systemd/boot/efi/systemd-bootx64.efi", Content.ofBytes(SDBOOT)));
    t.putWithParents(
        TreeEntry.regular("/bin/sh", Content.ofBytes("#!sh\n".getBytes(StandardCharsets.UTF_8))));
    Path usr = dir.resolve("usr.img");
    long size;
    try (SeekableByteChannel ch =
        Files.newByteChannel(usr, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      size =
          SquashfsWriter.writeImage(
              t.build(), ch, SquashfsCompression.ZSTD, OptionalInt.empty(), EPOCH);
    }
    Files.write(dir.resolve("vmlinuz"), "kernel".getBytes(StandardCharsets.UTF_8));
    Files.write(dir.resolve("initramfs"), "initramfs".getBytes(StandardCharsets.UTF_8));
    Files.writeString(dir.resolve("payload.json"), json(dir, size), StandardCharsets.UTF_8);
    return size;
  }

  static String json(Path dir, long hashOffset) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append("{\n  \"name\" : \"basalt\",\n  \"version\" : \"0.1.0\",\n")
        .append("  \"channel\" : \"stable\",\n  \"arch\" : \"x86-64\",\n")
        .append("  \"usrRootHash\" : \"")
        .append(ROOT_HASH)
        .append("\",\n  \"usrHashOffset\" : ")
        .append(hashOffset)
        .append(",\n  \"files\" : {\n");
    String[] files = {"usr.img", "vmlinuz", "initramfs"};
    for (int i = 0; i < files.length; i++) {
      Path f = dir.resolve(files[i]);
      b.append("    \"")
          .append(files[i])
          .append("\" : {\n      \"size\" : ")
          .append(Files.size(f))
          .append(",\n      \"sha256\" : \"")
          .append(sha256(Files.readAllBytes(f)))
          .append("\"\n    }")
          .append(i < files.length - 1 ? ",\n" : "\n");
    }
    return b.append("  }\n}\n").toString();
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
