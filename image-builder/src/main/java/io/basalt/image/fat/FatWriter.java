package io.basalt.image.fat;

import static io.basalt.image.fat.Geometry.SECTOR;

import io.basalt.host.AtomicFiles;
import io.basalt.image.fat.Geometry.FatType;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Writes a {@link FileTree} (directories and regular files only) as a FAT32 volume, or FAT16 when
 * the volume is too small for FAT32's 65525 clusters, with VFAT long names, a volume label and one
 * fixed timestamp on every entry. Output is a pure function of the tree's paths and contents, the
 * size and the options: host mtimes, owners and modes are ignored. Immutable and thread-safe; each
 * call writes its own channel.
 */
public final class FatWriter {
  private static final int DIR_ENTRY = 32;
  private static final int ATTR_VOLUME_ID = 0x08;
  private static final int ATTR_DIRECTORY = 0x10;
  private static final int ATTR_ARCHIVE = 0x20;
  private static final int ATTR_LONG_NAME = 0x0F;
  private static final long MAX_FILE = 0xFFFFFFFFL;

  /** FAT limits a directory to 65536 entries (2 MiB); the spec's 16-bit entry index. */
  private static final int MAX_DIR_ENTRIES = 65536;

  private final String label;
  private final long epochSeconds;
  private final int volumeId;
  private final long hiddenSectors;

  private FatWriter(String label, long epochSeconds, int volumeId, long hiddenSectors) {
    this.label = label;
    this.epochSeconds = epochSeconds;
    this.volumeId = volumeId;
    this.hiddenSectors = hiddenSectors;
  }

  /** A builder with no label, timestamp 1980-01-01 00:00:00 and a derived volume ID. */
  public static Builder builder() {
    return new Builder();
  }

  /** What was written. Immutable, thread-safe. */
  public record Summary(
      String fatType, int bytesPerCluster, long clusterCount, long usedClusters) {}

  /**
   * Writes the volume into {@code ch} at positions 0 .. sizeBytes-1 (e.g. a GPT partition's {@code
   * ChannelWindow}). The region should read as zeros beforehand for byte-identical results:
   * clusters no file uses are not written.
   *
   * @throws FatFormatException naming the entry when a name cannot be stored, an entry is not a
   *     directory or regular file, a file is over 4 GiB - 1, or the content does not fit; or when
   *     the volume is too small for FAT16
   * @throws IOException if writing fails or a file's content changes while being read (naming it)
   */
  public Summary write(FileTree tree, SeekableByteChannel ch, long sizeBytes) throws IOException {
    Plan plan = plan(tree, sizeBytes);
    emit(plan, ch);
    if (ch.size() < sizeBytes) {
      writeAt(ch, sizeBytes - 1, ByteBuffer.allocate(1));
    }
    Geometry g = plan.geometry;
    return new Summary(
        g.type().name(), g.bytesPerCluster(), g.clusterCount(), plan.nextCluster - 2);
  }

