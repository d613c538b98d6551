package io.basalt.qemu;

import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/** Writes a FileTree as a gzip-compressed newc cpio archive (test helper for initramfs boots). */
final class CpioFiles {
  private CpioFiles() {}

  static void writeGzipNewc(FileTree tree, Path out) throws IOException {
    try (OutputStream f = Files.newOutputStream(out);
        GZIPOutputStream gz = new GZIPOutputStream(f, 1 << 16);
        CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(gz, CpioConstants.FORMAT_NEW)) {
      long ino = 1;
      for (TreeEntry e : tree) {
        if (e.path().equals("/")) {
          continue;
        }
        CpioArchiveEntry c = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, e.path().substring(1));
        c.setInode(ino++);
        c.setUID(e.uid());
        c.setGID(e.gid());
        c.setTime(e.mtime());
        c.setNumberOfLinks(e.isDirectory() ? 2 : 1);
        byte[] data = null;
        long type;
        switch (e.type()) {
          case DIRECTORY:
            type = CpioConstants.C_ISDIR;
            break;
          case SYMLINK:
            type = CpioConstants.C_ISLNK;
            data = e.linkTarget().getBytes(StandardCharsets.UTF_8);
            break;
          case CHAR_DEVICE:
            type = CpioConstants.C_ISCHR;
            c.setRemoteDeviceMaj(e.devMajor());
            c.setRemoteDeviceMin(e.devMinor());
            break;
          case BLOCK_DEVICE:
            type = CpioConstants.C_ISBLK;
            c.setRemoteDeviceMaj(e.devMajor());
            c.setRemoteDeviceMin(e.devMinor());
            break;
          case REGULAR:
            type = CpioConstants.C_ISREG;
            break;
          default:
            throw new IOException(e.path() + ": " + e.type() + " not supported by this helper");
        }
        c.setMode(type | e.mode());
        c.setSize(data != null ? data.length : e.type() == EntryType.REGULAR ? e.size() : 0);
        cpio.putArchiveEntry(c);
        if (data != null) {
          cpio.write(data);
        } else if (e.type() == EntryType.REGULAR) {
          try (InputStream in = e.content().open()) {
            in.transferTo(cpio);
          }
        }
        cpio.closeArchiveEntry();
      }
      cpio.finish();
    }
  }
}
