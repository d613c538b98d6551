package io.basalt.image.tree;

import java.io.IOException;

/** A file's bytes did not match the size recorded when it was added to a tree. */
public final class ContentChangedException extends IOException {
  private final String source;
  private final long expectedSize;
  private final long actualSize;

  public ContentChangedException(String source, long expectedSize, long actualSize) {
    super(
        source
            + ": changed while being read (expected "
            + expectedSize
            + " bytes, "
            + (actualSize > expectedSize
                ? "found more than " + expectedSize
                : "found " + actualSize)
            + ")");
    this.source = source;
    this.expectedSize = expectedSize;
    this.actualSize = actualSize;
  }

  public String source() {
    return source;
  }

  public long expectedSize() {
    return expectedSize;
  }

  /** Bytes seen when the mismatch was noticed (for growth: the first count beyond the size). */
  public long actualSize() {
    return actualSize;
  }
}
