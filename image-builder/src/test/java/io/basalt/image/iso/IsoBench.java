package io.basalt.image.iso;

import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.DirectoryTreeReader;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

/**
 * Benchmark (not a test): writes an ISO of the same files with our writer and with {@code xorriso
 * -as mkisofs} (Joliet, El Torito EFI image {@code basalt/esp.img}) in one run, alternating, and
 * prints wall times (median), sizes and the ratio. The files are those of a build's ISO, extracted
 * with osirrox. Run with bench/run iso BUILD_DIR [RUNS].
 */
public final class IsoBench {
  private IsoBench() {}

  public static void main(String[] args) throws Exception {
    Path build = Path.of(args[0]);
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path iso;
    try (Stream<Path> s = Files.list(build)) {
      iso =
          s.filter(p -> p.getFileName().toString().endsWith(".iso"))
              .findFirst()
              .orElseThrow(() -> new IllegalArgumentException(build + ": no *.iso"));
    }
    Path work = Files.createTempDirectory("iso-bench-");
    try {
      Path root = work.resolve("root");
      HostTool.ok(600, "osirrox", "-indev", iso.toString(), "-extract", "/", root.toString());
      HostTool.ok(60, "chmod", "-R", "u+w", root.toString());
      FileTree tree = DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.NONE).read(root);
      long bytes = 0;
      for (TreeEntry e : tree) {
        bytes += e.isDirectory() ? 0 : e.content().size();
      }
      System.out.printf(
          "input: %s extracted to %s: %d entries, %d bytes%n", iso, root, tree.size(), bytes);
      List<String> xorriso =
          List.of(
              "xorriso",
              "-as",
              "mkisofs",
              "-quiet",
              "-o",
              work.resolve("xorriso.iso").toString(),
              "-J",
              "-V",
              "BASALT",
              "-e",
              "basalt/esp.img",
              "-no-emul-boot",
              root.toString());
      System.out.println("xorriso: " + String.join(" ", xorriso));
      IsoWriter ours =
          IsoWriter.builder()
              .volumeId("BASALT")
              .sourceDateEpoch(1_700_000_000L)
              .efiBootImage("/basalt/esp.img")
              .hybridGpt("bench iso", "EFI-SYSTEM")
              .build();
      List<Double> tx = new ArrayList<>();
      List<Double> to = new ArrayList<>();
      long sx = 0;
      long so = 0;
      for (int i = 0; i <= runs; i++) {
        Files.deleteIfExists(work.resolve("xorriso.iso"));
        long t0 = System.nanoTime();
        HostTool.ok(600, xorriso.toArray(new String[0]));
        double a = (System.nanoTime() - t0) / 1e9;
        sx = Files.size(work.resolve("xorriso.iso"));

        Path out = work.resolve("ours.iso");
        Files.deleteIfExists(out);
        t0 = System.nanoTime();
        try (SeekableByteChannel ch =
            Files.newByteChannel(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          so = ours.write(tree, ch).sizeBytes();
        }
        double b = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            "%s %d: xorriso %.2f s, ours %.2f s%n", i == 0 ? "warm-up" : "run", i, a, b);
        if (i > 0) {
          tx.add(a);
          to.add(b);
        }
      }
      double mx = median(tx);
      double mo = median(to);
      System.out.printf(
          "median wall time: xorriso %.2f s, ours %.2f s, ratio ours/xorriso %.3f%n",
          mx, mo, mo / mx);
      System.out.printf(
          "size: xorriso %d bytes, ours %d bytes (ours adds the GPT and 300 KiB padding)%n",
          sx, so);
    } finally {
      HostTool.run(60, "rm", "-rf", work.toString());
    }
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
