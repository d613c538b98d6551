package io.basalt.update.agent;

import io.basalt.host.HostPaths;
import io.basalt.host.UpdateConfKeys;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The update agent's settings: {@code /usr/share/basalt/update.conf} overridden key by key by
 * {@code /etc/basalt/update.conf}. Lines are {@code KEY=VALUE} (value optionally in double or
 * single quotes), {@code #} comments and blank lines. The key names, their CoreOS aliases and the
 * precedence between an alias and its native key (the later line wins) are {@link UpdateConfKeys},
 * shared with cloud-config's renderer. Immutable.
 */
record UpdateConfig(
    URI repository,
    String channel,
    String arch,
    String rebootStrategy,
    Duration checkInterval,
    Duration checkJitter,
    String rebootWindow,
    String rebootWindowZone,
    Duration rebootGrace,
    List<String> healthUnits,
    List<String> etcdEndpoints,
    String lockGroup,
    URI fleetlockUrl,
    Duration downloadDeadline,
    Path etcdCaFile,
    Path etcdCertFile,
    Path etcdKeyFile,
    String etcdUsername,
    String etcdPassword,
    Duration lockLease,
    String fleetlockTokenFile,
    String swarmDrain,
    Duration swarmDrainTimeout,
    String etcdQuorumCheck) {

  /** Shipped defaults. */
  public static final String DEFAULTS_PATH = HostPaths.UPDATE_CONF_DEFAULTS;

  /** Machine overrides. */
  public static final String OVERRIDES_PATH = HostPaths.UPDATE_CONF;

  /** locksmithd's window keys, combined into REBOOT_WINDOW. */
  static final String WINDOW_START = UpdateConfKeys.WINDOW_START;

  static final String WINDOW_LENGTH = UpdateConfKeys.WINDOW_LENGTH;

  /**
   * Reads the shipped defaults and the machine overrides (either may be missing).
   *
   * @throws ConfigException naming {@code file:line} for a malformed line, an unknown key, a bad
   *     value, or a key spelled the same way twice in one file (an alias and its native key are one
   *     setting: the later line wins)
   * @throws IOException if a file exists but cannot be read
   */
  public static UpdateConfig load(Path defaults, Path overrides) throws IOException {
    Map<String, Setting> merged = new LinkedHashMap<>();
    for (Path p : new Path[] {defaults, overrides}) {
      if (p != null) {
        merged.putAll(read(p));
      }
    }
    return from(merged);
  }

  /** One value with where it came from. */
  record Setting(String value, String where) {}

  /**
   * Parses one file into canonical key → setting.
   *
   * @throws ConfigException naming the file and line
   */
  static Map<String, Setting> read(Path file) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Map.of();
    } catch (java.nio.charset.MalformedInputException e) {
      throw new ConfigException(file + ": not valid UTF-8");
    }
    return read(lines, file.toString());
  }

  /**
   * Parses the lines of one file named {@code file} in messages into canonical key → setting.
   *
   * @throws ConfigException naming the file and line
   */
  static Map<String, Setting> read(List<String> lines, String file) throws ConfigException {
    Map<String, Setting> out = new TreeMap<>();
    Map<String, String> spelledAs = new TreeMap<>(); // canonical key -> raw key of its line
    for (int i = 0; i < lines.size(); i++) {
      String where = file + ":" + (i + 1);
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(where + ": expected KEY=VALUE, found \"" + line + "\"");
      }
      String rawKey = line.substring(0, eq).strip();
      String key = UpdateConfKeys.canonical(rawKey).orElse(null);
      if (key == null) {
        throw new ConfigException(
            where
                + ": unknown key "
                + rawKey
                + "; expected one of "
                + new TreeMap<>(keyList()).keySet());
      }
      String value = unquote(line.substring(eq + 1).strip(), where);
      Setting prev = out.put(key, new Setting(value, where));
      String prevSpelling = spelledAs.put(key, rawKey);
      if (prev != null && rawKey.equals(prevSpelling)) {
        throw new ConfigException(where + ": " + rawKey + " already set at " + prev.where());
      }
    }
    return out;
  }

  private static Map<String, String> keyList() {
    Map<String, String> m = new TreeMap<>();
    UpdateConfKeys.KEYS.forEach(k -> m.put(k, k));
    UpdateConfKeys.ALIASES.keySet().forEach(k -> m.put(k, k));
    return m;
  }

  private static String unquote(String v, String where) throws ConfigException {
    if (v.length() >= 1 && (v.charAt(0) == '"' || v.charAt(0) == '\'')) {
      char q = v.charAt(0);
      if (v.length() < 2 || v.charAt(v.length() - 1) != q) {
        throw new ConfigException(where + ": unterminated quote in value " + v);
      }
      return v.substring(1, v.length() - 1);
    }
    return v;
  }

  static UpdateConfig from(Map<String, Setting> s) throws ConfigException {
    URI repo = uri(s.get("REPOSITORY_URL"), "REPOSITORY_URL");
    for (Map.Entry<String, Setting> e : s.entrySet()) {
      Optional<String> problem = UpdateConfKeys.problem(e.getKey(), e.getValue().value());
      if (problem.isPresent()) {
        throw new ConfigException(e.getValue().where() + ": " + e.getKey() + ": " + problem.get());
      }
    }
    String channel = get(s, "CHANNEL", "stable");
    String arch = get(s, "ARCH", "x86-64");
    String strategy = get(s, "REBOOT_STRATEGY", "reboot");
    Duration interval = duration(s, "CHECK_INTERVAL", "1h");
    if (interval.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new ConfigException(
          s.get("CHECK_INTERVAL").where()
              + ": CHECK_INTERVAL: expected at least 1m, found "
              + s.get("CHECK_INTERVAL").value());
    }
    Duration jitter = duration(s, "CHECK_JITTER", "10m");
    Duration grace = duration(s, "REBOOT_GRACE", "5m");
    Duration downloadDeadline = duration(s, "DOWNLOAD_DEADLINE", "1h");
    Duration lockLease = duration(s, UpdateConfKeys.LOCK_LEASE, "15m");
    if (!lockLease.isZero() && lockLease.compareTo(Duration.ofSeconds(5)) < 0) {
      throw new ConfigException(
          s.get("LOCK_LEASE").where()
              + ": LOCK_LEASE: expected 0 (holds never expire) or at least 5s, found "
              + s.get("LOCK_LEASE").value());
    }
    if (downloadDeadline.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new ConfigException(
          s.get("DOWNLOAD_DEADLINE").where()
              + ": DOWNLOAD_DEADLINE: expected at least 1m, found "
              + s.get("DOWNLOAD_DEADLINE").value());
    }
    String window = blankToNull(get(s, "REBOOT_WINDOW", ""));
    if (window == null && s.containsKey(WINDOW_START)) {
      // locksmithd: "[Day] hh:mm" plus a length; no day means every day.
      Setting start = s.get(WINDOW_START);
      Setting length = s.get(WINDOW_LENGTH);
      if (length == null) {
        throw new ConfigException(
            start.where() + ": " + WINDOW_START + " needs " + WINDOW_LENGTH + " (e.g. 1h30m)");
      }
      String st = start.value().strip();
      window = (st.matches("\\d{1,2}:\\d{2}") ? "daily " : "") + st + " " + length.value().strip();
      s = new LinkedHashMap<>(s);
      s.put("REBOOT_WINDOW", new Setting(window, start.where()));
    } else if (window == null && s.containsKey(WINDOW_LENGTH)) {
      throw new ConfigException(
          s.get(WINDOW_LENGTH).where() + ": " + WINDOW_LENGTH + " needs " + WINDOW_START);
    }
    String zone = get(s, "REBOOT_WINDOW_ZONE", "UTC");
    try {
      java.time.ZoneId.of(zone);
    } catch (java.time.DateTimeException e) {
      throw new ConfigException(
          s.get("REBOOT_WINDOW_ZONE").where()
              + ": REBOOT_WINDOW_ZONE: unknown time zone \""
              + zone
              + "\"");
    }
    if (window != null) {
      try {
        io.basalt.update.strategy.RebootWindow.parse(window, java.time.ZoneId.of(zone));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(
            s.get("REBOOT_WINDOW").where() + ": REBOOT_WINDOW: " + e.getMessage());
      }
    }
    List<String> units = words(get(s, "HEALTH_UNITS", ""));
    for (String u : units) {
      if (!u.matches("[A-Za-z0-9:_.@\\\\-]+\\.(service|target|mount|socket|timer|path)")) {
        throw new ConfigException(
            s.get("HEALTH_UNITS").where()
                + ": HEALTH_UNITS: expected unit names like containerd.service, found \""
                + u
                + "\"");
      }
    }
    List<String> etcd = words(get(s, "ETCD_ENDPOINTS", "http://127.0.0.1:2379").replace(',', ' '));
    for (String e : etcd) {
      uri(
          new Setting(
              e, s.containsKey("ETCD_ENDPOINTS") ? s.get("ETCD_ENDPOINTS").where() : "default"),
          "ETCD_ENDPOINTS");
    }
    String group = get(s, "LOCK_GROUP", "default");
    URI fleet = uri(s.get("FLEETLOCK_URL"), "FLEETLOCK_URL");
    if ("fleetlock".equals(strategy) && fleet == null) {
      throw new ConfigException(
          s.get("REBOOT_STRATEGY").where() + ": REBOOT_STRATEGY=fleetlock needs FLEETLOCK_URL");
    }
    Path ca = path(s, UpdateConfKeys.ETCD_CAFILE);
    Path cert = path(s, UpdateConfKeys.ETCD_CERTFILE);
    Path key = path(s, UpdateConfKeys.ETCD_KEYFILE);
    if ((cert == null) != (key == null)) {
      Setting given =
          s.get(cert == null ? UpdateConfKeys.ETCD_KEYFILE : UpdateConfKeys.ETCD_CERTFILE);
      throw new ConfigException(
          given.where()
              + ": "
              + (cert == null ? UpdateConfKeys.ETCD_KEYFILE : UpdateConfKeys.ETCD_CERTFILE)
              + " needs "
              + (cert == null ? UpdateConfKeys.ETCD_CERTFILE : UpdateConfKeys.ETCD_KEYFILE)
              + " too (a client certificate and its key; LOCKSMITHD_ETCD_* names work as well)");
    }
    String user = blankToNull(get(s, UpdateConfKeys.ETCD_USERNAME, ""));
    String password = blankToNull(get(s, UpdateConfKeys.ETCD_PASSWORD, ""));
    if (user == null && password != null) {
      throw new ConfigException(
          s.get(UpdateConfKeys.ETCD_PASSWORD).where()
              + ": "
              + UpdateConfKeys.ETCD_PASSWORD
              + " needs "
              + UpdateConfKeys.ETCD_USERNAME);
    }
    String token = blankToNull(get(s, UpdateConfKeys.FLEETLOCK_TOKEN_FILE, null));
    if (token != null) {
      if (!token.startsWith("/")) {
        throw new ConfigException(
            s.get("FLEETLOCK_TOKEN_FILE").where()
                + ": FLEETLOCK_TOKEN_FILE: expected an absolute path, found \""
                + token
                + "\"");
      }
    }
    String drain = choice(s, UpdateConfKeys.SWARM_DRAIN);
    Duration drainTimeout = duration(s, UpdateConfKeys.SWARM_DRAIN_TIMEOUT, "5m");
    String quorumCheck = choice(s, UpdateConfKeys.ETCD_QUORUM_CHECK);
    return new UpdateConfig(
        repo,
        channel,
        arch,
        strategy,
        interval,
        jitter,
        window,
        zone,
        grace,
        List.copyOf(units),
        List.copyOf(etcd),
        group,
        fleet,
        downloadDeadline,
        ca,
        cert,
        key,
        user,
        password,
        lockLease,
        token,
        drain,
        drainTimeout,
        quorumCheck);
  }

  /** An {@code auto|yes|no} setting (default auto), lower-cased. */
  private static String choice(Map<String, Setting> s, String key) throws ConfigException {
    Setting v = s.get(key);
    if (v == null) {
      return "auto";
    }
    String t = v.value().strip().toLowerCase(java.util.Locale.ROOT);
    if (!t.equals("auto") && !t.equals("yes") && !t.equals("no")) {
      throw new ConfigException(
          v.where() + ": " + key + ": expected auto, yes or no, found \"" + v.value() + "\"");
    }
    return t;
  }

  /**
   * Whether the agent checks etcd's quorum before it takes the reboot lock: {@code
   * ETCD_QUORUM_CHECK=yes}, or {@code auto} with strategy etcd-lock.
   */
  boolean quorumCheck() {
    return etcdQuorumCheck.equals("yes")
        || (etcdQuorumCheck.equals("auto") && "etcd-lock".equals(rebootStrategy));
  }

  /** Every setting, the etcd password masked (this record may end up in a log line). */
  @Override
  public String toString() {
    return "UpdateConfig[repository="
        + repository
        + ", channel="
        + channel
        + ", rebootStrategy="
        + rebootStrategy
        + ", etcdEndpoints="
        + etcdEndpoints
        + ", lockGroup="
        + lockGroup
        + ", etcdCaFile="
        + etcdCaFile
        + ", etcdCertFile="
        + etcdCertFile
        + ", etcdKeyFile="
        + etcdKeyFile
        + ", etcdUsername="
        + etcdUsername
        + ", etcdPassword="
        + (etcdPassword == null ? "none" : "(set)")
        + ", swarmDrain="
        + swarmDrain
        + ", swarmDrainTimeout="
        + swarmDrainTimeout
        + ", etcdQuorumCheck="
        + etcdQuorumCheck
        + "]";
  }

  private static Path path(Map<String, Setting> s, String key) {
    String v = blankToNull(get(s, key, ""));
    return v == null ? null : Path.of(v);
  }

  private static String get(Map<String, Setting> s, String key, String dflt) {
    Setting v = s.get(key);
    return v == null ? dflt : v.value();
  }

  private static String blankToNull(String v) {
    return v == null || v.isBlank() ? null : v;
  }

  private static List<String> words(String v) {
    return v.isBlank() ? List.of() : new ArrayList<>(Arrays.asList(v.strip().split("\\s+")));
  }

  private static Duration duration(Map<String, Setting> s, String key, String dflt)
      throws ConfigException {
    Setting v = s.get(key);
    try {
      return Durations.parse(v == null ? dflt : v.value(), key);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          v.where()
              + ": "
              + key
              + ": expected a duration like 1h30m, 45m or 90s, found \""
              + v.value()
              + "\"");
    }
  }

  private static URI uri(Setting v, String key) throws ConfigException {
    if (v == null || v.value().isBlank()) {
      return null;
    }
    try {
      // The rule is the schema's (UpdateConfKeys), shared with the image builder's spec check.
      if (UpdateConfKeys.problem(key, v.value()).isPresent()) {
        throw new URISyntaxException(v.value(), "not an http(s) URL with a host");
      }
      return new URI(v.value());
    } catch (URISyntaxException e) {
      throw new ConfigException(
          v.where()
              + ": "
              + key
              + ": expected an http:// or https:// URL, found \""
              + v.value()
              + "\"");
    }
  }

  /**
   * The TUF metadata base URL: {@code REPOSITORY_URL/metadata/} (the layout of {@code basalt repo
   * serve}).
   */
  public URI metadataUrl() {
    return base().resolve("metadata/");
  }

  /** The TUF targets base URL: {@code REPOSITORY_URL/targets/}. */
  public URI targetsUrl() {
    return base().resolve("targets/");
  }

  private URI base() {
    if (repository == null) {
      throw new IllegalStateException(
          "no REPOSITORY_URL configured (set it in " + OVERRIDES_PATH + ")");
    }
    String s = repository.toString();
    return URI.create(s.endsWith("/") ? s : s + "/");
  }
}
