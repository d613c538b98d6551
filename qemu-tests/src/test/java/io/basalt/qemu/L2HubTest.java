package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link L2Hub} with fake guests: real unix stream sockets speaking QEMU's length framing. */
class L2HubTest {
  static final String A = "52:54:00:10:00:01";
  static final String B = "52:54:00:10:00:02";
  static final String C = "52:54:00:10:00:03";
  static final String BROADCAST = "ff:ff:ff:ff:ff:ff";
  static final String MULTICAST = "33:33:00:00:00:01";

  @TempDir Path dir;

  @Test
  void aFrameWrittenInPiecesArrivesWholeWithItsLengthPrefix() throws Exception {
    try (Lan lan = new Lan(dir, 2)) {
      byte[] f = frame(BROADCAST, A, 100);
      byte[] wire = ByteBuffer.allocate(4 + f.length).putInt(f.length).put(f).array();
      for (int i = 0; i < wire.length; i += 3) {
        lan.a.ch.write(ByteBuffer.wrap(wire, i, Math.min(3, wire.length - i)));
        Thread.sleep(1);
      }
      assertArrayEquals(f, lan.b.next());
      assertEquals(1, lan.hub.received());
    }
  }

  @Test
  void unicastGoesOnlyToTheLearnedPortAndUnknownIsFlooded() throws Exception {
    try (Lan lan = new Lan(dir, 3)) {
      // B is not known yet: flooded to B and C, and A is learned
      deliver(lan.a, frame(B, A, 60), lan.b, lan.c);
      // B answers A: A is known, so C sees nothing
      deliver(lan.b, frame(A, B, 60), lan.a);
      // now both are learned: A -> B reaches B only
      deliver(lan.a, frame(B, A, 61), lan.b);
      assertNull(lan.c.poll(Duration.ofMillis(300)), "C must not see unicast between A and B");
      assertEquals(List.of(A, B), lan.hub.learned());
      assertEquals(4, lan.hub.forwarded());
    }
  }

  @Test
  void broadcastAndMulticastReachEveryOtherPortButNotTheSender() throws Exception {
    try (Lan lan = new Lan(dir, 3)) {
      deliver(lan.c, frame(A, C, 60), lan.a, lan.b); // A unknown: flooded, C learned
      deliver(lan.a, frame(BROADCAST, A, 80), lan.b, lan.c);
      deliver(lan.a, frame(MULTICAST, A, 80), lan.b, lan.c);
      assertNull(lan.a.poll(Duration.ofMillis(300)), "the sender gets nothing back");
      assertFalse(lan.hub.learned().contains(MULTICAST), "group addresses are never learned");
    }
  }

  @Test
  void aPeerThatDisconnectsIsDroppedWithItsMacs() throws Exception {
    try (Lan lan = new Lan(dir, 3)) {
      deliver(lan.b, frame(BROADCAST, B, 60), lan.a, lan.c);
      assertEquals(List.of(B), lan.hub.learned());
      lan.b.close();
      awaitPorts(lan.hub, 2);
      assertEquals(List.of(), lan.hub.learned(), "B's MAC is forgotten with its port");
      // a frame for B is unknown again: flooded to C instead of queued for a dead port
      deliver(lan.a, frame(B, A, 60), lan.c);
    }
  }

  @Test
  void aLengthOutsideEthernetsBoundsClosesThatPortOnly() throws Exception {
    try (Lan lan = new Lan(dir, 3)) {
      lan.a.ch.write(ByteBuffer.allocate(4).putInt(L2Hub.MAX_FRAME + 1).flip());
      assertTrue(lan.a.closedByHub(), "an oversize length ends the port");
      lan.b.ch.write(ByteBuffer.allocate(4).putInt(L2Hub.MIN_FRAME - 1).flip());
      assertTrue(lan.b.closedByHub(), "a runt length ends the port");
      assertEquals(2, lan.hub.refused());
      awaitPorts(lan.hub, 1);
      assertEquals(0, lan.hub.received());
      assertNull(lan.c.poll(Duration.ofMillis(200)));
    }
  }

  @Test
  void closeEndsEveryPortAndRemovesTheSocket() throws Exception {
    try (Lan lan = new Lan(dir, 2)) {
      lan.hub.close();
      assertTrue(lan.a.closedByHub());
      assertTrue(lan.b.closedByHub());
      assertFalse(Files.exists(lan.hub.socket()));
      assertEquals(0, lan.hub.ports());
      assertThrows(IOException.class, () -> new Guest(lan.hub).close());
    }
  }

