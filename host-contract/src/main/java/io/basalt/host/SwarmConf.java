package io.basalt.host;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The machine's Docker Swarm settings, {@link HostPaths#SWARM_CONF}: written by cloud-config from
 * {@code basalt.swarm}, read by {@code basaltctl swarm join}. One setting a line, {@code
 * KEY=VALUE}, {@code #} comments and blank lines ignored:
 *
 * <pre>
 * ROLE=manager            # or worker
 * ADVERTISE_ADDR=10.0.0.1 # an IPv4 or IPv6 address literal
 * CLUSTER=default         # names the etcd prefix /basalt/swarm/CLUSTER/
 * LABEL=zone=a            # repeatable: one node label a line, KEY=VALUE
 * </pre>
 *
 * The value rules are also the validator's ({@link #problem}). Immutable and thread-safe.
 *
 * @param role manager or worker
 * @param advertiseAddr the address other nodes reach this one at ({@code docker swarm init/join
 *     --advertise-addr})
 * @param cluster the name of the swarm in etcd
 * @param labels node labels, sorted by key
 */
public record SwarmConf(
    Role role, String advertiseAddr, String cluster, SortedMap<String, String> labels) {

  public static final String ROLE = "ROLE";
  public static final String ADVERTISE_ADDR = "ADVERTISE_ADDR";
  public static final String CLUSTER = "CLUSTER";
  public static final String LABEL = "LABEL";

  /** The unit that runs {@code basaltctl swarm join} (init-units), enabled by cloud-config. */
  public static final String UNIT = "basalt-swarm.service";

  /** The cluster name when none is given. */
  public static final String DEFAULT_CLUSTER = "default";

  private static final Pattern CLUSTER_NAME = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");
  private static final Pattern LABEL_KEY = Pattern.compile("^[A-Za-z0-9]([A-Za-z0-9._-]{0,126})$");
  private static final int LABEL_VALUE_MAX = 1024;

  /** A node's role in the swarm. */
  public enum Role {
    MANAGER,
    WORKER;

    /** The word Docker and the config use: {@code manager} or {@code worker}. */
    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The role named {@code word}.
     *
     * @throws IllegalArgumentException when it is neither {@code manager} nor {@code worker}
     */
    public static Role of(String word) {
      for (Role r : values()) {
        if (r.word().equals(word)) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "expected manager or worker, found \"" + printable(word) + "\"");
    }
  }

  /**
   * @throws IllegalArgumentException when a value breaks its rule ({@link #problem})
   */
  public SwarmConf {
    Objects.requireNonNull(role, "role");
    cluster = cluster == null ? DEFAULT_CLUSTER : cluster;
    labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    check(ADVERTISE_ADDR, advertiseAddr);
    check(CLUSTER, cluster);
    for (Map.Entry<String, String> l : labels.entrySet()) {
      check(LABEL, l.getKey() + "=" + l.getValue());
    }
  }

  private static void check(String key, String value) {
    Optional<String> p = problem(key, value);
    if (p.isPresent()) {
      throw new IllegalArgumentException(key + ": " + p.get());
    }
  }

  /**
   * Why {@code value} is not valid for {@code key} (for {@link #LABEL}: {@code KEY=VALUE}), or
   * empty when it is.
   *
   * @throws IllegalArgumentException when {@code key} is not a key of this file
   */
  public static Optional<String> problem(String key, String value) {
    Objects.requireNonNull(value, key);
    switch (key) {
      case ROLE -> {
        if (!value.equals("manager") && !value.equals("worker")) {
          return Optional.of("expected manager or worker, found \"" + printable(value) + "\"");
        }
      }
      case ADVERTISE_ADDR -> {
        if (!IpAddresses.isAddress(value)) {
          return Optional.of(
              "expected an IPv4 or IPv6 address (no host name, no port), found \""
                  + printable(value)
                  + "\"");
        }
      }
      case CLUSTER -> {
        if (!CLUSTER_NAME.matcher(value).matches()) {
          return Optional.of(
              "expected 1-63 lower-case letters, digits and '-', not starting with '-', found \""
                  + printable(value)
                  + "\"");
        }
      }
      case LABEL -> {
        int eq = value.indexOf('=');
        String k = eq < 0 ? value : value.substring(0, eq);
        if (!LABEL_KEY.matcher(k).matches()) {
          return Optional.of(
              "label key \""
                  + printable(k)
                  + "\": expected 1-127 letters, digits, '.', '_' and '-', starting with a letter"
                  + " or digit");
        }
        if (eq < 0) {
          return Optional.of("expected KEY=VALUE, found \"" + printable(value) + "\"");
        }
        String v = value.substring(eq + 1);
        if (v.length() > LABEL_VALUE_MAX || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
          return Optional.of(
              "the value of label \""
                  + k
                  + "\" must be at most "
                  + LABEL_VALUE_MAX
                  + " characters without control characters");
        }
      }
      default -> throw new IllegalArgumentException("not a key of swarm.conf: " + key);
    }
    return Optional.empty();
  }

  /** The file's text: a header line, then ROLE, ADVERTISE_ADDR, CLUSTER and the labels in order. */
  public String render() {
    StringBuilder b = new StringBuilder();
    b.append("# Written by basalt cloud-config from basalt.swarm; read by basaltctl swarm join.\n");
    b.append(ROLE).append('=').append(role.word()).append('\n');
    b.append(ADVERTISE_ADDR).append('=').append(advertiseAddr).append('\n');
    b.append(CLUSTER).append('=').append(cluster).append('\n');
    for (Map.Entry<String, String> l : labels.entrySet()) {
      b.append(LABEL).append('=').append(l.getKey()).append('=').append(l.getValue()).append('\n');
    }
    return b.toString();
  }

  /**
   * Reads the file's text; {@code file} names it in messages.
   *
   * @throws IllegalArgumentException naming {@code file:line} for a line that is not {@code
   *     KEY=VALUE}, an unknown key, a key other than LABEL given twice, a label given twice, a bad
   *     value, or {@code file} for a missing ROLE or ADVERTISE_ADDR
   */
  public static SwarmConf parse(String text, String file) {
    String role = null;
    String addr = null;
    String cluster = null;
    SortedMap<String, String> labels = new TreeMap<>();
    List<String> lines = text.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      String where = file + ":" + (i + 1) + ": ";
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(where + "expected KEY=VALUE, found \"" + line + "\"");
      }
      String key = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      if (!List.of(ROLE, ADVERTISE_ADDR, CLUSTER, LABEL).contains(key)) {
        throw new IllegalArgumentException(
            where
                + "unknown key "
                + printable(key)
                + " (expected ROLE, ADVERTISE_ADDR, CLUSTER or LABEL)");
      }
      Optional<String> p = problem(key, value);
      if (p.isPresent()) {
        throw new IllegalArgumentException(where + key + ": " + p.get());
      }
      boolean again =
          switch (key) {
            case ROLE -> role != null;
            case ADVERTISE_ADDR -> addr != null;
            case CLUSTER -> cluster != null;
            default -> {
              int e = value.indexOf('=');
              yield labels.put(value.substring(0, e), value.substring(e + 1)) != null;
            }
          };
      if (again) {
        throw new IllegalArgumentException(
            where
                + (key.equals(LABEL) ? "label " + value.substring(0, value.indexOf('=')) : key)
                + " is given twice");
      }
      switch (key) {
        case ROLE -> role = value;
        case ADVERTISE_ADDR -> addr = value;
        case CLUSTER -> cluster = value;
        default -> {}
      }
    }
    if (role == null || addr == null) {
      throw new IllegalArgumentException(
          file + ": missing " + (role == null ? ROLE : ADVERTISE_ADDR) + "=");
    }
    return new SwarmConf(Role.of(role), addr, cluster, labels);
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 80; i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return b.toString();
  }
}
