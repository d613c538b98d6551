package io.basalt.image.gpt;

import static io.basalt.image.gpt.GptCodec.ALIGN_SECTORS;
import static io.basalt.image.gpt.GptCodec.ENTRY_COUNT;
import static io.basalt.image.gpt.GptCodec.ENTRY_SECTORS;
import static io.basalt.image.gpt.GptCodec.ENTRY_SIZE;
import static io.basalt.image.gpt.GptCodec.SECTOR;

import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * A GPT disk laid out and ready to write: protective MBR, primary header and entry array at LBA 1
 * and 2, partitions in the order given, each starting on a 1 MiB boundary, and the backup entry
 * array and header at the end (UEFI 2.10 section 5.3.1). 512-byte sectors, 128 entries. GUIDs are
 * derived from the seed: disk = UUIDv5(ns, seed + "\0disk"), partition = UUIDv5(ns, seed +
 * "\0partition\0" + name). Immutable; {@link #write} may be called from any thread, once per
 * channel.
 */
public final class GptDisk {
  private final UUID diskGuid;
  private final long diskSectors;
  private final List<Placed> partitions;
  private final List<GptPartition> specs;

  /** A partition's final place on the disk. Immutable, thread-safe. */
  public record Placed(
      int number, String name, UUID type, UUID guid, long firstLba, long lastLba, long attributes) {
    /** Byte offset of the partition's first sector. */
    public long offset() {
      return firstLba * SECTOR;
    }

    /** Size in bytes. */
    public long sizeBytes() {
      return (lastLba - firstLba + 1) * SECTOR;
    }
  }

  private GptDisk(
      UUID diskGuid, long diskSectors, List<Placed> partitions, List<GptPartition> specs) {
    this.diskGuid = diskGuid;
    this.diskSectors = diskSectors;
    this.partitions = List.copyOf(partitions);
    this.specs = List.copyOf(specs);
  }

  /**
   * A builder for a disk whose GUIDs derive from {@code seed} (e.g. "basalt 1.2.0").
   *
   * @throws IllegalArgumentException if the seed is empty
   */
  public static Builder builder(String seed) {
    return new Builder(seed);
  }

  /** The disk GUID derived from {@code seed}. */
  public static UUID diskGuid(String seed) {
    return Guids.v5(Guids.NAMESPACE, seed + "\0disk");
  }

  /** The unique partition GUID derived from {@code seed} and the partition name. */
  public static UUID partitionGuid(String seed, String name) {
    return Guids.v5(Guids.NAMESPACE, seed + "\0partition\0" + name);
  }

  public UUID diskGuid() {
    return diskGuid;
  }

  public long sizeBytes() {
    return diskSectors * SECTOR;
  }

  /** The partitions as placed, numbered from 1 in the order they were added. */
  public List<Placed> partitions() {
    return partitions;
  }

  long lastUsableLba() {
    return diskSectors - 2 - ENTRY_SECTORS;
  }

  /**
   * Writes the whole disk into {@code ch} (a fresh, empty or zero-filled channel): the tables, then
   * each partition's content through a window over its sectors, then the backup table at the end,
   * which also fixes the channel's size.
   *
   * @throws IOException if writing fails or a partition's content fails (the message names it)
   */
  public void write(SeekableByteChannel ch) throws IOException {
    byte[] entries = new byte[ENTRY_COUNT * ENTRY_SIZE];
    for (Placed p : partitions) {
      GptCodec.putEntry(
          entries,
          (p.number() - 1) * ENTRY_SIZE,
          p.type(),
          p.guid(),
          p.firstLba(),
          p.lastLba(),
          p.attributes(),
          p.name());
    }
    long entriesCrc = GptCodec.crc32(entries, 0, entries.length);
    long last = diskSectors - 1;
    long firstUsable = 2 + ENTRY_SECTORS;
    GptCodec.write(ch, 0, GptCodec.protectiveMbr(diskSectors));
    GptCodec.write(
        ch,
        SECTOR,
        GptCodec.header(
            1,
            last,
            firstUsable,
            lastUsableLba(),
            diskGuid,
            2,
            ENTRY_COUNT,
            ENTRY_SIZE,
            entriesCrc));
    GptCodec.write(ch, 2L * SECTOR, entries);
    for (int i = 0; i < partitions.size(); i++) {
      Placed p = partitions.get(i);
      String what = "partition " + p.number() + " '" + p.name() + "'";
      try (ChannelWindow w = new ChannelWindow(ch, p.offset(), p.sizeBytes(), what)) {
        specs.get(i).content().write(w);
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().startsWith(what)) {
          throw e;
        }
        throw new IOException(what + ": " + e.getMessage(), e);
      }
    }
    // UEFI 5.3.2: the backup entry array sits right before the backup header in the last LBA.
    GptCodec.write(ch, (last - ENTRY_SECTORS) * SECTOR, entries);
    GptCodec.write(
        ch,
        last * SECTOR,
        GptCodec.header(
            last,
            1,
            firstUsable,
            lastUsableLba(),
            diskGuid,
            last - ENTRY_SECTORS,
            ENTRY_COUNT,
            ENTRY_SIZE,
            entriesCrc));
  }

  /**
   * Writes the disk to {@code file} through a temporary file in the same directory, moved into
   * place atomically once complete; on failure no file is left at {@code file} (an existing one is
   * kept).
   *
   * @throws IOException if writing fails; the message names the failing partition
   */
  public void writeTo(Path file) throws IOException {
    AtomicFiles.writeOutput(
        file,
        tmp -> {
          try (SeekableByteChannel ch =
              Files.newByteChannel(
                  tmp,
                  StandardOpenOption.WRITE,
                  StandardOpenOption.READ,
                  StandardOpenOption.TRUNCATE_EXISTING)) {
            write(ch);
          }
          return null;
        });
  }

  /** Collects partitions; validation happens in {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private final String seed;
    private final List<GptPartition> parts = new ArrayList<>();
    private long diskSize;

    private Builder(String seed) {
      if (seed == null || seed.isEmpty()) {
        throw new IllegalArgumentException("empty GUID seed");
      }
      this.seed = seed;
    }

    /**
     * Sets the disk size in bytes (a multiple of 512); unset, the disk ends 1 MiB after the 1 MiB
     * boundary following the last partition.
     */
    public Builder diskSize(long bytes) {
      this.diskSize = bytes;
      return this;
    }

    /** Appends a partition (numbered in the order added). */
    public Builder add(GptPartition p) {
      parts.add(Objects.requireNonNull(p, "partition"));
      return this;
    }

    /**
     * Validates and places the partitions.
     *
     * @throws GptFormatException naming the partition whose name cannot be stored, is a duplicate,
     *     whose size is not a positive multiple of 512, or that does not fit the disk
     */
    public GptDisk build() throws GptFormatException {
      if (parts.size() > ENTRY_COUNT) {
        throw new GptFormatException(
            parts.size() + " partitions given; the table holds " + ENTRY_COUNT);
      }
      if (diskSize < 0 || diskSize % SECTOR != 0) {
        throw new GptFormatException(
            "disk size " + diskSize + " is not a positive multiple of " + SECTOR);
      }
      Set<String> names = new HashSet<>();
      List<Placed> placed = new ArrayList<>();
      long next = ALIGN_SECTORS;
      for (int i = 0; i < parts.size(); i++) {
        GptPartition p = parts.get(i);
        GptCodec.checkName(p.name());
        if (!names.add(p.name())) {
          throw new GptFormatException(
              "partition name '"
                  + p.name()
                  + "' is used twice (names seed partition GUIDs and must be unique)");
        }
        if (p.sizeBytes() <= 0 || p.sizeBytes() % SECTOR != 0) {
          throw new GptFormatException(
              "partition "
                  + (i + 1)
                  + " '"
                  + p.name()
                  + "': size "
                  + p.sizeBytes()
                  + " is not a positive multiple of "
                  + SECTOR
                  + " bytes");
        }
        long first = next;
        long last = Math.addExact(first, p.sizeBytes() / SECTOR - 1);
        placed.add(
            new Placed(
                i + 1,
                p.name(),
                p.type(),
                partitionGuid(seed, p.name()),
                first,
                last,
                p.attributes()));
        next =
            Math.multiplyExact(Math.floorDiv(last + ALIGN_SECTORS, ALIGN_SECTORS), ALIGN_SECTORS);
      }
      long sectors = diskSize > 0 ? diskSize / SECTOR : next + ALIGN_SECTORS;
      long lastUsable = sectors - 2 - ENTRY_SECTORS;
      if (lastUsable < 2 + ENTRY_SECTORS) {
        throw new GptFormatException(
            "disk size " + diskSize + " bytes is too small for the two GPT tables");
      }
      for (Placed p : placed) {
        if (p.lastLba() > lastUsable) {
          throw new GptFormatException(
              "partition "
                  + p.number()
                  + " '"
                  + p.name()
                  + "' ("
                  + p.sizeBytes()
                  + " bytes from byte "
                  + p.offset()
                  + ") does not fit the disk: it ends at byte "
                  + (p.lastLba() + 1) * SECTOR
                  + " but the last usable byte of a "
                  + sectors * SECTOR
                  + "-byte disk ends at "
                  + (lastUsable + 1) * SECTOR);
        }
      }
      return new GptDisk(diskGuid(seed), sectors, placed, parts);
    }
  }
}
