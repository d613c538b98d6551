package io.basalt.qemu;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A learning Ethernet switch in the test JVM that joins QEMU guests on a private L2 network: it
 * listens on a unix stream socket, and every guest connects to it with {@code -netdev
 * stream,addr.type=unix} ({@link #nicArgs}). Nothing leaves the host's loopback: no tap device, no
 * bridge, no root.
 *
 * <p>Wire format (QEMU's {@code net/stream.c} sends each frame as {@code htonl(size)} then the
 * frame; {@code net/net.c} {@code net_fill_rstate} reads it back the same way): a 4-byte big-endian
 * length, then that many bytes of Ethernet frame (destination MAC, source MAC, ...), no virtio-net
 * header. A length below {@link #MIN_FRAME} or above {@link #MAX_FRAME} cannot be resynchronised on
 * a stream, so that port is closed.
 *
 * <p>Switching (IEEE 802.1D in miniature): the source MAC of every frame is learned for the port it
 * came in on; a frame to a learned unicast MAC goes to that port only (dropped if that is where it
 * came from), broadcast, multicast and unknown destinations go to every other port. Each port has a
 * bounded send queue of {@link #QUEUE_FRAMES}; a frame for a full queue is dropped and counted, as
 * a switch drops on a congested port. A port whose peer disconnects (the VM died) is dropped with
 * the MACs learned on it. Thread-safe; one acceptor thread plus a reader and a writer thread per
 * port.
 */
public final class L2Hub implements AutoCloseable {
  /** The shortest frame taken: destination and source MAC plus EtherType. */
  public static final int MIN_FRAME = 14;

  /** The longest frame taken: QEMU's NET_BUFSIZE (include/net/net.h, 4096 + 65536). */
  public static final int MAX_FRAME = 4096 + 65536;

  /** Frames queued per port before the hub drops. */
  public static final int QUEUE_FRAMES = 512;

  private static final byte[] STOP = new byte[0];

  private final Path socket;
  private final ServerSocketChannel server;
  private final Thread acceptor;
  private final List<Port> ports = new CopyOnWriteArrayList<>();
  private final Map<Long, Port> macs = new ConcurrentHashMap<>();
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong nextId = new AtomicLong();
  private volatile boolean closed;

  private L2Hub(Path socket) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    acceptor = new Thread(this::accept, "l2hub-accept-" + socket.getFileName());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /**
   * Starts a hub listening on the unix socket {@code socket} (replaced if it exists).
   *
   * @throws IOException if the socket cannot be bound (e.g. the path exceeds sun_path's 108 bytes)
   */
  public static L2Hub start(Path socket) throws IOException {
    return new L2Hub(socket.toAbsolutePath());
  }

  /** The unix socket guests connect to. */
  public Path socket() {
    return socket;
  }

  /**
   * QEMU arguments for a second NIC on this hub: {@code -netdev stream} as a client of {@link
   * #socket()} and a virtio-net device with {@code mac} (e.g. {@code 52:54:00:10:00:01}), whose
   * netdev id is {@code id}.
   *
   * @throws IllegalArgumentException if {@code mac} is not six colon-separated hex octets
   */
  public List<String> nicArgs(String id, String mac) {
    return nicArgs(id, mac, -1);
  }

  /**
   * {@link #nicArgs(String, String)} with the NIC at PCI slot {@code slot} of bus 0, so that the
   * guest names it predictably ({@code enp0s8} for slot 8 under systemd's naming); -1 lets QEMU
   * choose.
   */
  public List<String> nicArgs(String id, String mac, int slot) {
    if (!mac.matches("(?i)[0-9a-f]{2}(:[0-9a-f]{2}){5}")) {
      throw new IllegalArgumentException("not a MAC address: " + mac);
    }
    if (slot < -1 || slot == 0 || slot > 31) {
      throw new IllegalArgumentException("not a PCI slot of bus 0 (1-31): " + slot);
    }
    return List.of(
        "-netdev",
        "stream,id=" + id + ",server=off,addr.type=unix,addr.path=" + socket,
        "-device",
        "virtio-net-pci,netdev="
            + id
            + ",mac="
            + mac
            + (slot == -1 ? "" : ",addr=0x" + Integer.toHexString(slot)));
  }

  /** Frames read from all ports. */
  public long received() {
    return received.get();
  }

  /** Frames queued to a port (one per destination port of a flooded frame). */
  public long forwarded() {
    return forwarded.get();
  }

  /** Frames dropped: for a full queue, or addressed back to the port they came from. */
  public long dropped() {
    return dropped.get();
  }

  /** Ports closed for a length outside [{@link #MIN_FRAME}, {@link #MAX_FRAME}]. */
  public long refused() {
    return refused.get();
  }

  /** Connected ports. */
  public int ports() {
    return ports.size();
  }

  /** The MAC addresses learned so far on live ports, as {@code 52:54:00:...}, sorted. */
  public List<String> learned() {
    TreeSet<String> s = new TreeSet<>();
    for (Long m : macs.keySet()) {
      s.add(mac(m));
    }
    return new ArrayList<>(s);
  }

  private void accept() {
    while (!closed) {
      try {
        SocketChannel ch = server.accept();
        Port p = new Port(ch, nextId.incrementAndGet());
        ports.add(p);
        if (closed) {
          p.close();
          return;
        }
        p.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void switchFrame(Port in, byte[] frame) {
    received.incrementAndGet();
    long dst = readMac(frame, 0);
    long src = readMac(frame, 6);
    if ((frame[6] & 1) == 0) {
      macs.put(src, in);
    }
    Port out = (frame[0] & 1) == 0 ? macs.get(dst) : null;
    if (out == in) {
      dropped.incrementAndGet();
    } else if (out != null) {
      out.offer(frame);
    } else {
      for (Port p : ports) {
        if (p != in) {
          p.offer(frame);
        }
      }
    }
  }

  private void drop(Port p) {
    ports.remove(p);
    macs.values().removeIf(v -> v == p);
  }

  /** Stops accepting, closes every port and removes the socket file. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // nothing left to do
    }
    List<Port> all = List.copyOf(ports);
    for (Port p : all) {
      p.close();
    }
    try {
      acceptor.join(5000);
      for (Port p : all) {
        p.join();
      }
      Files.deleteIfExists(socket);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // a stale socket file is replaced by the next start()
    }
    ports.clear();
    macs.clear();
  }

  static long readMac(byte[] frame, int at) {
    long m = 0;
    for (int i = 0; i < 6; i++) {
      m = m << 8 | (frame[at + i] & 0xff);
    }
    return m;
  }

  static String mac(long m) {
    StringBuilder b = new StringBuilder();
    for (int i = 5; i >= 0; i--) {
      b.append(HexFormat.of().toHexDigits((byte) (m >>> (8 * i))));
      if (i > 0) {
        b.append(':');
      }
    }
    return b.toString();
  }

  /** One connected guest: its channel, a reader thread and a writer thread over a bounded queue. */
  private final class Port {
    final SocketChannel ch;
    final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE_FRAMES);
    final Thread reader;
    final Thread writer;

    Port(SocketChannel ch, long id) {
      this.ch = ch;
      reader = new Thread(this::read, "l2hub-read-" + id);
      writer = new Thread(this::write, "l2hub-write-" + id);
      reader.setDaemon(true);
      writer.setDaemon(true);
    }

    void start() {
      reader.start();
      writer.start();
    }

    void offer(byte[] frame) {
      if (queue.offer(frame)) {
        forwarded.incrementAndGet();
      } else {
        dropped.incrementAndGet();
      }
    }

    private void read() {
      ByteBuffer len = ByteBuffer.allocate(4);
      try {
        while (fill(len)) {
          int n = len.flip().getInt();
          len.clear();
          if (n < MIN_FRAME || n > MAX_FRAME) {
            refused.incrementAndGet();
            break;
          }
          ByteBuffer frame = ByteBuffer.allocate(n);
          if (!fill(frame)) {
            break;
          }
          switchFrame(this, frame.array());
        }
      } catch (IOException e) {
        // peer gone or hub closing
      } finally {
        close();
      }
    }

    /** Reads until {@code b} is full; false at end of stream. */
    private boolean fill(ByteBuffer b) throws IOException {
      while (b.hasRemaining()) {
        if (ch.read(b) < 0) {
          return false;
        }
      }
      return true;
    }

    private void write() {
      ByteBuffer len = ByteBuffer.allocate(4);
      try {
        while (true) {
          byte[] f = queue.take();
          if (f == STOP) {
            return;
          }
          len.clear().putInt(f.length).flip();
          ByteBuffer[] out = {len, ByteBuffer.wrap(f)};
          while (out[1].hasRemaining()) {
            ch.write(out);
          }
        }
      } catch (ClosedChannelException e) {
        // closed by the reader or close()
      } catch (IOException e) {
        close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void close() {
      drop(this);
      try {
        ch.close();
      } catch (IOException e) {
        // already gone
      }
      queue.clear();
      queue.offer(STOP);
    }

    void join() throws InterruptedException {
      reader.join(5000);
      writer.join(5000);
    }
  }
}
