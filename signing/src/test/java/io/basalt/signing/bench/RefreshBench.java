package io.basalt.signing.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.Hashes;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.client.FetchException;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.signing.tuf.client.UpdaterConfig;
import java.io.File;
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
 * Benchmark (not a test): a fresh client refreshes and verifies (a) a repository whose targets role
 * lists 10,000 targets and (b) one whose targets role delegates to 1,000 roles, all of which are
 * loaded and verified. Each measurement is a fresh JVM on the runtime and with the JVM flags the
 * host runs {@code basaltctl} with, both read from init-units' {@code java-run} ({@code
 * -Djava.run=}, {@code -Dbench.java.home=}): {@code java-run --print basaltctl} gives the flags,
 * {@code java-run --print-cache-flags} those that make and use a start-up cache. The cache of each
 * program measured is made by a training run of that program on another generated repository (other
 * keys, other data) than the measured one. Wall time is the whole process as its parent sees it
 * (JVM start included); {@code main} starts at {@code main}; peak heap is read from the memory
 * pools. The reference, in the same run with the same flags and its own cache trained the same way,
 * is Jackson reading the same metadata files as trees (parse only, no canonicalisation or signature
 * checks). Prints medians, every run and ratios. Run with {@code bench/run tuf-refresh}.
 */
public final class RefreshBench {
  private static final int RUNS = 7;
  private static final SecureRandom RNG = new SecureRandom();

