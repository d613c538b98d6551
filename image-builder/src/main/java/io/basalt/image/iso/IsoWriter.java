package io.basalt.image.iso;

import io.basalt.image.gpt.GptFormatException;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.gpt.GptTables;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.tree.TreePaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a {@link FileTree} (directories and regular files) as an ISO 9660 image (ECMA-119,
 * interchange level 2 names) with a Joliet tree for the real names, optionally UEFI-bootable
 * through El Torito (one no-emulation entry, platform 0xEF, whose boot image is a FAT file of the
 * tree) and hybrid: a protective MBR and a GPT in the system area whose one partition, an EFI
 * system partition, is that same file, so the image also boots written to a USB stick. Every
 * timestamp is the one given; the output is a pure function of the tree's paths and contents and
 * the options (host mtimes, owners and modes are ignored). Immutable and thread-safe; each call
 * writes its own channel.
 *
 * <p>Layout, in 2048-byte blocks: 0-15 system area (the GPT head when hybrid); 16 primary volume
 * descriptor; 17 El Torito boot record (when bootable); the Joliet supplementary descriptor; the
 * terminator; the boot catalog; the path tables (primary L and M, Joliet L and M); the primary
 * directories, then the Joliet ones, breadth-first; the files' data in tree order, each from a
 * block boundary; 150 blocks of zeros (the 300 KiB mkisofs pads with); when hybrid, the backup GPT
 * in the last 9 blocks. The volume space covers all of it.
 */
public final class IsoWriter {
  /** The logical block size (ECMA-119 6.1.2). */
  public static final int BLOCK = 2048;

  static final int SYSTEM_AREA_BLOCKS = 16;
  static final int PAD_BLOCKS = 150;
  static final int GPT_TAIL_BLOCKS = (GptTables.TAIL_BYTES + BLOCK - 1) / BLOCK;
  static final long MAX_FILE = 0xFFFFFFFFL;

  /** ECMA-119 6.8.2.2: a path table holds at most 8 levels of directories. */
  static final int MAX_DEPTH = 8;

  private static final String APPLICATION = "BASALT";

  private final String volumeId;
  private final long epoch;
  private final String bootImage;
  private final String gptSeed;
  private final String espName;

  private IsoWriter(Builder b) {
    this.volumeId = b.volumeId;
    this.epoch = b.epoch;
    this.bootImage = b.bootImage;
    this.gptSeed = b.gptSeed;
    this.espName = b.espName;
  }

  /** A builder: volume ID {@code CDROM}, timestamp 1970-01-01, not bootable, not hybrid. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * What was written. Immutable, thread-safe.
   *
   * @param sizeBytes the image size (the volume space, a multiple of 2048)
   * @param bootImageBlock the boot image's first block, or -1 when not bootable
   * @param bootImageBytes the boot image's size, or 0
   * @param files regular files written
   */
  public record Summary(long sizeBytes, long bootImageBlock, long bootImageBytes, int files) {}

  // ---------------------------------------------------------------- planning

  /** A directory or file of the image, with its place in both trees. */
  private static final class Node {
    final TreeEntry entry;
    final Node parent;
    final List<Node> primaryChildren = new ArrayList<>();
    final List<Node> jolietChildren = new ArrayList<>();
    byte[] primaryId;
    byte[] jolietId;
    long block;
    long size;
    long jolietBlock;
    long jolietSize;
    int primaryNumber;
    int jolietNumber;

    Node(TreeEntry entry, Node parent) {
      this.entry = entry;
      this.parent = parent;
    }

    boolean dir() {
      return entry.isDirectory();
    }
  }

  private static final class Plan {
    Node root;
    final List<Node> files = new ArrayList<>();
    List<Node> primaryDirs;
    List<Node> jolietDirs;
    long primaryTableBytes;
    long jolietTableBytes;
    long catalogBlock = -1;
    long primaryL;
    long primaryM;
    long jolietL;
    long jolietM;
    Node boot;
    long totalBlocks;
    GptTables gpt;
    int svdBlock;
    int terminatorBlock;
  }

