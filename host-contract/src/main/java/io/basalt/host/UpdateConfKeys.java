package io.basalt.host;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The schema of {@code update.conf}, shared by its writer (cloud-config's renderer) and its reader
 * (the update agent): the native key names, the CoreOS names accepted for them (update.conf's
 * {@code SERVER}/{@code GROUP}, locksmithd's {@code LOCKSMITHD_*}) and the rules for single values.
 *
 * <p>Precedence when a file names one setting twice: a CoreOS alias and its native key (say {@code
 * SERVER=} and {@code REPOSITORY_URL=}) are the same setting and the later line wins, as in a
 * systemd {@code EnvironmentFile}; the same spelling twice is a mistake the reader reports. The
 * renderer replaces the line of either spelling in place, so a rendered file never holds both.
 * Stateless, thread-safe.
 */
public final class UpdateConfKeys {

  public static final String REPOSITORY_URL = "REPOSITORY_URL";
  public static final String CHANNEL = "CHANNEL";
  public static final String ARCH = "ARCH";
  public static final String REBOOT_STRATEGY = "REBOOT_STRATEGY";
  public static final String CHECK_INTERVAL = "CHECK_INTERVAL";
  public static final String CHECK_JITTER = "CHECK_JITTER";
  public static final String REBOOT_WINDOW = "REBOOT_WINDOW";
  public static final String REBOOT_WINDOW_ZONE = "REBOOT_WINDOW_ZONE";
  public static final String REBOOT_GRACE = "REBOOT_GRACE";
  public static final String HEALTH_UNITS = "HEALTH_UNITS";
  public static final String ETCD_ENDPOINTS = "ETCD_ENDPOINTS";
  public static final String ETCD_CAFILE = "ETCD_CAFILE";
  public static final String ETCD_CERTFILE = "ETCD_CERTFILE";
  public static final String ETCD_KEYFILE = "ETCD_KEYFILE";
  public static final String ETCD_USERNAME = "ETCD_USERNAME";
  public static final String ETCD_PASSWORD = "ETCD_PASSWORD";
  public static final String LOCK_GROUP = "LOCK_GROUP";
  public static final String FLEETLOCK_URL = "FLEETLOCK_URL";
  public static final String FLEETLOCK_TOKEN_FILE = "FLEETLOCK_TOKEN_FILE";
  public static final String DOWNLOAD_DEADLINE = "DOWNLOAD_DEADLINE";
  public static final String LOCK_LEASE = "LOCK_LEASE";

  /**
   * Whether the agent drains its Docker Swarm node before an OS reboot and sets it active again
   * after the blessed boot: {@code auto} (default: when the engine is in a swarm), {@code yes},
   * {@code no}.
   */
  public static final String SWARM_DRAIN = "SWARM_DRAIN";

  /**
   * How long the agent waits for its node's tasks to move before it reboots anyway ({@code 5m}).
   */
  public static final String SWARM_DRAIN_TIMEOUT = "SWARM_DRAIN_TIMEOUT";

  /**
   * Whether the agent refuses the reboot lock while its reboot would cost the etcd cluster its
   * quorum: {@code auto} (default: with strategy etcd-lock and a local etcd member), {@code yes},
   * {@code no}.
   */
  public static final String ETCD_QUORUM_CHECK = "ETCD_QUORUM_CHECK";

  /** locksmithd's window start ({@code [Day ]hh:mm}); with the length it makes REBOOT_WINDOW. */
  public static final String WINDOW_START = "LOCKSMITHD_REBOOT_WINDOW_START";

  /** locksmithd's window length ({@code 1h30m}). */
  public static final String WINDOW_LENGTH = "LOCKSMITHD_REBOOT_WINDOW_LENGTH";

  /** Every native key, in documentation order. */
  public static final List<String> KEYS =
      List.of(
          REPOSITORY_URL,
          CHANNEL,
          ARCH,
          REBOOT_STRATEGY,
          CHECK_INTERVAL,
          CHECK_JITTER,
          REBOOT_WINDOW,
          REBOOT_WINDOW_ZONE,
          REBOOT_GRACE,
          HEALTH_UNITS,
          ETCD_ENDPOINTS,
          ETCD_CAFILE,
          ETCD_CERTFILE,
          ETCD_KEYFILE,
          ETCD_USERNAME,
          ETCD_PASSWORD,
          LOCK_GROUP,
          FLEETLOCK_URL,
          FLEETLOCK_TOKEN_FILE,
          DOWNLOAD_DEADLINE,
          LOCK_LEASE,
          SWARM_DRAIN,
          SWARM_DRAIN_TIMEOUT,
          ETCD_QUORUM_CHECK,
          WINDOW_START,
          WINDOW_LENGTH);

  /** CoreOS alias → native key (what cloud-config's coreos.update and coreos.locksmith write). */
  public static final Map<String, String> ALIASES = aliases();

  /** The values REBOOT_STRATEGY takes. */
  public static final Set<String> STRATEGIES = Set.of("etcd-lock", "fleetlock", "reboot", "off");

  private static final Set<String> PATH_KEYS = Set.of(ETCD_CAFILE, ETCD_CERTFILE, ETCD_KEYFILE);

  private UpdateConfKeys() {}

  private static boolean isHttpUrl(String value) {
    try {
      URI u = new URI(value);
      return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null;
    } catch (URISyntaxException e) {
      return false;
    }
  }

  /**
   * {@code existing} (an update.conf's text, "" for none) with the lines of {@code wanted}'s
   * settings replaced in place (the first line of that setting; later ones dropped) or appended. A
   * line counts as the same setting under its native name or its CoreOS alias ({@link #canonical}),
   * so the result never names one setting twice; comments and other lines stay as they are. Used by
   * both writers: cloud-config's renderer (the machine's {@code /etc/basalt/update.conf}) and the
   * image builder (the image's defaults, {@code /usr/share/basalt/update.conf}).
   */
  public static String merge(String existing, Map<String, String> wanted) {
    Map<String, String> byCanonical = new HashMap<>();
    for (String k : wanted.keySet()) {
      byCanonical.put(canonical(k).orElse(k), k);
    }
    List<String> out = new ArrayList<>();
    Set<String> done = new HashSet<>();
    for (String line : existing.split("\n", -1)) {
      String key = keyOf(line);
      String ours = key == null ? null : byCanonical.get(canonical(key).orElse(key));
      if (ours != null) {
        if (done.add(ours)) {
          out.add(ours + "=" + wanted.get(ours));
        }
        continue;
      }
      out.add(line);
    }
    // Drop the empty string split() leaves after a final newline; keep the operator's blank lines.
    while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
      out.remove(out.size() - 1);
    }
    for (Map.Entry<String, String> e : wanted.entrySet()) {
      if (!done.contains(e.getKey())) {
        out.add(e.getKey() + "=" + e.getValue());
      }
    }
    return String.join("\n", out) + "\n";
  }

  /** The key of an update.conf line ({@code KEY=VALUE}), or null for a comment or other line. */
  public static String keyOf(String line) {
    String t = line.trim();
    if (t.startsWith("#")) {
      return null;
    }
    int eq = t.indexOf('=');
    return eq > 0 ? t.substring(0, eq).trim() : null;
  }

  private static Map<String, String> aliases() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("SERVER", REPOSITORY_URL);
    m.put("GROUP", CHANNEL);
    m.put("LOCKSMITHD_ENDPOINT", ETCD_ENDPOINTS);
    m.put("LOCKSMITHD_ETCD_CAFILE", ETCD_CAFILE);
    m.put("LOCKSMITHD_ETCD_CERTFILE", ETCD_CERTFILE);
    m.put("LOCKSMITHD_ETCD_KEYFILE", ETCD_KEYFILE);
    m.put("LOCKSMITHD_ETCD_USERNAME", ETCD_USERNAME);
    m.put("LOCKSMITHD_ETCD_PASSWORD", ETCD_PASSWORD);
    m.put("LOCKSMITHD_GROUP", LOCK_GROUP);
    return java.util.Collections.unmodifiableMap(m);
  }

  /** The native key {@code key} names (itself or the key it is an alias of); empty if unknown. */
  public static Optional<String> canonical(String key) {
    if (key == null) {
      return Optional.empty();
    }
    String k = ALIASES.getOrDefault(key, key);
    return KEYS.contains(k) ? Optional.of(k) : Optional.empty();
  }

  /** Whether {@code key} (native or alias) holds a secret, so the file must be mode 0600. */
  public static boolean isCredential(String key) {
    return key != null && key.toUpperCase(Locale.ROOT).contains("PASSWORD");
  }

  /**
   * What is wrong with {@code value} for native key {@code key} on its own, or empty when it is
   * fine (rules that need other keys or parsing, like durations and windows, are the reader's).
   */
  public static Optional<String> problem(String key, String value) {
    switch (key) {
      case CHANNEL:
        return value.matches("[a-z0-9][a-z0-9-]*")
            ? Optional.empty()
            : Optional.of("expected [a-z0-9-] (e.g. stable), found \"" + value + "\"");
      case REBOOT_STRATEGY:
        return STRATEGIES.contains(value)
            ? Optional.empty()
            : Optional.of(
                "expected one of [etcd-lock, fleetlock, reboot, off], found \"" + value + "\"");
      case REPOSITORY_URL:
      case FLEETLOCK_URL:
        return value.isBlank() || isHttpUrl(value)
            ? Optional.empty()
            : Optional.of("expected an http:// or https:// URL, found \"" + value + "\"");
      default:
        if (PATH_KEYS.contains(key) && !value.isEmpty() && !value.startsWith("/")) {
          return Optional.of("expected an absolute path to a PEM file, found \"" + value + "\"");
        }
        return Optional.empty();
    }
  }
}
