package io.basalt.update.strategy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Source of systemd-logind <em>block</em> inhibitors on shutdown (what {@code systemd-inhibit
 * --what=shutdown --mode=block} creates), each described as {@code "WHO: WHY (pid N)"}.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface ShutdownInhibitors {

  /**
   * The block inhibitors that currently forbid a shutdown/reboot.
   *
   * @throws IOException if logind cannot be asked (the caller then does not reboot)
   */
  List<String> blocking() throws IOException;

  /** None, ever (hosts without logind, tests). */
  static ShutdownInhibitors none() {
    return List::of;
  }

  /**
   * Asks logind over D-Bus with {@code busctl --json=short call org.freedesktop.login1
   * /org/freedesktop/login1 org.freedesktop.login1.Manager ListInhibitors}.
   */
  static ShutdownInhibitors logind(HostCommands host) {
    return () ->
        parseBusctl(
            host.run(
                List.of(
                    "busctl",
                    "--json=short",
                    "call",
                    "org.freedesktop.login1",
                    "/org/freedesktop/login1",
                    "org.freedesktop.login1.Manager",
                    "ListInhibitors"),
                null));
  }

  /**
   * Parses busctl's JSON for {@code ListInhibitors} ({@code a(ssssuu)}: what, who, why, mode, uid,
   * pid) and keeps block inhibitors whose {@code what} includes shutdown.
   *
   * @throws IOException if the output is not what busctl prints for that signature
   */
  static List<String> parseBusctl(String json) throws IOException {
    JsonNode root = new ObjectMapper().readTree(json);
    JsonNode data = root == null ? null : root.path("data");
    if (data == null || !data.isArray() || data.isEmpty() || !data.get(0).isArray()) {
      throw new IOException("unexpected busctl ListInhibitors output: " + json.strip());
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : data.get(0)) {
      String what = e.path(0).asText();
      String mode = e.path(3).asText();
      boolean shutdown = List.of(what.split(":")).contains("shutdown");
      if (shutdown && mode.equals("block")) {
        out.add(
            e.path(1).asText() + ": " + e.path(2).asText() + " (pid " + e.path(5).asLong() + ")");
      }
    }
    return out;
  }
}
