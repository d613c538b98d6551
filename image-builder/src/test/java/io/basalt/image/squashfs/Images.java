package io.basalt.image.squashfs;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.tree.FileTree;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Test helper: squashfs images written the way the build writes them, through writeSeekable. */
final class Images {
  private Images() {}

  /** Writes {@code tree} to a new file {@code out} (replacing one that exists). */
  static SquashfsResult write(SquashfsWriter w, FileTree tree, Path out) throws IOException {
    try (SeekableByteChannel ch =
        Files.newByteChannel(
            out,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      return w.writeSeekable(tree, ch);
    }
  }

  /** The image of {@code tree} as bytes (written to an in-memory file system). */
  static byte[] bytes(SquashfsWriter w, FileTree tree) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path out = fs.getPath("/image.sqfs");
      write(w, tree, out);
      return Files.readAllBytes(out);
    }
  }
}
