package io.basalt.image.squashfs;

import io.basalt.image.tree.FileTree;
import io.basalt.image.usr.UsrAssembler;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Benchmark (not a test): one /usr squashfs write in a fresh JVM, the way {@code basalt build}
 * writes it, with or without a block cache: the {@code /usr} of a base tree tar read in place, zstd
 * at the given level, 128 KiB blocks, every processor; the cache bounded (evicted) at the end, as
 * the build does. Prints the wall time of the write (eviction included), the process CPU time and
 * the cache figures, for bench/image-builder/block-cache.sh. Arguments: tar, output image, level,
 * cache folder or "none".
 */
public final class BlockCacheBench {
  private BlockCacheBench() {}

  public static void main(String[] args) throws Exception {
    Path tar = Path.of(args[0]);
    Path out = Path.of(args[1]);
    int level = Integer.parseInt(args[2]);
    BlockCache cache =
        args[3].equals("none")
            ? null
            : new BlockCache(Path.of(args[3]), BlockCache.DEFAULT_MAX_BYTES);
    // as the base tree cache does for its tars (once per tar; not timed, like the bootstrap)
    FileTree.indexTar(tar);
    FileTree usr = UsrAssembler.usrTree(FileTree.readTar(tar));
    SquashfsOptions o =
        SquashfsOptions.builder()
            .compression(SquashfsCompression.ZSTD)
            .level(level)
            .mtime(1700000000L)
            .keepEntryMtimes(true)
            .build();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    long size;
    try (FileChannel file =
        FileChannel.open(
            out,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      size = new SquashfsWriter(o, cache).writeSeekable(usr, file).imageSize();
    }
    if (cache != null) {
      cache.close();
    }
    long t1 = System.nanoTime();
    long cpu1 = os.getProcessCpuTime();
    System.out.printf(
        Locale.ROOT,
        "write %.3f s wall, %.2f s cpu, image %d bytes, cache %s%n",
        (t1 - t0) / 1e9,
        (cpu1 - cpu0) / 1e9,
        size,
        cache == null ? "none" : cache.stats());
  }
}
