package io.basalt.image.gpt;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.zip.CRC32;

/** Encoding of the protective MBR, GPT header and entries (UEFI 2.10 chapter 5). Thread-safe. */
final class GptCodec {
  static final int SECTOR = 512;
  static final int ENTRY_COUNT = 128;
  static final int ENTRY_SIZE = 128;

  /** 128 entries of 128 bytes: the 16 KiB minimum array size of UEFI 5.3.2. */
  static final int ENTRY_SECTORS = ENTRY_COUNT * ENTRY_SIZE / SECTOR;

  /** Partitions start on 1 MiB boundaries. */
  static final long ALIGN_SECTORS = (1 << 20) / SECTOR;

  static final int HEADER_SIZE = 92;
  static final long SIGNATURE = 0x5452415020494645L; // "EFI PART" read little-endian
  static final int REVISION = 0x00010000;
  static final int NAME_UNITS = 36;

  private GptCodec() {}

  static long crc32(byte[] b, int off, int len) {
    CRC32 c =
        new CRC32(); // the CRC-32 of UEFI 5.3.2 is the IEEE 802.3 polynomial, as java.util.zip
    c.update(b, off, len);
    return c.getValue();
  }

  /** UEFI 5.2.3 table 5.4/5.5: a protective MBR covering the whole disk (capped at 2^32-1). */
  static byte[] protectiveMbr(long diskSectors) {
    ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    b.position(446);
    b.put((byte) 0x00); // BootIndicator
    b.put((byte) 0x00).put((byte) 0x02).put((byte) 0x00); // StartingCHS = 0x000200
    b.put((byte) 0xEE); // OSType: GPT protective
    b.put((byte) 0xFF).put((byte) 0xFF).put((byte) 0xFF); // EndingCHS (not representable)
    b.putInt(1); // StartingLBA
    b.putInt((int) Math.min(diskSectors - 1, 0xFFFFFFFFL)); // SizeInLBA
    b.putShort(510, (short) 0xAA55);
    return b.array();
  }

  /** UEFI 5.3.2 table 5.5: a GPT header sector with its HeaderCRC32 filled in. */
  static byte[] header(
      long myLba,
      long alternateLba,
      long firstUsable,
      long lastUsable,
      UUID diskGuid,
      long entriesLba,
      int entryCount,
      int entrySize,
      long entriesCrc) {
    ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(SIGNATURE);
    b.putInt(REVISION);
    b.putInt(HEADER_SIZE);
    b.putInt(0); // HeaderCRC32, computed with this field zero
    b.putInt(0); // Reserved
    b.putLong(myLba);
    b.putLong(alternateLba);
    b.putLong(firstUsable);
    b.putLong(lastUsable);
    Guids.put(b, diskGuid);
    b.putLong(entriesLba);
    b.putInt(entryCount);
    b.putInt(entrySize);
    b.putInt((int) entriesCrc);
    byte[] out = b.array();
    b.putInt(16, (int) crc32(out, 0, HEADER_SIZE));
    return out;
  }

  /** UEFI 5.3.3 table 5.6: one partition entry at {@code off} of {@code array}. */
  static void putEntry(
      byte[] array,
      int off,
      UUID type,
      UUID unique,
      long firstLba,
      long lastLba,
      long attrs,
      String name) {
    ByteBuffer b = ByteBuffer.wrap(array, off, ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    Guids.put(b, type);
    Guids.put(b, unique);
    b.putLong(firstLba);
    b.putLong(lastLba); // inclusive
    b.putLong(attrs);
    b.put(name.getBytes(StandardCharsets.UTF_16LE)); // PartitionName: 36 CHAR16, NUL-padded
  }

  /**
   * Checks that {@code name} is representable as a GPT partition name: non-empty, valid UTF-16 (no
   * unpaired surrogate), no NUL, at most 36 code units.
   *
   * @throws GptFormatException naming the partition otherwise
   */
  static void checkName(String name) throws GptFormatException {
    if (name.isEmpty()) {
      throw new GptFormatException(
          "partition name is empty (a label is required, it seeds the partition GUID)");
    }
    if (name.length() > NAME_UNITS) {
      throw new GptFormatException(
          "partition name '"
              + name
              + "' is "
              + name.length()
              + " UTF-16 code units long; GPT allows at most "
              + NAME_UNITS);
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == 0) {
        throw new GptFormatException(
            "partition name '" + name.replace('\0', '?') + "' contains NUL at index " + i);
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < name.length()
          && Character.isLowSurrogate(name.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new GptFormatException(
            "partition name '"
                + name.replace(c, '?')
                + "' has an unpaired UTF-16 surrogate at index "
                + i
                + " and cannot be stored as UTF-16LE");
      }
    }
  }

  static byte[] read(SeekableByteChannel ch, long offset, int len, String what) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len);
    ch.position(offset);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException(
            what + ": disk ends at byte " + ch.size() + ", before byte " + (offset + len));
      }
    }
    return b.array();
  }

  static void write(SeekableByteChannel ch, long offset, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(data);
    ch.position(offset);
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }
}
