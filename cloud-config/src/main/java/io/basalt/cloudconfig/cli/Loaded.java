package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.PrivateIpv4;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.io.PrintWriter;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * User-data read from a source, substituted and validated; shared by render and apply. Not
 * thread-safe.
 */
record Loaded(String source, UserData userData, Metadata metadata) {

  static Loaded of(String source, String text, Metadata metadata, ValidationOptions options) {
    return of(source, text, metadata, options, List::of, line -> {});
  }

  /**
   * As above; a {@code $private_ipv4} that {@code metadata} has no value for is the machine's own
   * private address ({@link PrivateIpv4}: the config's networkd unit, else {@code interfaces}),
   * reported to {@code log}.
   */
  static Loaded of(
      String source,
      String text,
      Metadata metadata,
      ValidationOptions options,
      Supplier<List<PrivateIpv4.Interface>> interfaces,
      Consumer<String> log) {
    Metadata md = metadata;
    PrivateIpv4.Found f = PrivateIpv4.resolve(text, metadata, options, interfaces);
    if (f != null) {
      md = PrivateIpv4.with(metadata, f.address());
      log.accept(
          "$private_ipv4 is " + f.address() + " (no datasource value; from " + f.source() + ")");
    }
    String substituted = md.substitute(text);
    if ((md.privateIpv4() == null || md.privateIpv4().isEmpty())
        && substituted.contains("$private_ipv4")) {
      log.accept(
          "warning: $private_ipv4 has no value (no datasource gave one, no .network unit of this"
              + " config has a private Address=, no interface that is up has a private IPv4"
              + " address); it is left as written");
    }
    return new Loaded(source, UserDataParser.parse(substituted, options), md);
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
