package io.basalt.image.testfixtures;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;

/**
 * A channel that passes everything to another one and counts the bytes read through it, for tests
 * that bound how much a writer reads back. Not thread-safe.
 */
public final class CountingChannel implements SeekableByteChannel {
  private final SeekableByteChannel ch;
  private long bytesRead;

  public CountingChannel(SeekableByteChannel ch) {
    this.ch = ch;
  }

  /** Bytes read through this channel so far. */
  public long bytesRead() {
    return bytesRead;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    int n = ch.read(dst);
    bytesRead += Math.max(n, 0);
    return n;
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return ch.write(src);
  }

  @Override
  public long position() throws IOException {
    return ch.position();
  }

  @Override
  public SeekableByteChannel position(long p) throws IOException {
    ch.position(p);
    return this;
  }

  @Override
  public long size() throws IOException {
    return ch.size();
  }

  @Override
  public SeekableByteChannel truncate(long size) throws IOException {
    ch.truncate(size);
    return this;
  }

  @Override
  public boolean isOpen() {
    return ch.isOpen();
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
