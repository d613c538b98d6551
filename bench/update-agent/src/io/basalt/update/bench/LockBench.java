package io.basalt.update.bench;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Reboot-lock benchmark against a local etcd it starts itself. Figures (medians):
 * raw compare-and-swap (reference) vs uncontended lock+unlock; lock+unlock cycle latency and
 * throughput with 1 and 20 contenders (max 2); client memory vs a bare JVM.
 */
public final class LockBench {

  static final int REF_OPS = 400;
  static final int SOLO_CYCLES = 300;
  static final int CONTENDERS = 20;
  static final int CYCLES_EACH = 25;
  static final String JVM_FLAGS = "-Xmx24m -Xms4m -XX:+UseSerialGC -XX:MinHeapFreeRatio=10"
      + " -XX:MaxHeapFreeRatio=30 -Xss256k -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=16m";

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("basalt-bench-etcd-");
    int client = freePort();
    int peer = freePort();
    String ep = "http://127.0.0.1:" + client;
    Process etcd = new ProcessBuilder("etcd", "--name", "bench", "--data-dir", dir.resolve("d").toString(),
        "--listen-client-urls", ep, "--advertise-client-urls", ep,
        "--listen-peer-urls", "http://127.0.0.1:" + peer,
        "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
        "--initial-cluster", "bench=http://127.0.0.1:" + peer, "--log-level", "error")
        .redirectErrorStream(true).redirectOutput(new File(dir.toString(), "etcd.log")).start();
    try {
      EtcdClient c = EtcdClient.create(EtcdConfig.builder().endpoint(ep).build());
      waitReady(c);
      run(ep, c);
    } finally {
      etcd.destroyForcibly();
      etcd.waitFor(20, TimeUnit.SECONDS);
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  static RetryPolicy policy() {
    // agents poll a full lock every 1..30 s; here 5..60 ms so the run measures etcd, not sleeps
    return new RetryPolicy(Duration.ofMillis(2), Duration.ofMillis(100), Duration.ofSeconds(120),
        Duration.ofMillis(5), Duration.ofMillis(60));
  }

  static void run(String ep, EtcdClient c) throws Exception {
    System.out.printf("reboot-lock benchmark: etcd %s at %s, %d cores%n", etcdVersion(), ep,
        Runtime.getRuntime().availableProcessors());

    // warm-up (JIT, connections)
    RebootLock warm = new RebootLock(c, "warm", Clock.systemUTC(), policy());
    for (int i = 0; i < 200; i++) {
      warm.tryLock("w");
      warm.unlock("w");
    }

    // reference: one raw compare-and-swap transaction (the floor of any semaphore change)
    long[] ref = new long[REF_OPS];
    String key = "bench/raw";
    long rev = 0;
    for (int i = 0; i < REF_OPS; i++) {
      long t = System.nanoTime();
      EtcdClient.CasResult r = c.compareAndSwap(key, ("v" + i).getBytes(StandardCharsets.UTF_8), rev);
      ref[i] = System.nanoTime() - t;
      if (!r.succeeded()) {
        throw new IllegalStateException("reference CAS conflicted");
      }
      rev = r.revision();
    }
    double refMed = median(ref);

    // 1 contender: lock+unlock cycle
    RebootLock solo = new RebootLock(c, "solo", Clock.systemUTC(), policy());
    solo.setMax(2);
    long[] soloCycle = new long[SOLO_CYCLES];
    long t0 = System.nanoTime();
    for (int i = 0; i < SOLO_CYCLES; i++) {
      long t = System.nanoTime();
      solo.lock("solo", Duration.ofSeconds(30));
      solo.unlock("solo");
      soloCycle[i] = System.nanoTime() - t;
    }
    double soloSeconds = (System.nanoTime() - t0) / 1e9;
    double soloMed = median(soloCycle);
    double soloThroughput = SOLO_CYCLES / soloSeconds;

    // 20 contenders, max 2, each with its own client
    RebootLock admin = new RebootLock(c, "contended", Clock.systemUTC(), policy());
    admin.setMax(2);
    ExecutorService pool = Executors.newFixedThreadPool(CONTENDERS);
    List<Future<long[][]>> fs = new ArrayList<>();
    long t1 = System.nanoTime();
    for (int a = 0; a < CONTENDERS; a++) {
      String id = "contender-" + a;
      fs.add(pool.submit(() -> {
        RebootLock l = new RebootLock(EtcdClient.create(EtcdConfig.builder().endpoint(ep).build()),
            "contended", Clock.systemUTC(), policy());
        long[] lockLat = new long[CYCLES_EACH];
        long[] unlockLat = new long[CYCLES_EACH];
        for (int i = 0; i < CYCLES_EACH; i++) {
          long t = System.nanoTime();
          if (!l.lock(id, Duration.ofSeconds(120)).held()) {
            throw new IllegalStateException(id + " timed out");
          }
          long u = System.nanoTime();
          l.unlock(id);
          lockLat[i] = u - t;
          unlockLat[i] = System.nanoTime() - u;
        }
        return new long[][] {lockLat, unlockLat};
      }));
    }
    List<Long> lockAll = new ArrayList<>();
    List<Long> unlockAll = new ArrayList<>();
    for (Future<long[][]> f : fs) {
      long[][] r = f.get();
      Arrays.stream(r[0]).forEach(lockAll::add);
      Arrays.stream(r[1]).forEach(unlockAll::add);
    }
    double contSeconds = (System.nanoTime() - t1) / 1e9;
    pool.shutdown();
    int total = CONTENDERS * CYCLES_EACH;
    double contThroughput = total / contSeconds;
    long[] lockArr = lockAll.stream().mapToLong(Long::longValue).toArray();
    long[] unlockArr = unlockAll.stream().mapToLong(Long::longValue).toArray();

    System.out.printf("reference raw CAS txn (1 client, %d ops):        median %.2f ms%n", REF_OPS, refMed / 1e6);
    System.out.printf("lock+unlock, 1 contender (%d cycles):            median %.2f ms  = %.2f x raw CAS (a cycle is 2 reads + 2 CAS)%n",
        SOLO_CYCLES, soloMed / 1e6, soloMed / refMed);
    System.out.printf("throughput, 1 contender:                         %.0f lock+unlock/s%n", soloThroughput);
    System.out.printf("20 contenders, max 2 (%d cycles): lock wait      median %.1f ms, p90 %.1f ms, p99 %.1f ms%n",
        total, median(lockArr) / 1e6, pct(lockArr, 0.90) / 1e6, pct(lockArr, 0.99) / 1e6);
    System.out.printf("20 contenders: unlock                           median %.2f ms = %.2f x raw CAS%n",
        median(unlockArr) / 1e6, median(unlockArr) / refMed);
    System.out.printf("throughput, 20 contenders:                       %.0f lock+unlock/s = %.2f x 1 contender%n",
        contThroughput, contThroughput / soloThroughput);

    long[] base = probe(ep, "baseline");
    long[] jackson = probe(ep, "jackson");
    long[] cli = probe(ep, "client");
    System.out.printf("memory, idle child JVM (%s), median of 3:%n", JVM_FLAGS);
    System.out.printf("  bare JVM:                         RSS %.1f MB, heap in use %.1f MB%n",
        base[0] / 1024.0, base[1] / 1048576.0);
    System.out.printf("  JVM + Jackson (reference; the agent needs it for TUF anyway): RSS %.1f MB, heap %.1f MB%n",
        jackson[0] / 1024.0, jackson[1] / 1048576.0);
    System.out.printf("  JVM + etcd client + lock (after 200 cycles): RSS %.1f MB, heap %.1f MB = %.2f x reference RSS"
            + " (client: +%.1f MB RSS, +%.1f MB heap)%n",
        cli[0] / 1024.0, cli[1] / 1048576.0, (double) cli[0] / jackson[0],
        (cli[0] - jackson[0]) / 1024.0, (cli[1] - jackson[1]) / 1048576.0);
  }

  /** Median over three child JVM runs of {RSS kB, heap bytes}. */
  static long[] probe(String ep, String mode) throws Exception {
    long[] rss = new long[3];
    long[] heap = new long[3];
    for (int i = 0; i < 3; i++) {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(List.of(JVM_FLAGS.split(" ")));
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), MemoryProbe.class.getName(), mode, ep));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("memory probe failed: " + out);
      }
      String[] f = out.split("\\s+");
      rss[i] = Long.parseLong(f[0]);
      heap[i] = Long.parseLong(f[1]);
    }
    return new long[] {(long) median(rss), (long) median(heap)};
  }

  static String etcdVersion() {
    try {
      Process p = new ProcessBuilder("etcd", "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor();
      return out.lines().findFirst().orElse("?").replace("etcd Version: ", "");
    } catch (IOException | InterruptedException e) {
      return "?";
    }
  }

  static void waitReady(EtcdClient c) throws Exception {
    for (int i = 0; i < 300; i++) {
      try {
        c.currentRevision("bench/ready");
        return;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new IOException("etcd did not start");
  }

  static double median(long[] xs) {
    return pct(xs, 0.5);
  }

  static double pct(long[] xs, double q) {
    long[] s = xs.clone();
    Arrays.sort(s);
    if (q == 0.5 && s.length % 2 == 0) {
      return (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }
    return s[Math.min(s.length - 1, (int) Math.floor(q * s.length))];
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private LockBench() {}
}
