package io.basalt.cloudconfig;

import java.util.Comparator;
import java.util.Locale;
import java.util.Objects;

/**
 * One finding of the validator, at a 1-based line and column of the user-data file. Messages never
 * contain password hashes or key material. Immutable and thread-safe.
 *
 * @param severity error (the config is not applied) or warning
 * @param line 1-based line
 * @param column 1-based column
 * @param message what is wrong, naming the key path, expected vs found
 */
public record Diagnostic(Severity severity, int line, int column, String message) {

  /** How bad a finding is. */
  public enum Severity {
    ERROR,
    WARNING;

    /** Lower-case name as printed ({@code error}, {@code warning}). */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Order by position, then errors before warnings, then message. */
  public static final Comparator<Diagnostic> ORDER =
      new Comparator<>() {
        // A plain class, not a chain of method references: no lambda bootstrap on every start.
        @Override
        public int compare(Diagnostic a, Diagnostic b) {
          int c = Integer.compare(a.line, b.line);
          if (c == 0) {
            c = Integer.compare(a.column, b.column);
          }
          if (c == 0) {
            c = a.severity.compareTo(b.severity);
          }
          return c != 0 ? c : a.message.compareTo(b.message);
        }
      };

  public Diagnostic {
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(message, "message");
  }

  /** {@code FILE:LINE:COL: error|warning: message}. */
  public String format(String file) {
    return file + ":" + line + ":" + column + ": " + severity.label() + ": " + message;
  }
}
