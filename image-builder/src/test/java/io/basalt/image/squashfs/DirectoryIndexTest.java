package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

/**
 * Checks the directory index of a large directory the way the kernel uses it (fs/squashfs/namei.c:
 * get_dir_index_using_name, then a forward scan of the headers), since unsquashfs never reads the
 * index.
 */
class DirectoryIndexTest {

  /** Reads across squashfs metadata blocks (gzip-compressed or stored). */
  static final class Cursor {
    final ByteBuffer img;
    final long table;
    long block;
    int offset;
    byte[] data;

    Cursor(ByteBuffer img, long table, long block, int offset) throws Exception {
      this.img = img;
      this.table = table;
      this.block = block;
      this.offset = offset;
      load();
    }

    private long nextBlock;

    static final java.util.Map<Long, byte[]> CACHE = new java.util.HashMap<>();

    void load() throws Exception {
      int pos = (int) (table + block);
      int hdr = img.getShort(pos) & 0xffff;
      nextBlock = block + 2 + (hdr & 0x7fff);
      byte[] cached = CACHE.get((long) pos);
      if (cached != null) {
        data = cached;
        return;
      }
      int h = img.getShort(pos) & 0xffff;
      int len = h & 0x7fff;
      byte[] raw = new byte[len];
      img.get(pos + 2, raw);
      if ((h & 0x8000) != 0) {
        data = raw;
      } else {
        Inflater inf = new Inflater();
        inf.setInput(raw);
        byte[] out = new byte[8192];
        int n = inf.inflate(out);
        inf.end();
        data = java.util.Arrays.copyOf(out, n);
      }
      CACHE.put((long) pos, data);
    }

    byte[] read(int n) throws Exception {
      byte[] out = new byte[n];
      for (int i = 0; i < n; i++) {
        if (offset == data.length) {
          block = nextBlock;
          offset = 0;
          load();
        }
        out[i] = data[offset++];
      }
      return out;
    }

    int u16() throws Exception {
      return ByteBuffer.wrap(read(2)).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
    }

    long u32() throws Exception {
      return ByteBuffer.wrap(read(4)).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
    }
  }

  record Dir(long startBlock, int offset, long fileSize, List<Object[]> index) {}

  static Dir readDirInode(ByteBuffer img, long inodeTable, long ref) throws Exception {
    Cursor c = new Cursor(img, inodeTable, ref >>> 16, (int) (ref & 0xffff));
    int type = c.u16();
    c.read(14);
    if (type == 1) {
      long start = c.u32();
      c.u32();
      int size = c.u16();
      int off = c.u16();
      return new Dir(start, off, size, List.of());
    }
    assertEquals(8, type);
    c.u32();
    long size = c.u32();
    long start = c.u32();
    c.u32();
    int count = c.u16();
    int off = c.u16();
    c.u32();
    List<Object[]> index = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long idx = c.u32();
      long blk = c.u32();
      int nameLen = (int) c.u32() + 1;
      index.add(new Object[] {idx, blk, new String(c.read(nameLen), StandardCharsets.UTF_8)});
    }
    return new Dir(start, off, size, index);
  }

  /** The kernel's lookup; returns the inode ref of {@code name}, or null. */
  static Long lookup(ByteBuffer img, long dirTable, Dir d, String name) throws Exception {
    long length = 0;
    long block = d.startBlock();
    for (Object[] ix : d.index()) {
      if (((String) ix[2]).compareTo(name) > 0) {
        break;
      }
      length = (Long) ix[0];
      block = (Long) ix[1];
    }
    int offset = (int) ((length + d.offset()) % 8192);
    length += 3;
    Cursor c = new Cursor(img, dirTable, block, offset);
    byte[] target = name.getBytes(StandardCharsets.UTF_8);
    while (length < d.fileSize()) {
      int count = (int) c.u32() + 1;
      long start = c.u32();
      c.u32();
      length += 12;
      for (int i = 0; i < count; i++) {
        int off = c.u16();
        c.u16();
        c.u16();
        int size = c.u16() + 1;
        byte[] n = c.read(size);
        length += 8 + size;
        if ((target[0] & 0xff) < (n[0] & 0xff)) {
          return null;
        }
        if (java.util.Arrays.equals(n, target)) {
          return (start << 16) | off;
        }
      }
    }
    return null;
  }

  @Test
  void kernelStyleLookupFindsEveryNameThroughTheIndex() throws Exception {
    FileTree.Builder b = FileTree.builder();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 12000; i++) {
      String n = String.format("%c%05d-%s", (char) ('a' + i % 26), i, "y".repeat(i % 50));
      names.add(n);
      b.putWithParents(TreeEntry.regular("/big/" + n, Content.ofBytes(new byte[] {(byte) i})));
    }
    b.putWithParents(TreeEntry.regular("/small", Content.ofBytes(new byte[3])));
    byte[] out =
        Images.bytes(
            new SquashfsWriter(
                SquashfsOptions.builder().compression(SquashfsCompression.GZIP).mtime(1).build()),
            b.build());
    ByteBuffer img = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    Cursor.CACHE.clear();
    long root = img.getLong(32);
    long inodeTable = img.getLong(64);
    long dirTable = img.getLong(72);
    Dir rootDir = readDirInode(img, inodeTable, root);
    Long bigRef = lookup(img, dirTable, rootDir, "big");
    assertNotNull(bigRef);
    assertNull(lookup(img, dirTable, rootDir, "missing"));
    Dir big = readDirInode(img, inodeTable, bigRef);
    assertTrue(big.index().size() > 20, "index entries: " + big.index().size());
    for (String n : names) {
      assertNotNull(lookup(img, dirTable, big, n), n);
    }
    assertNull(lookup(img, dirTable, big, "a99999"));
  }
}