  /** Target of the 10,000-target refresh: wall ms, JVM start included, in every run. */
  private static final double TARGET_MS = 150;

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
    int runs = Integer.getInteger("runs", RUNS);
    Path javaRun = Path.of(System.getProperty("java.run", ""));
    Path javaHome = Path.of(System.getProperty("bench.java.home", ""));
    if (!Files.isRegularFile(javaRun) || !Files.isRegularFile(javaHome.resolve("release"))) {
      throw new IllegalArgumentException(
          "-Djava.run=init-units' java-run and -Dbench.java.home=a Java home with a release file"
              + " are required (bench/run tuf-refresh sets them)");
    }
    Path work = Files.createTempDirectory("basalt-tuf-bench-");
    try {
      // The host's command for basaltctl: java, its flags, -cp, class path, main class.
      List<String> host = javaRun(javaRun, javaHome, work, "--print", "basaltctl");
      int cpAt = host.indexOf("-cp");
      if (cpAt < 2) {
        throw new IllegalStateException("java-run --print basaltctl gave no flags: " + host);
      }
      String java = host.get(0);
      List<String> hostFlags = host.subList(1, cpAt);
      // Measured and training repositories: the same shapes, other keys and data.
      Path train = work.resolve("train");
      Path measured = work.resolve("measured");
      for (Path r : List.of(train, measured)) {
        generate(r.resolve("flat"), 10_000, 0);
        generate(r.resolve("delegated"), 0, 1_000);
      }
      // The AOT cache takes classes from jars only: class directories are packed into jars.
      List<String> cp = jarredClassPath(work);
      System.out.println(
          "load average before: "
              + loadAverage()
              + "; "
              + Runtime.getRuntime().availableProcessors()
              + " CPUs; "
              + runtimeName(javaHome)
              + "; medians of "
              + runs
              + " runs, fresh JVM each");
      System.out.println("host flags (java-run --print basaltctl): " + String.join(" ", hostFlags));
      System.out.println(
          "wall = ms of the whole java process as its parent sees it (JVM start included);"
              + " main = ms from the start of main; cpu = process CPU ms incl. JVM start and"
              + " JIT/GC threads; x = basalt / reference");
      // -Dconfigs=host (the default), also nocache (no start-up cache: the first run of a /usr)
      // and defaults (JVM defaults, no flags, no cache)
      List<String> configs = List.of(System.getProperty("configs", "host").split(","));
      // {name, title, JVM flags, start-up cache}
      for (Object[] config :
          new Object[][] {
            {"host", "host flags + start-up cache trained on another repository", hostFlags, true},
            {"nocache", "host flags, no start-up cache", hostFlags, false},
            {"defaults", "JVM defaults", List.<String>of(), false}
          }) {
        if (!configs.contains((String) config[0])) {
          continue;
        }
        @SuppressWarnings("unchecked")
        List<String> flags = (List<String>) config[2];
        boolean cached = (Boolean) config[3];
        System.out.printf("%n[%s: %s]%n", config[0], config[1]);
        header();
        List<String[]> everyRun = new ArrayList<>();
        for (Object[] sc :
            new Object[][] {
              {"10,000 targets", "flat", "t/09999.img"},
              {"1,000 delegated roles", "delegated", "team0999/f.img"}
            }) {
          String label = (String) sc[0];
          Path repo = measured.resolve((String) sc[1]);
          Path trainRepo = train.resolve((String) sc[1]);
          String target = (String) sc[2];
          Kind ours = new Kind(java, flags, cp, "client");
          Kind refs = new Kind(java, flags, cp, "reference");
          // -Dbaseline.cp (BASELINE=REV bench/run tuf-refresh): the same client from another
          // revision, same flags
          Kind base = null;
          if (BASELINE_CP != null) {
            List<String> bcp = new ArrayList<>(List.of(BASELINE_CP.split(File.pathSeparator)));
            for (String e : cp) {
              if (!e.startsWith(work.toString())) {
                bcp.add(e); // the dependency jars
              }
            }
            base = new Kind(java, flags, bcp, "client");
          }
          if (cached) {
            String tag = sc[1] + "-" + config[0];
            for (Kind k : base == null ? List.of(ours, refs) : List.of(ours, refs, base)) {
              Path cache = work.resolve("cache-" + k.name(k == base) + "-" + tag + ".aot");
              k.train(javaRun, javaHome, work, cache, trainRepo, target);
            }
          }
          List<double[]> o = new ArrayList<>();
          List<double[]> r = new ArrayList<>();
          List<double[]> b = new ArrayList<>();
          for (int i = 0; i < runs; i++) {
            // rotate which goes first so that load drifts hit all alike
            int kinds = base == null ? 2 : 3;
            for (int k = 0; k < kinds; k++) {
              int kind = (i + k) % kinds;
              if (kind == 1) {
                r.add(refs.run(work, repo, target));
              } else {
                (kind == 0 ? o : b).add((kind == 0 ? ours : base).run(work, repo, target));
              }
            }
          }
          row(label, o, r);
          everyRun.add(new String[] {label + ", basalt", walls(o)});
          everyRun.add(new String[] {label + ", reference", walls(r)});
          if (base != null) {
            row("  " + System.getProperty("baseline.name", "baseline"), b, r);
            everyRun.add(new String[] {label + ", baseline", walls(b)});
            System.out.printf(
                "%-22s %7.2f %7.2f %7.2f%n",
                "  this / baseline",
                median(o, 3) / median(b, 3),
                median(o, 0) / median(b, 0),
                median(o, 2) / median(b, 2));
          }
          if (label.startsWith("10,000")) {
            double max = o.stream().mapToDouble(x -> x[3]).max().orElseThrow();
            everyRun.add(
                new String[] {
                  "target",
                  String.format(
                      "10,000 targets wall <= %.0f ms in every run: %s (slowest %.0f ms)",
                      TARGET_MS, max <= TARGET_MS ? "met" : "not met", max)
                });
          }
        }
        System.out.println("every run, wall ms in order:");
        for (String[] e : everyRun) {
          System.out.printf("  %-34s %s%n", e[0], e[1]);
        }
      }
      System.out.println("load average after: " + loadAverage());
    } finally {
      deleteTree(work);
    }
  }

  /** One kind of child JVM: the client of this tree or of the baseline, or the reference. */
  private static final class Kind {
    private final String java;
    private final List<String> flags;
    private final List<String> cp;
    private final String command;

    /** Set by {@link #train}: the flags that use its start-up cache. */
    private List<String> cacheFlags = List.of();

    Kind(String java, List<String> flags, List<String> cp, String command) {
      this.java = java;
      this.flags = flags;
      this.cp = cp;
      this.command = command;
    }

    String name(boolean baseline) {
      return baseline ? "baseline" : command;
    }

    /**
     * A training run on another repository writes a start-up cache with java-run's flags; a run
     * with java-run's check flags (the JVM must map it) follows, as {@code java-run --make-cache}
     * does.
     */
    void train(Path javaRun, Path javaHome, Path work, Path cache, Path repo, String target)
        throws Exception {
      List<String> make = javaRun(javaRun, javaHome, work, "--print-cache-flags", "make", cache);
      once(work, concat(flags, make), repo, target);
      if (!Files.isRegularFile(cache) || Files.size(cache) == 0) {
        throw new IllegalStateException("the training run made no start-up cache " + cache);
      }
      once(
          work,
          concat(flags, javaRun(javaRun, javaHome, work, "--print-cache-flags", "check", cache)),
          repo,
          target);
      cacheFlags = javaRun(javaRun, javaHome, work, "--print-cache-flags", "use", cache);
    }

    private void once(Path work, List<String> jvm, Path repo, String target) throws Exception {
      List<String> cmd = command(jvm, repo, work.resolve("client-train"), target);
      Files.createDirectories(work.resolve("client-train"));
      Files.copy(repo.resolve("metadata/1.root.json"), work.resolve("client-train/root.json"));
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
          p.destroyForcibly();
          throw new IllegalStateException("training run failed: " + cmd + "\n" + out);
        }
      } finally {
        deleteTree(work.resolve("client-train"));
      }
    }

    private List<String> command(List<String> jvm, Path repo, Path clientDir, String target) {
      List<String> cmd = new ArrayList<>(List.of(java));
      cmd.addAll(jvm);
      cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), RefreshBench.class.getName()));
      if (command.equals("client")) {
        cmd.addAll(List.of("client", repo.toString(), target, clientDir.toString()));
      } else {
        cmd.addAll(List.of("reference", repo.resolve("metadata").toString()));
      }
      return cmd;
    }

    /** One measured run: {main ms, peak heap MB, process CPU ms, wall ms of the process}. */
    double[] run(Path work, Path repo, String target) throws Exception {
      List<String> jvm = concat(flags, cacheFlags);
      Path clientDir = Files.createDirectories(work.resolve("client-run"));
      Files.copy(repo.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
      try {
        return child(command(jvm, repo, clientDir, target));
      } finally {
        deleteTree(clientDir);
      }
    }
  }

  /** The words java-run prints for ARGS on the runtime javaHome (one word a line). */
  private static List<String> javaRun(Path javaRun, Path javaHome, Path work, Object... args)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of("sh", javaRun.toString()));
    for (Object a : args) {
      cmd.add(a.toString());
    }
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("BASALT_JAVA_HOME", javaHome.toString());
    pb.environment().put("BASALT_LIB", work.resolve("lib").toString());
    pb.environment().put("BASALT_JAVA_CACHE", work.resolve("no-cache").toString());
    pb.environment().put("BASALT_CMDLINE", work.resolve("no-cmdline").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    String err = new String(p.getErrorStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("java-run failed: " + cmd + "\n" + out + err);
    }
    return List.of(out.strip().split("\n"));
  }

  /** The runtime as its release file names it. */
  private static String runtimeName(Path javaHome) throws java.io.IOException {
    Map<String, String> r = new java.util.HashMap<>();
    for (String l : Files.readAllLines(javaHome.resolve("release"))) {
      int eq = l.indexOf('=');
      if (eq > 0) {
        r.put(l.substring(0, eq), l.substring(eq + 1).replace("\"", ""));
      }
    }
    return r.getOrDefault("IMPLEMENTOR", "?")
        + " "
        + r.getOrDefault("IMPLEMENTOR_VERSION", r.getOrDefault("JAVA_RUNTIME_VERSION", "?"))
        + " ("
        + javaHome
        + ")";
  }

  private static void header() {
    System.out.printf(
        "%-22s %7s %7s %7s | %8s %7s %8s | %6s %6s %6s | %7s%n",
        "median",
        "wall",
        "main",
        "cpu",
        "ref wall",
        "ref main",
        "ref cpu",
        "x wall",
        "x main",
        "x cpu",
        "heap MB");
  }

  private static void row(String label, List<double[]> o, List<double[]> r) {
    System.out.printf(
        "%-22s %7.0f %7.0f %7.0f | %8.0f %7.0f %8.0f | %6.2f %6.2f %6.2f | %7.1f%n",
        label,
        median(o, 3),
        median(o, 0),
        median(o, 2),
        median(r, 3),
        median(r, 0),
        median(r, 2),
        median(o, 3) / median(r, 3),
        median(o, 0) / median(r, 0),
        median(o, 2) / median(r, 2),
        median(o, 1));
  }

  private static String walls(List<double[]> xs) {
    StringBuilder sb = new StringBuilder();
    for (double[] x : xs) {
      sb.append(sb.length() == 0 ? "" : " ").append(String.format("%.0f", x[3]));
    }
    return sb.toString();
  }

  /**
   * Class path of another revision's signing classes to compare with (BASELINE=REV bench/run
   * tuf-refresh), or null.
   */
  private static final String BASELINE_CP = System.getProperty("baseline.cp");

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }

  private static double median(List<double[]> xs, int idx) {
    List<Double> v = new ArrayList<>();
    xs.forEach(x -> v.add(x[idx]));
    Collections.sort(v);
    return v.get(v.size() / 2);
  }

  /**
   * The class path with every directory replaced by a jar of its contents (written once under
   * work).
   */
  private static List<String> jarredClassPath(Path work) throws java.io.IOException {
    List<String> out = new ArrayList<>();
    int n = 0;
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path dir = Path.of(e);
      if (!Files.isDirectory(dir)) {
        out.add(e);
        continue;
      }
      Path jar = work.resolve("classes-" + n++ + ".jar");
      if (!Files.exists(jar)) {
        try (var jos = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
            var files = Files.walk(dir)) {
          for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
            jos.putNextEntry(
                new java.util.jar.JarEntry(dir.relativize(f).toString().replace('\\', '/')));
            jos.write(Files.readAllBytes(f));
            jos.closeEntry();
          }
        }
      }
      out.add(jar.toString());
    }
    return out;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  /**
   * Runs a child JVM (the whole command); returns {main ms, peak heap MB, process CPU ms, wall ms
   * of the process}.
   */
  private static double[] child(List<String> cmd) throws Exception {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("child failed: " + cmd + "\n" + out);
    }
    double wall = (System.nanoTime() - t0) / 1e6;
    String[] f = out.trim().split("\\s+");
    return new double[] {
      Double.parseDouble(f[f.length - 3]),
      Double.parseDouble(f[f.length - 2]),
      Double.parseDouble(f[f.length - 1]),
      wall
    };
  }

  private static void client(Path repo, String target, Path clientDir) throws Exception {
    long t0 = System.nanoTime();
    Path meta = repo.resolve("metadata");
    Updater u =
        new Updater(
            clientDir,
            URI.create("file:///metadata/"),
            null,
            uri -> {
              Path f = meta.resolve(uri.getRawPath().substring("/metadata/".length()));
              if (!Files.isRegularFile(f)) {
                throw new FetchException(uri, 404, "no such file", null);
              }
              return Files.newInputStream(f);
            },
            Clock.systemUTC(),
            UpdaterConfig.defaults().withMaxDelegations(2_000));
    u.refresh();
    if (u.getTargetInfo(target).isEmpty()) {
      throw new IllegalStateException("target not found: " + target);
    }
    long ms = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0);
    System.out.println((ms / 1000.0) + " " + peakHeapMb() + " " + cpuMs());
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
    System.out.println(nodes + " " + (ms / 1000.0) + " " + peakHeapMb() + " " + cpuMs());
  }

  /** CPU time of the whole process so far (all threads, JVM start included). */
  private static double cpuMs() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime()
        / 1e6;
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
    return obj(
        "_type",
        type,
        "spec_version",
        "1.0.34",
        "version",
        version,
        "expires",
        Instant.now()
            .plus(Duration.ofDays(30))
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
            .toString());
  }

  private static Map<String, Object> fileInfo(String content) {
    byte[] b = content.getBytes();
    return obj(
        "length",
        (long) b.length,
        "hashes",
        obj("sha256", Hashes.sha256(b)),
        "custom",
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
    r.put(
        "roles",
        obj(
            "root",
            obj("keyids", List.of(root.keyId()), "threshold", 1L),
            "timestamp",
            obj("keyids", List.of(ts.keyId()), "threshold", 1L),
            "snapshot",
            obj("keyids", List.of(sn.keyId()), "threshold", 1L),
            "targets",
            obj("keyids", List.of(tg.keyId()), "threshold", 1L)));
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
        droles.add(
            obj(
                "name",
                name,
                "keyids",
                List.of(k.keyId()),
                "threshold",
                1L,
                "terminating",
                false,
                "paths",
                List.of("*/*")));
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
    t.put(
        "meta",
        obj(
            "snapshot.json",
            obj(
                "version",
                1L,
                "length",
                (long) snapBytes.length,
                "hashes",
                obj("sha256", Hashes.sha256(snapBytes)))));
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