  private Plan plan(FileTree tree) throws IOException {
    Plan plan = new Plan();
    Map<String, Node> byPath = new LinkedHashMap<>();
    for (TreeEntry e : tree) {
      if (e.type() != EntryType.DIRECTORY && e.type() != EntryType.REGULAR) {
        throw new IsoFormatException(
            e.path()
                + ": "
                + e.type().name().toLowerCase(Locale.ROOT)
                + " entries cannot be stored (directories and regular files only)");
      }
      if (e.path().equals("/")) {
        plan.root = new Node(e, null);
        byPath.put("/", plan.root);
        continue;
      }
      Node parent = byPath.get(e.parent());
      Node n = new Node(e, parent);
      byPath.put(e.path(), n);
      n.jolietId = IsoNames.joliet(e.path(), e.name(), n.dir());
      parent.primaryChildren.add(n);
      parent.jolietChildren.add(n);
      if (!n.dir()) {
        if (e.content().size() > MAX_FILE) {
          throw new IsoFormatException(
              e.path()
                  + ": "
                  + e.content().size()
                  + " bytes; files of 4 GiB and more need multi-extent records, which are not"
                  + " written");
        }
        plan.files.add(n);
      }
    }
    for (Node n : byPath.values()) {
      if (n.dir()) {
        sortUnique(n, n.jolietChildren, false);
        primaryNames(n.jolietChildren);
        sortUnique(n, n.primaryChildren, true);
      }
    }
    plan.primaryDirs = breadthFirst(plan.root, true);
    plan.jolietDirs = breadthFirst(plan.root, false);
    for (Node d : plan.primaryDirs) {
      if (depth(d) > MAX_DEPTH) {
        throw new IsoFormatException(
            d.entry.path()
                + ": directories nest deeper than the "
                + MAX_DEPTH
                + " levels of ISO 9660");
      }
    }
    if (bootImage != null) {
      Node b = byPath.get(bootImage);
      if (b == null || b.dir()) {
        throw new IsoFormatException(
            "boot image " + bootImage + ": not a regular file of the tree");
      }
      if (b.entry.content().size() == 0 || b.entry.content().size() % 512 != 0) {
        throw new IsoFormatException(
            "boot image "
                + bootImage
                + ": "
                + b.entry.content().size()
                + " bytes; expected a positive multiple of 512 (a FAT image)");
      }
      plan.boot = b;
    }

    // Blocks: descriptors, catalog, path tables, directories, files.
    long next = SYSTEM_AREA_BLOCKS + 1; // the PVD
    if (plan.boot != null) {
      next++; // El Torito boot record: block 17 (El Torito 1.0, section 2.0)
    }
    plan.svdBlock = (int) next++;
    plan.terminatorBlock = (int) next++;
    if (plan.boot != null) {
      plan.catalogBlock = next++;
    }
    plan.primaryTableBytes = pathTableBytes(plan.primaryDirs, true);
    plan.jolietTableBytes = pathTableBytes(plan.jolietDirs, false);
    long pt = blocks(plan.primaryTableBytes);
    long jt = blocks(plan.jolietTableBytes);
    plan.primaryL = next;
    plan.primaryM = next + pt;
    plan.jolietL = next + 2 * pt;
    plan.jolietM = next + 2 * pt + jt;
    next += 2 * pt + 2 * jt;
    for (Node d : plan.primaryDirs) {
      d.block = next;
      d.size = directoryBytes(d, true);
      next += d.size / BLOCK;
    }
    for (Node d : plan.jolietDirs) {
      d.jolietBlock = next;
      d.jolietSize = directoryBytes(d, false);
      next += d.jolietSize / BLOCK;
    }
    for (Node f : plan.files) {
      f.block = next;
      f.size = f.entry.content().size();
      next += blocks(f.size);
    }
    next += PAD_BLOCKS;
    if (gptSeed != null) {
      next += GPT_TAIL_BLOCKS;
    }
    plan.totalBlocks = next;
    if (next > 0xFFFFFFFFL) {
      throw new IsoFormatException("the image needs " + next + " blocks; ISO 9660 allows 2^32-1");
    }
    if (gptSeed != null) {
      long sectors = next * (BLOCK / 512);
      try {
        List<GptTables.Extent> parts = new ArrayList<>();
        if (plan.boot != null) {
          long first = plan.boot.block * (BLOCK / 512);
          long last = first + plan.boot.size / 512 - 1;
          parts.add(new GptTables.Extent(espName, GptPartition.EFI_SYSTEM, first, last, 0));
        }
        plan.gpt = GptTables.of(gptSeed, sectors, parts);
      } catch (GptFormatException e) {
        throw new IsoFormatException("hybrid GPT: " + e.getMessage());
      }
    }
    return plan;
  }

