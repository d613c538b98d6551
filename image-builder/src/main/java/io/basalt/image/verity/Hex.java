package io.basalt.image.verity;

import java.util.HexFormat;

/** Lower-case hex encoding. Thread-safe. */
final class Hex {
  private Hex() {}

  static String of(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
