package io.basalt.cloudconfig;

import java.util.List;

/**
 * The outcome of parsing and validating one user-data document: its diagnostics and, when it has no
 * errors, the cloud-config and scripts it carries. Immutable and thread-safe.
 *
 * @param kind what the user-data was
 * @param diagnostics every finding, in file order
 * @param config the config (empty for script-only or empty user-data); null when there are errors
 * @param scripts scripts to run once per boot; empty when there are errors
 */
public record UserData(
    Kind kind, List<Diagnostic> diagnostics, CloudConfig config, List<Script> scripts) {

  /** What a user-data document is. */
  public enum Kind {
    EMPTY,
    CLOUD_CONFIG,
    SCRIPT,
    MULTIPART,
    /** Not recognisable as any of the above (bad header). */
    INVALID
  }

  public UserData {
    diagnostics = List.copyOf(diagnostics);
    scripts = List.copyOf(scripts);
  }

  /** Whether any diagnostic is an error (the user-data must not be applied). */
  public boolean hasErrors() {
    return diagnostics.stream().anyMatch(d -> d.severity() == Diagnostic.Severity.ERROR);
  }
}
