package io.basalt.cloudconfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a datasource knows about the machine besides user-data: addresses for the
 * {@code $public_ipv4}-style substitutions, SSH keys, host name, and network units it derived
 * (OpenNebula). Immutable and thread-safe.
 *
 * @param publicIpv4 or null
 * @param privateIpv4 or null
 * @param publicIpv6 or null
 * @param privateIpv6 or null
 * @param hostname or null
 * @param sshPublicKeys keys for the default user core
 * @param networkUnits systemd-networkd unit file name to content
 */
public record Metadata(String publicIpv4, String privateIpv4, String publicIpv6, String privateIpv6, String hostname,
    List<String> sshPublicKeys, Map<String, String> networkUnits) {

  private static final Pattern VARIABLE = Pattern.compile("(\\\\?)\\$(public_ipv4|private_ipv4|public_ipv6|private_ipv6)(?![A-Za-z0-9_])");

  public Metadata {
    sshPublicKeys = List.copyOf(sshPublicKeys);
    networkUnits = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(networkUnits));
  }

  /** No metadata. */
  public static Metadata none() {
    return new Metadata(null, null, null, null, null, List.of(), Map.of());
  }

  /**
   * Replaces {@code $public_ipv4}, {@code $private_ipv4}, {@code $public_ipv6} and
   * {@code $private_ipv6} in {@code userData} by their values, as coreos-cloudinit did over the
   * whole user-data. A variable without a value is left as written; {@code \$name} is the literal
   * {@code $name}.
   */
  public String substitute(String userData) {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("public_ipv4", publicIpv4);
    values.put("private_ipv4", privateIpv4);
    values.put("public_ipv6", publicIpv6);
    values.put("private_ipv6", privateIpv6);
    Matcher m = VARIABLE.matcher(userData);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String v = values.get(m.group(2));
      String replacement;
      if (!m.group(1).isEmpty()) {
        replacement = "$" + m.group(2);
      } else {
        replacement = v == null || v.isEmpty() ? m.group() : v;
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }
}
