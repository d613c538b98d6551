package io.basalt.signing.tuf;

/** Downloaded data longer than allowed (endless data) or not the length its metadata states. */
public final class LengthMismatchException extends TufException {
  private static final long serialVersionUID = 1L;
  private final long expectedLength;
  private final long receivedLength;
  private final boolean exceeded;

  /**
   * Creates the exception.
   *
   * @param exceeded true when the download was cut off at the limit (receivedLength is then a lower
   *     bound)
   */
  public LengthMismatchException(
      String what, long expectedLength, long receivedLength, boolean exceeded) {
    super(
        what,
        what
            + ": "
            + (exceeded
                ? "more than " + expectedLength + " bytes received (limit " + expectedLength + ")"
                : "expected " + expectedLength + " bytes, received " + receivedLength));
    this.expectedLength = expectedLength;
    this.receivedLength = receivedLength;
    this.exceeded = exceeded;
  }

  /** The expected length or the maximum allowed. */
  public long expectedLength() {
    return expectedLength;
  }

  /** Bytes received (when exceeded: the count at which reading stopped). */
  public long receivedLength() {
    return receivedLength;
  }

  /** Whether the limit was exceeded (endless data) rather than the data being short. */
  public boolean exceeded() {
    return exceeded;
  }
}
