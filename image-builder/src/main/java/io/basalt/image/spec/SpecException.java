package io.basalt.image.spec;

/**
 * An image spec that cannot be used: a YAML syntax error, an unknown key or a wrong value, with the
 * file, line and column it was found at ({@code FILE:LINE:COL: message}). Immutable.
 */
public final class SpecException extends Exception {
  private static final long serialVersionUID = 1L;
  private final String source;
  private final int line;
  private final int column;
  private final String detail;

  public SpecException(String source, int line, int column, String detail) {
    super(source + ":" + line + ":" + column + ": " + detail);
    this.source = source;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }

  /** The file (or resource) name the spec came from. */
  public String source() {
    return source;
  }

  /** 1-based line, 0 when unknown. */
  public int line() {
    return line;
  }

  /** 1-based column, 0 when unknown. */
  public int column() {
    return column;
  }

  /** The message without the location prefix. */
  public String detail() {
    return detail;
  }
}
