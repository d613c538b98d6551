package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real squashfs + dm-verity images for the tests of every package, made by the reference tools
 * ({@code mksquashfs}, {@code veritysetup format}) as the build lays out USR slots: the hash tree
 * appended at the squashfs size padded to 4096.
 */
public final class VerityITAccess {
  private VerityITAccess() {}

  /** An image file's bytes, its dm-verity root hash and hash offset. */
  public record Image(byte[] bytes, String rootHash, long hashOffset) {}

  /** The image of {@link VerityIT} (a version file and a 300 KB blob) under {@code tmp}. */
  public static Image image(Path tmp, String version) throws Exception {
    return VerityIT.makeImage(tmp, version);
  }

  /**
   * {@code mksquashfs} of {@code tree} to {@code img} (owner root, times 0), zero-padded to a
   * multiple of 4096, then {@code veritysetup format} of it with the hash tree after the data and
   * {@code verityArgs} (e.g. a fixed salt).
   */
  public static Image format(Path tree, Path img, String... verityArgs) throws Exception {
    run(
        "mksquashfs",
        tree.toString(),
        img.toString(),
        "-noappend",
        "-quiet",
        "-no-progress",
        "-all-root",
        "-mkfs-time",
        "0",
        "-all-time",
        "0");
    long padded = (Files.size(img) + 4095) / 4096 * 4096;
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      if (ch.size() < padded) {
        ch.write(ByteBuffer.allocate(1), padded - 1);
      }
    }
    List<String> cmd = new ArrayList<>(List.of("veritysetup", "format", "--hash-offset=" + padded));
    cmd.addAll(List.of(verityArgs));
    cmd.add(img.toString());
    cmd.add(img.toString());
    String out = run(cmd.toArray(new String[0]));
    Matcher m = Pattern.compile("Root hash:\\s+([0-9a-f]{64})").matcher(out);
    assertTrue(m.find(), out);
    return new Image(Files.readAllBytes(img), m.group(1), padded);
  }

  /**
   * Runs {@code cmd} (at most 120 s) and returns its output (stdout and stderr).
   *
   * @throws IOException with the output when it fails or times out
   */
  public static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + ": timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + out);
    }
    return out;
  }
}
