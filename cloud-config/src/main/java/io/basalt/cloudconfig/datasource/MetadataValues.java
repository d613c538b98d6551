package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import io.basalt.host.IpAddresses;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Checks datasource metadata values before they reach a command line, a unit file or user-data
 * substitution: host names (RFC 1123), addresses, netmasks and prefix lengths, MAC addresses, SSH
 * keys. Each check returns the value in its normal form or throws {@link InvalidMetadataException}
 * naming the datasource, file, variable and value. Immutable and thread-safe.
 */
final class MetadataValues {

  private static final Pattern MAC = Pattern.compile("^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$");
  private static final Pattern LIST_SEPARATOR = Pattern.compile("[ \t,]+");

  private final String datasource;
  private final String file;

  MetadataValues(String datasource, String file) {
    this.datasource = datasource;
    this.file = file;
  }

  /** The error for {@code variable}, showing {@code value} (quoted, control characters escaped). */
  InvalidMetadataException invalid(String variable, String value, String expected) {
    return new InvalidMetadataException(datasource, file, variable, shown(value), expected);
  }

  /** The error for {@code variable} without showing its value (keys stay out of logs). */
  InvalidMetadataException invalidHidden(String variable, String expected) {
    return new InvalidMetadataException(datasource, file, variable, null, expected);
  }

  String hostname(String variable, String value) throws InvalidMetadataException {
    if (!Metadata.isHostname(value)) {
      throw invalid(
          variable,
          value,
          "an RFC 1123 host name: letters, digits and '-' (not first or last) in dot-separated"
              + " labels of at most 63 characters");
    }
    return value;
  }

  String ipv4(String variable, String value) throws InvalidMetadataException {
    if (parseIpv4(value) < 0) {
      throw invalid(variable, value, "an IPv4 address (four numbers 0-255, e.g. 192.0.2.10)");
    }
    return value;
  }

  String ipv6(String variable, String value) throws InvalidMetadataException {
    if (!isIpv6(value)) {
      throw invalid(variable, value, "an IPv6 address (e.g. 2001:db8::10)");
    }
    return value;
  }

  /** A dotted IPv4 netmask or a prefix length 0-32, as the prefix length. */
  int netmask(String variable, String value) throws InvalidMetadataException {
    if (value.matches("\\d{1,2}")) {
      int p = Integer.parseInt(value);
      if (p <= 32) {
        return p;
      }
    } else {
      long bits = parseIpv4(value);
      if (bits >= 0) {
        int prefix = Long.bitCount(bits);
        if (bits == ((0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL)) {
          return prefix;
        }
      }
    }
    throw invalid(
        variable, value, "a contiguous IPv4 netmask (e.g. 255.255.255.0) or a prefix length 0-32");
  }

  int prefixLength6(String variable, String value) throws InvalidMetadataException {
    if (value.matches("\\d{1,3}") && Integer.parseInt(value) <= 128) {
      return Integer.parseInt(value);
    }
    throw invalid(variable, value, "an IPv6 prefix length 0-128");
  }

  String mac(String variable, String value) throws InvalidMetadataException {
    if (!MAC.matcher(value).matches()) {
      throw invalid(variable, value, "a MAC address of six ':'-separated hex bytes");
    }
    return value;
  }

  /** A space- or comma-separated list of IPv4 or IPv6 addresses. */
  List<String> addresses(String variable, String value) throws InvalidMetadataException {
    List<String> out = new ArrayList<>();
    for (String a : split(value)) {
      if (parseIpv4(a) < 0 && !isIpv6(a)) {
        throw invalid(variable, a, "IPv4 or IPv6 addresses separated by spaces or commas");
      }
      out.add(a);
    }
    return out;
  }

  /** A space- or comma-separated list of domain names. */
  List<String> domains(String variable, String value) throws InvalidMetadataException {
    List<String> out = new ArrayList<>();
    for (String d : split(value)) {
      if (!Metadata.isHostname(d)) {
        throw invalid(variable, d, "domain names (RFC 1123) separated by spaces or commas");
      }
      out.add(d);
    }
    return out;
  }

  String sshKey(String variable, String value) throws InvalidMetadataException {
    if (!Metadata.isSshPublicKey(value)) {
      throw invalidHidden(
          variable, "one SSH public key per line, '<type> <base64> [comment]', e.g. ssh-ed25519");
    }
    return value;
  }

  /** Any other value: one line, no control characters. */
  String oneLine(String variable, String value) throws InvalidMetadataException {
    if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw invalid(variable, value, "one line of text without control characters");
    }
    return value;
  }

  /** {@code value} quoted for a one-line message: control characters escaped, at most 80 shown. */
  static String shown(String value) {
    StringBuilder b = new StringBuilder("'");
    int n = Math.min(value.length(), 80);
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            b.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append(value.length() > n ? "...'" : "'").toString();
  }

  private static List<String> split(String value) {
    List<String> out = new ArrayList<>();
    for (String s : LIST_SEPARATOR.split(value.strip())) {
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** The 32 bits of a dotted-decimal IPv4 address, or -1. */
  static long parseIpv4(String s) {
    return IpAddresses.parseIpv4(s);
  }

  /** Whether {@code s} is an IPv6 address in RFC 4291 section 2.2 text form (no zone). */
  static boolean isIpv6(String s) {
    return IpAddresses.isIpv6(s);
  }
}
