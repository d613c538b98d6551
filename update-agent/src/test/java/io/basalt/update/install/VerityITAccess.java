package io.basalt.update.install;

import java.nio.file.Path;

/** Lets tests in other packages make a real squashfs + dm-verity image (see {@link VerityIT}). */
public final class VerityITAccess {
  private VerityITAccess() {}

  /** An image file's bytes, its dm-verity root hash and hash offset. */
  public record Image(byte[] bytes, String rootHash, long hashOffset) {}

  /** An image made with mksquashfs + veritysetup format under {@code tmp}. */
  public static Image image(Path tmp, String version) throws Exception {
    return VerityIT.makeImage(tmp, version);
  }
}
