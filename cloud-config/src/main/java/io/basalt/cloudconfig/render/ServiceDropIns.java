package io.basalt.cloudconfig.render;

import io.basalt.cloudconfig.CloudConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns the pass-through service sections (etcd2/etcd, fleet, flannel) into runtime drop-ins with
 * their environment, as coreos-cloudinit did ({@code 20-cloudinit.conf} under /run). Basalt's image
 * runs Debian's etcd 3 as {@code etcd.service}, so both etcd sections target that unit. Stateless
 * and thread-safe.
 */
final class ServiceDropIns {

  /** The drop-in file name coreos-cloudinit used. */
  public static final String DROP_IN = "20-cloudinit.conf";

  private ServiceDropIns() {}

  /**
   * The units (runtime, drop-in only) the service sections of {@code config} produce, in a fixed
   * order.
   */
  public static List<CloudConfig.Unit> units(CloudConfig config) {
    CloudConfig.CoreOs c = config.coreos();
    List<CloudConfig.Unit> out = new ArrayList<>();
    add(out, "etcd.service", c.etcd2().isEmpty() ? c.etcd() : c.etcd2());
    add(out, "fleet.service", c.fleet());
    add(out, "flanneld.service", c.flannel());
    return out;
  }

  /**
   * Whether {@code env} holds a credential (a key naming a password, such as {@code
   * FLANNELD_ETCD_PASSWORD}): files rendered from it are written 0600.
   */
  static boolean holdsCredential(Map<String, String> env) {
    return env.keySet().stream().anyMatch(ServiceDropIns::isCredential);
  }

  /**
   * Whether unit or drop-in text {@code content} sets a credential in an {@code Environment=} line
   * (a key naming a password).
   */
  static boolean holdsCredential(String content) {
    return content != null
        && content
            .lines()
            .anyMatch(l -> envKeys(l.trim()).stream().anyMatch(ServiceDropIns::isCredential));
  }

  /** Whether an environment key names a credential. */
  static boolean isCredential(String key) {
    return key != null && key.toUpperCase(java.util.Locale.ROOT).contains("PASSWORD");
  }

  /**
   * The keys an {@code Environment=} line sets ({@code Environment="A=1" B=2}), roughly: every word
   * before an {@code =}; empty for other lines.
   */
  private static List<String> envKeys(String line) {
    String prefix = "Environment=";
    List<String> keys = new ArrayList<>();
    if (!line.startsWith(prefix)) {
      return keys;
    }
    for (String word : line.substring(prefix.length()).split("\\s+")) {
      String w = word.startsWith("\"") || word.startsWith("'") ? word.substring(1) : word;
      int eq = w.indexOf('=');
      if (eq > 0) {
        keys.add(w.substring(0, eq));
      }
    }
    return keys;
  }

  private static void add(List<CloudConfig.Unit> out, String unit, Map<String, String> env) {
    if (env.isEmpty()) {
      return;
    }
    out.add(
        new CloudConfig.Unit(
            unit,
            null,
            false,
            true,
            false,
            null,
            List.of(new CloudConfig.DropIn(DROP_IN, serviceSection(env)))));
  }

  /**
   * {@code [Service]} with one {@code Environment="K=V"} per entry, quoted per systemd.syntax(7).
   */
  static String serviceSection(Map<String, String> env) {
    StringBuilder b = new StringBuilder("[Service]\n");
    env.forEach(
        (k, v) ->
            b.append("Environment=\"").append(k).append('=').append(escape(v)).append("\"\n"));
    return b.toString();
  }

  static String escape(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("%", "%%").replace("\n", "\\n");
  }

  /**
   * Flannel's options file, {@code KEY=VALUE} lines, as coreos-cloudinit wrote
   * /run/flannel/options.env.
   */
  static String envFile(Map<String, String> env) {
    StringBuilder b = new StringBuilder();
    env.forEach((k, v) -> b.append(k).append('=').append(v.replace("\n", " ")).append('\n'));
    return b.toString();
  }
}
