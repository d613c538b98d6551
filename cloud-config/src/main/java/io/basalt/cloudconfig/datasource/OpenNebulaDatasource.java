package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenNebula context disk (ISO9660 labelled {@code CONTEXT}) mounted at a directory: {@code
 * context.sh} is parsed (never executed) for USER_DATA/USERDATA (with
 * USERDATA_ENCODING/USER_DATA_ENCODING=base64), SSH_PUBLIC_KEY, SET_HOSTNAME/HOSTNAME and
 * ETHn_MAC/IP/MASK/GATEWAY/DNS/SEARCH_DOMAIN/IP6/IP6_PREFIX_LENGTH/GATEWAY6, from which
 * systemd-networkd {@code .network} units are derived. {@code $private_ipv4} and {@code
 * $public_ipv4} are ETH0_IP, the IPv6 ones ETH0_IP6. Immutable and thread-safe.
 */
public final class OpenNebulaDatasource implements Datasource {

  private static final Pattern ETH = Pattern.compile("^ETH(\\d+)_([A-Z0-9_]+)$");

  private final Path mountDir;

  public OpenNebulaDatasource(Path mountDir) {
    this.mountDir = Objects.requireNonNull(mountDir, "mountDir");
  }

  @Override
  public String name() {
    return "opennebula";
  }

