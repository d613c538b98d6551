package io.basalt.image.initramfs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the dynamic loader needs from an ELF file: its class, machine, program interpreter
 * (PT_INTERP), needed libraries (DT_NEEDED) and search paths (DT_RUNPATH, DT_RPATH), read from the
 * program headers as the loader reads them (System V gABI, "Program Header" and "Dynamic Section").
 * Immutable and thread-safe.
 */
final class ElfInfo {
  static final int PT_LOAD = 1;
  static final int PT_DYNAMIC = 2;
  static final int PT_INTERP = 3;
  static final long DT_NULL = 0;
  static final long DT_NEEDED = 1;
  static final long DT_STRTAB = 5;
  static final long DT_STRSZ = 10;
  static final long DT_RPATH = 15;
  static final long DT_RUNPATH = 29;

  private final boolean is64;
  private final int machine;
  private final String interpreter;
  private final List<String> needed;
  private final List<String> runpath;
  private final List<String> rpath;

  private ElfInfo(
      boolean is64,
      int machine,
      String interpreter,
      List<String> needed,
      List<String> runpath,
      List<String> rpath) {
    this.is64 = is64;
    this.machine = machine;
    this.interpreter = interpreter;
    this.needed = Collections.unmodifiableList(needed);
    this.runpath = Collections.unmodifiableList(runpath);
    this.rpath = Collections.unmodifiableList(rpath);
  }

  /** True when {@code head} starts with the ELF magic 0x7f 'E' 'L' 'F'. */
  static boolean isElf(byte[] head) {
    return head.length >= 4
        && head[0] == 0x7f
        && head[1] == 'E'
        && head[2] == 'L'
        && head[3] == 'F';
  }

