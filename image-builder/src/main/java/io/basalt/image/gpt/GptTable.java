package io.basalt.image.gpt;

import static io.basalt.image.gpt.GptCodec.SECTOR;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * A GPT read back from a disk: the header fields and the used entries, checked against the
 * signature, header CRC and entry-array CRC (UEFI 2.10 section 5.3.2, "validity of a GPT header").
 * Also relocates the backup table to the end of an enlarged disk. Immutable and thread-safe; the
 * static methods are not safe against concurrent writers of the same disk.
 */
final class GptTable {
  private final long myLba;
  private final long alternateLba;
  private final long firstUsableLba;
  private final long lastUsableLba;
  private final UUID diskGuid;
  private final long entriesLba;
  private final int entryCount;
  private final int entrySize;
  private final byte[] entryArray;
  private final List<Entry> entries;

  /** One used partition entry (UEFI 5.3.3 table 5.6). Immutable, thread-safe. */
  public record Entry(
      int number,
      UUID type,
      UUID guid,
      long firstLba,
      long lastLba,
      long attributes,
      String name) {}

  private GptTable(ByteBuffer h, byte[] entryArray) {
    this.myLba = h.getLong(24);
    this.alternateLba = h.getLong(32);
    this.firstUsableLba = h.getLong(40);
    this.lastUsableLba = h.getLong(48);
    this.diskGuid = Guids.get(h.position(56));
    this.entriesLba = h.getLong(72);
    this.entryCount = h.getInt(80);
    this.entrySize = h.getInt(84);
    this.entryArray = entryArray;
    List<Entry> list = new ArrayList<>();
    ByteBuffer e = ByteBuffer.wrap(entryArray).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < entryCount; i++) {
      e.position(i * entrySize);
      UUID type = Guids.get(e);
      if (type.getMostSignificantBits() == 0 && type.getLeastSignificantBits() == 0) {
        continue; // unused entry
      }
      UUID guid = Guids.get(e);
      long first = e.getLong();
      long last = e.getLong();
      long attrs = e.getLong();
      String name = new String(entryArray, i * entrySize + 56, 72, StandardCharsets.UTF_16LE);
      int nul = name.indexOf('\0');
      list.add(
          new Entry(
              i + 1, type, guid, first, last, attrs, nul < 0 ? name : name.substring(0, nul)));
    }
    this.entries = List.copyOf(list);
  }

  /**
   * Reads and checks the primary table (LBA 1).
   *
   * @throws GptFormatException if the signature, header size, a CRC or MyLBA is wrong
   * @throws IOException if the disk cannot be read
   */
  public static GptTable readPrimary(SeekableByteChannel disk) throws IOException {
    return readAt(disk, 1, "primary GPT header");
  }

  /**
   * Reads and checks the backup table at the LBA the primary header names as alternate.
   *
   * @throws GptFormatException if either table is invalid
   * @throws IOException if the disk cannot be read
   */
  public static GptTable readBackup(SeekableByteChannel disk) throws IOException {
    GptTable primary = readPrimary(disk);
    return readAt(disk, primary.alternateLba, "backup GPT header");
  }

  static GptTable readAt(SeekableByteChannel disk, long lba, String what) throws IOException {
    ByteBuffer h =
        ByteBuffer.wrap(GptCodec.read(disk, lba * SECTOR, SECTOR, what))
            .order(ByteOrder.LITTLE_ENDIAN);
    if (h.getLong(0) != GptCodec.SIGNATURE) {
      throw new GptFormatException(what + " at LBA " + lba + ": no \"EFI PART\" signature");
    }
    int headerSize = h.getInt(12);
    if (headerSize < GptCodec.HEADER_SIZE || headerSize > SECTOR) {
      throw new GptFormatException(
          what + " at LBA " + lba + ": header size " + headerSize + " not in [92, 512]");
    }
    byte[] copy = h.array().clone();
    ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 0);
    long crc = GptCodec.crc32(copy, 0, headerSize);
    long stored = h.getInt(16) & 0xffffffffL;
    if (crc != stored) {
      throw new GptFormatException(
          what + " at LBA " + lba + ": header CRC32 is " + hex(stored) + ", computed " + hex(crc));
    }
    if (h.getLong(24) != lba) {
      throw new GptFormatException(what + " at LBA " + lba + ": MyLBA field says " + h.getLong(24));
    }
    int count = h.getInt(80);
    int size = h.getInt(84);
    if (count <= 0 || count > 65536 || size < 128 || size > 4096 || Integer.bitCount(size) != 1) {
      throw new GptFormatException(
          what
              + " at LBA "
              + lba
              + ": unsupported entry array of "
              + count
              + " x "
              + size
              + " bytes");
    }
    byte[] array = GptCodec.read(disk, h.getLong(72) * SECTOR, count * size, what + " entry array");
    long arrayCrc = GptCodec.crc32(array, 0, array.length);
    long arrayStored = h.getInt(88) & 0xffffffffL;
    if (arrayCrc != arrayStored) {
      throw new GptFormatException(
          what
              + " at LBA "
              + lba
              + ": entry array CRC32 is "
              + hex(arrayStored)
              + ", computed "
              + hex(arrayCrc));
    }
    return new GptTable(h, array);
  }

  /**
   * Moves the backup entry array and header to the end of a disk that has grown (e.g. an image
   * written to a bigger device, or a VM disk enlarged), and updates the primary header's
   * AlternateLBA and LastUsableLBA and the protective MBR's size to match. Order is crash-safe: the
   * new backup is written and synced before the primary header points at it; the old backup header
   * is wiped last.
   *
   * @return true if the table was moved, false if the backup already sits at the last LBA
   * @throws GptFormatException if the primary table is invalid or the disk shrank below the table
   * @throws IOException if the disk cannot be read or written
   */
  public static boolean relocateBackup(SeekableByteChannel disk) throws IOException {
    return relocateBackup(disk, disk.size());
  }

  /**
   * As {@link #relocateBackup(SeekableByteChannel)} for a disk of {@code size} bytes, for channels
   * that do not know their size (some JVMs report 0 for block devices: pass the size from {@code
   * blockdev --getsize64}).
   *
   * @return true if the table was moved, false if the backup already sits at the last LBA
   * @throws GptFormatException if the primary table is invalid or the size is below the table's end
   * @throws IOException if the disk cannot be read or written
   */
  public static boolean relocateBackup(SeekableByteChannel disk, long size) throws IOException {
    GptTable p = readPrimary(disk);
    if (size % SECTOR != 0) {
      throw new GptFormatException("disk size " + size + " is not a multiple of " + SECTOR);
    }
    long last = size / SECTOR - 1;
    if (last == p.alternateLba) {
      return false;
    }
    if (last < p.alternateLba) {
      throw new GptFormatException(
          "disk of "
              + size
              + " bytes is smaller than its GPT says (backup header at LBA "
              + p.alternateLba
              + ")");
    }
    long arraySectors = (p.entryArray.length + SECTOR - 1) / SECTOR;
    long backupEntries = last - arraySectors;
    long lastUsable = backupEntries - 1;
    long arrayCrc = GptCodec.crc32(p.entryArray, 0, p.entryArray.length);
    byte[] paddedArray = new byte[(int) (arraySectors * SECTOR)];
    System.arraycopy(p.entryArray, 0, paddedArray, 0, p.entryArray.length);
    GptCodec.write(disk, backupEntries * SECTOR, paddedArray);
    GptCodec.write(
        disk,
        last * SECTOR,
        GptCodec.header(
            last,
            1,
            p.firstUsableLba,
            lastUsable,
            p.diskGuid,
            backupEntries,
            p.entryCount,
            p.entrySize,
            arrayCrc));
    sync(disk);
    GptCodec.write(
        disk,
        SECTOR,
        GptCodec.header(
            1,
            last,
            p.firstUsableLba,
            lastUsable,
            p.diskGuid,
            p.entriesLba,
            p.entryCount,
            p.entrySize,
            arrayCrc));
    byte[] mbr = GptCodec.read(disk, 0, SECTOR, "protective MBR");
    ByteBuffer m = ByteBuffer.wrap(mbr).order(ByteOrder.LITTLE_ENDIAN);
    if ((mbr[446 + 4] & 0xff) == 0xEE && m.getShort(510) == (short) 0xAA55) {
      m.putInt(
          446 + 12, (int) Math.min(last, 0xFFFFFFFFL)); // SizeInLBA = disk size - 1 (UEFI 5.2.3)
      GptCodec.write(disk, 0, mbr);
    }
    sync(disk);
    GptCodec.write(disk, p.alternateLba * SECTOR, new byte[SECTOR]); // the stale backup header
    sync(disk);
    return true;
  }

  private static void sync(SeekableByteChannel disk) throws IOException {
    if (disk instanceof java.nio.channels.FileChannel fc) {
      fc.force(false);
    }
  }

  private static String hex(long v) {
    return String.format(Locale.ROOT, "0x%08x", v);
  }

  public long myLba() {
    return myLba;
  }

  public long alternateLba() {
    return alternateLba;
  }

  public long firstUsableLba() {
    return firstUsableLba;
  }

  public long lastUsableLba() {
    return lastUsableLba;
  }

  public UUID diskGuid() {
    return diskGuid;
  }

  public long entriesLba() {
    return entriesLba;
  }

  public int entryCount() {
    return entryCount;
  }

  public int entrySize() {
    return entrySize;
  }

  /** The used entries in table order. */
  public List<Entry> entries() {
    return entries;
  }
}
