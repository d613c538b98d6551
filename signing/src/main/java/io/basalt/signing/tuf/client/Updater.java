package io.basalt.signing.tuf.client;

import io.basalt.host.AtomicFiles;
import io.basalt.signing.tuf.BadMetadataException;
import io.basalt.signing.tuf.DelegatedRole;
import io.basalt.signing.tuf.ExpiredMetadataException;
import io.basalt.signing.tuf.Hashes;
import io.basalt.signing.tuf.LengthMismatchException;
import io.basalt.signing.tuf.MetaFile;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.RoleKeys;
import io.basalt.signing.tuf.RollbackException;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.Snapshot;
import io.basalt.signing.tuf.TargetFile;
import io.basalt.signing.tuf.Targets;
import io.basalt.signing.tuf.Timestamp;
import io.basalt.signing.tuf.TufException;
import io.basalt.signing.tuf.VersionMismatchException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The TUF 1.0 client workflow (specification section 5): refreshes root, timestamp, snapshot and
 * targets metadata from a repository, searches delegations for targets and downloads them with
 * length and hash checks. Trusted metadata lives in a local directory as {@code ROLE.json}, each
 * file exactly the bytes received, replaced by temp file + atomic move. Not thread-safe: use one
 * instance per thread (instances sharing a directory must not run concurrently).
 */
public final class Updater {

  private final Path metadataDir;
  private final String metadataBase;
  private final String targetBase;
  private final Fetcher fetcher;
  private final Clock clock;
  private final UpdaterConfig config;

  private Root root;
  private Timestamp timestamp;
  private Snapshot snapshot;
  private final Map<String, Targets> targets = new HashMap<>();
  private Instant updateStart;
  private boolean refreshed;

  /**
   * Creates an updater with the default limits.
   *
   * @throws IOException if {@code metadataDir/root.json} cannot be read
   * @throws TufException if the trusted root is malformed or not signed by its own threshold
   */
  public Updater(
      Path metadataDir, URI metadataBaseUrl, URI targetBaseUrl, Fetcher fetcher, Clock clock)
      throws IOException {
    this(metadataDir, metadataBaseUrl, targetBaseUrl, fetcher, clock, UpdaterConfig.defaults());
  }

