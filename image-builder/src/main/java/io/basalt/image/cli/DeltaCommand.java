package io.basalt.image.cli;

import io.basalt.host.ChunkIndex;
import io.basalt.host.Chunker;
import io.basalt.host.DeltaPlan;
import io.basalt.host.UpdatePayload;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code basalt delta plan --from OLD_USR_IMG --to NEW_BUILD_DIR [--json]}: what a machine running
 * the old {@code usr.img} would download to reach the new build through the chunk index: the new
 * image is indexed with the default {@link Chunker} (as {@code basalt repo publish} does), the old
 * one is cut with the same parameters (as the agent cuts its running slot), and {@link DeltaPlan}
 * answers, with the dm-verity hash area rebuilt rather than fetched as the agent does. Not
 * thread-safe; one instance per invocation.
 */
@Command(
    name = "delta",
    mixinStandardHelpOptions = true,
    description = "Delta update planning (the chunk index of usr.img).",
    subcommands = {DeltaCommand.Plan.class})
final class DeltaCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: plan");
  }

  /**
   * Where a USR image's verity hash area starts, from its length (the builder's layout), or the
   * length itself when it is not such an image (then it is cut as one region).
   */
  static long hashOffset(Path img) throws IOException {
    long size = Files.size(img);
    long h = ChunkIndex.Verity.hashOffsetOf(size);
    return h < 0 ? size : h;
  }

  /** {@code basalt delta plan}. */
  @Command(
      name = "plan",
      mixinStandardHelpOptions = true,
      description = {
        "Print the bytes a machine running OLD_USR_IMG would fetch (and reuse) to update to the"
            + " build in NEW_BUILD_DIR: the missing chunks plus the chunk index itself.",
        "Exit codes: 0 planned, 1 I/O error, 2 usage or a missing file."
      })
  static final class Plan implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--from",
        required = true,
        paramLabel = "OLD_USR_IMG",
        description = "the running version's usr.img (or a slot device)")
    Path from;

    @Option(
        names = "--to",
        required = true,
        paramLabel = "NEW_BUILD_DIR",
        description = "the new build's output folder (its usr.img), or a usr.img")
    Path to;

    @Option(names = "--json", description = "print one JSON object on stdout")
    boolean json;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path newImg = Files.isDirectory(to) ? to.resolve(UpdatePayload.USR_IMG) : to;
      try {
        for (Path p : new Path[] {from, newImg}) {
          if (!Files.exists(p)) {
            throw new NoSuchFileException(p.toString(), null, "no such file");
          }
        }
        ChunkIndex target;
        try (InputStream in = Files.newInputStream(newImg)) {
          target =
              ChunkIndex.ofImage(
                  UpdatePayload.USR_IMG, Chunker.DEFAULT, in, hashOffset(newImg), null);
        }
        Set<String> present = new HashSet<>();
        try (InputStream in = Files.newInputStream(from)) {
          ChunkIndex.ofImage(
              UpdatePayload.USR_IMG,
              target.chunker(),
              in,
              hashOffset(from),
              (c, buf, off) -> present.add(c.sha256()));
        }
        // the agent rebuilds the verity hash area with veritysetup when the index describes it
        DeltaPlan plan = DeltaPlan.of(target, present, true);
        long indexBytes = target.toGzip().length;
        if (json) {
          out.printf(
              Locale.ROOT,
              "{\"fetch_bytes\": %d, \"reuse_bytes\": %d, \"total_bytes\": %d,"
                  + " \"rebuild_bytes\": %d,"
                  + " \"index_bytes\": %d, \"fetch_chunks\": %d, \"total_chunks\": %d,"
                  + " \"chunker\": {\"min\": %d, \"avg\": %d, \"max\": %d}}%n",
              plan.fetchBytes(),
              plan.reuseBytes(),
              plan.totalBytes(),
              plan.rebuildBytes(),
              indexBytes,
              plan.fetchChunks(),
              target.chunks().size(),
              target.chunker().min(),
              target.chunker().avg(),
              target.chunker().max());
        } else {
          out.printf(
              Locale.ROOT,
              "fetch   %,d bytes in %d of %d chunks (%.3f %% of %s)%n"
                  + "reuse   %,d bytes from %s%n"
                  + "rebuild %,d bytes (dm-verity superblock and hash tree, veritysetup format)%n"
                  + "index   %,d bytes (%s)%n"
                  + "total   %,d bytes to download (%.3f %% of the full %,d-byte payload)%n",
              plan.fetchBytes(),
              plan.fetchChunks(),
              target.chunks().size(),
              100.0 * plan.fetchBytes() / Math.max(1, plan.totalBytes()),
              newImg,
              plan.reuseBytes(),
              from,
              plan.rebuildBytes(),
              indexBytes,
              ChunkIndex.indexName(UpdatePayload.USR_IMG),
              plan.fetchBytes() + indexBytes,
              100.0 * (plan.fetchBytes() + indexBytes) / Math.max(1, plan.totalBytes()),
              plan.totalBytes());
        }
        out.flush();
        return 0;
      } catch (NoSuchFileException e) {
        err.println("basalt delta plan: " + e.getFile() + ": " + e.getReason());
        return 2;
      } catch (IOException e) {
        err.println("basalt delta plan: " + e.getMessage());
        return 1;
      }
    }
  }
}
