package io.basalt.image.api;

/**
 * A build stage failed: carries the stage name and a failure class (for the CLI's exit code).
 * Immutable.
 */
public final class BuildException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What kind of failure, one exit code each in the CLI. */
  public enum Kind {
    /** Making the Debian base tree failed (mmdebstrap, mirror). */
    BOOTSTRAP,
    /** The base tree does not have what the image needs (e.g. not merged-/usr, no kernel). */
    TREE,
    /** A writer or builder this stage needs is not part of this Basalt build yet. */
    UNAVAILABLE,
    /** Reading or writing files failed. */
    IO
  }

  private final String stage;
  private final Kind kind;

  public BuildException(String stage, Kind kind, String message, Throwable cause) {
    super(stage + ": " + message, cause);
    this.stage = stage;
    this.kind = kind;
  }

  public BuildException(String stage, Kind kind, String message) {
    this(stage, kind, message, null);
  }

  public String stage() {
    return stage;
  }

  public Kind kind() {
    return kind;
  }
}