  /**
   * Gives each child its ISO 9660 identifier, in Joliet (real name) order: the mapped name, or,
   * when an earlier sibling took it (names that differ in case or in characters outside the
   * d-characters, or were cut to length), the first free {@code _n} alternative.
   */
  private static void primaryNames(List<Node> children) {
    java.util.Set<String> taken = new java.util.HashSet<>();
    for (Node c : children) {
      for (int i = 0; ; i++) {
        byte[] id = IsoNames.primary(c.entry.name(), c.dir(), i);
        if (taken.add(new String(id, StandardCharsets.US_ASCII))) {
          c.primaryId = id;
          break;
        }
      }
    }
  }

  private static int depth(Node d) {
    int n = 1;
    for (Node p = d.parent; p != null; p = p.parent) {
      n++;
    }
    return n;
  }

  private static void sortUnique(Node dir, List<Node> children, boolean primary)
      throws IsoFormatException {
    children.sort((a, b) -> IsoNames.ORDER.compare(id(a, primary), id(b, primary)));
    for (int i = 1; i < children.size(); i++) {
      if (Arrays.equals(id(children.get(i - 1), primary), id(children.get(i), primary))) {
        throw new IsoFormatException(
            children.get(i - 1).entry.path()
                + " and "
                + children.get(i).entry.path()
                + " have the same "
                + (primary ? "ISO 9660 name " : "Joliet name ")
                + (primary
                    ? new String(id(children.get(i), true), StandardCharsets.US_ASCII)
                    : new String(id(children.get(i), false), StandardCharsets.UTF_16BE))
                + " in "
                + dir.entry.path());
      }
    }
  }

  private static byte[] id(Node n, boolean primary) {
    return primary ? n.primaryId : n.jolietId;
  }

  private static List<Node> children(Node n, boolean primary) {
    return primary ? n.primaryChildren : n.jolietChildren;
  }

  /** ECMA-119 9.4: path table order is breadth-first, by parent number, then by identifier. */
  private static List<Node> breadthFirst(Node root, boolean primary) {
    List<Node> out = new ArrayList<>();
    Deque<Node> queue = new ArrayDeque<>();
    queue.add(root);
    while (!queue.isEmpty()) {
      Node d = queue.poll();
      out.add(d);
      if (primary) {
        d.primaryNumber = out.size();
      } else {
        d.jolietNumber = out.size();
      }
      for (Node c : children(d, primary)) {
        if (c.dir()) {
          queue.add(c);
        }
      }
    }
    return out;
  }

  private static long blocks(long bytes) {
    return (bytes + BLOCK - 1) / BLOCK;
  }

  private static long pathTableBytes(List<Node> dirs, boolean primary) {
    long n = 0;
    for (Node d : dirs) {
      int len = d.parent == null ? 1 : id(d, primary).length;
      n += 8 + len + (len & 1);
    }
    return n;
  }

