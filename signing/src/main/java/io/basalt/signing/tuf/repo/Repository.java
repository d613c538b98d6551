package io.basalt.signing.tuf.repo;

import io.basalt.host.AtomicFiles;
import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.DelegatedRole;
import io.basalt.signing.tuf.Hashes;
import io.basalt.signing.tuf.MetaFile;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.RoleKeys;
import io.basalt.signing.tuf.TargetFile;
import io.basalt.signing.tuf.TufException;
import io.basalt.signing.tuf.client.FetchException;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A TUF repository on disk, as operated by {@code basalt repo}: keys, staged edits, signed metadata
 * and target files.
 *
 * <pre>
 * REPO/repo.json      settings: consistent snapshots, expiry and warning periods, key directories
 * REPO/keys/KEYID.pem encrypted private keys of online roles (root keys may live elsewhere)
 * REPO/staged/R.json  edited, not yet signed {@code signed} objects
 * REPO/metadata/      published metadata: N.root.json (all kept), root.json, timestamp.json,
 *                     N.snapshot.json, N.ROLE.json (consistent snapshots) and ROLE.json
 * REPO/targets/       target files: DIR/SHA256.NAME, DIR/SHA512.NAME and DIR/NAME
 * </pre>
 *
 * Every file is written through a temp file and an atomic move. Not thread-safe; one process at a
 * time per repository.
 */
public final class Repository {

  static final List<String> TOP = List.of("root", "timestamp", "snapshot", "targets");

  /** The expiry written into staged (unsigned) content; publishing sets the real one. */
  private static final String UNPUBLISHED = "1970-01-01T00:00:00Z";

  private static final Map<String, String> DEFAULT_EXPIRES =
      Map.of(
          "root",
          "P365D",
          "targets",
          "P90D",
          "snapshot",
          "P7D",
          "timestamp",
          "P1D",
          "delegated",
          "P90D");
  private static final Map<String, String> DEFAULT_WARN =
      Map.of(
          "root",
          "P30D",
          "targets",
          "P14D",
          "snapshot",
          "P2D",
          "timestamp",
          "PT6H",
          "delegated",
          "P14D");

  private final Path dir;
  private final Passphrases passphrases;
  private final Clock clock;
  private final SecureRandom random;
  private final Settings config;
  private final List<Path> extraKeyDirs;

  /** Keys decrypted (or generated) in this run, by key id: each file is decrypted at most once. */
  private final Map<String, SigningKey> keyCache = new java.util.HashMap<>();

  private Repository(
      Path dir,
      Settings config,
      List<Path> extraKeyDirs,
      Passphrases passphrases,
      Clock clock,
      SecureRandom random) {
    this.dir = dir;
    this.config = config;
    this.extraKeyDirs = List.copyOf(extraKeyDirs);
    this.passphrases = passphrases;
    this.clock = clock;
    this.random = random;
  }

  /**
   * The repository's settings ({@code repo.json}): consistent snapshots, expiry and warning periods
   * by role (ISO-8601 durations; {@code delegated} for every delegated role), and the directories
   * holding private keys (relative to the repository or absolute).
   */
  private record Settings(
      boolean consistentSnapshot,
      Map<String, String> expires,
      Map<String, String> warnBefore,
      List<String> keyDirs) {
    Settings {
      expires = Map.copyOf(expires);
      warnBefore = Map.copyOf(warnBefore);
      keyDirs = List.copyOf(keyDirs);
    }

    static Settings fromJson(Map<String, Object> m) {
      List<String> dirs = new ArrayList<>();
      for (Object o : Json.array(m, "key_dirs", "repo")) {
        if (!(o instanceof String d)) {
          throw new IllegalArgumentException(
              "repo.key_dirs: expected strings, found " + CanonicalJson.typeName(o));
        }
        dirs.add(d);
      }
      return new Settings(
          Json.bool(m, "consistent_snapshot", "repo", false),
          periods(m, "expires"),
          periods(m, "warn_before"),
          dirs);
    }

    private static Map<String, String> periods(Map<String, Object> m, String key) {
      Map<String, String> out = new TreeMap<>();
      for (Map.Entry<String, Object> e : Json.object(m, key, "repo").entrySet()) {
        if (!(e.getValue() instanceof String v)) {
          throw new IllegalArgumentException(
              "repo." + key + "." + e.getKey() + ": expected an ISO-8601 duration");
        }
        out.put(e.getKey(), v);
      }
      return out;
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = CanonicalJson.newObject();
      m.put("consistent_snapshot", consistentSnapshot);
      m.put("expires", new TreeMap<String, Object>(expires));
      m.put("warn_before", new TreeMap<String, Object>(warnBefore));
      m.put("key_dirs", new ArrayList<Object>(keyDirs));
      return m;
    }
  }

