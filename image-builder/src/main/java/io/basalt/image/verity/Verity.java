package io.basalt.image.verity;

import io.basalt.host.AtomicFiles;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * dm-verity formatting in pure Java, byte-compatible with {@code veritysetup format} (format
 * version 1, SHA-256, 4096-byte data and hash blocks): streaming wrappers that hash while an image
 * is written, and file-level formatting of an existing data file. Stateless and thread-safe.
 */
public final class Verity {
  /** Data and hash block size, bytes. */
  public static final int BLOCK_SIZE = HashTree.BLOCK;

  private Verity() {}

  /**
   * Wraps {@code out}: the data written through the returned stream is hashed as it passes; finish
   * with {@link VerityOutputStream#appendHashTree()} or {@link
   * VerityOutputStream#writeHashTree(OutputStream)}.
   */
  public static VerityOutputStream outputStream(OutputStream out, VerityParams params) {
    return new VerityOutputStream(out, params);
  }

  /**
   * Wraps a readable and writable channel positioned at 0 of an empty data area: writes in order
   * are hashed as they pass, blocks patched later are re-read once at the end.
   */
  public static VerityChannel channel(SeekableByteChannel channel, VerityParams params) {
    return new VerityChannel(channel, params);
  }

  /**
   * Formats {@code dataFile} with a separate hash file, as {@code veritysetup format dataFile
   * hashFile} does. The data file is only read; its size must be a positive multiple of 4096. The
   * hash file (mode 0644) is written to a temporary file beside it and moved into place when
   * complete.
   *
   * @throws IOException naming the file if the data is empty, not block-aligned, changes while
   *     being read, or a file cannot be read or written
   * @throws IllegalArgumentException if both paths name the same file
   */
  public static VerityResult format(Path dataFile, Path hashFile, VerityParams params) throws IOException {
    Objects.requireNonNull(params, "params");
    if (dataFile.toAbsolutePath().normalize().equals(hashFile.toAbsolutePath().normalize())
        || (Files.exists(hashFile) && Files.isSameFile(dataFile, hashFile))) {
      throw new IllegalArgumentException(dataFile + ": data and hash file are the same; use formatAppended");
    }
    long size = Files.size(dataFile);
    if (size == 0 || size % BLOCK_SIZE != 0) {
      throw new IOException(dataFile + ": data is " + size + " bytes; a separate-file verity tree needs a positive"
          + " multiple of " + BLOCK_SIZE + " (pad the data, or use formatAppended)");
    }
    DigestList leaves;
    try (FileChannel in = FileChannel.open(dataFile, StandardOpenOption.READ)) {
      leaves = FileLeafHasher.hash(in, size, params, FileLeafHasher.defaultThreads(), dataFile);
      if (in.size() != size) {
        throw new IOException(dataFile + ": changed while being hashed (was " + size + " bytes, now " + in.size() + ")");
      }
    }
    HashTree tree = HashTree.build(params, leaves);
    AtomicFiles.writeOutput(hashFile, tmp -> {
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
        tree.writeHashArea(out);
      }
      return null;
    });
    return new VerityResult(tree, params, 0);
  }

  /**
   * Formats {@code dataFile} in place in the appended layout (the USR slot's): the data is padded
   * with zeros to a multiple of 4096 bytes, then the superblock and the tree are written after it
   * (hash offset = padded data size), as {@code veritysetup format --hash-offset=<padded size>
   * dataFile dataFile} does after padding. On failure the file is truncated back to its original
   * size.
   *
   * @throws IOException naming the file if it is empty, changes while being read, or cannot be
   *     read or written
   */
  public static VerityResult formatAppended(Path dataFile, VerityParams params) throws IOException {
    Objects.requireNonNull(params, "params");
    try (FileChannel ch = FileChannel.open(dataFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = ch.size();
      if (size == 0) {
        throw new IOException(dataFile + ": empty, nothing to protect with verity");
      }
      try {
        // the partial last block is hashed zero-padded; the zeros are written below
        DigestList leaves = FileLeafHasher.hash(ch, size, params, FileLeafHasher.defaultThreads(), dataFile);
        if (ch.size() != size) {
          throw new IOException(dataFile + ": changed while being hashed (was " + size + " bytes, now " + ch.size() + ")");
        }
        byte[] pad = new byte[(int) ((BLOCK_SIZE - size % BLOCK_SIZE) % BLOCK_SIZE)];
        ByteBuffer padBuf = ByteBuffer.wrap(pad);
        long pos = size;
        while (padBuf.hasRemaining()) {
          pos += ch.write(padBuf, pos);
        }
        HashTree tree = HashTree.build(params, leaves);
        long hashOffset = tree.dataBlocks() * BLOCK_SIZE;
        ch.position(hashOffset);
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
        tree.writeHashArea(out);
        out.flush();
        ch.force(false);
        return new VerityResult(tree, params, hashOffset);
      } catch (IOException | RuntimeException e) {
        try {
          ch.truncate(size);
        } catch (IOException t) {
          e.addSuppressed(t);
        }
        throw e;
      }
    }
  }
}