  private static int recordLength(int idLength) {
    int len = 33 + idLength;
    return len + (len & 1);
  }

  /** The directory's extent size: records packed into blocks, none crossing a block boundary. */
  private static long directoryBytes(Node d, boolean primary) {
    long blocks = 1;
    int used = 2 * recordLength(1); // "." and ".."
    for (Node c : children(d, primary)) {
      int len = recordLength(id(c, primary).length);
      if (used + len > BLOCK) {
        blocks++;
        used = 0;
      }
      used += len;
    }
    return blocks * BLOCK;
  }

  // ---------------------------------------------------------------- writing

  /**
   * Writes the image into {@code ch} from position 0 (a fresh, empty channel; positions only
   * increase, so a hashing channel sees every byte once), ending at {@link Summary#sizeBytes()}.
   *
   * @throws IsoFormatException naming the entry when it cannot be stored, the boot image is not a
   *     regular file of a multiple of 512 bytes, or the timestamp cannot be recorded
   * @throws IOException if writing fails or a file's content changes while being read
   */
  public Summary write(FileTree tree, SeekableByteChannel ch) throws IOException {
    Objects.requireNonNull(tree, "tree");
    byte[] recordDate = recordDate(epoch);
    byte[] volumeDate = volumeDate(epoch);
    Plan plan = plan(tree);
    if (plan.gpt != null) {
      writeAt(ch, 0, ByteBuffer.wrap(plan.gpt.head()));
    }
    writeAt(
        ch,
        SYSTEM_AREA_BLOCKS * (long) BLOCK,
        volumeDescriptor(plan, true, volumeDate, recordDate));
    if (plan.boot != null) {
      writeAt(ch, (SYSTEM_AREA_BLOCKS + 1L) * BLOCK, bootRecord(plan.catalogBlock));
    }
    writeAt(
        ch, plan.svdBlock * (long) BLOCK, volumeDescriptor(plan, false, volumeDate, recordDate));
    ByteBuffer term = ByteBuffer.allocate(BLOCK);
    term.put((byte) 255).put("CD001".getBytes(StandardCharsets.US_ASCII)).put((byte) 1);
    writeAt(ch, plan.terminatorBlock * (long) BLOCK, term.clear());
    if (plan.boot != null) {
      writeAt(ch, plan.catalogBlock * BLOCK, bootCatalog(plan.boot));
    }
    writeAt(ch, plan.primaryL * BLOCK, pathTable(plan.primaryDirs, true, ByteOrder.LITTLE_ENDIAN));
    writeAt(ch, plan.primaryM * BLOCK, pathTable(plan.primaryDirs, true, ByteOrder.BIG_ENDIAN));
    writeAt(ch, plan.jolietL * BLOCK, pathTable(plan.jolietDirs, false, ByteOrder.LITTLE_ENDIAN));
    writeAt(ch, plan.jolietM * BLOCK, pathTable(plan.jolietDirs, false, ByteOrder.BIG_ENDIAN));
    for (Node d : plan.primaryDirs) {
      writeAt(ch, d.block * BLOCK, directory(d, true, recordDate));
    }
    for (Node d : plan.jolietDirs) {
      writeAt(ch, d.jolietBlock * BLOCK, directory(d, false, recordDate));
    }
    byte[] buf = new byte[1 << 20];
    for (Node f : plan.files) {
      ch.position(f.block * BLOCK);
      long copied = 0;
      try (InputStream in = f.entry.content().open()) {
        int n;
        while ((n = in.read(buf)) > 0) {
          ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
          while (b.hasRemaining()) {
            ch.write(b);
          }
          copied += n;
        }
      }
      if (copied != f.size) {
        throw new IOException(
            f.entry.path() + ": " + copied + " bytes read, " + f.size + " expected");
      }
    }
    long total = plan.totalBlocks * BLOCK;
    if (plan.gpt != null) {
      writeAt(ch, total - GptTables.TAIL_BYTES, ByteBuffer.wrap(plan.gpt.tail()));
    } else {
      writeAt(ch, total - 1, ByteBuffer.allocate(1));
    }
    return new Summary(
        total,
        plan.boot == null ? -1 : plan.boot.block,
        plan.boot == null ? 0 : plan.boot.size,
        plan.files.size());
  }

