package io.basalt.image.gpt;

import java.io.PrintWriter;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt gpt}: inspect a GPT disk image or device, and move its backup table to the end of
 * an enlarged disk (what first boot does before growing ROOT). Not thread-safe; one per invocation.
 */
@Command(
    name = "gpt",
    mixinStandardHelpOptions = true,
    description =
        "Inspect a GPT disk, or relocate its backup table to the end of an enlarged disk.",
    subcommands = {GptCommand.Show.class, GptCommand.Relocate.class})
public final class GptCommand implements Runnable {
  /** Exit code for a disk whose table is invalid. */
  static final int EXIT_BAD_TABLE = 3;

  /** Exit code for an I/O failure. */
  static final int EXIT_IO = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand (show, relocate-backup)");
  }

  /** {@code basalt gpt show DISK}: prints the checked primary table. Not thread-safe. */
  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Print the disk's GPT after checking its CRCs.")
  static final class Show implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "DISK", description = "Disk image or block device.")
    Path disk;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (SeekableByteChannel ch = Files.newByteChannel(disk, StandardOpenOption.READ)) {
        GptTable t = GptTable.readPrimary(ch);
        GptTable.readAt(ch, t.alternateLba(), "backup GPT header");
        out.printf(
            Locale.ROOT,
            "disk %s guid %s usable LBA %d-%d backup LBA %d%n",
            disk,
            t.diskGuid(),
            t.firstUsableLba(),
            t.lastUsableLba(),
            t.alternateLba());
        for (GptTable.Entry e : t.entries()) {
          out.printf(
              Locale.ROOT,
              "%d %s type %s guid %s LBA %d-%d attrs 0x%016x%n",
              e.number(),
              e.name(),
              e.type(),
              e.guid(),
              e.firstLba(),
              e.lastLba(),
              e.attributes());
        }
        out.flush();
        return 0;
      } catch (GptFormatException e) {
        spec.commandLine().getErr().println(disk + ": " + e.getMessage());
        return EXIT_BAD_TABLE;
      } catch (java.io.IOException e) {
        spec.commandLine().getErr().println(disk + ": " + e);
        return EXIT_IO;
      }
    }
  }

  /**
   * {@code basalt gpt relocate-backup DISK}: moves the backup table to the disk's end. Not
   * thread-safe.
   */
  @Command(
      name = "relocate-backup",
      mixinStandardHelpOptions = true,
      description = "Move the backup GPT header and entries to the end of an enlarged disk.")
  static final class Relocate implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "DISK", description = "Disk image or block device.")
    Path disk;

    @CommandLine.Option(
        names = "--size",
        paramLabel = "BYTES",
        description =
            "Disk size in bytes, when the JVM cannot tell (a block device reported as 0 bytes).")
    Long size;

    @Override
    public Integer call() {
      try (SeekableByteChannel ch =
          Files.newByteChannel(disk, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        long bytes = size != null ? size : ch.size();
        if (bytes == 0) {
          spec.commandLine()
              .getErr()
              .println(
                  disk + ": size reads as 0 bytes; pass --size (e.g. from blockdev --getsize64)");
          return EXIT_BAD_TABLE;
        }
        boolean moved = GptTable.relocateBackup(ch, bytes);
        GptTable t = GptTable.readPrimary(ch);
        spec.commandLine()
            .getOut()
            .println(
                disk
                    + ": "
                    + (moved ? "backup GPT moved to LBA " : "backup GPT already at LBA ")
                    + t.alternateLba());
        spec.commandLine().getOut().flush();
        return 0;
      } catch (GptFormatException e) {
        spec.commandLine().getErr().println(disk + ": " + e.getMessage());
        return EXIT_BAD_TABLE;
      } catch (java.io.IOException e) {
        spec.commandLine().getErr().println(disk + ": " + e);
        return EXIT_IO;
      }
    }
  }
}