  /** Settings for {@link #init}. Mutable builder-style holder; not thread-safe. */
  public static final class InitOptions {
    KeyType keyType = KeyType.ED25519;
    final Map<String, Integer> keyCounts =
        new TreeMap<>(Map.of("root", 1, "timestamp", 1, "snapshot", 1, "targets", 1));
    final Map<String, Integer> thresholds =
        new TreeMap<>(Map.of("root", 1, "timestamp", 1, "snapshot", 1, "targets", 1));
    final Map<String, String> expires = new TreeMap<>(DEFAULT_EXPIRES);
    final Map<String, String> warn = new TreeMap<>(DEFAULT_WARN);
    boolean consistentSnapshot = true;
    Path rootKeyDir;

    /** Key type for every generated key. */
    public InitOptions keyType(KeyType t) {
      keyType = t;
      return this;
    }

    /**
     * Number of keys and threshold for a top-level role.
     *
     * @throws IllegalArgumentException if threshold is not in 1..keys or the role is unknown
     */
    public InitOptions keys(String role, int keys, int threshold) {
      if (!TOP.contains(role)) {
        throw new IllegalArgumentException("unknown role '" + role + "', expected one of " + TOP);
      }
      if (threshold < 1 || threshold > keys) {
        throw new IllegalArgumentException(
            role
                + ": threshold must be between 1 and the key count "
                + keys
                + ", found "
                + threshold);
      }
      keyCounts.put(role, keys);
      thresholds.put(role, threshold);
      return this;
    }

    /**
     * Expiry period of a role ({@code root}, {@code targets}, {@code snapshot}, {@code timestamp},
     * {@code delegated}) as an ISO-8601 duration such as {@code P90D} or {@code PT12H}.
     *
     * @throws IllegalArgumentException for an unknown role or a bad duration
     */
    public InitOptions expires(String role, String isoDuration) {
      checkPeriodRole(role);
      Duration.parse(isoDuration);
      expires.put(role, isoDuration);
      return this;
    }

    /**
     * How long before expiry a role is reported as close to expiring.
     *
     * @throws IllegalArgumentException for an unknown role or a bad duration
     */
    public InitOptions warnBefore(String role, String isoDuration) {
      checkPeriodRole(role);
      Duration.parse(isoDuration);
      warn.put(role, isoDuration);
      return this;
    }

    /** Whether to publish consistent snapshots (default true). */
    public InitOptions consistentSnapshot(boolean b) {
      consistentSnapshot = b;
      return this;
    }

    /** Where root private keys go (an offline medium); default the repository's keys directory. */
    public InitOptions rootKeyDir(Path p) {
      rootKeyDir = p;
      return this;
    }

    private static void checkPeriodRole(String role) {
      if (!DEFAULT_EXPIRES.containsKey(role)) {
        throw new IllegalArgumentException(
            "unknown role '" + role + "', expected one of " + DEFAULT_EXPIRES.keySet());
      }
    }
  }