  @Test
  void nicArgsAreAUnixStreamClientAndAVirtioNic() throws Exception {
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"))) {
      assertEquals(
          List.of(
              "-netdev",
              "stream,id=lan,server=off,addr.type=unix,addr.path=" + dir.resolve("hub.sock"),
              "-device",
              "virtio-net-pci,netdev=lan,mac=" + A),
          hub.nicArgs("lan", A));
      assertThrows(IllegalArgumentException.class, () -> hub.nicArgs("lan", "52:54:00:10:00"));
      assertEquals(
          "virtio-net-pci,netdev=lan,mac=" + A + ",addr=0x8", hub.nicArgs("lan", A, 8).get(3));
      assertThrows(IllegalArgumentException.class, () -> hub.nicArgs("lan", A, 0));
      assertThrows(IllegalArgumentException.class, () -> hub.nicArgs("lan", A, 32));
    }
  }

  /** Sends {@code frame} from {@code from} and checks that each of {@code to} receives it. */
  static void deliver(Guest from, byte[] frame, Guest... to) throws Exception {
    from.send(frame);
    for (Guest g : to) {
      assertArrayEquals(frame, g.next());
    }
  }

  static byte[] frame(String dst, String src, int size) {
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(macBytes(dst)).put(macBytes(src)).putShort((short) 0x88b5); // local experimental type
    for (int i = 14; i < size; i++) {
      b.put((byte) i);
    }
    return b.array();
  }

  static byte[] macBytes(String mac) {
    byte[] m = new byte[6];
    String[] p = mac.split(":");
    for (int i = 0; i < 6; i++) {
      m[i] = (byte) Integer.parseInt(p[i], 16);
    }
    return m;
  }

  static void awaitPorts(L2Hub hub, int n) throws InterruptedException {
    await(() -> hub.ports() == n, "ports == " + n + " (is " + hub.ports() + ")");
  }

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 5 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  /** A hub on {@code dir/hub.sock} with {@code n} fake guests connected to it. */
  static final class Lan implements AutoCloseable {
    final L2Hub hub;
    final List<Guest> guests = new ArrayList<>();
    final Guest a;
    final Guest b;
    final Guest c;

    Lan(Path dir, int n) throws IOException, InterruptedException {
      hub = L2Hub.start(dir.resolve("hub.sock"));
      for (int i = 0; i < n; i++) {
        guests.add(new Guest(hub));
      }
      awaitPorts(hub, n);
      a = guests.get(0);
      b = guests.get(1);
      c = n > 2 ? guests.get(2) : null;
    }

    @Override
    public void close() throws IOException {
      for (Guest g : guests) {
        g.close();
      }
      hub.close();
    }
  }

  /** A fake QEMU: a unix stream client whose received frames are decoded by a reader thread. */
  static final class Guest implements AutoCloseable {
    final SocketChannel ch;
    final BlockingQueue<byte[]> in = new ArrayBlockingQueue<>(64);
    final Thread reader;
    volatile boolean eof;

    Guest(L2Hub hub) throws IOException {
      ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(UnixDomainSocketAddress.of(hub.socket()));
      reader = new Thread(this::read);
      reader.setDaemon(true);
      reader.start();
    }

    void send(byte[] frame) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(4 + frame.length).putInt(frame.length).put(frame).flip();
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }

    byte[] next() throws InterruptedException {
      byte[] f = poll(Duration.ofSeconds(5));
      if (f == null) {
        throw new AssertionError("no frame within 5 s");
      }
      return f;
    }

    byte[] poll(Duration d) throws InterruptedException {
      return in.poll(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean closedByHub() throws InterruptedException {
      reader.join(5000);
      return eof;
    }

    private void read() {
      try {
        while (true) {
          ByteBuffer len = ByteBuffer.allocate(4);
          if (!fill(len)) {
            break;
          }
          ByteBuffer f = ByteBuffer.allocate(len.flip().getInt());
          if (!fill(f)) {
            break;
          }
          in.add(f.array());
        }
        eof = true;
      } catch (IOException e) {
        eof = ch.isOpen();
      }
    }

    private boolean fill(ByteBuffer b) throws IOException {
      while (b.hasRemaining()) {
        if (ch.read(b) < 0) {
          return false;
        }
      }
      return true;
    }

    @Override
    public void close() throws IOException {
      ch.close();
    }
  }
}
