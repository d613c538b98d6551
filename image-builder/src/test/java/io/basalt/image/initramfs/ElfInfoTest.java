package io.basalt.image.initramfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ElfInfoTest {

  @Test
  void readsInterpreterNeededAndRunpathOf64BitFile() throws IOException {
    byte[] elf =
        SyntheticElf.x86_64()
            .interp("/lib64/ld-linux-x86-64.so.2")
            .needs("libcryptsetup.so.12", "libc.so.6")
            .runpath("$ORIGIN/../lib:/opt/x")
            .bytes();
    ElfInfo info = ElfInfo.parse(elf, "veritysetup");
    assertTrue(info.is64());
    assertEquals(62, info.machine());
    assertEquals("/lib64/ld-linux-x86-64.so.2", info.interpreter());
    assertEquals(List.of("libcryptsetup.so.12", "libc.so.6"), info.needed());
    assertEquals(List.of("$ORIGIN/../lib", "/opt/x"), info.runpath());
    assertEquals(List.of(), info.rpath());
  }

  @Test
  void reads32BitLibraryWithRpathAndNoInterpreter() throws IOException {
    ElfInfo info =
        ElfInfo.parse(
            SyntheticElf.x86_64().class32().needs("libm.so.6").rpath("/usr/lib/i386").bytes(),
            "lib");
    assertFalse(info.is64());
    assertEquals(3, info.machine());
    assertNull(info.interpreter());
    assertEquals(List.of("libm.so.6"), info.needed());
    assertEquals(List.of("/usr/lib/i386"), info.rpath());
  }

  @Test
  void rejectsNonElfAndTruncatedFilesNamingThem() {
    IOException e =
        assertThrows(
            IOException.class, () -> ElfInfo.parse("#!/bin/sh\necho hi\n".getBytes(), "/init"));
    assertTrue(e.getMessage().startsWith("/init: not an ELF file"), e.getMessage());
    byte[] elf = SyntheticElf.x86_64().interp("/lib64/ld.so").needs("libc.so.6").bytes();
    byte[] cut = Arrays.copyOf(elf, 100);
    e = assertThrows(IOException.class, () -> ElfInfo.parse(cut, "/usr/bin/x"));
    assertTrue(e.getMessage().contains("runs past the end of the file"), e.getMessage());
  }

  @Test
  void rejectsStringOffsetOutsideTheStringTable() {
    byte[] elf = SyntheticElf.x86_64().needs("libc.so.6").bytes();
    // Corrupt DT_NEEDED's value (first dynamic entry) to point far away.
    int dynOff = findDynamic(elf);
    elf[dynOff + 8] = 0x7f;
    elf[dynOff + 9] = 0x7f;
    IOException e = assertThrows(IOException.class, () -> ElfInfo.parse(elf, "bad"));
    assertTrue(e.getMessage().contains("outside the string table"), e.getMessage());
  }

  private static int findDynamic(byte[] elf) {
    // The generator puts PT_DYNAMIC last; its p_offset is at +8 of that program header.
    int phnum = elf[56];
    int ph = 64 + (phnum - 1) * 56;
    return (elf[ph + 8] & 0xff) | (elf[ph + 9] & 0xff) << 8;
  }
}
