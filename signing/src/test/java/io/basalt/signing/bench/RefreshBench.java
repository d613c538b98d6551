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
 * loaded and verified. Each measurement is a fresh JVM; time is measured from the start of {@code
 * main} (after JVM start) and peak heap is read from the memory pools. The reference, in the same
 * run and the same kind of JVM, is Jackson reading the same metadata files as trees (parse only, no
 * canonicalisation or signature checks). Prints medians and ratios. Run with {@code bench/run
 * tuf-refresh}.
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
    int runs = Integer.getInteger("runs", RUNS);
    Path work = Files.createTempDirectory("basalt-tuf-bench-");
    try {
      Path flat = work.resolve("flat");
      Path deleg = work.resolve("delegated");
      generate(flat, 10_000, 0);
      generate(deleg, 0, 1_000);
      System.out.println(
          "load average before: "
              + loadAverage()
              + "; "
              + Runtime.getRuntime().availableProcessors()
              + " CPUs; java "
              + System.getProperty("java.version")
              + "; medians of "
              + runs
              + " runs, fresh JVM each");
      System.out.println(
          "main = ms from the start of main (after JVM start); cpu = process CPU ms incl. JVM start"
              + " and JIT/GC threads; wall = ms of the whole java process as seen by the parent; x = basalt / reference");
      // -Dconfigs=image,cds,defaults (the default), also unsigned and cds-unsigned
      List<String> configs =
          List.of(System.getProperty("configs", "image,cds,defaults").split(","));
      // {name, title, JVM flags, AppCDS, bcprov without its jar signature}
      for (Object[] flags :
          new Object[][] {
            {"image", "image flags", IMAGE_FLAGS, false, false},
            {"cds", "image flags + AppCDS archive", IMAGE_FLAGS, true, false},
            {"defaults", "JVM defaults", List.of(), false, false},
            {
              "unsigned",
              "image flags, bcprov jar without its signature files",
              IMAGE_FLAGS,
              false,
              true
            },
            {
              "cds-unsigned",
              "image flags + AppCDS archive, bcprov jar without its signature files",
              IMAGE_FLAGS,
              true,
              true
            }
          }) {
        if (!configs.contains((String) flags[0])) {
          continue;
        }
        boolean unsigned = (Boolean) flags[4];
        flags = java.util.Arrays.copyOfRange(flags, 1, 4);
        System.out.printf("%n[%s %s]%n", flags[0], flags[1]);
        System.out.printf(
            "%-22s %7s %7s %7s | %8s %7s %8s | %6s %6s %6s | %7s%n",
            "scenario",
            "main",
            "cpu",
            "wall",
            "ref main",
            "ref cpu",
            "ref wall",
            "x main",
            "x cpu",
            "x wall",
            "heap MB");
        for (Object[] sc :
            new Object[][] {
              {"10,000 targets", flat, "t/09999.img"},
              {"1,000 delegated roles", deleg, "team0999/f.img"}
            }) {
          Path repo = (Path) sc[1];
          @SuppressWarnings("unchecked")
          List<String> jvm = (List<String>) flags[1];
          List<String> plainFlags = jvm;
          if (unsigned && !(Boolean) flags[2]) {
            jvm =
                concat(
                    jvm,
                    "-Djava.class.path="
                        + String.join(
                            java.io.File.pathSeparator,
                            unsignedBouncyCastle(
                                List.of(
                                    System.getProperty("java.class.path")
                                        .split(java.io.File.pathSeparator)),
                                work)));
          }
          List<String> jvmOurs = new ArrayList<>(jvm);
          List<String> jvmRefs = new ArrayList<>(jvm);
          if ((Boolean) flags[2]) {
            // AppCDS (dynamic archive): one unmeasured training run of each side writes its
            // archive.
            // CDS takes only jars on the class path, so class directories are packed into one
            // first.
            List<String> cp = jarredClassPath(work);
            if (unsigned) {
              cp = unsignedBouncyCastle(cp, work);
            }
            jvm = concat(jvm, "-Djava.class.path=" + String.join(java.io.File.pathSeparator, cp));
            Path a =
                work.resolve("cds-client-" + sc[0].hashCode() + (unsigned ? "-u" : "") + ".jsa");
            Path b =
                work.resolve("cds-reference-" + sc[0].hashCode() + (unsigned ? "-u" : "") + ".jsa");
            Path clientDir = Files.createDirectories(work.resolve("client-train"));
            Files.copy(repo.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
            train(
                concat(jvm, "-Xlog:disable", "-XX:ArchiveClassesAtExit=" + a),
                "client",
                repo.toString(),
                (String) sc[2],
                clientDir.toString());
            deleteTree(clientDir);
            train(
                concat(jvm, "-Xlog:disable", "-XX:ArchiveClassesAtExit=" + b),
                "reference",
                repo.resolve("metadata").toString());
            jvmOurs = concat(jvm, "-Xlog:disable", "-XX:SharedArchiveFile=" + a);
            jvmRefs = concat(jvm, "-Xlog:disable", "-XX:SharedArchiveFile=" + b);
          }
          // -Dbaseline.cp (BASELINE=REV bench/run tuf-refresh): the same client from another
          // revision, same flags
          List<String> jvmBase = null;
          if (BASELINE_CP != null) {
            List<String> cp =
                new ArrayList<>(List.of(BASELINE_CP.split(java.io.File.pathSeparator)));
            for (String e :
                System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
              if (!Files.isDirectory(Path.of(e))) {
                cp.add(e); // the dependency jars
              }
            }
            if (unsigned) {
              cp = unsignedBouncyCastle(cp, work);
            }
            List<String> flagsBase =
                concat(
                    plainFlags, "-Djava.class.path=" + String.join(java.io.File.pathSeparator, cp));
            jvmBase = flagsBase;
            if ((Boolean) flags[2]) {
              Path c =
                  work.resolve(
                      "cds-baseline-" + sc[0].hashCode() + (unsigned ? "-u" : "") + ".jsa");
              Path clientDir = Files.createDirectories(work.resolve("client-train"));
              Files.copy(repo.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
              train(
                  concat(flagsBase, "-Xlog:disable", "-XX:ArchiveClassesAtExit=" + c),
                  "client",
                  repo.toString(),
                  (String) sc[2],
                  clientDir.toString());
              deleteTree(clientDir);
              jvmBase = concat(flagsBase, "-Xlog:disable", "-XX:SharedArchiveFile=" + c);
            }
          }
          List<double[]> ours = new ArrayList<>();
          List<double[]> refs = new ArrayList<>();
          List<double[]> base = new ArrayList<>();
          for (int i = 0; i < runs; i++) {
            // rotate which goes first so that load drifts hit all alike
            int kinds = jvmBase == null ? 2 : 3;
            for (int k = 0; k < kinds; k++) {
              int kind = (i + k) % kinds;
              if (kind == 1) {
                refs.add(child(jvmRefs, "reference", repo.resolve("metadata").toString()));
                continue;
              }
              Path clientDir =
                  Files.createDirectories(work.resolve("client-" + sc[0].hashCode() + "-" + i));
              Files.copy(repo.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
              (kind == 0 ? ours : base)
                  .add(
                      child(
                          kind == 0 ? jvmOurs : jvmBase,
                          "client",
                          repo.toString(),
                          (String) sc[2],
                          clientDir.toString()));
              deleteTree(clientDir);
            }
          }
          double[] o = {median(ours, 0), median(ours, 2), median(ours, 3)};
          double[] r = {median(refs, 0), median(refs, 2), median(refs, 3)};
          System.out.printf(
              "%-22s %7.0f %7.0f %7.0f | %8.0f %7.0f %8.0f | %6.2f %6.2f %6.2f | %7.1f%n",
              sc[0],
              o[0],
              o[1],
              o[2],
              r[0],
              r[1],
              r[2],
              o[0] / r[0],
              o[1] / r[1],
              o[2] / r[2],
              median(ours, 1));
          if (jvmBase != null) {
            double[] b = {median(base, 0), median(base, 2), median(base, 3)};
            System.out.printf(
                "%-22s %7.0f %7.0f %7.0f | %8s %7s %8s | %6.2f %6.2f %6.2f | %7.1f%n",
                "  " + System.getProperty("baseline.name", "baseline"),
                b[0],
                b[1],
                b[2],
                "",
                "",
                "",
                b[0] / r[0],
                b[1] / r[1],
                b[2] / r[2],
                median(base, 1));
            System.out.printf(
                "%-22s %7.2f %7.2f %7.2f%n",
                "  this / baseline", o[0] / b[0], o[1] / b[1], o[2] / b[2]);
          }
        }
      }
      System.out.println("load average after: " + loadAverage());
    } finally {
      deleteTree(work);
    }
  }

  /**
   * Class path of another revision's signing classes to compare with (BASELINE=REV bench/run
   * tuf-refresh), or null.
   */
  private static final String BASELINE_CP = System.getProperty("baseline.cp");

  /** The JVM flags {@code /usr/bin/basaltctl} runs with on the image (image-builder README). */
  private static final List<String> IMAGE_FLAGS =
      List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:MaxRAMPercentage=25");

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
    for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
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

  /**
   * The class path with BouncyCastle's provider jar replaced by a copy without its signature files
   * ({@code META-INF/*.SF}, {@code *.RSA}, {@code *.DSA}, {@code *.EC}; every class byte for byte
   * the same). Measures what the JVM's check of that jar's signature costs at first use (and lets
   * AppCDS archive its classes, which it refuses for signed jars).
   */
  private static List<String> unsignedBouncyCastle(List<String> cp, Path work)
      throws java.io.IOException {
    List<String> out = new ArrayList<>();
    for (String e : cp) {
      if (!Path.of(e).getFileName().toString().startsWith("bcprov-")) {
        out.add(e);
        continue;
      }
      Path jar = work.resolve("unsigned-" + Path.of(e).getFileName());
      if (!Files.exists(jar)) {
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(Path.of(e)));
            var zos = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
          for (var entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
            String n = entry.getName();
            if (n.startsWith("META-INF/")
                && n.indexOf('/', 9) < 0
                && (n.endsWith(".SF")
                    || n.endsWith(".RSA")
                    || n.endsWith(".DSA")
                    || n.endsWith(".EC"))) {
              continue;
            }
            zos.putNextEntry(new java.util.zip.ZipEntry(n));
            in.transferTo(zos);
            zos.closeEntry();
          }
        }
      }
      out.add(jar.toString());
    }
    return out;
  }

  private static List<String> concat(List<String> a, String... more) {
    List<String> out = new ArrayList<>(a);
    out.addAll(List.of(more));
    return out;
  }

  private static void train(List<String> jvm, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    String cp = System.getProperty("java.class.path");
    for (String f : jvm) {
      if (f.startsWith("-Djava.class.path=")) {
        cp = f.substring("-Djava.class.path=".length());
      } else {
        cmd.add(f);
      }
    }
    cmd.addAll(List.of("-cp", cp, RefreshBench.class.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("training run failed: " + cmd + "\n" + out);
    }
  }

  /** Runs a child JVM; returns {main ms, peak heap MB, process CPU ms, wall ms of the process}. */
  private static double[] child(List<String> jvm, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    String cp = System.getProperty("java.class.path");
    for (String f : jvm) {
      if (f.startsWith("-Djava.class.path=")) {
        cp = f.substring("-Djava.class.path=".length());
      } else {
        cmd.add(f);
      }
    }
    cmd.addAll(List.of("-cp", cp, RefreshBench.class.getName()));
    cmd.addAll(List.of(args));
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
