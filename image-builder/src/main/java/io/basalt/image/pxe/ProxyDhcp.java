package io.basalt.image.pxe;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A proxy DHCP server (PXE 2.1 section 2.2.5, client options of RFC 4578): it answers only the
 * DHCPDISCOVERs and DHCPREQUESTs of PXE clients (vendor class {@code PXEClient}) with an offer that
 * assigns no address ({@code yiaddr} 0.0.0.0, so the network's own DHCP server keeps doing that)
 * and names the boot file: the HTTP chain script for iPXE (user class {@code iPXE}), else an iPXE
 * loader over TFTP by client architecture (option 93: 0 BIOS {@code undionly.kpxe}; 6, 7, 9 EFI
 * {@code ipxe.efi}). Everything else is ignored. Thread-safe; stop with {@link #close()}.
 */
final class ProxyDhcp implements AutoCloseable {
  static final int BOOTREQUEST = 1;
  static final int BOOTREPLY = 2;
  static final int DISCOVER = 1;
  static final int OFFER = 2;
  static final int REQUEST = 3;
  static final int ACK = 5;

  static final int OPT_MESSAGE_TYPE = 53;
  static final int OPT_SERVER_ID = 54;
  static final int OPT_VENDOR_CLASS = 60;
  static final int OPT_VENDOR_SPECIFIC = 43;
  static final int OPT_USER_CLASS = 77;
  static final int OPT_CLIENT_ARCH = 93;
  static final int OPT_CLIENT_UUID = 97;
  static final int OPT_END = 255;
  static final int OPT_PAD = 0;

  /** RFC 2131 section 3: the magic cookie that starts the options field. */
  static final byte[] COOKIE = {99, (byte) 130, 83, 99};

  /** Offset of the options after the fixed BOOTP header and the cookie. */
  static final int OPTIONS = 240;

  /** The BIOS loader, served by TFTP from {@code --tftp-dir}. */
  static final String BIOS_LOADER = "undionly.kpxe";

  /** The x86-64 UEFI loader, served by TFTP from {@code --tftp-dir}. */
  static final String EFI_LOADER = "ipxe.efi";

  private final DatagramSocket socket;
  private final Inet4Address server;
  private final String chainUrl;
  private final Consumer<String> log;
  private final Thread listener;
  private volatile boolean closed;

  private ProxyDhcp(
      DatagramSocket socket, Inet4Address server, String chainUrl, Consumer<String> log) {
    this.socket = socket;
    this.server = server;
    this.chainUrl = chainUrl;
    this.log = log;
    this.listener = new Thread(this::listen, "basalt-proxy-dhcp " + socket.getLocalSocketAddress());
    this.listener.setDaemon(true);
  }

  /**
   * Binds {@code address} and starts answering.
   *
   * @param server the TFTP server address named in offers ({@code siaddr}, server identifier)
   * @param chainUrl the chain script's URL, the boot file of iPXE clients
   * @throws IOException when the address cannot be bound
   */
  static ProxyDhcp start(
      InetSocketAddress address, Inet4Address server, String chainUrl, Consumer<String> log)
      throws IOException {
    DatagramSocket s = new DatagramSocket(null);
    try {
      s.setBroadcast(true);
      s.bind(address);
    } catch (SocketException e) {
      s.close();
      throw new IOException("proxy DHCP " + address + ": cannot bind: " + e.getMessage(), e);
    }
    ProxyDhcp p = new ProxyDhcp(s, server, chainUrl, log);
    p.listener.start();
    return p;
  }

  InetSocketAddress address() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  private void listen() {
    byte[] buf = new byte[1500];
    while (!closed) {
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        socket.receive(p);
        byte[] in = Arrays.copyOfRange(p.getData(), p.getOffset(), p.getLength());
        byte[] out = answer(in, server, chainUrl);
        if (out == null) {
          continue;
        }
        InetSocketAddress to = destination(in, (InetSocketAddress) p.getSocketAddress());
        socket.send(new DatagramPacket(out, out.length, to));
        log.accept(
            "proxy-dhcp "
                + mac(in)
                + " "
                + (type(in) == DISCOVER ? "DISCOVER" : "REQUEST")
                + " -> "
                + bootFile(out)
                + " to "
                + to);
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.accept("proxy-dhcp: " + e.getMessage());
        }
      }
    }
  }

  /**
   * Where a reply goes (RFC 2131 section 4.1): the relay agent ({@code giaddr}, port 67), else the
   * sender when it has an address, else broadcast to port 68.
   */
  static InetSocketAddress destination(byte[] request, InetSocketAddress from) {
    byte[] giaddr = Arrays.copyOfRange(request, 24, 28);
    try {
      if (!Arrays.equals(giaddr, new byte[4])) {
        return new InetSocketAddress(InetAddress.getByAddress(giaddr), 67);
      }
      if (!from.getAddress().isAnyLocalAddress()) {
        return from;
      }
      return new InetSocketAddress(InetAddress.getByAddress(new byte[] {-1, -1, -1, -1}), 68);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException("a 4-byte address is always an address", e);
    }
  }

  /** The options of a DHCP packet by code (the first occurrence); null when it is not DHCP. */
  static Map<Integer, byte[]> options(byte[] p) {
    if (p.length < OPTIONS || !Arrays.equals(Arrays.copyOfRange(p, 236, 240), COOKIE)) {
      return null;
    }
    Map<Integer, byte[]> o = new LinkedHashMap<>();
    int i = OPTIONS;
    while (i < p.length) {
      int code = p[i] & 0xff;
      if (code == OPT_END) {
        break;
      }
      if (code == OPT_PAD) {
        i++;
        continue;
      }
      if (i + 1 >= p.length || i + 2 + (p[i + 1] & 0xff) > p.length) {
        return null; // an option runs past the packet
      }
      int len = p[i + 1] & 0xff;
      o.putIfAbsent(code, Arrays.copyOfRange(p, i + 2, i + 2 + len));
      i += 2 + len;
    }
    return o;
  }

  private static int type(byte[] p) {
    Map<Integer, byte[]> o = options(p);
    byte[] t = o == null ? null : o.get(OPT_MESSAGE_TYPE);
    return t == null || t.length != 1 ? -1 : t[0] & 0xff;
  }

  private static String mac(byte[] p) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      b.append(i == 0 ? "" : ":").append(String.format(java.util.Locale.ROOT, "%02x", p[28 + i]));
    }
    return b.toString();
  }

  /** The boot file name of a reply ({@code file} field), for the log. */
  static String bootFile(byte[] reply) {
    int end = 108;
    while (end < 236 && reply[end] != 0) {
      end++;
    }
    return new String(reply, 108, end - 108, StandardCharsets.US_ASCII);
  }

  /**
   * The proxy offer (to a DISCOVER) or ack (to a REQUEST) for a PXE client's packet, or null when
   * the packet is not one to answer: not a BOOTREQUEST over Ethernet, not DHCP, not from a PXE
   * client, another message type, or an architecture without a loader here.
   */
  static byte[] answer(byte[] in, Inet4Address server, String chainUrl) {
    if (in.length < OPTIONS || in[0] != BOOTREQUEST || in[1] != 1 || in[2] != 6) {
      return null;
    }
    Map<Integer, byte[]> o = options(in);
    if (o == null) {
      return null;
    }
    int type = type(in);
    if (type != DISCOVER && type != REQUEST) {
      return null;
    }
    byte[] vendor = o.get(OPT_VENDOR_CLASS);
    if (vendor == null || !new String(vendor, StandardCharsets.US_ASCII).startsWith("PXEClient")) {
      return null;
    }
    String file;
    byte[] user = o.get(OPT_USER_CLASS);
    if (user != null && new String(user, StandardCharsets.US_ASCII).equals("iPXE")) {
      file = chainUrl;
    } else {
      byte[] arch = o.get(OPT_CLIENT_ARCH);
      int a = arch == null || arch.length != 2 ? 0 : ((arch[0] & 0xff) << 8) | (arch[1] & 0xff);
      switch (a) {
        case 0 -> file = BIOS_LOADER;
        case 6, 7, 9 -> file = EFI_LOADER;
        default -> {
          return null; // RFC 4578 section 2.1: an architecture we have no loader for
        }
      }
    }
    byte[] name = file.getBytes(StandardCharsets.US_ASCII);
    if (name.length > 127) {
      return null;
    }
    ByteBuffer b = ByteBuffer.allocate(OPTIONS + 64);
    b.put((byte) BOOTREPLY).put((byte) 1).put((byte) 6).put((byte) 0);
    b.put(in, 4, 4); // xid
    b.putShort((short) 0); // secs
    b.put(in, 10, 2); // flags
    b.put(in, 12, 4); // ciaddr
    b.put(new byte[4]); // yiaddr: no address from us
    b.put(server.getAddress()); // siaddr: the TFTP server
    b.put(in, 24, 4); // giaddr
    b.put(in, 28, 16); // chaddr
    b.put(new byte[64]); // sname
    b.put(Arrays.copyOf(name, 128)); // file
    b.put(COOKIE);
    b.put((byte) OPT_MESSAGE_TYPE).put((byte) 1).put((byte) (type == DISCOVER ? OFFER : ACK));
    b.put((byte) OPT_SERVER_ID).put((byte) 4).put(server.getAddress());
    b.put((byte) OPT_VENDOR_CLASS)
        .put((byte) 9)
        .put("PXEClient".getBytes(StandardCharsets.US_ASCII));
    byte[] uuid = o.get(OPT_CLIENT_UUID);
    if (uuid != null && uuid.length == 17) {
      b.put((byte) OPT_CLIENT_UUID).put((byte) 17).put(uuid);
    }
    // PXE 2.1 table 2-1, PXE_DISCOVERY_CONTROL (6) = 8: take the boot file of this offer, no
    // boot server discovery
    b.put((byte) OPT_VENDOR_SPECIFIC).put((byte) 4).put(new byte[] {6, 1, 8, (byte) 255});
    b.put((byte) OPT_END);
    return Arrays.copyOf(b.array(), b.position());
  }

  @Override
  public void close() {
    closed = true;
    socket.close();
  }
}
