package io.basalt.update.bench;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.lock.Semaphore;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Reboot lock under faults: AGENTS lock clients (threads, each with its own etcd client and the
 * real RebootLock with a lease) on a throw-away etcd, max 2 holders. Live holders hold 0.3-2 s
 * (some longer than the lease) renewing every third of the lease, then unlock; DEATHS holders die
 * holding the lock, spread over the run (their thread stops renewing and comes back later as a
 * new machine id). etcd is
 * killed (SIGKILL) and restarted twice. A sampler reads the holders every 100 ms. Prints the
 * longest wedge (a dead holder's last renewal to its release) against the lease, the most holders
 * ever seen, and the completed lock/unlock cycles. Environment: LEASE (s, 5), SECONDS (run, 60),
 * AGENTS (10), DEATHS (6), SEED (1).
 */
public final class LockFaults {

  static final int MAX = 2;
  static final String GROUP = "faults";

  static int env(String name, int dflt) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? dflt : Integer.parseInt(v);
  }

  static final Duration LEASE = Duration.ofSeconds(env("LEASE", 5));
  static final Duration RUN = Duration.ofSeconds(env("SECONDS", 60));
  static final int AGENTS = env("AGENTS", 10);
  static final int DEATHS = env("DEATHS", 6);
  static final long SEED = env("SEED", 1);

  final Path dir;
  final int clientPort;
  final int peerPort;
  final String ep;
  volatile Process etcd;

  final long t0 = System.nanoTime();
  volatile boolean stop;
  final AtomicInteger deathsLeft = new AtomicInteger(DEATHS);
  /** Deaths are spread over the run (one per RUN / (DEATHS + 1)), some across etcd restarts. */
  final AtomicLong nextDeathMs = new AtomicLong(RUN.toMillis() / (DEATHS + 1));
  final AtomicLong cycles = new AtomicLong();
  final AtomicInteger lockErrors = new AtomicInteger();
  /** dead holder id -> its last successful renewal (lock or renew call start). */
  final Map<String, Instant> dead = new ConcurrentHashMap<>();
  /** ids that are alive and believe they hold the lock. */
  final Map<String, Boolean> liveHolding = new ConcurrentHashMap<>();
  final List<Long> wedgesMs = new CopyOnWriteArrayList<>();
  final List<String> wrongReleases = new CopyOnWriteArrayList<>();
  final List<String> events = new CopyOnWriteArrayList<>();
  final AtomicInteger maxSeen = new AtomicInteger();
  final AtomicInteger maxBelieved = new AtomicInteger();
  final AtomicInteger samples = new AtomicInteger();
  final AtomicInteger samplesMissed = new AtomicInteger();

  LockFaults(Path dir) throws IOException {
    this.dir = dir;
    this.clientPort = LockBench.freePort();
    this.peerPort = LockBench.freePort();
    this.ep = "http://127.0.0.1:" + clientPort;
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("basalt-lock-faults-");
    LockFaults f = new LockFaults(dir);
    try {
      f.startEtcd();
      f.run();
    } finally {
      f.stop = true;
      f.killEtcd();
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  void startEtcd() throws Exception {
    etcd =
        new ProcessBuilder(
                "etcd", "--name", "faults", "--data-dir", dir.resolve("d").toString(),
                "--listen-client-urls", ep, "--advertise-client-urls", ep,
                "--listen-peer-urls", "http://127.0.0.1:" + peerPort,
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
                "--initial-cluster", "faults=http://127.0.0.1:" + peerPort,
                "--log-level", "error")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(new File(dir.toString(), "etcd.log")))
            .start();
    LockBench.waitReady(client());
  }

  void killEtcd() throws InterruptedException {
    Process p = etcd;
    if (p != null) {
      p.destroyForcibly(); // SIGKILL
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  EtcdClient client() throws IOException {
    return EtcdClient.create(
        EtcdConfig.builder().endpoint(ep).requestTimeout(Duration.ofSeconds(1)).build());
  }

  static RetryPolicy policy() {
    return new RetryPolicy(
        Duration.ofMillis(5), Duration.ofMillis(200), Duration.ofSeconds(10),
        Duration.ofMillis(100), Duration.ofMillis(300));
  }

  double now() {
    return (System.nanoTime() - t0) / 1e9;
  }

  RebootLock lock(EtcdClient c) {
    return new RebootLock(c, GROUP, Clock.systemUTC(), policy(), LEASE, this::released);
  }

  /** A contender's log line: "... released stale holder ID (...)". */
  void released(String line) {
    Instant at = Instant.now();
    String id = line.replaceAll(".*stale holder (\\S+) .*", "$1");
    Instant last = dead.remove(id);
    if (last == null) {
      wrongReleases.add(line);
      return;
    }
    long ms = Duration.between(last, at).toMillis();
    wedgesMs.add(ms);
    events.add(String.format("%6.1f s  %s released after %.1f s without renewal", now(), id,
        ms / 1000.0));
  }

  void run() throws Exception {
    lock(client()).setMax(MAX);
    System.out.printf(
        "lock-faults: etcd %s at %s; %d agents, max %d, lease %s, %d s run, %d deaths, "
            + "2 etcd restarts; %d cores%n",
        LockBench.etcdVersion(), ep, AGENTS, MAX, LEASE.toSeconds() + " s", RUN.toSeconds(),
        DEATHS, Runtime.getRuntime().availableProcessors());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < AGENTS; i++) {
      int n = i;
      Thread t = new Thread(() -> agent(n), "agent-" + i);
      t.start();
      threads.add(t);
    }
    Thread sampler = new Thread(this::sampler, "sampler");
    sampler.start();
    threads.add(sampler);
    long runMs = RUN.toMillis();
    for (int r = 1; r <= 2; r++) {
      sleepUntil(runMs * r / 3);
      killEtcd();
      events.add(String.format("%6.1f s  etcd killed (SIGKILL)", now()));
      Thread.sleep(1000);
      startEtcd();
      events.add(String.format("%6.1f s  etcd restarted", now()));
    }
    sleepUntil(runMs);
    stop = true;
    for (Thread t : threads) {
      t.join(30_000);
    }
    report();
  }

  void sleepUntil(long ms) throws InterruptedException {
    long left = ms - (System.nanoTime() - t0) / 1_000_000;
    if (left > 0) {
      Thread.sleep(left);
    }
  }

  void sampler() {
    try {
      RebootLock l = lock(client());
      while (!stop) {
        long next = System.nanoTime() + 100_000_000L;
        try {
          Semaphore s = l.status().semaphore();
          samples.incrementAndGet();
          maxSeen.accumulateAndGet(s.holders().size(), Math::max);
        } catch (IOException e) {
          samplesMissed.incrementAndGet();
        }
        long left = next - System.nanoTime();
        if (left > 0) {
          Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
      }
    } catch (Exception e) {
      events.add("sampler stopped: " + e);
    }
  }

  void agent(int n) {
    Random rnd = new Random(SEED * 1000 + n);
    int incarnation = 0;
    try {
      EtcdClient c = client();
      RebootLock l = lock(c);
      while (!stop) {
        String id = "agent-" + n + (incarnation == 0 ? "" : "-r" + incarnation);
        Instant asked = Instant.now();
        RebootLock.LockResult r;
        try {
          r = l.tryLock(id);
        } catch (IOException e) {
          lockErrors.incrementAndGet();
          Thread.sleep(200);
          continue;
        }
        if (!r.held()) {
          Thread.sleep(150 + rnd.nextInt(100));
          continue;
        }
        liveHolding.put(id, true);
        maxBelieved.accumulateAndGet(liveHolding.size() + dead.size(), Math::max);
        Instant lastRenewal = asked;
        long due = nextDeathMs.get();
        if ((System.nanoTime() - t0) / 1_000_000 >= due
            && deathsLeft.get() > 0
            && nextDeathMs.compareAndSet(due, due + RUN.toMillis() / (DEATHS + 1))) {
          deathsLeft.decrementAndGet();
          // dies holding the lock: no unlock, no renewal; back later as a new machine
          liveHolding.remove(id);
          dead.put(id, lastRenewal);
          events.add(String.format("%6.1f s  %s dies holding the lock", now(), id));
          incarnation++;
          Thread.sleep(LEASE.toMillis() * 2);
          continue;
        }
        // live: hold 0.3-2 s, one in five for 1.5 leases; renew every third of the lease
        long holdMs =
            rnd.nextInt(5) == 0 ? LEASE.toMillis() * 3 / 2 : 300 + rnd.nextInt(1700);
        long end = System.currentTimeMillis() + holdMs;
        long renewEvery = LEASE.toMillis() / 3;
        while (System.currentTimeMillis() < end && !stop) {
          Thread.sleep(Math.min(renewEvery, Math.max(1, end - System.currentTimeMillis())));
          if (System.currentTimeMillis() - lastRenewal.toEpochMilli() >= renewEvery) {
            Instant before = Instant.now();
            try {
              if (!l.renew(id)) {
                wrongReleases.add(id + " lost its hold while renewing");
                break;
              }
              lastRenewal = before;
            } catch (IOException e) {
              lockErrors.incrementAndGet();
            }
          }
        }
        liveHolding.remove(id);
        while (true) {
          try {
            l.unlock(id);
            break;
          } catch (IOException e) {
            lockErrors.incrementAndGet();
            Thread.sleep(200);
          }
        }
        cycles.incrementAndGet();
        Thread.sleep(100 + rnd.nextInt(400));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      events.add("agent-" + n + " stopped: " + e);
    }
  }

  void report() {
    System.out.println();
    for (String e : events) {
      System.out.println(e);
    }
    System.out.println();
    long[] w = wedgesMs.stream().mapToLong(Long::longValue).sorted().toArray();
    long lease = LEASE.toMillis();
    if (w.length > 0) {
      System.out.printf(
          "longest wedge:            %.1f s (lease %.1f s, ratio %.2f); median %.1f s over %d"
              + " dead holders%n",
          w[w.length - 1] / 1000.0, lease / 1000.0, (double) w[w.length - 1] / lease,
          w[w.length / 2] / 1000.0, w.length);
    } else {
      System.out.println("longest wedge:            no dead holder was released");
    }
    System.out.printf("dead holders never freed: %d %s%n", dead.size(), dead.keySet());
    System.out.printf(
        "max holders ever seen:    %d (limit %d; %d samples, one per 100 ms while etcd answers,"
            + " %d failed); agents' own view %d%n",
        maxSeen.get(), MAX, samples.get(), samplesMissed.get(), maxBelieved.get());
    System.out.printf("live holders released:    %d %s%n", wrongReleases.size(), wrongReleases);
    System.out.printf(
        "completed cycles:         %d lock/unlock in %d s (%d lock-call errors, retried)%n",
        cycles.get(), RUN.toSeconds(), lockErrors.get());
    boolean ok =
        maxSeen.get() <= MAX
            && maxBelieved.get() <= MAX
            && wrongReleases.isEmpty()
            && dead.isEmpty()
            && w.length > 0;
    System.out.println(ok ? "result:                   PASS" : "result:                   FAIL");
    if (!ok) {
      System.exit(1);
    }
  }
}
