package io.basalt.image.install;

/**
 * Why {@code basalt install} did not install, with the class of failure that picks the exit code.
 * The message names the file, key or device concerned. Immutable.
 */
public final class InstallException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The class of failure, each with its own exit code. */
  public enum Kind {
    /** Writing the target or reading a file failed. */
    IO(1),
    /** A bad option or input file (cloud-config, kernel argument). */
    USAGE(2),
    /** The target is refused (in use, too small, not a whole disk); nothing was written. */
    TARGET(3),
    /** The payload is missing, malformed or fails verification; nothing was written. */
    PAYLOAD(4);

    private final int exitCode;

    Kind(int exitCode) {
      this.exitCode = exitCode;
    }

    /** The CLI's exit code for this kind. */
    public int exitCode() {
      return exitCode;
    }
  }

  private final Kind kind;

  /** A failure of {@code kind} explained by {@code message}. */
  public InstallException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  /** A failure of {@code kind} explained by {@code message}, caused by {@code cause}. */
  public InstallException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  /** The class of failure. */
  public Kind kind() {
    return kind;
  }
}
