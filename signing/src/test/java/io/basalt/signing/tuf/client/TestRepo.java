package io.basalt.signing.tuf.client;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.Hashes;
import io.basalt.signing.tuf.Metadata;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An in-memory TUF repository for tests: generates keys, builds and signs every role, serves the
 * files through a {@link Fetcher} and records the URLs fetched. Each security scenario edits it
 * (tamper hooks, other signers, other versions) and republishes. Not thread-safe.
 */
final class TestRepo {
  static final Instant NOW = Instant.parse("2030-06-01T00:00:00Z");
  static final String META = "http://repo.test/metadata/";
  static final String TARGETS = "http://repo.test/targets/";
  private static final SecureRandom RNG = new SecureRandom();

  final Map<String, byte[]> served = new HashMap<>();
  final List<String> fetched = new ArrayList<>();
  final Map<String, List<SigningKey>> keys = new HashMap<>();
  final Map<String, Integer> thresholds = new HashMap<>();
  final Map<String, Instant> expires = new HashMap<>();
  final Map<String, Long> versions = new HashMap<>();

  /** Per role: path → target file info JSON. */
  final Map<String, Map<String, Object>> targetsOf = new LinkedHashMap<>();

  /** Per delegating role: the delegated role objects in order. */
  final Map<String, List<Map<String, Object>>> delegationsOf = new LinkedHashMap<>();

  /** One-shot edits applied to a role's signed object before signing. */
  final Map<String, Consumer<Map<String, Object>>> tamper = new HashMap<>();

  /** One-shot replacement signers for a role. */
  final Map<String, List<SigningKey>> signers = new HashMap<>();

  final Map<String, byte[]> latest = new HashMap<>();
  boolean consistentSnapshot = true;
  boolean snapshotHashesInTimestamp = true;
  List<SigningKey> previousRootKeys = List.of();
  byte[] root1;

  TestRepo() {
    for (String r : List.of("root", "timestamp", "snapshot", "targets")) {
      keys.put(r, new ArrayList<>(List.of(newKey())));
      thresholds.put(r, 1);
      versions.put(r, 0L);
    }
    targetsOf.put("targets", new LinkedHashMap<>());
    publishRoot();
    root1 = latest.get("root");
    publishAll();
  }

  static SigningKey newKey() {
    return SigningKey.generate(KeyType.ED25519, RNG);
  }

  Instant expiry(String role) {
    return expires.getOrDefault(role, NOW.plus(Duration.ofDays(30)));
  }

  private Map<String, Object> base(String type, String role) {
    Map<String, Object> s = CanonicalJson.newObject();
    s.put("_type", type);
    s.put("spec_version", "1.0.34");
    s.put("version", versions.get(role));
    s.put("expires", expiry(role).toString());
    return s;
  }

