package io.basalt.signing.tuf;

/**
 * Downloaded data whose hash differs from the metadata, or whose hash algorithm is not supported.
 */
public final class HashMismatchException extends TufException {
  private static final long serialVersionUID = 1L;
  private final String algorithm;
  private final String expected;
  private final String actual;

  /** Creates the exception; actual is null when the algorithm is unsupported. */
  public HashMismatchException(String what, String algorithm, String expected, String actual) {
    super(
        what,
        what
            + ": "
            + (actual == null
                ? "unsupported hash algorithm '" + algorithm + "'"
                : algorithm + " expected " + expected + ", found " + actual));
    this.algorithm = algorithm;
    this.expected = expected;
    this.actual = actual;
  }

  /** The hash algorithm name from the metadata. */
  public String algorithm() {
    return algorithm;
  }

  /** The expected hex digest. */
  public String expected() {
    return expected;
  }

  /** The computed hex digest, or null if the algorithm is unsupported. */
  public String actual() {
    return actual;
  }
}