  /**
   * Creates a repository: keys for the four roles, root v1 and signed empty targets, snapshot and
   * timestamp.
   *
   * @throws IOException if the directory already holds a repository or keys cannot be written
   */
  public static Repository init(
      Path dir, InitOptions o, Passphrases pass, Clock clock, SecureRandom random)
      throws IOException {
    if (Files.exists(dir.resolve("repo.json"))) {
      throw new IOException(dir.resolve("repo.json") + ": a repository already exists here");
    }
    Files.createDirectories(dir.resolve("keys"));
    Files.createDirectories(dir.resolve("metadata"));
    Files.createDirectories(dir.resolve("targets"));
    List<String> keyDirs = new ArrayList<>();
    keyDirs.add("keys");
    if (o.rootKeyDir != null) {
      Files.createDirectories(o.rootKeyDir);
      keyDirs.add(o.rootKeyDir.toAbsolutePath().toString());
    }
    Settings cfg = new Settings(o.consistentSnapshot, o.expires, o.warn, keyDirs);
    AtomicFiles.write(dir.resolve("repo.json"), CanonicalJson.encodePretty(cfg.toJson()));
    Repository r = new Repository(dir, cfg, List.of(), pass, clock, random);

    RootDraft root = new RootDraft(o.consistentSnapshot);
    for (String role : TOP) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < o.keyCounts.get(role); i++) {
        SigningKey k =
            r.newKey(
                role, o.keyType, role.equals("root") && o.rootKeyDir != null ? o.rootKeyDir : null);
        root.keys.put(k.keyId(), k.publicKey());
        ids.add(k.keyId());
      }
      root.roles.put(role, new RoleKeys(ids, o.thresholds.get(role)));
    }
    r.stage("root", root);
    r.stage("targets", new TargetsDraft());
    r.publish();
    return r;
  }

  /**
   * Opens an existing repository.
   *
   * @param extraKeyDirs more directories to look for private keys in (e.g. offline root keys)
   * @throws IOException if {@code repo.json} is missing or unreadable
   */
  public static Repository open(
      Path dir, List<Path> extraKeyDirs, Passphrases pass, Clock clock, SecureRandom random)
      throws IOException {
    Path cfgFile = dir.resolve("repo.json");
    if (!Files.exists(cfgFile)) {
      throw new NoSuchFileException(
          cfgFile.toString(), null, "not a Basalt TUF repository (run 'basalt repo init')");
    }
    Settings cfg;
    try {
      cfg = Settings.fromJson(CanonicalJson.parseObject(Files.readAllBytes(cfgFile)));
    } catch (IllegalArgumentException e) {
      throw new IOException(cfgFile + ": " + e.getMessage(), e);
    }
    return new Repository(dir, cfg, extraKeyDirs, pass, clock, random);
  }

  /** The repository directory. */
  public Path dir() {
    return dir;
  }

  // ---- targets --------------------------------------------------------------------------------

  /**
   * Stages a target: stores the file under {@code targets/} and lists it in the role with its
   * length, sha256, sha512 and custom object (may be null).
   *
   * @throws IllegalArgumentException if the target path is not a clean relative path
   * @throws IOException if the role does not exist or files cannot be written
   */
  public TargetInfoView addTarget(
      String role, String targetPath, Path file, Map<String, Object> custom) throws IOException {
    checkTargetPath(targetPath);
    TargetsDraft body = targets(role);
    MessageDigest s256 = Hashes.digest("sha256");
    MessageDigest s512 = Hashes.digest("sha512");
    int slash = targetPath.lastIndexOf('/');
    Path parent = dir.resolve("targets");
    if (slash > 0) {
      parent = parent.resolve(targetPath.substring(0, slash));
    }
    Files.createDirectories(parent);
    String name = targetPath.substring(slash + 1);
    Path tmp = Files.createTempFile(parent, ".add-", ".part");
    long length = 0;
    try {
      try (InputStream in = Files.newInputStream(file);
          OutputStream out = Files.newOutputStream(tmp)) {
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
          s256.update(buf, 0, n);
          s512.update(buf, 0, n);
          out.write(buf, 0, n);
          length += n;
        }
      }
      String h256 = HexFormat.of().formatHex(s256.digest());
      String h512 = HexFormat.of().formatHex(s512.digest());
      Path stored = parent.resolve(h256 + "." + name);
      AtomicFiles.rename(tmp, stored);
      linkOrCopy(stored, parent.resolve(h512 + "." + name));
      linkOrCopy(stored, parent.resolve(name));
      Map<String, String> hashes = Map.of("sha256", h256, "sha512", h512);
      body.targets.put(
          targetPath,
          new TargetFile(
              targetPath, length, hashes, custom == null || custom.isEmpty() ? null : custom));
      stage(role, body);
      return new TargetInfoView(targetPath, length, h256);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** What {@link #addTarget} recorded. */
  public record TargetInfoView(String path, long length, String sha256) {}

  /**
   * Removes a target from a role (the stored files stay until the operator deletes them, so clients
   * holding older metadata can still finish downloads).
   *
   * @throws IOException if the role does not list the target
   */
  public void removeTarget(String role, String targetPath) throws IOException {
    TargetsDraft body = targets(role);
    if (body.targets.remove(targetPath) == null) {
      throw new IOException("role " + role + " has no target '" + targetPath + "'");
    }
    stage(role, body);
  }

  /**
   * Delegates target paths from a targets role to a new role with its own keys (e.g. a channel or a
   * team).
   *
   * @throws IOException if the role exists already or keys cannot be written
   */
  public void delegate(
      String parent,
      String name,
      List<String> paths,
      boolean terminating,
      KeyType type,
      int keyCount,
      int threshold)
      throws IOException {
    if (TOP.contains(name) || name.isEmpty()) {
      throw new IllegalArgumentException("'" + name + "' cannot be a delegated role name");
    }
    if (threshold < 1 || threshold > keyCount) {
      throw new IllegalArgumentException(
          "threshold must be between 1 and " + keyCount + ", found " + threshold);
    }
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("a delegation needs at least one path pattern");
    }
    if (allTargetsRoles().contains(name)) {
      throw new IOException("role '" + name + "' exists already");
    }
    TargetsDraft body = targets(parent);
    if (body.delegations == null) {
      body.delegations = new TargetsDraft.Delegations();
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < keyCount; i++) {
      SigningKey k = newKey(name, type, null);
      body.delegations.keys.put(k.keyId(), k.publicKey());
      ids.add(k.keyId());
    }
    body.delegations.roles.add(
        DelegatedRole.withPaths(name, new RoleKeys(ids, threshold), terminating, paths));
    stage(parent, body);
    stage(name, new TargetsDraft());
  }

  // ---- keys -----------------------------------------------------------------------------------

  /**
   * Changes the keys of a top-level role in a new root version: revokes the listed key ids, adds
   * {@code add} fresh keys, sets the threshold (null keeps it), then publishes. The new root is
   * signed by a threshold of the old root keys and of the new ones; every older root stays
   * published so clients can walk the chain.
   *
   * @throws IOException if a key id is not in the role, the threshold cannot be met, or signing
   *     keys are missing
   */
  public List<String> rotateKey(
      String role, List<String> revoke, int add, Integer threshold, KeyType type)
      throws IOException {
    if (!TOP.contains(role)) {
      throw new IllegalArgumentException("unknown role '" + role + "', expected one of " + TOP);
    }
    RootDraft root = root();
    RoleKeys r = root.roles.get(role);
    List<String> ids = new ArrayList<>(r.keyids());
    for (String id : revoke) {
      if (!ids.remove(id)) {
        throw new IOException("role " + role + " has no key " + id + "; its keys are " + ids);
      }
    }
    List<String> added = new ArrayList<>();
    Path keyDir = role.equals("root") ? rootKeyDir() : null;
    for (int i = 0; i < add; i++) {
      SigningKey k = newKey(role, type, keyDir);
      root.keys.put(k.keyId(), k.publicKey());
      ids.add(k.keyId());
      added.add(k.keyId());
    }
    long t = threshold != null ? threshold : r.threshold();
    if (t < 1 || t > ids.size()) {
      throw new IOException(
          "role " + role + ": threshold " + t + " cannot be met by " + ids.size() + " key(s)");
    }
    root.roles.put(role, new RoleKeys(ids, (int) t));
    root.dropUnusedKeys(); // revoked keys no role uses any more
    stage("root", root);
    if (role.equals("targets")) {
      stage("targets", targets("targets"));
    }
    publish();
    return added;
  }

  // ---- publishing -----------------------------------------------------------------------------

  /**
   * Signs and publishes everything staged (root first, then targets roles), then a new snapshot and
   * timestamp.
   *
   * @return expiry warnings for the published roles
   * @throws IOException if a role's threshold of private keys is not available or a write fails
   */
  public List<String> publish() throws IOException {
    Instant now = now();
    Path staged = dir.resolve("staged");
    if (Files.exists(staged.resolve("root.json"))) {
      publishRoot(RootDraft.fromSigned(readStaged("root")), now);
    }
    List<String> stagedRoles = new ArrayList<>();
    if (Files.isDirectory(staged)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(staged, "*.json")) {
        for (Path p : ds) {
          String f = p.getFileName().toString();
          String role = unescape(f.substring(0, f.length() - 5));
          if (!role.equals("root")) {
            stagedRoles.add(role);
          }
        }
      }
    }
    Collections.sort(stagedRoles);
    for (String role : stagedRoles) {
      TargetsDraft body = TargetsDraft.fromSigned(readStaged(role));
      signAndWrite(role, body::toSigned, now, signingKeysFor(role));
    }
    // snapshot: every targets role reachable from targets, at its published version
    Map<String, Object> meta = CanonicalJson.newObject();
    for (String role : allTargetsRoles()) {
      meta.put(role + ".json", new MetaFile(publishedVersion(role), -1, Map.of()).toJson());
    }
    byte[] snapBytes =
        signAndWrite(
            "snapshot",
            (version, expires) -> {
              Map<String, Object> snap = header("snapshot", version, expires);
              snap.put("meta", meta);
              return snap;
            },
            now,
            signingKeysFor("snapshot"));
    writeTimestamp(snapBytes, publishedVersion("snapshot"), now);
    for (String role : stagedRoles) {
      Files.deleteIfExists(staged.resolve(escape(role) + ".json"));
    }
    Files.deleteIfExists(staged.resolve("root.json"));
    return expiryWarnings();
  }

  /**
   * Signs a new timestamp for the current snapshot with a fresh expiry (run it from cron).
   *
   * @return expiry warnings for the published roles
   * @throws IOException if the timestamp key is not available or a write fails
   */
  public List<String> refreshTimestamp() throws IOException {
    long v = publishedVersion("snapshot");
    byte[] snap = Files.readAllBytes(metaFile("snapshot", v));
    writeTimestamp(snap, v, now());
    return expiryWarnings();
  }

  /**
   * Lists roles whose published metadata expires within their warning period (or has expired).
   *
   * @throws IOException if published metadata cannot be read
   */
  public List<String> expiryWarnings() throws IOException {
    Instant now = now();
    List<String> out = new ArrayList<>();
    List<String> roles = new ArrayList<>(List.of("root", "timestamp", "snapshot"));
    roles.addAll(allTargetsRoles());
    for (String role : roles) {
      Metadata m =
          Metadata.parse(
              Files.readAllBytes(dir.resolve("metadata").resolve(escape(role) + ".json")), role);
      Duration warn = period("warn_before", role);
      if (m.isExpired(now)) {
        out.add(
            "role "
                + role
                + " EXPIRED at "
                + m.expires()
                + "; clients reject it until it is re-signed");
      } else if (!now.plus(warn).isBefore(m.expires())) {
        Duration left = Duration.between(now, m.expires());
        out.add(
            "role "
                + role
                + " expires at "
                + m.expires()
                + " (in "
                + human(left)
                + ", warning period "
                + human(warn)
                + "); "
                + (role.equals("timestamp")
                    ? "run 'basalt repo refresh-timestamp'"
                    : role.equals("snapshot")
                        ? "run 'basalt repo publish'"
                        : "run 'basalt repo resign --role " + role + "'"));
      }
    }
    return out;
  }

  /**
   * Re-stages a role unchanged so that the next publish re-signs it with a fresh expiry.
   *
   * @throws IOException if the role does not exist
   */
  public void touch(String role) throws IOException {
    if (role.equals("root")) {
      stage("root", root());
    } else {
      stage(role, targets(role));
    }
  }

  /** The outcome of {@link #verify}. */
  public record VerifyReport(List<String> errors, List<String> warnings, int targetsChecked) {
    /** Whether no error was found. */
    public boolean ok() {
      return errors.isEmpty();
    }
  }

  /**
   * Verifies the published repository as a fresh client would: from {@code 1.root.json} through the
   * root chain, timestamp, snapshot and every targets role, then every target file's length and
   * hashes.
   *
   * @throws IOException if the repository files cannot be read
   */
  public VerifyReport verify() throws IOException {
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    Path work = Files.createTempDirectory(dir, ".verify-");
    int checked = 0;
    try {
      Path meta = Files.createDirectories(work.resolve("metadata"));
      Path tdir = Files.createDirectories(work.resolve("targets"));
      Files.copy(dir.resolve("metadata").resolve("1.root.json"), meta.resolve("root.json"));
      Path metaDir = dir.resolve("metadata");
      Path targetsDir = dir.resolve("targets");
      Updater u =
          new Updater(
              meta,
              URI.create("file:///metadata/"),
              URI.create("file:///targets/"),
              uri -> {
                // metadata file names are stored escaped; target files under their plain names
                boolean isMeta = uri.getRawPath().startsWith("/metadata/");
                String p = isMeta ? uri.getRawPath() : uri.getPath();
                Path base = isMeta ? metaDir : targetsDir;
                String rel = p.substring(p.indexOf('/', 1) + 1);
                Path f = base.resolve(rel).normalize();
                if (!f.startsWith(base) || !Files.isRegularFile(f)) {
                  throw new FetchException(uri, 404, "no such file " + f, null);
                }
                return Files.newInputStream(f);
              },
              clock,
              io.basalt.signing.tuf.client.UpdaterConfig.defaults().withMaxDelegations(1_000_000));
      u.refresh();
      for (String role : allTargetsRoles()) {
        TargetsDraft published = typed(role, TargetsDraft::fromSigned, published(role));
        for (String path : published.targets.keySet()) {
          var info = u.getTargetInfo(path);
          if (info.isEmpty()) {
            errors.add(
                "target "
                    + path
                    + " of role "
                    + role
                    + " is not reachable by clients"
                    + " (outside the paths delegated to it, or shadowed)");
            continue;
          }
          if (!info.get().role().equals(role)) {
            warnings.add(
                "target "
                    + path
                    + " of role "
                    + role
                    + " is shadowed by role "
                    + info.get().role());
            continue;
          }
          try {
            TargetInfo ti = info.get();
            u.downloadTarget(ti, tdir);
            checked++;
          } catch (TufException e) {
            errors.add("target " + path + ": " + e.getMessage());
          }
        }
      }
    } catch (TufException e) {
      errors.add(e.getMessage());
    } finally {
      deleteTree(work);
    }
    warnings.addAll(expiryWarnings());
    return new VerifyReport(errors, warnings, checked);
  }

  // ---- internals ------------------------------------------------------------------------------

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.SECONDS);
  }

  private Duration period(String kind, String role) {
    Map<String, String> m = kind.equals("expires") ? config.expires() : config.warnBefore();
    String key = TOP.contains(role) ? role : "delegated";
    String v = m.get(key);
    return Duration.parse(
        v != null ? v : (kind.equals("expires") ? DEFAULT_EXPIRES : DEFAULT_WARN).get(key));
  }

  private static String human(Duration d) {
    if (d.toDays() >= 2) {
      return d.toDays() + " days";
    }
    if (d.toHours() >= 2) {
      return d.toHours() + " hours";
    }
    return d.toMinutes() + " minutes";
  }

  /** The header fields of a {@code signed} object: type, spec version, version and expiry. */
  static Map<String, Object> header(String type, long version, String expires) {
    Map<String, Object> s = CanonicalJson.newObject();
    s.put("_type", type);
    s.put("spec_version", "1.0.34");
    s.put("version", version);
    s.put("expires", expires);
    return s;
  }

  private SigningKey newKey(String role, KeyType type, Path keyDir) throws IOException {
    SigningKey k = SigningKey.generate(type, random);
    Path d = keyDir != null ? keyDir : dir.resolve("keys");
    Files.createDirectories(d);
    AtomicFiles.write(
        d.resolve(k.keyId() + ".pem"), k.toEncryptedPem(passphrases.forRole(role, true), random));
    keyCache.put(k.keyId(), k);
    return k;
  }

  private Path rootKeyDir() {
    List<String> dirs = config.keyDirs();
    return dirs.size() > 1 ? dir.getFileSystem().getPath(dirs.get(1)) : dir.resolve("keys");
  }

  private List<Path> keyDirs() {
    List<Path> out = new ArrayList<>(extraKeyDirs);
    for (String d : config.keyDirs()) {
      out.add(dir.resolve(d));
    }
    return out;
  }

  /** The private keys available for the listed key ids (missing ones skipped). */
  private List<SigningKey> loadKeys(String role, List<String> keyids) throws IOException {
    List<SigningKey> out = new ArrayList<>();
    for (String id : keyids) {
      SigningKey cached = keyCache.get(id);
      if (cached != null) {
        out.add(cached);
        continue;
      }
      for (Path d : keyDirs()) {
        Path f = d.resolve(id + ".pem");
        if (Files.isRegularFile(f)) {
          SigningKey k =
              SigningKey.fromEncryptedPem(
                  Files.readAllBytes(f), passphrases.forRole(role, false), f.toString());
          if (!k.keyId().equals(id)) {
            throw new IOException(f + ": holds key " + k.keyId() + ", expected " + id);
          }
          keyCache.put(k.keyId(), k);
          out.add(k);
          break;
        }
      }
    }
    return out;
  }

  private record Signers(List<SigningKey> keys, long threshold, List<String> keyids) {}

  private Signers signers(String role, RoleKeys rk) throws IOException {
    return new Signers(loadKeys(role, rk.keyids()), rk.threshold(), rk.keyids());
  }

  private Signers signingKeysFor(String role) throws IOException {
    if (TOP.contains(role)) {
      return signers(role, root().roles.get(role));
    }
    for (String parent : allTargetsRoles()) {
      DelegatedRole d = targets(parent).delegation(role);
      if (d != null) {
        return signers(role, d.keys());
      }
    }
    throw new IOException("no targets role delegates to '" + role + "'");
  }

  private void requireThreshold(String role, Signers s, String which) throws IOException {
    if (s.keys().size() < s.threshold()) {
      throw new IOException(
          role
              + ": "
              + which
              + " needs "
              + s.threshold()
              + " signature(s) from keys "
              + s.keyids()
              + "; private keys found for "
              + s.keys().size()
              + " (looked in "
              + keyDirs()
              + "; pass --key-dir for offline keys)");
    }
  }

  /** A role's content as its {@code signed} object, given the version and expiry to publish. */
  private interface Content {
    Map<String, Object> toSigned(long version, String expires);
  }

  private byte[] signAndWrite(String role, Content body, Instant now, Signers signers)
      throws IOException {
    requireThreshold(role, signers, "metadata");
    long version = publishedVersion(role) + 1;
    String expires = now.plus(period("expires", role)).toString();
    byte[] bytes = Metadata.sign(body.toSigned(version, expires), signers.keys());
    Path md = dir.resolve("metadata");
    Files.createDirectories(md);
    if (consistent() || role.equals("root")) {
      AtomicFiles.write(md.resolve(version + "." + escape(role) + ".json"), bytes);
    }
    AtomicFiles.write(md.resolve(escape(role) + ".json"), bytes);
    return bytes;
  }

  private void publishRoot(RootDraft body, Instant now) throws IOException {
    List<SigningKey> keys = new ArrayList<>();
    long published = publishedVersion("root");
    if (published > 0) {
      RootDraft previous = typed("root", RootDraft::fromSigned, published("root"));
      Signers olds = signers("root", previous.roles.get("root"));
      requireThreshold("root", olds, "the new root (signed by the previous root keys)");
      keys.addAll(olds.keys());
    }
    Signers news = signers("root", body.roles.get("root"));
    requireThreshold("root", news, "the new root (signed by its own keys)");
    for (SigningKey k : news.keys()) {
      if (keys.stream().noneMatch(x -> x.keyId().equals(k.keyId()))) {
        keys.add(k);
      }
    }
    signAndWrite("root", body::toSigned, now, new Signers(keys, 1, List.of()));
  }

  private void writeTimestamp(byte[] snapshotBytes, long snapshotVersion, Instant now)
      throws IOException {
    MetaFile snapshot =
        new MetaFile(
            snapshotVersion, snapshotBytes.length, Map.of("sha256", Hashes.sha256(snapshotBytes)));
    Map<String, Object> meta = CanonicalJson.newObject();
    meta.put("snapshot.json", snapshot.toJson());
    Signers s = signingKeysFor("timestamp");
    requireThreshold("timestamp", s, "metadata");
    Map<String, Object> ts =
        header(
            "timestamp",
            publishedVersion("timestamp") + 1,
            now.plus(period("expires", "timestamp")).toString());
    ts.put("meta", meta);
    AtomicFiles.write(
        dir.resolve("metadata").resolve("timestamp.json"), Metadata.sign(ts, s.keys()));
  }

  private boolean consistent() {
    return config.consistentSnapshot();
  }

  private Path metaFile(String role, long version) {
    Path md = dir.resolve("metadata");
    return consistent() || role.equals("root")
        ? md.resolve(version + "." + escape(role) + ".json")
        : md.resolve(escape(role) + ".json");
  }

  private long publishedVersion(String role) throws IOException {
    Path f = dir.resolve("metadata").resolve(escape(role) + ".json");
    if (!Files.exists(f)) {
      return 0;
    }
    return Metadata.parse(Files.readAllBytes(f), role).version();
  }

  /** The {@code signed} object of a role's published metadata. */
  private Map<String, Object> published(String role) throws IOException {
    Path f = dir.resolve("metadata").resolve(escape(role) + ".json");
    return Metadata.parse(Files.readAllBytes(f), role).signed();
  }

  private Map<String, Object> readStaged(String role) throws IOException {
    Path f = dir.resolve("staged").resolve(escape(role) + ".json");
    return CanonicalJson.parseObject(Files.readAllBytes(f));
  }

  /** The staged {@code signed} object of a role, else its published one, of the given type. */
  private Map<String, Object> current(String role, String type) throws IOException {
    Path s = dir.resolve("staged").resolve(escape(role) + ".json");
    Map<String, Object> body;
    if (Files.exists(s)) {
      body = readStaged(role);
    } else if (Files.exists(dir.resolve("metadata").resolve(escape(role) + ".json"))) {
      body = published(role);
    } else {
      throw new IOException("no role '" + role + "' in " + dir);
    }
    if (!type.equals(body.get("_type"))) {
      throw new IOException(
          "role '" + role + "' is of type " + body.get("_type") + ", expected " + type);
    }
    return body;
  }

  /** The root's content as staged, else as published. */
  private RootDraft root() throws IOException {
    return typed("root", RootDraft::fromSigned, current("root", "root"));
  }

  /** A targets role's content as staged, else as published. */
  private TargetsDraft targets(String role) throws IOException {
    return typed(role, TargetsDraft::fromSigned, current(role, "targets"));
  }

  private <T> T typed(
      String role,
      java.util.function.Function<Map<String, Object>, T> reader,
      Map<String, Object> signed)
      throws IOException {
    try {
      return reader.apply(signed);
    } catch (IllegalArgumentException e) {
      throw new IOException("role '" + role + "' in " + dir + ": " + e.getMessage(), e);
    }
  }

  private void stage(String role, RootDraft body) throws IOException {
    stage(role, body.toSigned(0, UNPUBLISHED));
  }

  private void stage(String role, TargetsDraft body) throws IOException {
    stage(role, body.toSigned(0, UNPUBLISHED));
  }

  private void stage(String role, Map<String, Object> signed) throws IOException {
    Path s = Files.createDirectories(dir.resolve("staged"));
    AtomicFiles.write(s.resolve(escape(role) + ".json"), CanonicalJson.encodePretty(signed));
  }

  /** All targets roles reachable from targets (staged state), pre-order. */
  private List<String> allTargetsRoles() throws IOException {
    List<String> out = new ArrayList<>();
    List<String> todo = new ArrayList<>(List.of("targets"));
    while (!todo.isEmpty()) {
      String r = todo.remove(0);
      if (out.contains(r)) {
        continue;
      }
      out.add(r);
      todo.addAll(targets(r).delegatedRoleNames());
    }
    return out;
  }

  static void checkTargetPath(String p) {
    if (p.isEmpty()
        || p.startsWith("/")
        || p.endsWith("/")
        || p.contains("\\")
        || p.contains("//")) {
      throw new IllegalArgumentException(
          "target path '" + p + "' must be relative, '/'-separated, without empty parts");
    }
    for (String part : p.split("/")) {
      if (part.equals(".") || part.equals("..")) {
        throw new IllegalArgumentException(
            "target path '" + p + "' must not contain '.' or '..' parts");
      }
      if (part.startsWith(".add-")) {
        throw new IllegalArgumentException("target path '" + p + "' uses a reserved name");
      }
    }
  }

  private static void linkOrCopy(Path from, Path to) throws IOException {
    if (Files.exists(to)) {
      Files.delete(to);
    }
    try {
      Files.createLink(to, from);
    } catch (UnsupportedOperationException | IOException e) {
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
        for (Path c : ds) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }

  static String escape(String role) {
    return Updater.escapeRoleName(role);
  }

  private static String unescape(String s) {
    return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
