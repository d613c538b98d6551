package io.basalt.image.squashfs;

import io.basalt.image.tree.FileTree;
import io.basalt.image.usr.UsrAssembler;
import io.basalt.image.verity.VerityChannel;
import io.basalt.image.verity.VerityResult;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Benchmark (not a test): one run of the build's "usr squashfs" stage in a fresh JVM, the way
 * {@code basalt build} runs it: the {@code /usr} of a base tree tar read in place by {@link
 * FileTree#readTar}, written by {@link SquashfsWriter#writeSeekable} through a {@link
 * VerityChannel} (dm-verity block digests made while writing), then the hash tree appended. Prints
 * the wall time of the stage, and the CPU time of the process (without the sampling thread's own)
 * and of each thread group (from /proc/self/task, sampled every 100 ms since the pool threads end
 * with the writer) spent during it, so a script can alternate it with mksquashfs on the same tree.
 * Run with bench/run squashfs-stage. Arguments: tar, output image, zstd level [, threads (default:
 * all processors)].
 */
public final class SquashfsStageBench {
  private SquashfsStageBench() {}

  /**
   * "tid name" → nanoseconds spent runnable but waiting for a CPU (schedstat field 2), highest
   * seen.
   */
  private static final Map<String, Long> WAIT = new java.util.concurrent.ConcurrentHashMap<>();

  public static void main(String[] args) throws Exception {
    Path tar = Path.of(args[0]);
    Path out = Path.of(args[1]);
    int level = Integer.parseInt(args[2]);
    long epoch = 1700000000L;
    FileTree usr = UsrAssembler.usrTree(FileTree.readTar(tar));
    SquashfsOptions.Builder ob =
        SquashfsOptions.builder()
            .compression(SquashfsCompression.ZSTD)
            .level(level)
            .mtime(epoch)
            .keepEntryMtimes(true);
    if (args.length > 3) {
      ob.threads(Integer.parseInt(args[3]));
    }
    SquashfsOptions o = ob.build();
    long switches0 = voluntarySwitches();
    Map<String, Long> before = threadTicks();
    Map<String, Long> waitBefore = new TreeMap<>(WAIT);
    // Pool threads end when the writer closes: sample every thread's CPU time while it runs.
    Map<String, Long> seen = new java.util.concurrent.ConcurrentHashMap<>();
    Thread sampler =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  threadTicks().forEach((k, v) -> seen.merge(k, v, Math::max));
                  Thread.sleep(100);
                } catch (IOException e) {
                  // ignore a torn read
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "bench-sampler");
    sampler.setDaemon(true);
    sampler.start();
    long cpu0 = processTicks();
    long t0 = System.nanoTime();
    long size;
    String root;
    try (FileChannel file =
        FileChannel.open(
            out,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      VerityChannel ch = VerityChannel.fromSeed(file, "bench");
      size = new SquashfsWriter(o).writeSeekable(usr, ch).imageSize();
      long t1 = System.nanoTime();
      VerityResult r = ch.appendHashTree();
      root = r.rootHashHex();
      System.out.printf(Locale.ROOT, "squashfs %.3f s%n", (t1 - t0) / 1e9);
    }
    long t2 = System.nanoTime();
    long cpu1 = processTicks();
    sampler.interrupt();
    sampler.join();
    Map<String, Long> after = new TreeMap<>(seen);
    threadTicks().forEach((k, v) -> after.merge(k, v, Math::max));
    double hz = 100.0; // USER_HZ on Linux
    // the process's CPU time without the sampler's own
    long samplerTicks = 0;
    for (Map.Entry<String, Long> e : after.entrySet()) {
      if (e.getKey().endsWith(" bench-sampler")) {
        samplerTicks += e.getValue() - before.getOrDefault(e.getKey(), 0L);
      }
    }
    System.out.printf(
        Locale.ROOT,
        "stage %.3f s wall, %.2f s cpu, image %d bytes, root %s%n",
        (t2 - t0) / 1e9,
        (cpu1 - cpu0 - samplerTicks) / hz,
        size,
        root);
    System.out.printf(
        Locale.ROOT,
        "  writing thread: %d voluntary context switches%n",
        voluntarySwitches() - switches0);
    Map<String, Long> groups = new TreeMap<>();
    Map<String, Long> waits = new TreeMap<>();
    WAIT.forEach(
        (k, v) -> {
          String g = k.substring(k.indexOf(' ') + 1).replaceAll("[#-]?\\d+$", "");
          waits.merge(g, v - waitBefore.getOrDefault(k, 0L), Long::sum);
        });
    after.forEach(
        (k, v) -> {
          long d = v - before.getOrDefault(k, 0L);
          String g = k.substring(k.indexOf(' ') + 1).replaceAll("[#-]?\\d+$", "");
          groups.merge(g, d, Long::sum);
        });
    groups.forEach(
        (g, d) -> {
          if (d > 0 && !g.equals("bench-sampler")) {
            System.out.printf(
                Locale.ROOT,
                "  thread %-24s %6.2f s cpu %6.2f s runnable waiting for a cpu%n",
                g,
                d / hz,
                waits.getOrDefault(g, 0L) / 1e9);
          }
        });
  }

  /** Voluntary context switches (sleeps) of the calling thread so far. */
  private static long voluntarySwitches() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
      if (line.startsWith("voluntary_ctxt_switches:")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    return -1;
  }

  /** utime + stime of the whole process, in clock ticks. */
  private static long processTicks() throws IOException {
    return ticks(Files.readString(Path.of("/proc/self/stat")));
  }

  /** "tid name" → utime + stime in clock ticks, for every thread alive now. */
  private static Map<String, Long> threadTicks() throws IOException {
    Map<String, Long> m = new TreeMap<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path t : ds) {
        try {
          String stat = Files.readString(t.resolve("stat"));
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          m.put(t.getFileName() + " " + name, ticks(stat));
          String[] ss = Files.readString(t.resolve("schedstat")).trim().split(" ");
          WAIT.merge(t.getFileName() + " " + name, Long.parseLong(ss[1]), Math::max);
        } catch (IOException e) {
          // the thread ended meanwhile
        }
      }
    }
    return m;
  }

  private static long ticks(String stat) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields after "(comm) ": state(0) ... utime is field 14 of stat, i.e. index 11 here; stime 12
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }
}