  /** ECMA-119 8.4 (primary) and 8.5 with Joliet's escape sequence %/E (UCS-2 level 3). */
  private ByteBuffer volumeDescriptor(Plan plan, boolean primary, byte[] date, byte[] recordDate) {
    ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) (primary ? 1 : 2)).put("CD001".getBytes(StandardCharsets.US_ASCII)).put((byte) 1);
    b.position(8);
    b.put(text("", 32, primary)); // system identifier
    b.put(text(volumeId, 32, primary));
    b.position(80);
    both32(b, plan.totalBlocks);
    if (!primary) {
      b.put(88, (byte) '%').put(89, (byte) '/').put(90, (byte) 'E');
    }
    b.position(120);
    both16(b, 1); // volume set size
    both16(b, 1); // volume sequence number
    both16(b, BLOCK);
    long tableBytes = primary ? plan.primaryTableBytes : plan.jolietTableBytes;
    both32(b, tableBytes);
    b.order(ByteOrder.LITTLE_ENDIAN).putInt((int) (primary ? plan.primaryL : plan.jolietL));
    b.putInt(0);
    b.order(ByteOrder.BIG_ENDIAN).putInt((int) (primary ? plan.primaryM : plan.jolietM));
    b.putInt(0);
    b.order(ByteOrder.LITTLE_ENDIAN);
    Node root = plan.root;
    b.put(
        record(
            primary ? root.block : root.jolietBlock,
            primary ? root.size : root.jolietSize,
            true,
            new byte[] {0},
            recordDate));
    b.put(text("", 128, primary)); // volume set identifier
    b.put(text("", 128, primary)); // publisher
    b.put(text("", 128, primary)); // data preparer
    b.put(text(APPLICATION, 128, primary));
    b.put(text("", 37, primary)); // copyright file
    b.put(text("", 37, primary)); // abstract file
    b.put(text("", 37, primary)); // bibliographic file
    b.put(date); // creation
    b.put(date); // modification
    b.put(unspecifiedDate()); // expiration
    b.put(date); // effective
    b.put((byte) 1); // file structure version
    return b.clear();
  }

  /** An identifier field: a-/d-characters padded with spaces, or UCS-2BE padded with U+0020. */
  private static byte[] text(String s, int len, boolean primary) {
    byte[] out = new byte[len];
    if (primary) {
      Arrays.fill(out, (byte) ' ');
      byte[] v = s.getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(v, 0, out, 0, v.length);
    } else {
      for (int i = 0; i + 1 < len; i += 2) {
        out[i] = 0;
        out[i + 1] = ' ';
      }
      byte[] v = s.getBytes(StandardCharsets.UTF_16BE);
      System.arraycopy(v, 0, out, 0, v.length);
    }
    return out;
  }

  /** El Torito 1.0 section 2.0: the boot record volume descriptor. */
  private static ByteBuffer bootRecord(long catalogBlock) {
    ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 0).put("CD001".getBytes(StandardCharsets.US_ASCII)).put((byte) 1);
    b.put("EL TORITO SPECIFICATION".getBytes(StandardCharsets.US_ASCII));
    b.putInt(71, (int) catalogBlock);
    return b.clear();
  }

  /**
   * El Torito 1.0 sections 2.1-2.3: validation entry (platform 0xEF, EFI) and the initial/default
   * entry: bootable, no emulation, load segment 0, the image's size in 512-byte sectors (0 when it
   * does not fit 16 bits, as xorriso writes it; UEFI firmware then takes the image to reach to the
   * end of the volume, and the FAT file system inside bounds itself) and its first block.
   */
  private static ByteBuffer bootCatalog(Node boot) {
    ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, (byte) 1); // header ID
    b.put(1, (byte) 0xEF); // platform: EFI
    b.put(30, (byte) 0x55).put(31, (byte) 0xAA);
    int sum = 0;
    for (int i = 0; i < 32; i += 2) {
      sum += b.getShort(i) & 0xFFFF;
    }
    b.putShort(28, (short) -sum); // the 16 words sum to zero
    b.put(32, (byte) 0x88); // bootable
    b.put(33, (byte) 0); // no emulation
    long sectors = boot.size / 512;
    b.putShort(38, (short) (sectors <= 0xFFFF ? sectors : 0));
    b.putInt(40, (int) boot.block);
    return b;
  }

  /** ECMA-119 9.4: one path table in {@code order} (L: little-endian, M: big-endian). */
  private static ByteBuffer pathTable(List<Node> dirs, boolean primary, ByteOrder order) {
    ByteBuffer b =
        ByteBuffer.allocate((int) (blocks(pathTableBytes(dirs, primary)) * BLOCK)).order(order);
    for (Node d : dirs) {
      byte[] id = d.parent == null ? new byte[] {0} : id(d, primary);
      b.put((byte) id.length).put((byte) 0);
      b.putInt((int) (primary ? d.block : d.jolietBlock));
      Node p = d.parent == null ? d : d.parent;
      b.putShort((short) (primary ? p.primaryNumber : p.jolietNumber));
      b.put(id);
      if ((id.length & 1) == 1) {
        b.put((byte) 0);
      }
    }
    return b.clear();
  }

  /** A directory's extent: ".", "..", then the children sorted by identifier. */
  private static ByteBuffer directory(Node d, boolean primary, byte[] date) {
    ByteBuffer b = ByteBuffer.allocate((int) (primary ? d.size : d.jolietSize));
    Node parent = d.parent == null ? d : d.parent;
    b.put(record(primary ? d.block : d.jolietBlock, size(d, primary), true, new byte[] {0}, date));
    b.put(
        record(
            primary ? parent.block : parent.jolietBlock,
            size(parent, primary),
            true,
            new byte[] {1},
            date));
    for (Node c : children(d, primary)) {
      byte[] r =
          c.dir()
              ? record(
                  primary ? c.block : c.jolietBlock, size(c, primary), true, id(c, primary), date)
              : record(c.block, c.size, false, id(c, primary), date);
      if (b.position() % BLOCK + r.length > BLOCK) {
        b.position((b.position() / BLOCK + 1) * BLOCK);
      }
      b.put(r);
    }
    return b.clear();
  }

  private static long size(Node d, boolean primary) {
    return primary ? d.size : d.jolietSize;
  }

  /** ECMA-119 9.1: a directory record. */
  private static byte[] record(long block, long size, boolean dir, byte[] id, byte[] date) {
    int len = recordLength(id.length);
    ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) len).put((byte) 0);
    both32(b, block);
    both32(b, size);
    b.put(date);
    b.put((byte) (dir ? 0x02 : 0x00)); // file flags: directory
    b.put((byte) 0).put((byte) 0); // file unit size, interleave gap
    both16(b, 1); // volume sequence number
    b.put((byte) id.length).put(id);
    return b.array();
  }

  /** ECMA-119 7.3.3: a 32-bit number both-byte orders. */
  private static void both32(ByteBuffer b, long v) {
    ByteOrder o = b.order();
    b.order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
    b.order(ByteOrder.BIG_ENDIAN).putInt((int) v);
    b.order(o);
  }

  /** ECMA-119 7.2.3: a 16-bit number both-byte orders. */
  private static void both16(ByteBuffer b, int v) {
    ByteOrder o = b.order();
    b.order(ByteOrder.LITTLE_ENDIAN).putShort((short) v);
    b.order(ByteOrder.BIG_ENDIAN).putShort((short) v);
    b.order(o);
  }

  /**
   * ECMA-119 9.1.5: years since 1900, month, day, hour, minute, second, offset from GMT (0).
   *
   * @throws IsoFormatException outside 1900-2155
   */
  static byte[] recordDate(long epochSeconds) throws IsoFormatException {
    LocalDateTime t = LocalDateTime.ofEpochSecond(epochSeconds, 0, ZoneOffset.UTC);
    if (t.getYear() < 1900 || t.getYear() > 2155) {
      throw new IsoFormatException(
          "timestamp " + epochSeconds + " (" + t + "): ISO 9660 records years 1900 to 2155");
    }
    return new byte[] {
      (byte) (t.getYear() - 1900),
      (byte) t.getMonthValue(),
      (byte) t.getDayOfMonth(),
      (byte) t.getHour(),
      (byte) t.getMinute(),
      (byte) t.getSecond(),
      0
    };
  }

  /** ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" in ASCII digits, then the GMT offset (0). */
  static byte[] volumeDate(long epochSeconds) throws IsoFormatException {
    recordDate(epochSeconds);
    LocalDateTime t = LocalDateTime.ofEpochSecond(epochSeconds, 0, ZoneOffset.UTC);
    String s =
        String.format(
            Locale.ROOT,
            "%04d%02d%02d%02d%02d%02d00",
            t.getYear(),
            t.getMonthValue(),
            t.getDayOfMonth(),
            t.getHour(),
            t.getMinute(),
            t.getSecond());
    byte[] out = Arrays.copyOf(s.getBytes(StandardCharsets.US_ASCII), 17);
    out[16] = 0;
    return out;
  }

  private static byte[] unspecifiedDate() {
    byte[] out = new byte[17];
    Arrays.fill(out, 0, 16, (byte) '0');
    return out;
  }

  private static void writeAt(SeekableByteChannel ch, long offset, ByteBuffer data)
      throws IOException {
    ch.position(offset);
    while (data.hasRemaining()) {
      ch.write(data);
    }
  }

  /** Options of an {@link IsoWriter}. Not thread-safe. */
  public static final class Builder {
    private String volumeId = "CDROM";
    private long epoch;
    private String bootImage;
    private String gptSeed;
    private String espName = "EFI-SYSTEM";

    private Builder() {}

    /** The volume identifier (the label blkid reports): 1-16 of {@code A-Z 0-9 _}. */
    public Builder volumeId(String id) {
      this.volumeId = id;
      return this;
    }

    /** The one timestamp of every record and descriptor (seconds since 1970, UTC). */
    public Builder sourceDateEpoch(long epochSeconds) {
      this.epoch = epochSeconds;
      return this;
    }

    /**
     * Makes the image UEFI-bootable: {@code path} (a regular file of the tree, a FAT image whose
     * size is a multiple of 512) is the El Torito no-emulation boot image for platform EFI.
     */
    public Builder efiBootImage(String path) {
      this.bootImage = path;
      return this;
    }

    /**
     * Makes the image hybrid: a protective MBR and a GPT whose GUIDs derive from {@code seed}, with
     * the EFI boot image as an EFI system partition named {@code espName}.
     */
    public Builder hybridGpt(String seed, String espName) {
      this.gptSeed = Objects.requireNonNull(seed, "seed");
      this.espName = Objects.requireNonNull(espName, "espName");
      return this;
    }

    /**
     * The writer.
     *
     * @throws IsoFormatException if the volume ID is not 1-16 d-characters, or a hybrid GPT is
     *     asked for without a boot image
     */
    public IsoWriter build() throws IsoFormatException {
      IsoNames.volumeId(volumeId);
      if (gptSeed != null && bootImage == null) {
        throw new IsoFormatException("a hybrid GPT needs an EFI boot image to point at");
      }
      if (bootImage != null) {
        bootImage = TreePaths.normalize(bootImage);
      }
      recordDate(epoch);
      return new IsoWriter(this);
    }
  }
}
