package io.basalt.image.squashfs;

import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Writes a {@link FileTree} as a squashfs 4.0 image, the format mksquashfs writes and the Linux
 * kernel mounts (layout after Documentation/filesystems/squashfs.rst and
 * fs/squashfs/squashfs_fs.h): superblock, optional compressor options, data and fragment blocks,
 * then the inode, directory, fragment, export, id and xattr tables, padded to 4 KiB. Output depends
 * only on the tree's content and the options, never on thread timing, host owners or host times.
 * Instances are immutable and thread-safe; each call builds independently.
 */
public final class SquashfsWriter {
  static final int MAGIC = 0x73717368;
  static final int SUPERBLOCK_SIZE = 96;
  static final long INVALID = 0xffffffffffffffffL;
  static final long NO_XATTR = 0xffffffffL;
  static final int PAD = 4096;

  // superblock flags (squashfs_fs.h SQUASHFS_*), bit numbers as there
  static final int FLAG_DUPLICATES = 1 << 6;
  static final int FLAG_EXPORT = 1 << 7;
  static final int FLAG_NO_XATTRS = 1 << 9;
  static final int FLAG_COMP_OPT = 1 << 10;
  static final int FLAG_NO_FRAGMENTS = 1 << 4;
  static final int FLAG_ALWAYS_FRAGMENTS = 1 << 5;

  // inode types (basic 1..7, extended 8..14)
  static final int DIR = 1;
  static final int REG = 2;
  static final int SYMLINK = 3;
  static final int BLKDEV = 4;
  static final int CHRDEV = 5;
  static final int FIFO = 6;
  static final int SOCKET = 7;
  static final int EXTENDED = 7;

  private final SquashfsOptions options;
  private final BlockCache cache;

  SquashfsWriter(SquashfsOptions options) {
    this(options, null);
  }

  /** With {@code cache} (or null): compressed blocks reused and added; the bytes are the same. */
  SquashfsWriter(SquashfsOptions options, BlockCache cache) {
    this.options = Objects.requireNonNull(options, "options");
    this.cache = cache;
  }

  /**
   * Writes {@code tree} to {@code out} from its position on (as {@link #writeSeekable}) with the
   * default options except the compressor, its level (the compressor's default when empty) and the
   * times: the superblock's is {@code mtime}, each entry keeps its own clamped to {@code mtime}.
   *
   * @return bytes written, padding to 4 KiB included
   * @throws IOException as {@link #writeSeekable}
   * @throws IllegalArgumentException if {@code level} or {@code mtime} is out of range
   */
  public static long writeImage(
      FileTree tree,
      SeekableByteChannel out,
      SquashfsCompression compression,
      OptionalInt level,
      long mtime)
      throws IOException {
    return writeImage(tree, out, compression, level, mtime, Optional.empty());
  }

  /**
   * As {@link #writeImage(FileTree, SeekableByteChannel, SquashfsCompression, OptionalInt, long)},
   * taking compressed blocks from {@code cache} and adding new ones to it: the bytes written are
   * the same with or without it.
   */
  public static long writeImage(
      FileTree tree,
      SeekableByteChannel out,
      SquashfsCompression compression,
      OptionalInt level,
      long mtime,
      Optional<BlockCache> cache)
      throws IOException {
    SquashfsOptions.Builder o =
        SquashfsOptions.builder().compression(compression).mtime(mtime).keepEntryMtimes(true);
    level.ifPresent(o::level);
    return new SquashfsWriter(o.build(), cache.orElse(null)).writeSeekable(tree, out).imageSize();
  }

  SquashfsOptions options() {
    return options;
  }

