package io.basalt.cloudconfig.datasource;

import java.io.IOException;
import java.util.Objects;

/**
 * A datasource is present but one of its metadata values is not acceptable (an option where a host
 * name belongs, a line break in a value bound for a unit file, an address that does not parse).
 * Nothing from that datasource is used. Immutable.
 */
public final class InvalidMetadataException extends IOException {

  private static final long serialVersionUID = 1L;

  private final String datasource;
  private final String variable;

  /**
   * @param datasource the datasource's short name ({@code opennebula}, {@code config-2})
   * @param file the file the value was read from
   * @param variable the variable or field ({@code SET_HOSTNAME}, {@code public_keys.mykey})
   * @param shownValue the value as it may be shown (quoted, control characters escaped), or null
   *     when it must not be shown
   * @param expected what a valid value looks like
   */
  InvalidMetadataException(
      String datasource, String file, String variable, String shownValue, String expected) {
    super(
        datasource
            + " "
            + file
            + ": "
            + variable
            + " "
            + (shownValue == null ? "(value not shown)" : shownValue)
            + " is not valid: expected "
            + expected);
    this.datasource = Objects.requireNonNull(datasource, "datasource");
    this.variable = Objects.requireNonNull(variable, "variable");
  }

  /** The datasource's short name. */
  public String datasource() {
    return datasource;
  }

  /** The variable or field whose value was refused. */
  public String variable() {
    return variable;
  }
}