  /**
   * Parses an ELF image held in memory.
   *
   * @throws IOException naming {@code what} and the bad field when the file is not well-formed ELF
   */
  static ElfInfo parse(byte[] bytes, String what) throws IOException {
    if (!isElf(bytes) || bytes.length < 52) {
      throw new IOException(
          what + ": not an ELF file (no 0x7f ELF magic or shorter than an ELF header)");
    }
    int cls = bytes[4];
    if (cls != 1 && cls != 2) {
      throw new IOException(what + ": EI_CLASS " + cls + ", expected 1 (32-bit) or 2 (64-bit)");
    }
    boolean is64 = cls == 2;
    int data = bytes[5];
    if (data != 1 && data != 2) {
      throw new IOException(
          what + ": EI_DATA " + data + ", expected 1 (little endian) or 2 (big endian)");
    }
    ByteBuffer b =
        ByteBuffer.wrap(bytes).order(data == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    if (is64 && bytes.length < 64) {
      throw new IOException(what + ": truncated 64-bit ELF header (" + bytes.length + " bytes)");
    }
    int machine = Short.toUnsignedInt(b.getShort(18));
    long phoff = is64 ? b.getLong(32) : Integer.toUnsignedLong(b.getInt(28));
    int phentsize = Short.toUnsignedInt(b.getShort(is64 ? 54 : 42));
    int phnum = Short.toUnsignedInt(b.getShort(is64 ? 56 : 44));
    int minEnt = is64 ? 56 : 32;
    if (phnum > 0 && phentsize < minEnt) {
      throw new IOException(what + ": e_phentsize " + phentsize + ", expected at least " + minEnt);
    }
    List<long[]> loads = new ArrayList<>(); // {vaddr, offset, filesz}
    long dynOff = -1;
    long dynSize = 0;
    String interp = null;
    for (int i = 0; i < phnum; i++) {
      long at = Math.addExact(phoff, Math.multiplyExact((long) i, phentsize));
      check(at, minEnt, bytes.length, what, "program header " + i);
      int p = (int) at;
      int type = b.getInt(p);
      long offset;
      long vaddr;
      long filesz;
      if (is64) {
        offset = b.getLong(p + 8);
        vaddr = b.getLong(p + 16);
        filesz = b.getLong(p + 32);
      } else {
        offset = Integer.toUnsignedLong(b.getInt(p + 4));
        vaddr = Integer.toUnsignedLong(b.getInt(p + 8));
        filesz = Integer.toUnsignedLong(b.getInt(p + 16));
      }
      if (type == PT_LOAD) {
        loads.add(new long[] {vaddr, offset, filesz});
      } else if (type == PT_DYNAMIC) {
        check(offset, filesz, bytes.length, what, "PT_DYNAMIC");
        dynOff = offset;
        dynSize = filesz;
      } else if (type == PT_INTERP) {
        check(offset, filesz, bytes.length, what, "PT_INTERP");
        interp = cString(bytes, (int) offset, (int) filesz, what, "PT_INTERP");
      }
    }
    List<String> needed = new ArrayList<>();
    List<String> runpath = new ArrayList<>();
    List<String> rpath = new ArrayList<>();
    if (dynOff >= 0) {
      int entSize = is64 ? 16 : 8;
      List<long[]> dyn = new ArrayList<>(); // {tag, value}
      long strtabAddr = -1;
      long strsz = -1;
      for (long off = dynOff; off + entSize <= dynOff + dynSize; off += entSize) {
        long tag = is64 ? b.getLong((int) off) : b.getInt((int) off);
        long val =
            is64 ? b.getLong((int) off + 8) : Integer.toUnsignedLong(b.getInt((int) off + 4));
        if (tag == DT_NULL) {
          break;
        }
        if (tag == DT_STRTAB) {
          strtabAddr = val;
        } else if (tag == DT_STRSZ) {
          strsz = val;
        }
        dyn.add(new long[] {tag, val});
      }
      boolean hasStrings =
          dyn.stream().anyMatch(d -> d[0] == DT_NEEDED || d[0] == DT_RUNPATH || d[0] == DT_RPATH);
      if (hasStrings) {
        if (strtabAddr < 0) {
          throw new IOException(
              what + ": dynamic section has DT_NEEDED/DT_RUNPATH but no DT_STRTAB");
        }
        long strOff = toOffset(loads, strtabAddr, what);
        long limit = strsz >= 0 ? Math.min(bytes.length, strOff + strsz) : bytes.length;
        for (long[] d : dyn) {
          if (d[0] != DT_NEEDED && d[0] != DT_RUNPATH && d[0] != DT_RPATH) {
            continue;
          }
          long at = strOff + d[1];
          if (d[1] < 0 || at >= limit) {
            throw new IOException(
                what
                    + ": dynamic string offset "
                    + d[1]
                    + " outside the string table (size "
                    + (limit - strOff)
                    + ")");
          }
          String s = cString(bytes, (int) at, (int) (limit - at), what, "dynamic string");
          if (d[0] == DT_NEEDED) {
            needed.add(s);
          } else {
            List<String> into = d[0] == DT_RUNPATH ? runpath : rpath;
            for (String dir : s.split(":")) {
              if (!dir.isEmpty()) {
                into.add(dir);
              }
            }
          }
        }
      }
    }
    return new ElfInfo(is64, machine, interp, needed, runpath, rpath);
  }

  private static long toOffset(List<long[]> loads, long vaddr, String what) throws IOException {
    for (long[] l : loads) {
      if (vaddr >= l[0] && vaddr < l[0] + l[2]) {
        return l[1] + (vaddr - l[0]);
      }
    }
    throw new IOException(
        what + ": address 0x" + Long.toHexString(vaddr) + " (DT_STRTAB) is in no PT_LOAD segment");
  }

  private static void check(long off, long len, int total, String what, String field)
      throws IOException {
    if (off < 0 || len < 0 || off + len > total) {
      throw new IOException(
          what
              + ": "
              + field
              + " at offset "
              + off
              + " length "
              + len
              + " runs past the end of the file ("
              + total
              + " bytes)");
    }
  }

  private static String cString(byte[] bytes, int off, int max, String what, String field)
      throws IOException {
    int end = off;
    while (end < off + max && bytes[end] != 0) {
      end++;
    }
    if (end == off + max) {
      throw new IOException(
          what + ": " + field + " string at offset " + off + " is not NUL-terminated");
    }
    return new String(bytes, off, end - off, StandardCharsets.UTF_8);
  }

  boolean is64() {
    return is64;
  }

  /** e_machine (62 = x86-64, 3 = i386, 183 = aarch64). */
  int machine() {
    return machine;
  }

  /** The PT_INTERP path, or null for a static executable or a shared library. */
  String interpreter() {
    return interpreter;
  }

  List<String> needed() {
    return needed;
  }

  List<String> runpath() {
    return runpath;
  }

  List<String> rpath() {
    return rpath;
  }
}
