package io.basalt.image.squashfs;

import io.basalt.image.testfixtures.DebianMinbase;
import io.basalt.image.tree.DirectoryTreeReader;
import io.basalt.image.tree.FileTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Benchmark (not a test): builds a squashfs of the Debian minbase root with our writer and with
 * mksquashfs (same compressor, level, block size and processor count) in one run, alternating, and
 * prints wall times (median), sizes and the two ratios. Run with bench/run squashfs. Arguments:
 * [repetitions (5)] [compression zstd|xz|gzip] [level] [threads].
 */
public final class SquashfsBench {
  private SquashfsBench() {}

  public static void main(String[] args) throws Exception {
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    SquashfsCompression comp =
        args.length > 1
            ? SquashfsCompression.valueOf(args[1].toUpperCase(Locale.ROOT))
            : SquashfsCompression.ZSTD;
    int level = args.length > 2 ? Integer.parseInt(args[2]) : comp.defaultLevel();
    int threads =
        args.length > 3 ? Integer.parseInt(args[3]) : Runtime.getRuntime().availableProcessors();
    int block = 128 * 1024;
    long mtime = 1735689600L;

    Path work = Files.createTempDirectory("squashfs-bench-");
    Path root = work.resolve("root");
    Files.createDirectories(root);
    try {
      Path tar = DebianMinbase.tar();
      Oracle.run(
          null,
          "tar",
          "--xattrs",
          "--xattrs-include=*",
          "--numeric-owner",
          "-xpf",
          tar.toString(),
          "-C",
          root.toString());
      System.out.printf(
          "input: %s extracted to %s (%s)%n",
          tar.getFileName(),
          root,
          Oracle.runText(null, "du", "-sh", "--apparent-size", root.toString()).split("\\s")[0]);
      List<String> mk =
          new ArrayList<>(
              List.of(
                  "mksquashfs",
                  root.toString(),
                  work.resolve("mk.sqfs").toString(),
                  "-noappend",
                  "-quiet",
                  "-no-progress",
                  "-b",
                  Integer.toString(block),
                  "-processors",
                  Integer.toString(threads),
                  "-mkfs-time",
                  Long.toString(mtime),
                  "-all-time",
                  Long.toString(mtime)));
      switch (comp) {
        case ZSTD:
          mk.addAll(List.of("-comp", "zstd", "-Xcompression-level", Integer.toString(level)));
          break;
        case GZIP:
          mk.addAll(List.of("-comp", "gzip", "-Xcompression-level", Integer.toString(level)));
          break;
        case XZ:
          mk.addAll(List.of("-comp", "xz"));
          break;
        default:
          throw new IllegalArgumentException();
      }
      SquashfsOptions opts =
          SquashfsOptions.builder()
              .compression(comp)
              .level(level)
              .blockSize(block)
              .threads(threads)
              .mtime(mtime)
              .build();
      System.out.printf(
          "settings: %s, %d repetitions (+1 warm-up each), alternating%n", opts, reps);
      System.out.println("mksquashfs: " + String.join(" ", mk));

      List<Double> tMk = new ArrayList<>();
      List<Double> tOurs = new ArrayList<>();
      List<Double> cMk = new ArrayList<>();
      List<Double> cOurs = new ArrayList<>();
      com.sun.management.OperatingSystemMXBean cpu =
          (com.sun.management.OperatingSystemMXBean)
              java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      long sizeMk = 0;
      long sizeOurs = 0;
      for (int i = 0; i <= reps; i++) {
        long t0 = System.nanoTime();
        List<String> timed = new ArrayList<>(List.of("bash", "-c", "\"$@\" && times", "bash"));
        timed.addAll(mk);
        String[] times = Oracle.runText(null, timed.toArray(new String[0])).strip().split("\n");
        double a = (System.nanoTime() - t0) / 1e9;
        double aCpu = bashTimes(times[times.length - 1]);
        sizeMk = Files.size(work.resolve("mk.sqfs"));

        t0 = System.nanoTime();
        long c0 = cpu.getProcessCpuTime();
        FileTree tree = DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.GETFATTR).read(root);
        SquashfsResult r = Images.write(new SquashfsWriter(opts), tree, work.resolve("ours.sqfs"));
        double b = (System.nanoTime() - t0) / 1e9;
        double bCpu = (cpu.getProcessCpuTime() - c0) / 1e9;
        sizeOurs = r.imageSize();
        System.out.printf(
            "%s %d: mksquashfs %.2f s wall / %.2f s cpu, ours %.2f s wall / %.2f s cpu (load %.1f)%n",
            i == 0 ? "warm-up" : "run", i, a, aCpu, b, bCpu, cpu.getSystemLoadAverage());
        if (i > 0) {
          tMk.add(a);
          tOurs.add(b);
          cMk.add(aCpu);
          cOurs.add(bCpu);
        }
      }
      double mMk = median(tMk);
      double mOurs = median(tOurs);
      System.out.printf(
          "median wall time: mksquashfs %.2f s, ours %.2f s, ratio ours/mksquashfs %.3f%n",
          mMk, mOurs, mOurs / mMk);
      System.out.printf(
          "median cpu time (user+sys): mksquashfs %.2f s, ours %.2f s, ratio ours/mksquashfs %.3f%n",
          median(cMk), median(cOurs), median(cOurs) / median(cMk));
      System.out.printf(
          "size: mksquashfs %d bytes, ours %d bytes, ratio ours/mksquashfs %.4f%n",
          sizeMk, sizeOurs, (double) sizeOurs / sizeMk);
    } finally {
      Oracle.deleteTree(work);
    }
  }

  /** Sums the children's user and system times of bash's {@code times} line ("0m1.5s 0m0.2s"). */
  private static double bashTimes(String line) {
    double sum = 0;
    for (String f : line.trim().split("\\s+")) {
      int m = f.indexOf('m');
      sum +=
          Double.parseDouble(f.substring(0, m)) * 60
              + Double.parseDouble(f.substring(m + 1, f.length() - 1));
    }
    return sum;
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
