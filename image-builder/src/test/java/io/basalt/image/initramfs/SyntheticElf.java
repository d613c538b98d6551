package io.basalt.image.initramfs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Generates small but well-formed ELF files (headers only) for tests. */
final class SyntheticElf {
  boolean is64 = true;
  int machine = 62;
  String interp;
  final List<String> needed = new ArrayList<>();
  String runpath;
  String rpath;

  /** Virtual address the single PT_LOAD maps offset 0 to (checks vaddr to offset translation). */
  long base = 0x400000;

  static SyntheticElf x86_64() {
    return new SyntheticElf();
  }

  SyntheticElf interp(String p) {
    interp = p;
    return this;
  }

  SyntheticElf needs(String... libs) {
    needed.addAll(List.of(libs));
    return this;
  }

  SyntheticElf runpath(String r) {
    runpath = r;
    return this;
  }

  SyntheticElf rpath(String r) {
    rpath = r;
    return this;
  }

  SyntheticElf class32() {
    is64 = false;
    machine = 3;
    return this;
  }

  byte[] bytes() {
    int ehsize = is64 ? 64 : 52;
    int phentsize = is64 ? 56 : 32;
    int phnum = 2 + (interp != null ? 1 : 0);
    int dynEnt = is64 ? 16 : 8;
    // Layout: header, program headers, interp string, string table, dynamic section.
    ByteArrayOutputStream strtab = new ByteArrayOutputStream();
    strtab.write(0);
    List<long[]> dyn = new ArrayList<>();
    for (String n : needed) {
      dyn.add(new long[] {ElfInfo.DT_NEEDED, strtab.size()});
      strtab.writeBytes((n + "\0").getBytes(StandardCharsets.UTF_8));
    }
    if (runpath != null) {
      dyn.add(new long[] {ElfInfo.DT_RUNPATH, strtab.size()});
      strtab.writeBytes((runpath + "\0").getBytes(StandardCharsets.UTF_8));
    }
    if (rpath != null) {
      dyn.add(new long[] {ElfInfo.DT_RPATH, strtab.size()});
      strtab.writeBytes((rpath + "\0").getBytes(StandardCharsets.UTF_8));
    }
    byte[] interpBytes =
        interp == null ? new byte[0] : (interp + "\0").getBytes(StandardCharsets.UTF_8);
    int interpOff = ehsize + phnum * phentsize;
    int strOff = interpOff + interpBytes.length;
    int dynOff = (strOff + strtab.size() + 7) & ~7;
    dyn.add(new long[] {ElfInfo.DT_STRTAB, base + strOff});
    dyn.add(new long[] {ElfInfo.DT_STRSZ, strtab.size()});
    dyn.add(new long[] {ElfInfo.DT_NULL, 0});
    int total = dynOff + dyn.size() * dynEnt;
    ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7f, 'E', 'L', 'F', (byte) (is64 ? 2 : 1), 1, 1, 0});
    b.position(16);
    b.putShort((short) 3); // ET_DYN
    b.putShort((short) machine);
    b.putInt(1);
    if (is64) {
      b.putLong(0).putLong(ehsize).putLong(0).putInt(0);
      b.putShort((short) ehsize).putShort((short) phentsize).putShort((short) phnum);
      b.putShort((short) 64).putShort((short) 0).putShort((short) 0);
    } else {
      b.putInt(0).putInt(ehsize).putInt(0).putInt(0);
      b.putShort((short) ehsize).putShort((short) phentsize).putShort((short) phnum);
      b.putShort((short) 40).putShort((short) 0).putShort((short) 0);
    }
    b.position(ehsize);
    if (interp != null) {
      ph(b, ElfInfo.PT_INTERP, interpOff, base + interpOff, interpBytes.length);
    }
    ph(b, ElfInfo.PT_LOAD, 0, base, total);
    ph(b, ElfInfo.PT_DYNAMIC, dynOff, base + dynOff, dyn.size() * dynEnt);
    b.position(interpOff);
    b.put(interpBytes);
    b.position(strOff);
    b.put(strtab.toByteArray());
    b.position(dynOff);
    for (long[] d : dyn) {
      if (is64) {
        b.putLong(d[0]).putLong(d[1]);
      } else {
        b.putInt((int) d[0]).putInt((int) d[1]);
      }
    }
    return b.array();
  }

  private void ph(ByteBuffer b, int type, long off, long vaddr, long size) {
    if (is64) {
      b.putInt(type)
          .putInt(5)
          .putLong(off)
          .putLong(vaddr)
          .putLong(vaddr)
          .putLong(size)
          .putLong(size)
          .putLong(8);
    } else {
      b.putInt(type)
          .putInt((int) off)
          .putInt((int) vaddr)
          .putInt((int) vaddr)
          .putInt((int) size)
          .putInt((int) size)
          .putInt(5)
          .putInt(4);
    }
  }
}
