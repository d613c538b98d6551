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
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"));
        Guest a = new Guest(hub);
        Guest b = new Guest(hub)) {
      awaitPorts(hub, 2);
      byte[] f = frame(BROADCAST, A, 100);
      byte[] wire = ByteBuffer.allocate(4 + f.length).putInt(f.length).put(f).array();
      for (int i = 0; i < wire.length; i += 3) {
        a.ch.write(ByteBuffer.wrap(wire, i, Math.min(3, wire.length - i)));
        Thread.sleep(1);
      }
      assertArrayEquals(f, b.next());
      assertEquals(1, hub.received());
    }
  }

  @Test
  void unicastGoesOnlyToTheLearnedPortAndUnknownIsFlooded() throws Exception {
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"));
        Guest a = new Guest(hub);
        Guest b = new Guest(hub);
        Guest c = new Guest(hub)) {
      awaitPorts(hub, 3);
      // B is not known yet: flooded to B and C, and A is learned
      byte[] toB = frame(B, A, 60);
      a.send(toB);
      assertArrayEquals(toB, b.next());
      assertArrayEquals(toB, c.next());
      // B answers A: A is known, so C sees nothing
      byte[] toA = frame(A, B, 60);
      b.send(toA);
      assertArrayEquals(toA, a.next());
      // now both are learned: A -> B reaches B only
      byte[] again = frame(B, A, 61);
      a.send(again);
      assertArrayEquals(again, b.next());
      assertNull(c.poll(Duration.ofMillis(300)), "C must not see unicast between A and B");
      assertEquals(List.of(A, B), hub.learned());
      assertEquals(4, hub.forwarded());
    }
  }

  @Test
  void broadcastAndMulticastReachEveryOtherPortButNotTheSender() throws Exception {
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"));
        Guest a = new Guest(hub);
        Guest b = new Guest(hub);
        Guest c = new Guest(hub)) {
      awaitPorts(hub, 3);
      c.send(frame(A, C, 60)); // A unknown: flooded, C learned
      a.next();
      b.next();
      for (String dst : List.of(BROADCAST, MULTICAST)) {
        byte[] f = frame(dst, A, 80);
        a.send(f);
        assertArrayEquals(f, b.next(), dst);
        assertArrayEquals(f, c.next(), dst);
      }
      assertNull(a.poll(Duration.ofMillis(300)), "the sender gets nothing back");
      assertFalse(hub.learned().contains(MULTICAST), "group addresses are never learned");
    }
  }

  @Test
  void aPeerThatDisconnectsIsDroppedWithItsMacs() throws Exception {
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"));
        Guest a = new Guest(hub);
        Guest c = new Guest(hub)) {
      Guest b = new Guest(hub);
      awaitPorts(hub, 3);
      b.send(frame(BROADCAST, B, 60));
      a.next();
      c.next();
      assertEquals(List.of(B), hub.learned());
      b.close();
      awaitPorts(hub, 2);
      assertEquals(List.of(), hub.learned(), "B's MAC is forgotten with its port");
      // a frame for B is unknown again: flooded to C instead of queued for a dead port
      byte[] toB = frame(B, A, 60);
      a.send(toB);
      assertArrayEquals(toB, c.next());
    }
  }

  @Test
  void aLengthOutsideEthernetsBoundsClosesThatPortOnly() throws Exception {
    try (L2Hub hub = L2Hub.start(dir.resolve("hub.sock"));
        Guest a = new Guest(hub);
        Guest b = new Guest(hub);
        Guest c = new Guest(hub)) {
      awaitPorts(hub, 3);
      a.ch.write(ByteBuffer.allocate(4).putInt(L2Hub.MAX_FRAME + 1).flip());
      assertTrue(a.closedByHub(), "an oversize length ends the port");
      b.ch.write(ByteBuffer.allocate(4).putInt(L2Hub.MIN_FRAME - 1).flip());
      assertTrue(b.closedByHub(), "a runt length ends the port");
      assertEquals(2, hub.refused());
      awaitPorts(hub, 1);
      assertEquals(0, hub.received());
      assertNull(c.poll(Duration.ofMillis(200)));
    }
  }

  @Test
  void closeEndsEveryPortAndRemovesTheSocket() throws Exception {
    Path sock = dir.resolve("hub.sock");
    L2Hub hub = L2Hub.start(sock);
    try (Guest a = new Guest(hub);
        Guest b = new Guest(hub)) {
      awaitPorts(hub, 2);
      hub.close();
      assertTrue(a.closedByHub());
      assertTrue(b.closedByHub());
      assertFalse(Files.exists(sock));
      assertEquals(0, hub.ports());
      assertThrows(IOException.class, () -> new Guest(hub).close());
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
