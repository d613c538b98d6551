package io.basalt.update.testing;

import io.basalt.update.install.RangeSource;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Serves {@code REPO/targets/...} with range support, recording the offsets asked for; can cut a
 * stream after a number of bytes (a dropped connection) or ignore ranges. Not thread-safe.
 */
public final class RepoRangeSource implements RangeSource {
  private final Path targetsDir;
  public final List<Long> offsets = new ArrayList<>();
  public long cutAfter = -1;
  public boolean ignoreRange;

  public RepoRangeSource(Path repoDir) {
    this.targetsDir = repoDir.resolve("targets");
  }

  @Override
  public Opened open(URI uri, long offset) throws IOException {
    offsets.add(offset);
    String p = uri.getPath();
    Path f = targetsDir.resolve(p.substring(p.indexOf("/targets/") + "/targets/".length()));
    if (!Files.isRegularFile(f)) {
      throw new NoSuchFileException(uri.toString());
    }
    byte[] all = Files.readAllBytes(f);
    long start = ignoreRange ? 0 : offset;
    byte[] part = Arrays.copyOfRange(all, (int) start, all.length);
    InputStream in = new ByteArrayInputStream(part);
    if (cutAfter >= 0) {
      long limit = cutAfter;
      cutAfter = -1;
      in =
          new InputStream() {
            long left = limit;
            final InputStream d = new ByteArrayInputStream(part);

            @Override
            public int read() throws IOException {
              byte[] b = new byte[1];
              int n = read(b, 0, 1);
              return n < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (left <= 0) {
                throw new IOException("connection reset (test)");
              }
              int n = d.read(b, off, (int) Math.min(len, left));
              if (n > 0) {
                left -= n;
              }
              return n;
            }
          };
    }
    return new Opened(in, start);
  }
}
