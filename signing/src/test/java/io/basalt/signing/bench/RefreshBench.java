package io.basalt.signing.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.signing.CanonicalJson;
import io.basalt.signing.FetchException;
import io.basalt.signing.Hashes;
import io.basalt.signing.KeyType;
import io.basalt.signing.Metadata;
import io.basalt.signing.SigningKey;
import io.basalt.signing.client.Updater;
import io.basalt.signing.client.UpdaterConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (not a test): a fresh client refreshes and verifies (a) a repository whose targets
 * role lists 10,000 targets and (b) one whose targets role delegates to 1,000 roles, all of which
 * are loaded and verified. Each measurement is a fresh JVM; time is measured from the start of
 * {@code main} (after JVM start) and peak heap is read from the memory pools. The reference, in
 * the same run and the same kind of JVM, is Jackson reading the same metadata files as trees
 * (parse only, no canonicalisation or signature checks). Prints medians and ratios. Run with
 * {@code signing/bench/run.sh}.
 */
public final class RefreshBench {
  private static final int RUNS = 5;
  private static final SecureRandom RNG = new SecureRandom();

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("client")) {
      client(Path.of(args[1]), args[2], Path.of(args[3]));
      return;
    }
    if (args.length > 0 && args[0].equals("generate")) {
      generate(Path.of(args[1]).resolve("flat"), 10_000, 0);
      generate(Path.of(args[1]).resolve("delegated"), 0, 1_000);
      return;
    }
    if (args.length > 0 && args[0].equals("reference")) {
      reference(Path.of(args[1]));
      return;
    }
    Path work = Files.createTempDirectory("basalt-tuf-bench-");
    try {
      Path flat = work.resolve("flat");
      Path deleg = work.resolve("delegated");
      generate(flat, 10_000, 0);
      generate(deleg, 0, 1_000);
      System.out.printf("%-34s %12s %12s %12s %14s%n", "scenario", "basalt ms", "jackson ms", "ratio", "basalt heap MB");
      for (Object[] sc : new Object[][] {{"10,000 targets", flat, "t/09999.img"},
          {"1,000 delegated roles", deleg, "team0999/f.img"}}) {
        Path repo = (Path) sc[1];
        List<double[]> ours = new ArrayList<>();
        List<double[]> refs = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
          Path clientDir = Files.createDirectories(work.resolve("client-" + sc[0].hashCode() + "-" + i));
          Files.copy(repo.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
          ours.add(child("client", repo.toString(), (String) sc[2], clientDir.toString()));
          refs.add(child("reference", repo.resolve("metadata").toString()));
          deleteTree(clientDir);
        }
        double o = median(ours, 0);
        double r = median(refs, 0);
        System.out.printf("%-34s %12.1f %12.1f %12.2f %14.1f%n", "refresh+verify " + sc[0], o, r, o / r, median(ours, 1));
      }
    } finally {
      deleteTree(work);
    }
  }

  private static double median(List<double[]> xs, int idx) {
    List<Double> v = new ArrayList<>();
    xs.forEach(x -> v.add(x[idx]));
    Collections.sort(v);
    return v.get(v.size() / 2);
  }

  private static double[] child(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), RefreshBench.class.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("child failed: " + cmd + "\n" + out);
    }
    String[] f = out.trim().split("\\s+");
    return new double[] {Double.parseDouble(f[f.length - 2]), Double.parseDouble(f[f.length - 1])};
  }

  private static void client(Path repo, String target, Path clientDir) throws Exception {
    long t0 = System.nanoTime();
    Path meta = repo.resolve("metadata");
    Updater u = new Updater(clientDir, URI.create("file:///metadata/"), null, uri -> {
      Path f = meta.resolve(uri.getRawPath().substring("/metadata/".length()));
      if (!Files.isRegularFile(f)) {
        throw new FetchException(uri, 404, "no such file", null);
      }
      return Files.newInputStream(f);
    }, Clock.systemUTC(), UpdaterConfig.defaults().withMaxDelegations(2_000));
    u.refresh();
    if (u.getTargetInfo(target).isEmpty()) {
      throw new IllegalStateException("target not found: " + target);
    }
    long ms = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0);
    System.out.println((ms / 1000.0) + " " + peakHeapMb());
  }

  private static void reference(Path metaDir) throws Exception {
    long t0 = System.nanoTime();
    ObjectMapper om = new ObjectMapper();
    long nodes = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(metaDir, "*.json")) {
      for (Path p : ds) {
        // the generated repository holds exactly the files a fresh client loads
        nodes += om.readTree(Files.readAllBytes(p)).get("signed").size();
      }
    }
    long ms = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0);
    System.out.println(nodes + " " + (ms / 1000.0) + " " + peakHeapMb());
  }

  private static double peakHeapMb() {
    long sum = 0;
    for (MemoryPoolMXBean b : ManagementFactory.getMemoryPoolMXBeans()) {
      if (b.getType() == MemoryType.HEAP) {
        sum += b.getPeakUsage().getUsed();
      }
    }
    return Math.round(sum / 1e5) / 10.0;
  }

  // ---- repository generation (in-memory keys, written once) ----------------------------------

  private static Map<String, Object> obj(Object... kv) {
    Map<String, Object> m = CanonicalJson.newObject();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static Map<String, Object> base(String type, long version) {
    return obj("_type", type, "spec_version", "1.0.34", "version", version,
        "expires", Instant.now().plus(Duration.ofDays(30)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
  }

  private static Map<String, Object> fileInfo(String content) {
    byte[] b = content.getBytes();
    return obj("length", (long) b.length, "hashes", obj("sha256", Hashes.sha256(b)), "custom",
        obj("version", "4.1.0", "channel", "stable"));
  }

  private static void generate(Path repo, int targets, int roles) throws Exception {
    Path meta = Files.createDirectories(repo.resolve("metadata"));
    SigningKey root = SigningKey.generate(KeyType.ED25519, RNG);
    SigningKey ts = SigningKey.generate(KeyType.ED25519, RNG);
    SigningKey sn = SigningKey.generate(KeyType.ED25519, RNG);
    SigningKey tg = SigningKey.generate(KeyType.ED25519, RNG);
    Map<String, Object> keys = CanonicalJson.newObject();
    for (SigningKey k : List.of(root, ts, sn, tg)) {
      keys.put(k.keyId(), k.publicKey().toJson());
    }
    Map<String, Object> r = base("root", 1);
    r.put("consistent_snapshot", true);
    r.put("keys", keys);
    r.put("roles", obj("root", obj("keyids", List.of(root.keyId()), "threshold", 1L),
        "timestamp", obj("keyids", List.of(ts.keyId()), "threshold", 1L),
        "snapshot", obj("keyids", List.of(sn.keyId()), "threshold", 1L),
        "targets", obj("keyids", List.of(tg.keyId()), "threshold", 1L)));
    Files.write(meta.resolve("1.root.json"), Metadata.sign(r, List.of(root)));

    Map<String, Object> snapMeta = CanonicalJson.newObject();
    Map<String, Object> top = base("targets", 1);
    Map<String, Object> tmap = CanonicalJson.newObject();
    for (int i = 0; i < targets; i++) {
      tmap.put(String.format("t/%05d.img", i), fileInfo("target " + i));
    }
    top.put("targets", tmap);
    if (roles > 0) {
      Map<String, Object> dkeys = CanonicalJson.newObject();
      List<Object> droles = new ArrayList<>();
      for (int i = 0; i < roles; i++) {
        String name = String.format("team%04d", i);
        SigningKey k = SigningKey.generate(KeyType.ED25519, RNG);
        dkeys.put(k.keyId(), k.publicKey().toJson());
        // every role may sign every path, so a search for the last role's target visits them all
        droles.add(obj("name", name, "keyids", List.of(k.keyId()), "threshold", 1L, "terminating", false,
            "paths", List.of("*/*")));
        Map<String, Object> d = base("targets", 1);
        d.put("targets", obj(name + "/f.img", fileInfo(name)));
        Files.write(meta.resolve("1." + name + ".json"), Metadata.sign(d, List.of(k)));
        snapMeta.put(name + ".json", obj("version", 1L));
      }
      top.put("delegations", obj("keys", dkeys, "roles", droles));
    }
    Files.write(meta.resolve("1.targets.json"), Metadata.sign(top, List.of(tg)));
    snapMeta.put("targets.json", obj("version", 1L));
    Map<String, Object> snap = base("snapshot", 1);
    snap.put("meta", snapMeta);
    byte[] snapBytes = Metadata.sign(snap, List.of(sn));
    Files.write(meta.resolve("1.snapshot.json"), snapBytes);
    Map<String, Object> t = base("timestamp", 1);
    t.put("meta", obj("snapshot.json", obj("version", 1L, "length", (long) snapBytes.length,
        "hashes", obj("sha256", Hashes.sha256(snapBytes)))));
    Files.write(meta.resolve("timestamp.json"), Metadata.sign(t, List.of(ts)));
  }

  private static void deleteTree(Path p) throws Exception {
    if (Files.isDirectory(p)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
        for (Path c : ds) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