  @Override
  public Optional<Found> fetch() throws IOException {
    Path file = mountDir.resolve("context.sh");
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    Map<String, String> vars;
    try {
      vars = parseShell(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
    byte[] userData = null;
    String ud = vars.containsKey("USER_DATA") ? vars.get("USER_DATA") : vars.get("USERDATA");
    if (ud != null && !ud.isEmpty()) {
      String enc =
          vars.getOrDefault("USERDATA_ENCODING", vars.getOrDefault("USER_DATA_ENCODING", ""));
      if (enc.equalsIgnoreCase("base64")) {
        try {
          userData = Base64.getMimeDecoder().decode(ud.trim());
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ": USER_DATA is not valid base64: " + e.getMessage(), e);
        }
      } else {
        userData = ud.getBytes(StandardCharsets.UTF_8);
      }
    }
    MetadataValues check = new MetadataValues(name(), file.toString());
    String hostname = nonEmpty(vars.get("SET_HOSTNAME"));
    if (hostname != null) {
      check.hostname("SET_HOSTNAME", hostname);
    } else {
      hostname = nonEmpty(vars.get("HOSTNAME"));
      if (hostname != null) {
        check.hostname("HOSTNAME", hostname);
      }
    }
    List<String> keys = new ArrayList<>();
    for (String k : vars.getOrDefault("SSH_PUBLIC_KEY", "").split("\n")) {
      if (!k.isBlank()) {
        keys.add(check.sshKey("SSH_PUBLIC_KEY", k.trim()));
      }
    }
    // Checks every ETHn_ value it uses, ETH0_IP and ETH0_IP6 (the substitution values) included.
    Map<String, String> units = networkUnits(vars, check);
    String ip4 = nonEmpty(vars.get("ETH0_IP"));
    String ip6 = nonEmpty(vars.get("ETH0_IP6"));
    return Optional.of(
        new Found(
            "opennebula:" + file,
            userData,
            new Metadata(ip4, ip4, ip6, ip6, hostname, keys, units)));
  }

  /**
   * One {@code 10-basalt-context-ethN.network} per interface that has a MAC or an address. Every
   * value written into a unit is checked first.
   *
   * @throws InvalidMetadataException naming the first variable whose value is not acceptable
   */
  static Map<String, String> networkUnits(Map<String, String> vars, MetadataValues check)
      throws InvalidMetadataException {
    TreeSet<Integer> nics = new TreeSet<>();
    for (Map.Entry<String, String> e : vars.entrySet()) {
      Matcher m = ETH.matcher(e.getKey());
      if (m.matches()) {
        if (m.group(1).length() > 4) {
          throw check.invalid(
              e.getKey(), e.getValue(), "an interface number of at most 4 digits in ETHn_");
        }
        nics.add(Integer.parseInt(m.group(1)));
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (int n : nics) {
      String p = "ETH" + n + "_";
      String mac = nonEmpty(vars.get(p + "MAC"));
      String ip = nonEmpty(vars.get(p + "IP"));
      String ip6 = nonEmpty(vars.get(p + "IP6"));
      if (mac != null) {
        check.mac(p + "MAC", mac);
      }
      if (ip != null) {
        check.ipv4(p + "IP", ip);
      }
      if (ip6 != null) {
        check.ipv6(p + "IP6", ip6);
      }
      if (mac == null && ip == null && ip6 == null) {
        continue;
      }
      StringBuilder b = new StringBuilder("[Match]\n");
      b.append(mac != null ? "MACAddress=" + mac.toLowerCase(Locale.ROOT) : "Name=eth" + n)
          .append("\n\n[Network]\n");
      if (ip != null) {
        String mask = nonEmpty(vars.get(p + "MASK"));
        int prefix = mask == null ? 24 : check.netmask(p + "MASK", mask);
        b.append("Address=").append(ip).append('/').append(prefix).append('\n');
      }
      if (ip6 != null) {
        String len = nonEmpty(vars.get(p + "IP6_PREFIX_LENGTH"));
        int prefix = len == null ? 64 : check.prefixLength6(p + "IP6_PREFIX_LENGTH", len);
        b.append("Address=").append(ip6).append('/').append(prefix).append('\n');
      }
      if (ip == null && ip6 == null) {
        b.append("DHCP=yes\n");
      }
      String gw = nonEmpty(vars.get(p + "GATEWAY"));
      if (gw != null) {
        b.append("Gateway=").append(check.ipv4(p + "GATEWAY", gw)).append('\n');
      }
      String gw6 = nonEmpty(vars.get(p + "GATEWAY6"));
      if (gw6 != null) {
        b.append("Gateway=").append(check.ipv6(p + "GATEWAY6", gw6)).append('\n');
      }
      for (String dns : check.addresses(p + "DNS", vars.getOrDefault(p + "DNS", ""))) {
        b.append("DNS=").append(dns).append('\n');
      }
      List<String> search =
          check.domains(p + "SEARCH_DOMAIN", vars.getOrDefault(p + "SEARCH_DOMAIN", ""));
      if (!search.isEmpty()) {
        b.append("Domains=").append(String.join(" ", search)).append('\n');
      }
      out.put("10-basalt-context-eth" + n + ".network", b.toString());
    }
    return out;
  }

  /** Prefix length of a dotted IPv4 netmask (or a plain prefix length). */
  static int prefix(String mask) {
    String m = mask.trim();
    if (m.matches("\\d{1,2}")) {
      return Integer.parseInt(m);
    }
    String[] parts = m.split("\\.");
    if (parts.length != 4) {
      throw new IllegalArgumentException("invalid netmask '" + mask + "'");
    }
    long bits = 0;
    for (String p : parts) {
      int v = Integer.parseInt(p);
      if (v < 0 || v > 255) {
        throw new IllegalArgumentException("invalid netmask '" + mask + "'");
      }
      bits = (bits << 8) | v;
    }
    int prefix = Long.bitCount(bits);
    if (bits != ((0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL)) {
      throw new IllegalArgumentException("netmask '" + mask + "' is not contiguous");
    }
    return prefix;
  }

  /**
   * Parses shell variable assignments as OpenNebula writes them ({@code NAME='value'}, with {@code
   * '\''} for a quote; double quotes and bare words accepted too). Nothing is executed.
   *
   * @throws IllegalArgumentException on an unterminated quote
   */
  static Map<String, String> parseShell(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    int i = 0;
    int n = text.length();
    while (i < n) {
      char c = text.charAt(i);
      if (c == '#') {
        while (i < n && text.charAt(i) != '\n') {
          i++;
        }
        continue;
      }
      if (Character.isWhitespace(c) || c == ';') {
        i++;
        continue;
      }
      int start = i;
      while (i < n && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '_')) {
        i++;
      }
      String name = text.substring(start, i);
      if (name.equals("export") && i < n && text.charAt(i) == ' ') {
        continue;
      }
      if (name.isEmpty() || i >= n || text.charAt(i) != '=') {
        // Not an assignment: skip the rest of the line.
        while (i < n && text.charAt(i) != '\n') {
          i++;
        }
        continue;
      }
      i++;
      StringBuilder v = new StringBuilder();
      while (i < n && !Character.isWhitespace(text.charAt(i)) && text.charAt(i) != ';') {
        char q = text.charAt(i);
        if (q == '\'') {
          int end = text.indexOf('\'', i + 1);
          if (end < 0) {
            throw new IllegalArgumentException("unterminated ' in the value of " + name);
          }
          v.append(text, i + 1, end);
          i = end + 1;
        } else if (q == '"') {
          i++;
          while (i < n && text.charAt(i) != '"') {
            if (text.charAt(i) == '\\'
                && i + 1 < n
                && "\"\\$`\n".indexOf(text.charAt(i + 1)) >= 0) {
              i++;
            }
            v.append(text.charAt(i));
            i++;
          }
          if (i >= n) {
            throw new IllegalArgumentException("unterminated \" in the value of " + name);
          }
          i++;
        } else if (q == '\\' && i + 1 < n) {
          v.append(text.charAt(i + 1));
          i += 2;
        } else {
          v.append(q);
          i++;
        }
      }
      out.put(name, v.toString());
    }
    return out;
  }

  private static String nonEmpty(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
