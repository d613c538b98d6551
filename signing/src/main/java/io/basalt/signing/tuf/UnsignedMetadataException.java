package io.basalt.signing.tuf;

/**
 * Metadata not signed by a threshold of the keys trusted for its role (bad signatures included).
 */
public final class UnsignedMetadataException extends TufException {
  private static final long serialVersionUID = 1L;
  private final int threshold;
  private final int validSignatures;

  /**
   * Creates the exception with the threshold required and the count of distinct valid key
   * signatures.
   */
  public UnsignedMetadataException(String role, int threshold, int validSignatures, String signer) {
    this(role, threshold, validSignatures, signer, "");
  }

  /**
   * Creates the exception with a note on key ids that did not count (not the key's own id, or a key
   * already counted); an empty note adds nothing to the message.
   */
  public UnsignedMetadataException(
      String role, int threshold, int validSignatures, String signer, String note) {
    super(
        role,
        role
            + ": "
            + validSignatures
            + " valid signature(s) from the keys of "
            + signer
            + ", threshold is "
            + threshold
            + (note.isEmpty() ? "" : " (" + note + ")"));
    this.threshold = threshold;
    this.validSignatures = validSignatures;
  }

  /** Signatures required. */
  public int threshold() {
    return threshold;
  }

  /** Distinct trusted keys whose signature verified. */
  public int validSignatures() {
    return validSignatures;
  }
}