  /**
   * Writes the image to {@code out} from its position on, sequentially (data first at the final
   * offsets, then the tables, then the superblock back at the start position), and leaves the
   * channel positioned after the 4 KiB padding.
   *
   * @throws IOException naming the entry when a file cannot be read or changed or vanished while
   *     being read, or when the tree cannot be represented (e.g. a name longer than 256 bytes); the
   *     channel's content is then undefined
   */
  SquashfsResult writeSeekable(FileTree tree, SeekableByteChannel out) throws IOException {
    long origin = out.position();
    Build b = new Build(tree);
    byte[] head = b.head();
    // Zeros where the superblock goes (patched at the end), so that every byte is written in order
    // once before the patch: a channel hashing while it writes (dm-verity) then re-reads one block.
    writeFully(out, ByteBuffer.allocate(head.length));
    long dataEnd = b.writeData(out, head.length);
    out.position(origin + dataEnd);
    byte[] tables = b.tables(dataEnd);
    writeFully(out, ByteBuffer.wrap(tables));
    long used = dataEnd + tables.length;
    long padded = roundUp(used);
    writeFully(out, ByteBuffer.allocate((int) (padded - used)));
    long end = out.position();
    out.position(origin);
    writeFully(out, ByteBuffer.wrap(b.superblock(used)));
    // the compressor options block (if any) follows the superblock, as in the stream writer
    writeFully(out, ByteBuffer.wrap(head, SUPERBLOCK_SIZE, head.length - SUPERBLOCK_SIZE));
    out.position(end);
    if (out.size() > end) {
      out.truncate(end);
    }
    return b.result(padded, used);
  }

  private static long roundUp(long n) {
    return (n + PAD - 1) / PAD * PAD;
  }

