package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.io.PrintWriter;

/**
 * User-data read from a source, substituted and validated; shared by render and apply. Not
 * thread-safe.
 */
record Loaded(String source, UserData userData, Metadata metadata) {

  static Loaded of(String source, String text, Metadata metadata, ValidationOptions options) {
    return new Loaded(source, UserDataParser.parse(metadata.substitute(text), options), metadata);
  }

  /**
   * Prints the diagnostics as SOURCE:LINE:COL lines; returns whether the user-data may be applied.
   */
  boolean report(PrintWriter err) {
    for (Diagnostic d : userData.diagnostics()) {
      err.println(d.format(source));
    }
    if (userData.hasErrors()) {
      err.println(source + ": invalid cloud-config: nothing was applied");
    }
    err.flush();
    return !userData.hasErrors();
  }
}