  /**
   * Writes the volume as the file {@code file} through a temporary file in the same directory,
   * moved into place once complete; on failure nothing is left at {@code file}.
   *
   * @throws FatFormatException see {@link #write}
   * @throws IOException if writing fails
   */
  public Summary writeTo(FileTree tree, Path file, long sizeBytes) throws IOException {
    Plan plan = plan(tree, sizeBytes); // fail early, before creating anything
    return AtomicFiles.writeOutput(
        file,
        tmp -> {
          try (SeekableByteChannel ch =
              Files.newByteChannel(
                  tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            emit(plan, ch);
            if (ch.size() < sizeBytes) {
              writeAt(ch, sizeBytes - 1, ByteBuffer.allocate(1));
            }
            Geometry g = plan.geometry;
            return new Summary(
                g.type().name(), g.bytesPerCluster(), g.clusterCount(), plan.nextCluster - 2);
          }
        });
  }

  // ---------------------------------------------------------------- planning

  /** A directory or file of the volume. */
  private static final class Node {
    final TreeEntry entry;
    final List<Node> children = new ArrayList<>();
    Node parent;
    byte[] shortName;
    boolean longName;
    long firstCluster;
    long clusters;

    Node(TreeEntry entry) {
      this.entry = entry;
    }

    boolean isDir() {
      return entry.isDirectory();
    }

    /** 32-byte slots this node takes in its parent directory. */
    int slots() {
      return (longName ? (entry.name().length() + 12) / 13 : 0) + 1;
    }
  }

  private static final class Plan {
    Geometry geometry;
    Node root;
    List<Node> order = new ArrayList<>();
    long nextCluster = 2;
    final Map<Node, Integer> dirEntries = new HashMap<>();
  }

  private Plan plan(FileTree tree, long sizeBytes) throws FatFormatException {
    Plan plan = new Plan();
    Map<String, Node> byPath = new LinkedHashMap<>();
    for (TreeEntry e : tree) {
      if (e.type() != EntryType.DIRECTORY && e.type() != EntryType.REGULAR) {
        throw new FatFormatException(
            e.path()
                + ": a "
                + e.type()
                + " cannot be stored on FAT (only directories and regular files)");
      }
      if (e.size() > MAX_FILE) {
        throw new FatFormatException(
            e.path() + ": " + e.size() + " bytes; a FAT file holds at most " + MAX_FILE);
      }
      Node n = new Node(e);
      byPath.put(e.path(), n);
      if (e.parent() == null) {
        plan.root = n;
      } else {
        n.parent = byPath.get(e.parent()); // tree order: parents come first
        n.parent.children.add(n);
      }
      plan.order.add(n);
    }
    for (Node dir : plan.order) {
      if (dir.isDir()) {
        int count = nameChildren(dir) + (dir == plan.root ? (label.isEmpty() ? 0 : 1) : 2);
        if (count > MAX_DIR_ENTRIES) {
          throw new FatFormatException(
              dir.entry.path()
                  + ": needs "
                  + count
                  + " directory entries (long names count "
                  + "one per 13 characters); FAT allows "
                  + MAX_DIR_ENTRIES
                  + " per directory");
        }
        plan.dirEntries.put(dir, count);
      }
    }
    int rootCount = plan.dirEntries.get(plan.root);
    int fat16Root = Math.max(512, (rootCount + 15) / 16 * 16);
    if (fat16Root > 0xFFF0) {
      fat16Root = 0xFFF0;
    }
    Geometry g = Geometry.choose(sizeBytes, fat16Root);
    if (g.type() == FatType.FAT16 && rootCount > g.rootEntries()) {
      throw new FatFormatException(
          "/: "
              + rootCount
              + " root directory entries do not fit the FAT16 root directory ("
              + g.rootEntries()
              + ")");
    }
    plan.geometry = g;
    long cs = g.bytesPerCluster();
    long used = 0;
    Node firstMiss = null;
    for (Node n : plan.order) {
      long clusters;
      if (n.isDir()) {
        clusters =
            (n == plan.root && g.type() == FatType.FAT16)
                ? 0
                : Math.max(1, ((long) plan.dirEntries.get(n) * DIR_ENTRY + cs - 1) / cs);
      } else {
        clusters = (n.entry.size() + cs - 1) / cs;
      }
      n.clusters = clusters;
      n.firstCluster = clusters == 0 ? 0 : 2 + used;
      used += clusters;
      if (used > g.clusterCount() && firstMiss == null) {
        firstMiss = n;
      }
    }
    if (firstMiss != null) {
      throw new FatFormatException(
          "FAT volume"
              + (label.isEmpty() ? "" : " '" + label + "'")
              + " of "
              + sizeBytes
              + " bytes is too small: "
              + firstMiss.entry.path()
              + " is the first entry that does not fit; the tree needs "
              + used
              + " clusters of "
              + cs
              + " bytes, the "
              + g.type()
              + " volume has "
              + g.clusterCount());
    }
    plan.nextCluster = 2 + used;
    return plan;
  }

  /**
   * Assigns short names and long-name flags to {@code dir}'s children; returns their slot count.
   */
  private static int nameChildren(Node dir) throws FatFormatException {
    Map<String, Node> folded = new HashMap<>();
    Set<String> taken = new HashSet<>();
    for (Node c : dir.children) {
      String name = c.entry.name();
      Names.checkLongName(c.entry.path(), name);
      Node clash = folded.put(Names.foldCase(name), c);
      if (clash != null) {
        throw new FatFormatException(
            c.entry.path() + ": FAT names ignore case, so it collides with " + clash.entry.path());
      }
      byte[] exact = Names.exactShortName(name);
      if (exact != null) {
        c.shortName = exact;
        taken.add(Names.key(exact));
      }
    }
    int slots = 0;
    for (Node c : dir.children) {
      if (c.shortName == null) {
        c.shortName = Names.generate(c.entry.name(), taken);
        taken.add(Names.key(c.shortName));
        c.longName = true;
      }
      slots += c.slots();
    }
    return slots;
  }

  // ---------------------------------------------------------------- writing

  private void emit(Plan plan, SeekableByteChannel ch) throws IOException {
    Geometry g = plan.geometry;
    writeReserved(plan, ch);
    for (int copy = 0; copy < Geometry.NUM_FATS; copy++) {
      writeFat(plan, ch, (g.firstFatSector() + copy * g.fatSectors()) * SECTOR);
    }
    int[] stamp = timestamp(epochSeconds);
    byte[] buf = new byte[1 << 20];
    for (Node n : plan.order) {
      if (n.isDir()) {
        byte[] dir = directory(plan, n, stamp);
        long offset;
        long capacity;
        if (n == plan.root && g.type() == FatType.FAT16) {
          offset = g.firstRootDirSector() * SECTOR;
          capacity = g.rootDirSectors() * SECTOR;
        } else {
          offset = g.clusterOffset(n.firstCluster);
          capacity = n.clusters * g.bytesPerCluster();
        }
        writeAt(ch, offset, ByteBuffer.wrap(Arrays.copyOf(dir, (int) capacity)));
      } else if (n.clusters > 0) {
        writeFile(n, ch, g.clusterOffset(n.firstCluster), n.clusters * g.bytesPerCluster(), buf);
      }
    }
  }

  private static void writeFile(
      Node n, SeekableByteChannel ch, long offset, long capacity, byte[] buf) throws IOException {
    Content content = n.entry.content();
    long expected = content.size();
    long done = 0;
    ch.position(offset);
    try (InputStream in = content.open()) {
      int r;
      while ((r = in.read(buf)) > 0) {
        if (done + r > expected) {
          throw new IOException(
              "grew while being read (expected " + expected + " bytes, found more)");
        }
        ByteBuffer b = ByteBuffer.wrap(buf, 0, r);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        done += r;
      }
      if (done != expected) {
        throw new IOException(
            "shrank while being read (expected " + expected + " bytes, found " + done + ")");
      }
    } catch (IOException e) {
      throw new IOException(n.entry.path() + ": " + e.getMessage(), e);
    }
    long pad = capacity - expected; // the rest of the last cluster: zeros, whatever was there
    if (pad > 0) {
      writeAt(ch, offset + expected, ByteBuffer.allocate((int) pad));
    }
  }

  /** Boot sector, FSInfo and backups (FAT32), or the single boot sector (FAT16). */
  private void writeReserved(Plan plan, SeekableByteChannel ch) throws IOException {
    Geometry g = plan.geometry;
    ByteBuffer r = ByteBuffer.allocate(g.reservedSectors() * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    byte[] boot = bootSector(g);
    r.put(0, boot);
    if (g.type() == FatType.FAT32) {
      byte[] info = fsInfo(g.clusterCount() - (plan.nextCluster - 2), plan.nextCluster);
      r.put(SECTOR, info);
      r.put(6 * SECTOR, boot); // BPB_BkBootSec = 6: backup boot sector, then its FSInfo copy
      r.put(7 * SECTOR, info);
    }
    writeAt(ch, 0, r);
  }

  /** The boot sector with the BPB (FAT spec section 3.1-3.3, offsets in comments). */
  private byte[] bootSector(Geometry g) {
    ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    boolean fat32 = g.type() == FatType.FAT32;
    int codeAt = fat32 ? 90 : 62;
    b.put((byte) 0xEB)
        .put((byte) (codeAt - 2))
        .put((byte) 0x90); // 0 BS_jmpBoot: jmp short to the boot code
    b.put(
        "MSWIN4.1"
            .getBytes(StandardCharsets.US_ASCII)); // 3 BS_OEMName, the spec's recommended value
    b.putShort((short) SECTOR); // 11 BPB_BytsPerSec
    b.put((byte) g.sectorsPerCluster()); // 13 BPB_SecPerClus
    b.putShort((short) g.reservedSectors()); // 14 BPB_RsvdSecCnt
    b.put((byte) Geometry.NUM_FATS); // 16 BPB_NumFATs
    b.putShort((short) (fat32 ? 0 : g.rootEntries())); // 17 BPB_RootEntCnt (0 on FAT32)
    boolean small = !fat32 && g.totalSectors() < 0x10000;
    b.putShort((short) (small ? g.totalSectors() : 0)); // 19 BPB_TotSec16
    b.put((byte) 0xF8); // 21 BPB_Media: fixed disk
    b.putShort((short) (fat32 ? 0 : g.fatSectors())); // 22 BPB_FATSz16 (0 on FAT32)
    b.putShort((short) 63); // 24 BPB_SecPerTrk (geometry only for INT 13h, unused)
    b.putShort((short) 255); // 26 BPB_NumHeads
    b.putInt((int) hiddenSectors); // 28 BPB_HiddSec: sectors before the volume on its disk
    b.putInt(small ? 0 : (int) g.totalSectors()); // 32 BPB_TotSec32
    if (fat32) {
      b.putInt((int) g.fatSectors()); // 36 BPB_FATSz32
      b.putShort((short) 0); // 40 BPB_ExtFlags: FATs mirrored
      b.putShort((short) 0); // 42 BPB_FSVer 0.0
      b.putInt(2); // 44 BPB_RootClus: the root directory is the first cluster
      b.putShort((short) 1); // 48 BPB_FSInfo
      b.putShort((short) 6); // 50 BPB_BkBootSec
      b.position(64);
    }
    b.put((byte) 0x80); // BS_DrvNum (64 on FAT32, 36 on FAT16)
    b.put((byte) 0); // BS_Reserved1
    b.put((byte) 0x29); // BS_BootSig: the next three fields are present
    b.putInt(volumeId); // BS_VolID
    b.put(
        padLabel(label.isEmpty() ? "NO NAME" : label)
            .getBytes(StandardCharsets.US_ASCII)); // BS_VolLab
    b.put(g.type().fsType.getBytes(StandardCharsets.US_ASCII)); // BS_FilSysType (informative only)
    // boot code: "int 18h" (no bootable OS here) then hang
    b.put(codeAt, (byte) 0xCD)
        .put(codeAt + 1, (byte) 0x18)
        .put(codeAt + 2, (byte) 0xEB)
        .put(codeAt + 3, (byte) 0xFE);
    b.putShort(510, (short) 0xAA55);
    return b.array();
  }

  private static String padLabel(String l) {
    return (l + "           ").substring(0, 11);
  }

  /** FAT32 FSInfo sector (FAT spec section 5). */
  private static byte[] fsInfo(long free, long nextFree) {
    ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, 0x41615252); // FSI_LeadSig
    b.putInt(484, 0x61417272); // FSI_StrucSig
    b.putInt(488, (int) free); // FSI_Free_Count, exact
    b.putInt(492, free == 0 ? -1 : (int) nextFree); // FSI_Nxt_Free hint: first never-used cluster
    b.putInt(508, 0xAA550000); // FSI_TrailSig
    return b.array();
  }

  /**
   * One FAT copy, streamed: entries 0 and 1 reserved (media byte, end-of-chain with the clean
   * shutdown and no-error bits set), then each node's contiguous chain, then zeros (free).
   */
  private static void writeFat(Plan plan, SeekableByteChannel ch, long offset) throws IOException {
    Geometry g = plan.geometry;
    boolean fat32 = g.type() == FatType.FAT32;
    long eoc = fat32 ? 0x0FFFFFFFL : 0xFFFFL;
    long entries = g.fatSectors() * SECTOR / g.type().entryBytes;
    long[] chainEnd = new long[plan.order.size()];
    int chains = 0;
    for (Node n : plan.order) {
      if (n.clusters > 0) {
        chainEnd[chains++] = n.firstCluster + n.clusters - 1;
      }
    }
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    int next = 0;
    ch.position(offset);
    for (long c = 0; c < entries; c++) {
      long v;
      if (c == 0) {
        v = fat32 ? 0x0FFFFFF8L : 0xFFF8L;
      } else if (c == 1) {
        v = eoc;
      } else if (c < plan.nextCluster) {
        if (next < chains && c == chainEnd[next]) {
          v = eoc;
          next++;
        } else {
          v = c + 1;
        }
      } else {
        v = 0;
      }
      if (fat32) {
        buf.putInt((int) v);
      } else {
        buf.putShort((short) v);
      }
      if (!buf.hasRemaining()) {
        buf.flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        buf.clear();
      }
    }
    buf.flip();
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /** The bytes of a directory: label (root), "." and ".." (others), then each child's entries. */
  private byte[] directory(Plan plan, Node dir, int[] stamp) {
    ByteBuffer b =
        ByteBuffer.allocate(plan.dirEntries.get(dir) * DIR_ENTRY).order(ByteOrder.LITTLE_ENDIAN);
    if (dir == plan.root) {
      if (!label.isEmpty()) {
        // the label's 11 bytes are stored verbatim (no dot between "name" and "extension")
        putShort(
            b, padLabel(label).getBytes(StandardCharsets.US_ASCII), ATTR_VOLUME_ID, 0, 0, stamp);
      }
    } else {
      putShort(b, Names.pack(".", ""), ATTR_DIRECTORY, dir.firstCluster, 0, stamp);
      long up = dir.parent == plan.root ? 0 : dir.parent.firstCluster; // ".." of a root child is 0
      putShort(b, Names.pack("..", ""), ATTR_DIRECTORY, up, 0, stamp);
    }
    for (Node c : dir.children) {
      if (c.longName) {
        putLongName(b, c.entry.name(), Names.checksum(c.shortName));
      }
      putShort(
          b,
          c.shortName,
          c.isDir() ? ATTR_DIRECTORY : ATTR_ARCHIVE,
          c.firstCluster,
          c.isDir() ? 0 : c.entry.size(),
          stamp);
    }
    return b.array();
  }

  /** FAT spec section 6: a 32-byte short directory entry. */
  private static void putShort(
      ByteBuffer b, byte[] name, int attr, long cluster, long size, int[] stamp) {
    b.put(name); // 0 DIR_Name
    b.put((byte) attr); // 11 DIR_Attr
    b.put((byte) 0); // 12 DIR_NTRes
    b.put((byte) stamp[2]); // 13 DIR_CrtTimeTenth
    b.putShort((short) stamp[1]); // 14 DIR_CrtTime
    b.putShort((short) stamp[0]); // 16 DIR_CrtDate
    b.putShort((short) stamp[0]); // 18 DIR_LstAccDate
    b.putShort((short) (cluster >>> 16)); // 20 DIR_FstClusHI
    b.putShort((short) stamp[1]); // 22 DIR_WrtTime
    b.putShort((short) stamp[0]); // 24 DIR_WrtDate
    b.putShort((short) cluster); // 26 DIR_FstClusLO
    b.putInt((int) size); // 28 DIR_FileSize
  }

  /**
   * FAT spec section 7: the long-name entries, stored last part first; ordinals 1..n with 0x40 on
   * the last; 13 UTF-16 units each, NUL-terminated then 0xFFFF-padded; each carries the short
   * name's checksum.
   */
  private static void putLongName(ByteBuffer b, String name, int checksum) {
    int parts = (name.length() + 12) / 13;
    for (int p = parts; p >= 1; p--) {
      char[] units = new char[13];
      for (int i = 0; i < 13; i++) {
        int at = (p - 1) * 13 + i;
        units[i] = at < name.length() ? name.charAt(at) : at == name.length() ? 0 : (char) 0xFFFF;
      }
      b.put((byte) (p == parts ? p | 0x40 : p)); // 0 LDIR_Ord
      for (int i = 0; i < 5; i++) {
        b.putShort((short) units[i]); // 1 LDIR_Name1
      }
      b.put((byte) ATTR_LONG_NAME); // 11 LDIR_Attr
      b.put((byte) 0); // 12 LDIR_Type
      b.put((byte) checksum); // 13 LDIR_Chksum
      for (int i = 5; i < 11; i++) {
        b.putShort((short) units[i]); // 14 LDIR_Name2
      }
      b.putShort((short) 0); // 26 LDIR_FstClusLO
      for (int i = 11; i < 13; i++) {
        b.putShort((short) units[i]); // 28 LDIR_Name3
      }
    }
  }

  /**
   * {date, time, tenths} in FAT encoding (spec section 6.3) of {@code epochSeconds} read as UTC:
   * date = (year-1980)<<9 | month<<5 | day, time = hour<<11 | minute<<5 | second/2, tenths (0-199)
   * carries the odd second. Clamped to 1980-01-01 .. 2107-12-31 23:59:59.
   */
  static int[] timestamp(long epochSeconds) {
    long min = LocalDateTime.of(1980, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC);
    long max = LocalDateTime.of(2107, 12, 31, 23, 59, 59).toEpochSecond(ZoneOffset.UTC);
    LocalDateTime t =
        LocalDateTime.ofInstant(
            Instant.ofEpochSecond(Math.max(min, Math.min(max, epochSeconds))), ZoneOffset.UTC);
    int date = ((t.getYear() - 1980) << 9) | (t.getMonthValue() << 5) | t.getDayOfMonth();
    int time = (t.getHour() << 11) | (t.getMinute() << 5) | (t.getSecond() / 2);
    return new int[] {date, time, (t.getSecond() % 2) * 100};
  }

  private static void writeAt(SeekableByteChannel ch, long offset, ByteBuffer data)
      throws IOException {
    ch.position(offset);
    while (data.hasRemaining()) {
      ch.write(data);
    }
  }

  /** Options for a {@link FatWriter}. Not thread-safe. */
  public static final class Builder {
    private String label = "";
    private long epochSeconds = Long.MIN_VALUE;
    private Integer volumeId;
    private long hiddenSectors;

    private Builder() {}

    /** Volume label: up to 11 of A-Z 0-9 space $%'-_@~`!(){}^#&amp; (letters are upper-cased). */
    public Builder label(String label) {
      this.label = Objects.requireNonNull(label, "label");
      return this;
    }

    /** The timestamp of every entry: SOURCE_DATE_EPOCH, in seconds (FAT times are read as UTC). */
    public Builder sourceDateEpoch(long epochSeconds) {
      this.epochSeconds = epochSeconds;
      return this;
    }

    /** BS_VolID; default: CRC-32 of the UTF-8 bytes of label + "\0" + SOURCE_DATE_EPOCH. */
    public Builder volumeId(int id) {
      this.volumeId = id;
      return this;
    }

    /**
     * BPB_HiddSec: the volume's first sector on its disk (a GPT partition's first LBA); default 0.
     */
    public Builder hiddenSectors(long sectors) {
      if (sectors < 0 || sectors > 0xFFFFFFFFL) {
        throw new IllegalArgumentException("hidden sectors " + sectors + " not in [0, 2^32)");
      }
      this.hiddenSectors = sectors;
      return this;
    }

    /**
     * @throws FatFormatException naming the label if it cannot be stored
     */
    public FatWriter build() throws FatFormatException {
      String l = Names.label(label);
      long epoch =
          epochSeconds == Long.MIN_VALUE
              ? LocalDateTime.of(1980, 1, 1, 0, 0).toEpochSecond(ZoneOffset.UTC)
              : epochSeconds;
      int id;
      if (volumeId != null) {
        id = volumeId;
      } else {
        CRC32 c = new CRC32();
        c.update((l + "\0" + epoch).getBytes(StandardCharsets.UTF_8));
        id = (int) c.getValue();
      }
      return new FatWriter(l, epoch, id, hiddenSectors);
    }
  }
}