  /**
   * Creates an updater.
   *
   * @param targetBaseUrl may be null when only metadata is refreshed
   * @throws IOException if {@code metadataDir/root.json} cannot be read
   * @throws TufException if the trusted root is malformed or not signed by its own threshold
   */
  public Updater(
      Path metadataDir,
      URI metadataBaseUrl,
      URI targetBaseUrl,
      Fetcher fetcher,
      Clock clock,
      UpdaterConfig config)
      throws IOException {
    this.metadataDir = Objects.requireNonNull(metadataDir, "metadataDir");
    this.metadataBase =
        withSlash(Objects.requireNonNull(metadataBaseUrl, "metadataBaseUrl").toString());
    this.targetBase = targetBaseUrl == null ? null : withSlash(targetBaseUrl.toString());
    this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.config = Objects.requireNonNull(config, "config");
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(metadataDir.resolve("root.json"));
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(
          metadataDir.resolve("root.json").toString(),
          null,
          "no trusted root; initialise the metadata directory with a trusted root.json first");
    }
    // 5.2: load the trusted root; it must be signed by a threshold of its own keys.
    Metadata m = Metadata.parse(bytes, "root", "root");
    Root r = Root.from(m);
    r.verify("root", m);
    this.root = r;
  }

  private static String withSlash(String s) {
    return s.endsWith("/") ? s : s + "/";
  }

  /** The currently trusted root. */
  public Root trustedRoot() {
    return root;
  }

  /**
   * Runs the top-level part of the client workflow: root chain (5.3), timestamp (5.4), snapshot
   * (5.5) and top-level targets (5.6). Every check uses one update start time read from the clock.
   *
   * @throws TufException subclass for each verification failure (carrying the facts)
   * @throws IOException when the repository cannot be reached or local files cannot be written
   */
  public void refresh() throws IOException {
    // 5.1: record the update start time once.
    updateStart = clock.instant();
    refreshed = false;
    targets.clear();
    timestamp = null;
    snapshot = null;
    updateRoot();
    updateTimestamp();
    updateSnapshot();
    loadTargets("targets", null, null);
    refreshed = true;
  }

  /**
   * Finds a target by path: pre-order depth-first search through the delegations (5.6.7), visiting
   * at most {@link UpdaterConfig#maxDelegations()} roles. Refreshes first if this updater has not.
   *
   * @return the target, or empty when no trusted role lists it
   * @throws TufException if metadata on the way fails verification
   * @throws IOException when the repository cannot be reached
   */
  public Optional<TargetInfo> getTargetInfo(String targetPath) throws IOException {
    if (!refreshed) {
      refresh();
    }
    record Visit(String role, DelegatedRole delegation, Targets parent) {}
    Deque<Visit> stack = new ArrayDeque<>();
    stack.push(new Visit("targets", null, null));
    Set<String> visited = new HashSet<>();
    while (!stack.isEmpty() && visited.size() < config.maxDelegations()) {
      Visit v = stack.pop();
      if (visited.contains(v.role())) {
        continue; // cycles and diamonds: each role at most once
      }
      Targets t = loadTargets(v.role(), v.delegation(), v.parent());
      visited.add(v.role());
      TargetFile tf = t.targets().get(targetPath);
      if (tf != null) {
        return Optional.of(
            new TargetInfo(tf.path(), tf.length(), tf.hashes(), tf.custom(), v.role()));
      }
      List<Visit> children = new ArrayList<>();
      for (DelegatedRole d : t.delegations()) {
        if (d.matches(targetPath)) {
          children.add(new Visit(d.name(), d, t));
          if (d.terminating()) {
            stack.clear(); // a terminating role ends backtracking
            break;
          }
        }
      }
      Collections.reverse(children);
      children.forEach(stack::push);
    }
    return Optional.empty();
  }

  /**
   * Returns the local copy of a target if it exists in {@code dir} with the right length and
   * hashes.
   *
   * @throws IOException if the file exists but cannot be read
   */
  public Optional<Path> findCachedTarget(TargetInfo info, Path dir) throws IOException {
    Path p = dir.resolve(localTargetName(info.path()));
    if (!Files.isRegularFile(p) || Files.size(p) != info.length()) {
      return Optional.empty();
    }
    Map<String, MessageDigest> ds = Hashes.digests(info.hashes());
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[65536];
      int n;
      while ((n = in.read(buf)) > 0) {
        for (MessageDigest d : ds.values()) {
          if (d != null) {
            d.update(buf, 0, n);
          }
        }
      }
    }
    try {
      Hashes.check(info.path(), info.hashes(), ds);
      return Optional.of(p);
    } catch (TufException e) {
      return Optional.empty();
    }
  }

  /**
   * Downloads a target into {@code dir} (file name: the target path percent-escaped), streaming
   * with a length bound and hash checks, via a temp file and an atomic move.
   *
   * @return the file written
   * @throws LengthMismatchException if the server sends more or fewer bytes than the metadata says
   * @throws io.basalt.signing.tuf.HashMismatchException if a hash differs or its algorithm is
   *     unknown
   * @throws IOException when the download or the write fails
   */
  public Path downloadTarget(TargetInfo info, Path dir) throws IOException {
    if (targetBase == null) {
      throw new IllegalStateException("no target base URL was given to this updater");
    }
    String path = info.path();
    String urlPath = path;
    if (root.consistentSnapshot()) {
      // 5.7.3: consistent snapshots: HASH.FILENAME next to the target's directory.
      String hash =
          info.hashes().containsKey("sha256")
              ? info.hashes().get("sha256")
              : info.hashes().containsKey("sha512")
                  ? info.hashes().get("sha512")
                  : info.hashes().values().iterator().next();
      int slash = path.lastIndexOf('/');
      urlPath = path.substring(0, slash + 1) + hash + "." + path.substring(slash + 1);
    }
    URI uri = URI.create(targetBase + escapePath(urlPath));
    Path out = dir.resolve(localTargetName(path));
    Map<String, MessageDigest> ds = Hashes.digests(info.hashes());
    Path tmp = Files.createTempFile(dir, ".download-", ".part");
    try {
      long total = 0;
      try (InputStream in = fetcher.open(uri);
          OutputStream os = Files.newOutputStream(tmp)) {
        byte[] buf = new byte[65536];
        while (true) {
          int want = (int) Math.min(buf.length, info.length() + 1 - total);
          int n = in.read(buf, 0, want);
          if (n < 0) {
            break;
          }
          total += n;
          if (total > info.length()) {
            throw new LengthMismatchException(path, info.length(), total, true);
          }
          for (MessageDigest d : ds.values()) {
            if (d != null) {
              d.update(buf, 0, n);
            }
          }
          os.write(buf, 0, n);
        }
      }
      if (total != info.length()) {
        throw new LengthMismatchException(path, info.length(), total, false);
      }
      Hashes.check(path, info.hashes(), ds);
      AtomicFiles.fsync(tmp);
      AtomicFiles.rename(tmp, out);
      return out;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The file name a target is stored under: its path with every reserved character percent-escaped.
   */
  public static String localTargetName(String targetPath) {
    String e = escape(targetPath);
    return e.equals(".") || e.equals("..") || e.isEmpty() ? e.replace(".", "%2E") + "%00" : e;
  }

  // ---- 5.3 root ---------------------------------------------------------------------------------

  private void updateRoot() throws IOException {
    Root original = root;
    long lower = root.metadata().version() + 1;
    long upper = lower + config.maxRootRotations();
    for (long v = lower; v < upper; v++) {
      byte[] bytes;
      try {
        bytes = fetch(metadataBase + v + ".root.json", config.rootMaxLength(), "root");
      } catch (FetchException e) {
        if (e.notFound()) {
          break;
        }
        throw e;
      }
      Metadata m = Metadata.parse(bytes, "root", "root");
      // 5.3.4: signed by a threshold of the trusted root's keys.
      root.verify("root", m);
      // 5.3.5: exactly the next version.
      if (m.version() != v) {
        throw new VersionMismatchException("root", v, m.version());
      }
      Root next = Root.from(m);
      // 5.3.4: and by a threshold of its own keys.
      next.verify("root", m);
      persist("root", bytes);
      root = next;
    }
    // 5.3.10: the final root must not be expired (intermediate ones may be).
    if (root.metadata().isExpired(updateStart)) {
      throw new ExpiredMetadataException("root", root.metadata().expires(), updateStart);
    }
    // 5.3.11: fast-forward attack recovery: rotated timestamp/snapshot keys invalidate the
    // trusted timestamp/snapshot (their versions may have been pushed up by an attacker).
    if (original != root
        && (!sameKeys(original, root, "timestamp") || !sameKeys(original, root, "snapshot"))) {
      deleteLocal("timestamp");
      deleteLocal("snapshot");
    }
  }

  private static boolean sameKeys(Root a, Root b, String role) {
    RoleKeys ka = a.role(role);
    RoleKeys kb = b.role(role);
    if (!new HashSet<>(ka.keyids()).equals(new HashSet<>(kb.keyids()))) {
      return false;
    }
    for (String id : ka.keyids()) {
      if (!Objects.equals(a.keys().get(id), b.keys().get(id))) {
        return false;
      }
    }
    return true;
  }

  // ---- 5.4 timestamp ----------------------------------------------------------------------------

  private void updateTimestamp() throws IOException {
    Timestamp trusted = null;
    byte[] local = readLocal("timestamp");
    if (local != null) {
      try {
        Metadata m = Metadata.parse(local, "timestamp", "timestamp");
        root.verify("timestamp", m);
        trusted = Timestamp.from(m);
      } catch (TufException e) {
        trusted = null; // not trusted under the current root: no rollback reference
      }
    }
    byte[] bytes = fetch(metadataBase + "timestamp.json", config.timestampMaxLength(), "timestamp");
    Metadata m = Metadata.parse(bytes, "timestamp", "timestamp");
    // 5.4.2
    root.verify("timestamp", m);
    Timestamp fresh = Timestamp.from(m);
    boolean keepTrusted = false;
    if (trusted != null) {
      long tv = trusted.metadata().version();
      // 5.4.3.1
      if (m.version() < tv) {
        throw new RollbackException("timestamp", tv, m.version());
      }
      if (m.version() == tv) {
        keepTrusted = true; // nothing new; keep the bytes we have
      }
      // 5.4.3.2
      long sv = trusted.snapshot().version();
      if (fresh.snapshot().version() < sv) {
        throw new RollbackException("snapshot", sv, fresh.snapshot().version());
      }
    }
    Timestamp chosen = keepTrusted ? trusted : fresh;
    // 5.4.4
    if (chosen.metadata().isExpired(updateStart)) {
      throw new ExpiredMetadataException("timestamp", chosen.metadata().expires(), updateStart);
    }
    if (!keepTrusted) {
      persist("timestamp", bytes);
    }
    timestamp = chosen;
  }

  // ---- 5.5 snapshot -----------------------------------------------------------------------------

  private void updateSnapshot() throws IOException {
    MetaFile entry = timestamp.snapshot();
    Snapshot previous = null;
    byte[] local = readLocal("snapshot");
    if (local != null) {
      try {
        Metadata m = Metadata.parse(local, "snapshot", "snapshot");
        root.verify("snapshot", m);
        previous = Snapshot.from(m);
        if (m.version() == entry.version() && !m.isExpired(updateStart)) {
          snapshot = previous; // the trusted copy is current
          return;
        }
      } catch (TufException e) {
        previous = null;
      }
    }
    String name = root.consistentSnapshot() ? entry.version() + ".snapshot.json" : "snapshot.json";
    byte[] bytes = fetchMetaFile(name, entry, config.snapshotMaxLength(), "snapshot");
    Metadata m = Metadata.parse(bytes, "snapshot", "snapshot");
    // 5.5.3
    root.verify("snapshot", m);
    Snapshot fresh = Snapshot.from(m);
    // 5.5.5: no targets role may disappear or go back.
    if (previous != null) {
      for (Map.Entry<String, MetaFile> e : previous.meta().entrySet()) {
        MetaFile now = fresh.meta().get(e.getKey());
        String role =
            e.getKey().endsWith(".json")
                ? e.getKey().substring(0, e.getKey().length() - 5)
                : e.getKey();
        if (now == null) {
          throw new RollbackException(role, e.getValue().version(), 0);
        }
        if (now.version() < e.getValue().version()) {
          throw new RollbackException(role, e.getValue().version(), now.version());
        }
      }
    }
    // 5.5.4
    if (m.version() != entry.version()) {
      throw new VersionMismatchException("snapshot", entry.version(), m.version());
    }
    // 5.5.6
    if (m.isExpired(updateStart)) {
      throw new ExpiredMetadataException("snapshot", m.expires(), updateStart);
    }
    persist("snapshot", bytes);
    snapshot = fresh;
  }

  // ---- 5.6 targets ------------------------------------------------------------------------------

  /** Loads a targets role (5.6): the trusted local copy if current, else the repository's. */
  private Targets loadTargets(String role, DelegatedRole delegation, Targets parent)
      throws IOException {
    Targets cached = targets.get(role);
    if (cached != null) {
      return cached;
    }
    MetaFile entry = snapshot.role(role);
    if (entry == null) {
      throw new BadMetadataException("snapshot", "no entry for targets role '" + role + "'");
    }
    byte[] local = readLocal(role);
    if (local != null) {
      try {
        Metadata m = Metadata.parse(local, role, "targets");
        verifyTargets(role, delegation, parent, m);
        if (m.version() == entry.version() && !m.isExpired(updateStart)) {
          Targets t = Targets.from(role, m);
          targets.put(role, t);
          return t;
        }
      } catch (TufException e) {
        // fall through to download
      }
    }
    String file = escape(role) + ".json";
    String name = root.consistentSnapshot() ? entry.version() + "." + file : file;
    byte[] bytes = fetchMetaFile(name, entry, config.targetsMaxLength(), role);
    Metadata m = Metadata.parse(bytes, role, "targets");
    // 5.6.3
    verifyTargets(role, delegation, parent, m);
    // 5.6.4
    if (m.version() != entry.version()) {
      throw new VersionMismatchException(role, entry.version(), m.version());
    }
    // 5.6.5
    if (m.isExpired(updateStart)) {
      throw new ExpiredMetadataException(role, m.expires(), updateStart);
    }
    Targets t = Targets.from(role, m);
    persist(role, bytes);
    targets.put(role, t);
    return t;
  }

  private void verifyTargets(String role, DelegatedRole delegation, Targets parent, Metadata m)
      throws TufException {
    if (delegation == null) {
      root.verify("targets", m);
    } else {
      parent.verifyDelegate(delegation, m);
    }
  }

  // ---- downloads and local files ----------------------------------------------------------------

  private byte[] fetchMetaFile(String name, MetaFile entry, long defaultMax, String role)
      throws IOException {
    long max = entry.length() >= 0 ? entry.length() : defaultMax;
    byte[] bytes = fetch(metadataBase + name, max, role);
    if (entry.length() >= 0 && bytes.length != entry.length()) {
      throw new LengthMismatchException(role, entry.length(), bytes.length, false);
    }
    if (!entry.hashes().isEmpty()) {
      Hashes.check(role, entry.hashes(), bytes);
    }
    return bytes;
  }

  private byte[] fetch(String url, long maxLength, String role) throws IOException {
    URI uri = URI.create(url);
    try (InputStream in = fetcher.open(uri)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[16384];
      long total = 0;
      while (true) {
        int want = (int) Math.min(buf.length, maxLength + 1 - total);
        int n = in.read(buf, 0, want);
        if (n < 0) {
          break;
        }
        total += n;
        if (total > maxLength) {
          throw new LengthMismatchException(role, maxLength, total, true);
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    }
  }

  private byte[] readLocal(String role) throws IOException {
    Path p = metadataDir.resolve(escape(role) + ".json");
    if (!Files.exists(p)) {
      return null; // the usual case for delegated roles on a fresh client
    }
    try {
      return Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private void deleteLocal(String role) throws IOException {
    if (Files.deleteIfExists(metadataDir.resolve(escape(role) + ".json"))) {
      AtomicFiles.fsyncDirectory(metadataDir.toAbsolutePath());
    }
  }

  /** Writes a trusted role as {@code ROLE.json}, durably and atomically ({@link AtomicFiles}). */
  private void persist(String role, byte[] bytes) throws IOException {
    AtomicFiles.write(metadataDir.resolve(escape(role) + ".json"), bytes);
  }

  /**
   * The escaped form of a role name used in metadata URLs and file names ({@code ESCAPED.json}):
   * every byte of its UTF-8 form except RFC 3986 unreserved characters is percent-escaped, so
   * {@code a/b} becomes {@code a%2Fb}.
   */
  public static String escapeRoleName(String role) {
    return escape(role);
  }

  static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 8);
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~') {
        sb.append((char) c);
      } else {
        sb.append('%').append(HEX_DIGITS.charAt(c >> 4)).append(HEX_DIGITS.charAt(c & 15));
      }
    }
    return sb.toString();
  }

  private static final String HEX_DIGITS = "0123456789ABCDEF";

  /** Escapes each '/'-separated segment of a target path for use in a URL. */
  static String escapePath(String path) {
    String[] parts = path.split("/", -1);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(escape(parts[i]));
    }
    return sb.toString();
  }
}
