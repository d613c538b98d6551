package io.basalt.host;

import java.util.ArrayList;
import java.util.List;

/**
 * IP address literals as hosts write them (no host names, no DNS): dotted-decimal IPv4 and RFC 4291
 * IPv6 text. Shared by cloud-config's metadata checks and the Swarm settings ({@link SwarmConf}).
 * Stateless, thread-safe.
 */
public final class IpAddresses {

  private IpAddresses() {}

  /** Whether {@code s} is an IPv4 or IPv6 address literal. */
  public static boolean isAddress(String s) {
    return parseIpv4(s) >= 0 || isIpv6(s);
  }

  /**
   * Whether {@code s} is an IPv4 address in an RFC 1918 private range (10.0.0.0/8, 172.16.0.0/12,
   * 192.168.0.0/16).
   */
  public static boolean isPrivateIpv4(String s) {
    long a = s == null ? -1 : parseIpv4(s);
    return a >= 0
        && ((a >>> 24) == 10
            || (a >>> 20) == ((172L << 4) | 1)
            || (a >>> 16) == ((192L << 8) | 168));
  }

  /** The 32 bits of a dotted-decimal IPv4 address, or -1. */
  public static long parseIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return -1;
    }
    long bits = 0;
    for (String p : parts) {
      if (!p.matches("\\d{1,3}") || (p.length() > 1 && p.charAt(0) == '0')) {
        return -1;
      }
      int v = Integer.parseInt(p);
      if (v > 255) {
        return -1;
      }
      bits = (bits << 8) | v;
    }
    return bits;
  }

  /** Whether {@code s} is an IPv6 address in RFC 4291 section 2.2 text form (no zone). */
  public static boolean isIpv6(String s) {
    if (s.isEmpty() || s.length() > 45 || !s.matches("[0-9A-Fa-f:.]+")) {
      return false;
    }
    int gap = s.indexOf("::");
    if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String head = gap < 0 ? s : s.substring(0, gap);
    String tail = gap < 0 ? "" : s.substring(gap + 2);
    int groups = 0;
    List<String> all = new ArrayList<>();
    if (!head.isEmpty()) {
      all.addAll(List.of(head.split(":", -1)));
    }
    int headCount = all.size();
    if (!tail.isEmpty()) {
      all.addAll(List.of(tail.split(":", -1)));
    }
    for (int i = 0; i < all.size(); i++) {
      String g = all.get(i);
      boolean last = i == all.size() - 1;
      if (last && g.contains(".")) {
        if (parseIpv4(g) < 0) {
          return false;
        }
        groups += 2;
      } else if (g.matches("[0-9A-Fa-f]{1,4}")) {
        groups++;
      } else {
        return false;
      }
    }
    if (headCount == 0 && gap < 0) {
      return false;
    }
    return gap < 0 ? groups == 8 : groups <= 7;
  }
}
