package io.basalt.cloudconfig.render;

import java.util.List;

/**
 * What one apply did: {@code changes} (files written, accounts changed, reloads), {@code actions}
 * (per-boot commands issued again on every apply: enable, unit commands, scripts) and {@code
 * failures}. Immutable and thread-safe.
 */
public record ApplyReport(List<String> changes, List<String> actions, List<String> failures) {
  public ApplyReport {
    changes = List.copyOf(changes);
    actions = List.copyOf(actions);
    failures = List.copyOf(failures);
  }

  /** Whether every step succeeded. */
  public boolean ok() {
    return failures.isEmpty();
  }
}