  private static Map<String, Object> obj(Object... kv) {
    Map<String, Object> m = CanonicalJson.newObject();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static List<Object> ids(List<SigningKey> ks) {
    List<Object> out = new ArrayList<>();
    ks.forEach(k -> out.add(k.keyId()));
    return out;
  }

  private byte[] sign(String role, Map<String, Object> signed, List<SigningKey> defaultSigners) {
    Consumer<Map<String, Object>> t = tamper.remove(role);
    if (t != null) {
      t.accept(signed);
    }
    List<SigningKey> s = signers.remove(role);
    byte[] bytes = Metadata.sign(signed, s != null ? s : defaultSigners);
    latest.put(role, bytes);
    return bytes;
  }

  void publishRoot() {
    versions.merge("root", 1L, Long::sum);
    Map<String, Object> s = base("root", "root");
    s.put("consistent_snapshot", consistentSnapshot);
    Map<String, Object> ks = CanonicalJson.newObject();
    Map<String, Object> roles = CanonicalJson.newObject();
    for (String r : List.of("root", "timestamp", "snapshot", "targets")) {
      for (SigningKey k : keys.get(r)) {
        ks.put(k.keyId(), k.publicKey().toJson());
      }
      roles.put(r, obj("keyids", ids(keys.get(r)), "threshold", (long) thresholds.get(r)));
    }
    s.put("keys", ks);
    s.put("roles", roles);
    List<SigningKey> signWith = new ArrayList<>(previousRootKeys);
    for (SigningKey k : keys.get("root")) {
      if (!signWith.contains(k)) {
        signWith.add(k);
      }
    }
    byte[] b = sign("root", s, signWith);
    served.put(versions.get("root") + ".root.json", b);
    served.put("root.json", b);
    previousRootKeys = List.copyOf(keys.get("root"));
  }

  void addTarget(String role, String path, byte[] content, Map<String, Object> hashesOverride) {
    Map<String, Object> hashes =
        hashesOverride != null
            ? hashesOverride
            : obj("sha256", Hashes.sha256(content), "sha512", sha512(content));
    Map<String, Object> info =
        obj("length", (long) content.length, "hashes", hashes, "custom", obj("channel", "stable"));
    targetsOf.computeIfAbsent(role, r -> new LinkedHashMap<>()).put(path, info);
    int slash = path.lastIndexOf('/');
    served.put("targets/" + path, content);
    for (Object h : hashes.values()) {
      served.put(
          "targets/" + path.substring(0, slash + 1) + h + "." + path.substring(slash + 1), content);
    }
  }

  void addTarget(String role, String path, byte[] content) {
    addTarget(role, path, content, null);
  }

  static String sha512(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-512").digest(b));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Delegates from parent to a new role with fresh keys. */
  void delegate(String parent, String name, List<String> paths, boolean terminating) {
    keys.put(name, new ArrayList<>(List.of(newKey())));
    thresholds.put(name, 1);
    versions.putIfAbsent(name, 0L);
    targetsOf.putIfAbsent(name, new LinkedHashMap<>());
    Map<String, Object> role =
        obj(
            "name",
            name,
            "keyids",
            ids(keys.get(name)),
            "threshold",
            1L,
            "terminating",
            terminating,
            "paths",
            new ArrayList<Object>(paths));
    delegationsOf.computeIfAbsent(parent, p -> new ArrayList<>()).add(role);
  }

  void publishTargets(String role) {
    versions.merge(role, 1L, Long::sum);
    Map<String, Object> s = base("targets", role);
    s.put("targets", new LinkedHashMap<>(targetsOf.getOrDefault(role, Map.of())));
    List<Map<String, Object>> dels = delegationsOf.get(role);
    if (dels != null) {
      Map<String, Object> ks = CanonicalJson.newObject();
      for (Map<String, Object> d : dels) {
        for (SigningKey k : keys.get((String) d.get("name"))) {
          ks.put(k.keyId(), k.publicKey().toJson());
        }
      }
      s.put("delegations", obj("keys", ks, "roles", new ArrayList<Object>(dels)));
    }
    byte[] b = sign(role, s, keys.get(role));
    String file = Updater.escape(role) + ".json";
    served.put(file, b);
    served.put(versions.get(role) + "." + file, b);
  }

  void publishSnapshot() {
    versions.merge("snapshot", 1L, Long::sum);
    Map<String, Object> s = base("snapshot", "snapshot");
    Map<String, Object> meta = CanonicalJson.newObject();
    for (String r : targetsOf.keySet()) {
      if (versions.getOrDefault(r, 0L) > 0) {
        meta.put(r + ".json", obj("version", versions.get(r)));
      }
    }
    s.put("meta", meta);
    byte[] b = sign("snapshot", s, keys.get("snapshot"));
    served.put("snapshot.json", b);
    served.put(versions.get("snapshot") + ".snapshot.json", b);
  }

  void publishTimestamp() {
    versions.merge("timestamp", 1L, Long::sum);
    Map<String, Object> s = base("timestamp", "timestamp");
    byte[] snap = latest.get("snapshot");
    Map<String, Object> entry = obj("version", versions.get("snapshot"));
    if (snapshotHashesInTimestamp) {
      entry.put("length", (long) snap.length);
      entry.put("hashes", obj("sha256", Hashes.sha256(snap)));
    }
    s.put("meta", obj("snapshot.json", entry));
    served.put("timestamp.json", sign("timestamp", s, keys.get("timestamp")));
  }

  /** Re-signs every targets role that has content, then snapshot and timestamp. */
  void publishAll() {
    for (String r : new ArrayList<>(targetsOf.keySet())) {
      publishTargets(r);
    }
    publishSnapshot();
    publishTimestamp();
  }

  Fetcher fetcher() {
    return uri -> {
      String u = uri.toString();
      fetched.add(u);
      String key;
      if (u.startsWith(META)) {
        key = u.substring(META.length());
      } else if (u.startsWith(TARGETS)) {
        key =
            "targets/"
                + java.net.URLDecoder.decode(
                    u.substring(TARGETS.length()).replace("+", "%2B"),
                    java.nio.charset.StandardCharsets.UTF_8);
      } else {
        throw new FetchException(uri, -1, "unknown host", null);
      }
      byte[] b = served.get(key);
      if (b == null) {
        throw new FetchException(uri, 404, "HTTP status 404", null);
      }
      return new ByteArrayInputStream(b);
    };
  }

  /** A client directory initialised with root v1. */
  static Path initClient(Path dir, byte[] root) throws Exception {
    Files.createDirectories(dir);
    Files.write(dir.resolve("root.json"), root);
    return dir;
  }

  Updater updater(Path dir, Instant now) throws Exception {
    return new Updater(
        dir, URI.create(META), URI.create(TARGETS), fetcher(), Clock.fixed(now, ZoneOffset.UTC));
  }

  Updater updater(Path dir) throws Exception {
    return updater(dir, NOW);
  }

  InputStream endless() {
    return new InputStream() {
      @Override
      public int read() {
        return ' ';
      }
    };
  }
}
