package io.basalt.image.gpt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;

/**
 * A fixed-size region [offset, offset + size) of another channel seen as a channel of its own:
 * positions are relative to the region, {@link #size()} is the region's size, and writes beyond its
 * end fail naming the region (also a whole block device, whose channel reports size 0, seen at its
 * real size). Closing the window does not close the underlying channel. Not thread-safe (it moves
 * the underlying channel's position).
 */
public final class ChannelWindow implements SeekableByteChannel {
  private final SeekableByteChannel base;
  private final long offset;
  private final long size;
  private final String name;
  private long position;
  private boolean open = true;

  /**
   * @param base the channel holding the region
   * @param offset byte offset of the region in {@code base}
   * @param size byte size of the region
   * @param name what the region is, for error messages (e.g. "partition 'USR-A'")
   * @throws IllegalArgumentException if offset or size is negative or they overflow
   */
  public ChannelWindow(SeekableByteChannel base, long offset, long size, String name) {
    if (offset < 0 || size < 0 || offset + size < 0) {
      throw new IllegalArgumentException(name + ": bad window offset " + offset + " size " + size);
    }
    this.base = base;
    this.offset = offset;
    this.size = size;
    this.name = name;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    ensureOpen();
    if (position >= size) {
      return -1;
    }
    int want = (int) Math.min(dst.remaining(), size - position);
    ByteBuffer slice = dst.slice();
    slice.limit(want);
    base.position(offset + position);
    int n = base.read(slice);
    if (n > 0) {
      dst.position(dst.position() + n);
      position += n;
    }
    return n;
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    ensureOpen();
    if (src.remaining() > size - position) {
      throw new IOException(
          name
              + ": write of "
              + src.remaining()
              + " bytes at offset "
              + position
              + " goes past its end (size "
              + size
              + " bytes)");
    }
    base.position(offset + position);
    int n = base.write(src);
    position += n;
    return n;
  }

  @Override
  public long position() throws IOException {
    ensureOpen();
    return position;
  }

  @Override
  public SeekableByteChannel position(long newPosition) throws IOException {
    ensureOpen();
    if (newPosition < 0) {
      throw new IllegalArgumentException(name + ": negative position " + newPosition);
    }
    position = newPosition;
    return this;
  }

  /** The region's size (fixed), not the bytes written so far. */
  @Override
  public long size() throws IOException {
    ensureOpen();
    return size;
  }

  /** Unsupported: a window's size is fixed. */
  @Override
  public SeekableByteChannel truncate(long newSize) {
    throw new UnsupportedOperationException(name + ": a window cannot be truncated");
  }

  @Override
  public boolean isOpen() {
    return open && base.isOpen();
  }

  @Override
  public void close() {
    open = false;
  }

  private void ensureOpen() throws ClosedChannelException {
    if (!isOpen()) {
      throw new ClosedChannelException();
    }
  }
}
