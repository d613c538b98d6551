package io.basalt.image.pxe;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * A read-only TFTP server (RFC 1350) with option negotiation (RFC 2347) for {@code blksize} (RFC
 * 2348), {@code timeout} and {@code tsize} (RFC 2349), serving what a {@link Files} lookup finds.
 * Each read runs on its own socket (the server's transfer ID, RFC 1350 section 4) and thread; block
 * numbers roll over from 65535 to 0 as iPXE, tftp-hpa and atftp expect for files over 32 MiB at
 * 512-byte blocks. Thread-safe; stop with {@link #close()}.
 */
final class TftpServer implements AutoCloseable {
  static final int RRQ = 1;
  static final int WRQ = 2;
  static final int DATA = 3;
  static final int ACK = 4;
  static final int ERROR = 5;
  static final int OACK = 6;

  /** RFC 1350 error codes used here. */
  static final int E_UNDEFINED = 0;

  static final int E_NOT_FOUND = 1;
  static final int E_ACCESS = 2;
  static final int E_ILLEGAL = 4;
  static final int E_OPTION = 8;

  static final int DEFAULT_BLKSIZE = 512;

  /** RFC 2348: 8 to 65464 octets. */
  static final int MAX_BLKSIZE = 65464;

  static final int DEFAULT_TIMEOUT_SECONDS = 1;

  /** Sends of one packet before a transfer is given up. */
  static final int TRIES = 6;

  static final int MAX_TRANSFERS = 64;

  /** A file the server can send: its size and a fresh stream of its bytes. */
  interface Source {
    long size() throws IOException;

    InputStream open() throws IOException;
  }

  /** Finds the file a read request names, or null. */
  interface Files {
    Source find(String name) throws IOException;
  }

  private final DatagramSocket socket;
  private final Files files;
  private final Consumer<String> log;
  private final ExecutorService pool;
  private final Semaphore slots = new Semaphore(MAX_TRANSFERS);
  private final Thread listener;
  private volatile boolean closed;

  private TftpServer(DatagramSocket socket, Files files, Consumer<String> log) {
    this.socket = socket;
    this.files = files;
    this.log = log;
    this.pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "basalt-tftp-transfer");
              t.setDaemon(true);
              return t;
            });
    this.listener = new Thread(this::listen, "basalt-tftp " + socket.getLocalSocketAddress());
    this.listener.setDaemon(true);
  }

  /**
   * Binds {@code address} and starts serving.
   *
   * @throws IOException when the address cannot be bound
   */
  static TftpServer start(InetSocketAddress address, Files files, Consumer<String> log)
      throws IOException {
    DatagramSocket s = new DatagramSocket(null);
    try {
      s.bind(address);
    } catch (SocketException e) {
      s.close();
      throw new IOException("TFTP " + address + ": cannot bind: " + e.getMessage(), e);
    }
    TftpServer t = new TftpServer(s, files, log);
    t.listener.start();
    return t;
  }

  /** The bound address. */
  InetSocketAddress address() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  private void listen() {
    byte[] buf = new byte[65536];
    while (!closed) {
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        socket.receive(p);
      } catch (IOException e) {
        if (!closed) {
          log.accept("tftp: receive failed: " + e.getMessage());
        }
        continue;
      }
      byte[] data = java.util.Arrays.copyOfRange(p.getData(), p.getOffset(), p.getLength());
      InetSocketAddress client = (InetSocketAddress) p.getSocketAddress();
      Request r;
      try {
        r = Request.parse(data);
      } catch (IllegalArgumentException e) {
        sendError(socket, client, E_ILLEGAL, e.getMessage());
        continue;
      }
      if (r == null) {
        continue; // a stray ACK, DATA or ERROR on the listening port: not ours to answer
      }
      if (r.opcode == WRQ) {
        log.accept("tftp " + client + " WRQ " + r.name + " refused");
        sendError(socket, client, E_ACCESS, "read-only server");
        continue;
      }
      if (!slots.tryAcquire()) {
        sendError(socket, client, E_UNDEFINED, "busy: " + MAX_TRANSFERS + " transfers running");
        continue;
      }
      try {
        pool.execute(
            () -> {
              try {
                transfer(client, r);
              } finally {
                slots.release();
              }
            });
      } catch (RuntimeException e) {
        slots.release();
        if (!closed) {
          throw e;
        }
      }
    }
  }

  /** A parsed RRQ or WRQ: file name, mode (lower case) and options (names lower case). */
  static final class Request {
    final int opcode;
    final String name;
    final String mode;
    final Map<String, String> options;

    Request(int opcode, String name, String mode, Map<String, String> options) {
      this.opcode = opcode;
      this.name = name;
      this.mode = mode;
      this.options = options;
    }

    /**
     * Parses a request packet; null for other opcodes.
     *
     * @throws IllegalArgumentException when the packet is malformed
     */
    static Request parse(byte[] p) {
      if (p.length < 2) {
        throw new IllegalArgumentException("packet of " + p.length + " bytes");
      }
      int op = ((p[0] & 0xff) << 8) | (p[1] & 0xff);
      if (op != RRQ && op != WRQ) {
        return null;
      }
      java.util.List<String> fields = new java.util.ArrayList<>();
      int start = 2;
      for (int i = 2; i < p.length; i++) {
        if (p[i] == 0) {
          fields.add(new String(p, start, i - start, StandardCharsets.US_ASCII));
          start = i + 1;
        }
      }
      if (start != p.length || fields.size() < 2 || fields.size() % 2 != 0) {
        throw new IllegalArgumentException("malformed request: fields not NUL-terminated in pairs");
      }
      Map<String, String> opts = new LinkedHashMap<>();
      for (int i = 2; i < fields.size(); i += 2) {
        opts.putIfAbsent(fields.get(i).toLowerCase(Locale.ROOT), fields.get(i + 1));
      }
      return new Request(op, fields.get(0), fields.get(1).toLowerCase(Locale.ROOT), opts);
    }
  }

  private void transfer(InetSocketAddress client, Request r) {
    try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(address().getAddress(), 0))) {
      s.connect(client);
      if (!r.mode.equals("octet") && !r.mode.equals("netascii")) {
        sendError(s, client, E_ILLEGAL, "mode " + r.mode + " not supported (octet, netascii)");
        return;
      }
      Source src = files.find(r.name);
      if (src == null) {
        log.accept("tftp " + client + " RRQ " + r.name + " not found");
        sendError(s, client, E_NOT_FOUND, "file not found: " + r.name);
        return;
      }
      boolean octet = r.mode.equals("octet");
      Map<String, String> accepted = new LinkedHashMap<>();
      int blksize = DEFAULT_BLKSIZE;
      int timeout = DEFAULT_TIMEOUT_SECONDS;
      // RFC 2347: options the server does not know or refuses are left out of the OACK.
      String b = r.options.get("blksize");
      if (b != null && b.matches("[0-9]{1,6}") && Integer.parseInt(b) >= 8) {
        blksize = Math.min(Integer.parseInt(b), MAX_BLKSIZE);
        accepted.put("blksize", Integer.toString(blksize));
      }
      String t = r.options.get("timeout");
      if (t != null && t.matches("[0-9]{1,3}")) {
        int v = Integer.parseInt(t);
        if (v >= 1 && v <= 255) {
          timeout = v;
          accepted.put("timeout", t);
        }
      }
      if (r.options.containsKey("tsize") && octet) {
        // RFC 2349: the client sends 0 in a read request; the server answers the size
        accepted.put("tsize", Long.toString(src.size()));
      }
      s.setSoTimeout(timeout * 1000);
      if (!accepted.isEmpty() && !handshake(s, accepted)) {
        return;
      }
      long sent = 0;
      try (InputStream raw = src.open();
          InputStream in = octet ? raw : new NetasciiInputStream(raw)) {
        byte[] block = new byte[4 + blksize];
        int n;
        int number = 0;
        do {
          number = (number + 1) & 0xffff;
          n = in.readNBytes(block, 4, blksize);
          block[0] = 0;
          block[1] = DATA;
          block[2] = (byte) (number >> 8);
          block[3] = (byte) number;
          if (!sendAndAwaitAck(s, block, 4 + n, number)) {
            log.accept("tftp " + client + " RRQ " + r.name + " aborted after " + sent + " bytes");
            return;
          }
          sent += n;
        } while (n == blksize);
      }
      log.accept("tftp " + client + " RRQ " + r.name + " " + sent + " bytes, blksize " + blksize);
    } catch (IOException e) {
      log.accept("tftp " + client + " RRQ " + r.name + " failed: " + e.getMessage());
    }
  }

  /** Sends the OACK and waits for ACK 0; false when the client gave up or refused. */
  private boolean handshake(DatagramSocket s, Map<String, String> accepted) throws IOException {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.write(0);
    o.write(OACK);
    for (Map.Entry<String, String> e : accepted.entrySet()) {
      o.writeBytes(e.getKey().getBytes(StandardCharsets.US_ASCII));
      o.write(0);
      o.writeBytes(e.getValue().getBytes(StandardCharsets.US_ASCII));
      o.write(0);
    }
    byte[] oack = o.toByteArray();
    return sendAndAwaitAck(s, oack, oack.length, 0);
  }

  /**
   * Sends a packet and waits for the ACK of {@code number}, sending again on each timeout. ACKs of
   * earlier blocks are ignored, never answered (RFC 1123 4.2.3.1, the Sorcerer's Apprentice bug).
   *
   * @return false when the client sent an ERROR or never answered
   */
  private static boolean sendAndAwaitAck(DatagramSocket s, byte[] packet, int length, int number)
      throws IOException {
    byte[] in = new byte[516];
    for (int tries = 0; tries < TRIES; tries++) {
      s.send(new DatagramPacket(packet, length));
      while (true) {
        DatagramPacket p = new DatagramPacket(in, in.length);
        try {
          s.receive(p);
        } catch (SocketTimeoutException e) {
          break;
        }
        if (p.getLength() < 4) {
          continue;
        }
        int op = ((in[0] & 0xff) << 8) | (in[1] & 0xff);
        int n = ((in[2] & 0xff) << 8) | (in[3] & 0xff);
        if (op == ERROR) {
          return false;
        }
        if (op == ACK && n == number) {
          return true;
        }
      }
    }
    return false;
  }

  private static void sendError(DatagramSocket s, InetSocketAddress to, int code, String message) {
    byte[] m = message.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(5 + m.length);
    b.putShort((short) ERROR).putShort((short) code).put(m).put((byte) 0);
    try {
      s.send(new DatagramPacket(b.array(), b.position(), to));
    } catch (IOException e) {
      // the client learns of the failure by its own timeout
    }
  }

  /** RFC 1350 / RFC 764 netascii: LF becomes CR LF, a CR alone becomes CR NUL. Not thread-safe. */
  static final class NetasciiInputStream extends InputStream {
    private final InputStream in;
    private int pending = -1;

    NetasciiInputStream(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      if (pending >= 0) {
        int p = pending;
        pending = -1;
        return p;
      }
      int c = in.read();
      if (c == '\n') {
        pending = '\n';
        return '\r';
      }
      if (c == '\r') {
        pending = 0;
        return '\r';
      }
      return c;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  @Override
  public void close() {
    closed = true;
    socket.close();
    pool.shutdownNow();
  }
}
