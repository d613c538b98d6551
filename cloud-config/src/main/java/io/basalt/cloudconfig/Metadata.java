package io.basalt.cloudconfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a datasource knows about the machine besides user-data: addresses for the {@code
 * $public_ipv4}-style substitutions, SSH keys, host name, and network units it derived
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
public record Metadata(
    String publicIpv4,
    String privateIpv4,
    String publicIpv6,
    String privateIpv6,
    String hostname,
    List<String> sshPublicKeys,
    Map<String, String> networkUnits) {

  public Metadata {
    sshPublicKeys = List.copyOf(sshPublicKeys);
    networkUnits = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(networkUnits));
  }

  /**
   * Whether {@code s} is a host name cloud-config's {@code hostname} accepts: RFC 1123 labels of
   * letters, digits and '-' (never first or last), at most 63 characters each, 253 in all.
   */
  public static boolean isHostname(String s) {
    return s != null && DocumentChecker.isHostname(s);
  }

  /**
   * Whether {@code s} is one SSH public key line as cloud-config's {@code ssh_authorized_keys}
   * accepts ({@code [options] <type> <base64> [comment]}), with no control characters.
   */
  public static boolean isSshPublicKey(String s) {
    return s != null
        && s.chars().noneMatch(c -> c < 0x20 || c == 0x7f)
        && DocumentChecker.looksLikeSshKey(s);
  }

  /** No metadata. */
  public static Metadata none() {
    return new Metadata(null, null, null, null, null, List.of(), Map.of());
  }

  /**
   * Replaces {@code $public_ipv4}, {@code $private_ipv4}, {@code $public_ipv6} and {@code
   * $private_ipv6} in {@code userData} by their values, as coreos-cloudinit did over the whole
   * user-data. A variable without a value is left as written; {@code \$name} is the literal {@code
   * $name}.
   */
  public String substitute(String userData) {
    // A scan for '$' rather than a regex over the whole user-data: this runs on every boot.
    int dollar = userData.indexOf('$');
    if (dollar < 0) {
      return userData;
    }
    StringBuilder out = new StringBuilder(userData.length() + 64);
    int copied = 0;
    for (; dollar >= 0; dollar = userData.indexOf('$', dollar + 1)) {
      String name = variableAt(userData, dollar + 1);
      if (name == null) {
        continue;
      }
      boolean escaped = dollar > 0 && userData.charAt(dollar - 1) == '\\';
      int from = escaped ? dollar - 1 : dollar;
      String v = value(name);
      String replacement = escaped ? "$" + name : (v == null || v.isEmpty() ? null : v);
      if (replacement != null) {
        out.append(userData, copied, from).append(replacement);
        copied = dollar + 1 + name.length();
      }
    }
    return copied == 0 ? userData : out.append(userData, copied, userData.length()).toString();
  }

  private static final String[] VARIABLES = {
    "public_ipv4", "private_ipv4", "public_ipv6", "private_ipv6"
  };

  /**
   * The variable name at {@code i} when one ends there (not followed by [A-Za-z0-9_]), else null.
   */
  private static String variableAt(String s, int i) {
    for (String name : VARIABLES) {
      int end = i + name.length();
      if (s.startsWith(name, i) && (end == s.length() || !isWordChar(s.charAt(end)))) {
        return name;
      }
    }
    return null;
  }

  private static boolean isWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  private String value(String name) {
    return switch (name) {
      case "public_ipv4" -> publicIpv4;
      case "private_ipv4" -> privateIpv4;
      case "public_ipv6" -> publicIpv6;
      default -> privateIpv6;
    };
  }
}
