package io.basalt.image.gpt;

import static io.basalt.image.gpt.GptCodec.ENTRY_COUNT;
import static io.basalt.image.gpt.GptCodec.ENTRY_SECTORS;
import static io.basalt.image.gpt.GptCodec.ENTRY_SIZE;
import static io.basalt.image.gpt.GptCodec.SECTOR;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * The GPT structures alone, for an image whose data another writer lays out (a hybrid ISO): the
 * protective MBR, primary header and entry array for the first 34 sectors, and the backup array and
 * header for the last 33, with partitions at the sectors the caller gives (UEFI 2.10 section 5.3).
 * GUIDs derive from a seed as in {@link GptDisk}. Immutable, thread-safe.
 */
public final class GptTables {
  /** Bytes the head (protective MBR, primary header, entry array) takes at the start: 17408. */
  public static final int HEAD_BYTES = (2 + ENTRY_SECTORS) * SECTOR;

  /** Bytes the tail (backup entry array, backup header) takes at the end: 16896. */
  public static final int TAIL_BYTES = (1 + ENTRY_SECTORS) * SECTOR;

  /** The first LBA a partition may start at: right after the primary entry array. */
  public static final long FIRST_USABLE_LBA = 2 + ENTRY_SECTORS;

  private final byte[] head;
  private final byte[] tail;
  private final List<GptDisk.Placed> partitions;

  /**
   * One partition at fixed sectors.
   *
   * @param name the GPT name (seeds the partition GUID)
   * @param type the type GUID
   * @param firstLba first 512-byte sector
   * @param lastLba last sector, inclusive
   * @param attributes the attribute bits
   */
  public record Extent(String name, UUID type, long firstLba, long lastLba, long attributes) {
    public Extent {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(type, "type");
    }
  }

  private GptTables(byte[] head, byte[] tail, List<GptDisk.Placed> partitions) {
    this.head = head;
    this.tail = tail;
    this.partitions = List.copyOf(partitions);
  }

  /**
   * The tables of a disk of {@code diskSectors} 512-byte sectors holding {@code extents}.
   *
   * @throws GptFormatException if a name cannot be stored or is used twice, or an extent is empty,
   *     overlaps another or lies outside the usable sectors (the message names it)
   */
  public static GptTables of(String seed, long diskSectors, List<Extent> extents)
      throws GptFormatException {
    if (seed == null || seed.isEmpty()) {
      throw new IllegalArgumentException("empty GUID seed");
    }
    if (extents.size() > ENTRY_COUNT) {
      throw new GptFormatException(
          extents.size() + " partitions given; the table holds " + ENTRY_COUNT);
    }
    long last = diskSectors - 1;
    long lastUsable = last - 1 - ENTRY_SECTORS;
    if (lastUsable < FIRST_USABLE_LBA) {
      throw new GptFormatException(
          "disk of " + diskSectors + " sectors is too small for the two GPT tables");
    }
    Set<String> names = new HashSet<>();
    List<GptDisk.Placed> placed = new ArrayList<>();
    byte[] entries = new byte[ENTRY_COUNT * ENTRY_SIZE];
    for (int i = 0; i < extents.size(); i++) {
      Extent e = extents.get(i);
      GptCodec.checkName(e.name());
      String what = "partition " + (i + 1) + " '" + e.name() + "'";
      if (!names.add(e.name())) {
        throw new GptFormatException(what + ": name used twice");
      }
      if (e.firstLba() < FIRST_USABLE_LBA
          || e.lastLba() > lastUsable
          || e.lastLba() < e.firstLba()) {
        throw new GptFormatException(
            what
                + ": sectors "
                + e.firstLba()
                + "-"
                + e.lastLba()
                + " are not within the usable sectors "
                + FIRST_USABLE_LBA
                + "-"
                + lastUsable);
      }
      for (GptDisk.Placed p : placed) {
        if (e.firstLba() <= p.lastLba() && p.firstLba() <= e.lastLba()) {
          throw new GptFormatException(what + ": overlaps partition " + p.number());
        }
      }
      UUID guid = GptDisk.partitionGuid(seed, e.name());
      placed.add(
          new GptDisk.Placed(
              i + 1, e.name(), e.type(), guid, e.firstLba(), e.lastLba(), e.attributes()));
      GptCodec.putEntry(
          entries,
          i * ENTRY_SIZE,
          e.type(),
          guid,
          e.firstLba(),
          e.lastLba(),
          e.attributes(),
          e.name());
    }
    long crc = GptCodec.crc32(entries, 0, entries.length);
    UUID disk = GptDisk.diskGuid(seed);
    byte[] head = new byte[HEAD_BYTES];
    System.arraycopy(GptCodec.protectiveMbr(diskSectors), 0, head, 0, SECTOR);
    byte[] primary =
        GptCodec.header(
            1, last, FIRST_USABLE_LBA, lastUsable, disk, 2, ENTRY_COUNT, ENTRY_SIZE, crc);
    System.arraycopy(primary, 0, head, SECTOR, SECTOR);
    System.arraycopy(entries, 0, head, 2 * SECTOR, entries.length);
    // UEFI 5.3.2: the backup entry array sits right before the backup header in the last LBA.
    byte[] tail = new byte[TAIL_BYTES];
    System.arraycopy(entries, 0, tail, 0, entries.length);
    byte[] backup =
        GptCodec.header(
            last,
            1,
            FIRST_USABLE_LBA,
            lastUsable,
            disk,
            last - ENTRY_SECTORS,
            ENTRY_COUNT,
            ENTRY_SIZE,
            crc);
    System.arraycopy(backup, 0, tail, entries.length, SECTOR);
    return new GptTables(head, tail, placed);
  }

  /** The first {@link #HEAD_BYTES} bytes of the disk. */
  public byte[] head() {
    return head.clone();
  }

  /** The last {@link #TAIL_BYTES} bytes of the disk. */
  public byte[] tail() {
    return tail.clone();
  }

  /** The partitions with their GUIDs, numbered from 1. */
  public List<GptDisk.Placed> partitions() {
    return partitions;
  }
}