  private static void writeFully(WritableByteChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** One inode; hard links share one. */
  private static final class Inode {
    final TreeEntry entry;
    int number;
    long ref = -1;
    int nlink = 1;
    DataWriter.FileData data;
    long xattr = NO_XATTR;

    Inode(TreeEntry entry) {
      this.entry = entry;
    }
  }

  /** A name in the tree. */
  private static final class Node {
    final TreeEntry entry;
    final byte[] name;
    Inode inode;
    final List<Node> children;

    Node(TreeEntry entry) {
      this.entry = entry;
      this.name = entry.name().getBytes(StandardCharsets.UTF_8);
      this.children = entry.isDirectory() ? new ArrayList<>() : null;
    }
  }

  /** The state of one image build. */
  private final class Build {
    final FileTree tree;
    final Node root;
    final List<Node> all = new ArrayList<>();
    int inodeCount;
    DataWriter data;
    Codec metaCodec;
    final Map<Integer, Integer> ids = new HashMap<>();
    final List<Integer> idList = new ArrayList<>();
    MetadataWriter inodeTable;
    MetadataWriter dirTable;
    MetadataWriter xattrKv;
    final LeBuffer xattrIds = new LeBuffer();
    int xattrIdCount;
    final Map<ByteBuffer, Integer> xattrSets = new HashMap<>();
    long[] exportRefs;
    int fragments;
    long dataBlocks;
    long sparseBlocks;
    int duplicates;
    long paddingBytes;

    Build(FileTree tree) throws IOException {
      this.tree = tree;
      Map<String, Node> byPath = new HashMap<>();
      Node r = null;
      for (TreeEntry e : tree) {
        if (e.name().getBytes(StandardCharsets.UTF_8).length > 256) {
          throw new IOException(
              e.path() + ": name longer than 256 bytes cannot be stored in squashfs");
        }
        Node n = new Node(e);
        byPath.put(e.path(), n);
        all.add(n);
        if (e.parent() == null) {
          r = n;
        } else {
          byPath.get(e.parent()).children.add(n);
        }
        if (e.type() != EntryType.HARDLINK) {
          n.inode = new Inode(e);
        }
      }
      for (Node n : all) {
        if (n.entry.type() == EntryType.HARDLINK) {
          n.inode = byPath.get(n.entry.linkTarget()).inode;
          n.inode.nlink++;
        }
      }
      this.root = r;
      TreeSet<Integer> idSet = new TreeSet<>();
      for (Node n : all) {
        idSet.add(n.inode.entry.uid());
        idSet.add(n.inode.entry.gid());
      }
      if (idSet.size() > 65535) {
        throw new IOException(
            "too many distinct uids/gids for squashfs: " + idSet.size() + " > 65535");
      }
      for (int id : idSet) {
        ids.put(id, idList.size());
        idList.add(id);
      }
      number(root);
    }

    private void number(Node dir) {
      for (Node c : dir.children) {
        if (c.children != null) {
          number(c);
        } else if (c.inode.number == 0) {
          c.inode.number = ++inodeCount;
        }
      }
      dir.inode.number = ++inodeCount;
    }

    /** Superblock placeholder plus the compressor options block, if any. */
    byte[] head() {
      LeBuffer b = new LeBuffer();
      b.bytes(new byte[SUPERBLOCK_SIZE]);
      byte[] opts = compressorOptions();
      if (opts != null) {
        // stored uncompressed, as mksquashfs does
        b.u16(opts.length | 0x8000).bytes(opts);
      }
      return b.toByteArray();
    }

    /**
     * The compressor options (squashfs_fs.h *_comp_opts), or null when all are mksquashfs'
     * defaults.
     */
    private byte[] compressorOptions() {
      LeBuffer b = new LeBuffer();
      switch (options.compression()) {
        case ZSTD:
          if (options.level() == SquashfsCompression.ZSTD.defaultLevel()) {
            return null;
          }
          b.u32(options.level());
          break;
        case GZIP:
          if (options.level() == 9
              && options.gzipWindowBits() == 15
              && options.gzipStrategy() == 0) {
            return null;
          }
          int strategies = options.gzipStrategy() == 0 ? 1 : 1 << options.gzipStrategy();
          b.u32(options.level()).u16(options.gzipWindowBits()).u16(strategies);
          break;
        case XZ:
          if (options.xzDictionarySize() == options.blockSize()) {
            return null;
          }
          b.u32(options.xzDictionarySize()).u32(0);
          break;
        default:
          throw new IllegalStateException();
      }
      return b.toByteArray();
    }

    long writeData(SeekableByteChannel out, long base) throws IOException {
      try (DataWriter dw = new DataWriter(options, out, base, cache)) {
        for (Node n : all) {
          if (n.entry.type() == EntryType.REGULAR) {
            n.inode.data = dw.add(n.entry);
          }
        }
        long end = dw.finish();
        data = dw;
        fragments = dw.fragmentCount();
        dataBlocks = dw.dataBlocks();
        sparseBlocks = dw.sparseBlocks();
        duplicates = dw.duplicates();
        paddingBytes = dw.paddingBytes();
        return end;
      }
    }

    /** Builds every table for an image whose data ends at {@code dataEnd}. */
    byte[] tables(long dataEnd) throws IOException {
      metaCodec = Codec.create(options);
      try {
        inodeTable = new MetadataWriter(metaCodec);
        dirTable = new MetadataWriter(metaCodec);
        xattrKv = new MetadataWriter(metaCodec);
        exportRefs = new long[inodeCount];
        writeDir(root, inodeCount + 1);
        LeBuffer out = new LeBuffer(1 << 16);
        long pos = dataEnd;
        inodeTableStart = pos;
        out.bytes(inodeTable.finish());
        pos = dataEnd + out.size();
        dirTableStart = pos;
        out.bytes(dirTable.finish());
        pos = dataEnd + out.size();
        // fragment table: entry blocks, then the index of their positions
        if (fragments > 0) {
          fragmentTableStart = indexedTable(out, dataEnd, data.fragmentTable());
        } else {
          fragmentTableStart = pos;
        }
        if (options.exportTable()) {
          LeBuffer ex = new LeBuffer(inodeCount * 8);
          for (long r : exportRefs) {
            ex.u64(r);
          }
          exportTableStart = indexedTable(out, dataEnd, ex);
        } else {
          exportTableStart = INVALID;
        }
        LeBuffer idb = new LeBuffer();
        for (int id : idList) {
          idb.u32(id & 0xffffffffL);
        }
        idTableStart = indexedTable(out, dataEnd, idb);
        if (xattrIdCount > 0) {
          long kvStart = dataEnd + out.size();
          out.bytes(xattrKv.finish());
          long idStart = dataEnd + out.size();
          MetadataWriter mw = new MetadataWriter(metaCodec);
          mw.write(xattrIds);
          out.bytes(mw.finish());
          xattrTableStart = dataEnd + out.size();
          // squashfs_xattr_id_table: u64 xattr_table_start, u32 xattr_ids, u32 unused, u64 index[]
          out.u64(kvStart).u32(xattrIdCount).u32(0);
          for (long s : mw.blockStarts()) {
            out.u64(idStart + s);
          }
        } else {
          xattrTableStart = INVALID;
        }
        return out.toByteArray();
      } finally {
        metaCodec.close();
      }
    }

    long inodeTableStart;
    long dirTableStart;
    long fragmentTableStart;
    long exportTableStart;
    long idTableStart;
    long xattrTableStart;

    /**
     * Appends {@code entries} as metadata blocks followed by their u64 index; returns the index
     * position.
     */
    private long indexedTable(LeBuffer out, long dataEnd, LeBuffer entries) throws IOException {
      long start = dataEnd + out.size();
      MetadataWriter mw = new MetadataWriter(metaCodec);
      mw.write(entries);
      out.bytes(mw.finish());
      long index = dataEnd + out.size();
      for (long s : mw.blockStarts()) {
        out.u64(start + s);
      }
      return index;
    }

    private void writeDir(Node dir, int parentNumber) throws IOException {
      int subdirs = 0;
      for (Node c : dir.children) {
        if (c.children != null) {
          writeDir(c, dir.inode.number);
          subdirs++;
        } else if (c.inode.ref < 0) {
          writeInode(c.inode);
        }
      }
      // directory listing: headers of up to 256 entries sharing one inode block
      // (squashfs_dir_header)
      long listingRef = dirTable.ref();
      long listingStart = dirTable.uncompressedSize();
      long lastIndexedBlock = listingRef >>> 16;
      LeBuffer index = new LeBuffer();
      int indexCount = 0;
      List<Node> ch = dir.children;
      LeBuffer group = new LeBuffer();
      int i = 0;
      while (i < ch.size()) {
        Node first = ch.get(i);
        long block = first.inode.ref >>> 16;
        int baseNumber = first.inode.number;
        int j = i;
        while (j < ch.size() && j - i < 256) {
          Inode in = ch.get(j).inode;
          long delta = (long) in.number - baseNumber;
          if ((in.ref >>> 16) != block || delta < -32768 || delta > 32767) {
            break;
          }
          j++;
        }
        long headerPos = dirTable.uncompressedSize() - listingStart;
        long headerBlock = dirTable.ref() >>> 16;
        if (headerBlock != lastIndexedBlock) {
          // squashfs_dir_index: u32 index, u32 start_block, u32 size (name length - 1), name
          index.u32(headerPos).u32(headerBlock).u32(first.name.length - 1).bytes(first.name);
          indexCount++;
          lastIndexedBlock = headerBlock;
        }
        group.reset();
        group.u32(j - i - 1).u32(block).u32(baseNumber);
        for (int k = i; k < j; k++) {
          Node n = ch.get(k);
          // squashfs_dir_entry: u16 offset, s16 inode_number delta, u16 basic type, u16 size, name
          group
              .u16((int) (n.inode.ref & 0xffff))
              .u16(n.inode.number - baseNumber)
              .u16(basicType(n.inode.entry))
              .u16(n.name.length - 1)
              .bytes(n.name);
        }
        dirTable.write(group);
        i = j;
      }
      long fileSize = dirTable.uncompressedSize() - listingStart + 3;
      Inode in = dir.inode;
      in.nlink = 2 + subdirs;
      long xattr = xattrIndex(in.entry);
      LeBuffer b = new LeBuffer();
      boolean extended =
          xattr != NO_XATTR
              || indexCount > 0
              || fileSize > 0xffff
              || (listingRef >>> 16) > 0xffffffffL;
      if (indexCount > 0xffff || fileSize > 0xffffffffL) {
        throw new IOException(dir.entry.path() + ": directory too large for squashfs");
      }
      header(b, extended ? DIR + EXTENDED : DIR, in);
      if (extended) {
        b.u32(in.nlink)
            .u32(fileSize)
            .u32(listingRef >>> 16)
            .u32(parentNumber)
            .u16(indexCount)
            .u16((int) (listingRef & 0xffff))
            .u32(xattr)
            .bytes(index.array(), 0, index.size());
      } else {
        b.u32(listingRef >>> 16)
            .u32(in.nlink)
            .u16((int) fileSize)
            .u16((int) (listingRef & 0xffff))
            .u32(parentNumber);
      }
      emit(in, b);
    }

    private void emit(Inode in, LeBuffer b) throws IOException {
      in.ref = inodeTable.ref();
      exportRefs[in.number - 1] = in.ref;
      inodeTable.write(b);
    }

    private void header(LeBuffer b, int type, Inode in) {
      TreeEntry e = in.entry;
      long mtime =
          options.keepEntryMtimes()
              ? Math.max(0, Math.min(e.mtime(), options.mtime()))
              : options.mtime();
      // squashfs_base_inode: u16 type, u16 mode (permission bits), u16 uid idx, u16 gid idx, u32
      // mtime, u32 number
      b.u16(type)
          .u16(e.mode() & 07777)
          .u16(ids.get(e.uid()))
          .u16(ids.get(e.gid()))
          .u32(mtime)
          .u32(in.number);
    }

    private void writeInode(Inode in) throws IOException {
      TreeEntry e = in.entry;
      long xattr = xattrIndex(e);
      LeBuffer b = new LeBuffer();
      switch (e.type()) {
        case REGULAR:
          {
            DataWriter.FileData d = in.data;
            long frag = d.fragment < 0 ? 0xffffffffL : d.fragment;
            long offset = d.fragment < 0 ? 0 : d.fragmentOffset;
            boolean ext =
                xattr != NO_XATTR
                    || in.nlink != 1
                    || d.sparseBytes != 0
                    || d.startBlock() > 0xffffffffL
                    || d.size > 0xffffffffL;
            header(b, ext ? REG + EXTENDED : REG, in);
            if (ext) {
              long sparse = Math.min(d.sparseBytes, Math.max(0, d.size - 1));
              b.u64(d.startBlock())
                  .u64(d.size)
                  .u64(sparse)
                  .u32(in.nlink)
                  .u32(frag)
                  .u32(offset)
                  .u32(xattr);
            } else {
              b.u32(d.startBlock()).u32(frag).u32(offset).u32(d.size);
            }
            for (int s : d.blockSizes) {
              b.u32(s & 0xffffffffL);
            }
            break;
          }
        case SYMLINK:
          {
            byte[] target = e.linkTarget().getBytes(StandardCharsets.UTF_8);
            header(b, xattr != NO_XATTR ? SYMLINK + EXTENDED : SYMLINK, in);
            b.u32(in.nlink).u32(target.length).bytes(target);
            if (xattr != NO_XATTR) {
              b.u32(xattr);
            }
            break;
          }
        case BLOCK_DEVICE:
        case CHAR_DEVICE:
          {
            int t = e.type() == EntryType.BLOCK_DEVICE ? BLKDEV : CHRDEV;
            header(b, xattr != NO_XATTR ? t + EXTENDED : t, in);
            b.u32(in.nlink).u32(encodeDev(e.devMajor(), e.devMinor(), e.path()));
            if (xattr != NO_XATTR) {
              b.u32(xattr);
            }
            break;
          }
        case FIFO:
        case SOCKET:
          {
            int t = e.type() == EntryType.FIFO ? FIFO : SOCKET;
            header(b, xattr != NO_XATTR ? t + EXTENDED : t, in);
            b.u32(in.nlink);
            if (xattr != NO_XATTR) {
              b.u32(xattr);
            }
            break;
          }
        default:
          throw new IllegalStateException(e.path() + ": unexpected " + e.type());
      }
      emit(in, b);
    }

    /** The xattr id for the entry's attributes (identical sets share one), or NO_XATTR. */
    private long xattrIndex(TreeEntry e) throws IOException {
      if (!options.xattrs() || !e.hasXattrs()) {
        return NO_XATTR;
      }
      SortedMap<String, byte[]> x = e.xattrs();
      LeBuffer kv = new LeBuffer();
      for (Map.Entry<String, byte[]> me : x.entrySet()) {
        String name = me.getKey();
        int type;
        String suffix;
        if (name.startsWith("user.")) {
          type = 0;
          suffix = name.substring(5);
        } else if (name.startsWith("trusted.")) {
          type = 1;
          suffix = name.substring(8);
        } else if (name.startsWith("security.")) {
          type = 2;
          suffix = name.substring(9);
        } else {
          throw new IOException(
              e.path()
                  + ": extended attribute "
                  + name
                  + " cannot be stored in squashfs (only user., trusted. and security. are supported)");
        }
        byte[] s = suffix.getBytes(StandardCharsets.UTF_8);
        byte[] v = me.getValue();
        // squashfs_xattr_entry: u16 type, u16 size, name; squashfs_xattr_val: u32 vsize, value
        kv.u16(type).u16(s.length).bytes(s).u32(v.length).bytes(v);
      }
      ByteBuffer key = ByteBuffer.wrap(kv.toByteArray());
      Integer idx = xattrSets.get(key);
      if (idx == null) {
        idx = xattrIdCount++;
        xattrSets.put(key, idx);
        long ref = xattrKv.ref();
        xattrKv.write(kv);
        // squashfs_xattr_id: u64 xattr ref, u32 count, u32 size
        xattrIds.u64(ref).u32(x.size()).u32(kv.size());
      }
      return idx;
    }

    byte[] superblock(long bytesUsed) {
      int flags = 0;
      if (options.deduplicate()) {
        flags |= FLAG_DUPLICATES;
      }
      if (options.exportTable()) {
        flags |= FLAG_EXPORT;
      }
      if (!options.xattrs()) {
        flags |= FLAG_NO_XATTRS;
      }
      if (!options.fragments()) {
        flags |= FLAG_NO_FRAGMENTS;
      } else if (options.tailPacking()) {
        flags |= FLAG_ALWAYS_FRAGMENTS;
      }
      if (compressorOptions() != null) {
        flags |= FLAG_COMP_OPT;
      }
      LeBuffer b = new LeBuffer(SUPERBLOCK_SIZE);
      b.u32(MAGIC)
          .u32(inodeCount)
          .u32(options.mtime())
          .u32(options.blockSize())
          .u32(fragments)
          .u16(options.compression().id())
          .u16(Integer.numberOfTrailingZeros(options.blockSize()))
          .u16(flags)
          .u16(idList.size())
          .u16(4)
          .u16(0)
          .u64(root.inode.ref)
          .u64(bytesUsed)
          .u64(idTableStart)
          .u64(xattrTableStart)
          .u64(inodeTableStart)
          .u64(dirTableStart)
          .u64(fragmentTableStart)
          .u64(exportTableStart);
      return b.toByteArray();
    }

    SquashfsResult result(long padded, long used) {
      return new SquashfsResult(
          padded,
          used,
          inodeCount,
          dataBlocks,
          fragments,
          duplicates,
          sparseBlocks,
          root.inode.ref,
          paddingBytes);
    }
  }

  /** The type a directory entry records: always the basic type (1..7). */
  private static int basicType(TreeEntry e) {
    switch (e.type()) {
      case DIRECTORY:
        return DIR;
      case REGULAR:
      case HARDLINK:
        return REG;
      case SYMLINK:
        return SYMLINK;
      case BLOCK_DEVICE:
        return BLKDEV;
      case CHAR_DEVICE:
        return CHRDEV;
      case FIFO:
        return FIFO;
      case SOCKET:
        return SOCKET;
      default:
        throw new IllegalStateException(e.path() + ": " + e.type());
    }
  }

  /** Linux new_encode_dev(): minor's low 8 bits, major, then minor's upper bits. */
  static long encodeDev(int major, int minor, String path) throws IOException {
    if (major > 0xfff || minor > 0xfffff) {
      throw new IOException(
          path + ": device number " + major + ":" + minor + " too large for squashfs' 32-bit rdev");
    }
    return ((minor & 0xffL) | ((long) major << 8) | ((long) (minor & ~0xff) << 12)) & 0xffffffffL;
  }
}
