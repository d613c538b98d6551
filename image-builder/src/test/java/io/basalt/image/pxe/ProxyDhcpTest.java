package io.basalt.image.pxe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyDhcpTest {
  static final byte[] MAC = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
  static final String CHAIN = "http://192.168.1.2:8080/boot.ipxe";

  /** A DHCP request as a PXE ROM or iPXE sends it; option values by code, in order. */
  static byte[] request(int type, int[] codes, byte[]... values) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    byte[] h = new byte[236];
    h[0] = 1;
    h[1] = 1;
    h[2] = 6;
    h[4] = 0x11;
    h[5] = 0x22;
    h[6] = 0x33;
    h[7] = 0x44;
    h[10] = (byte) 0x80; // broadcast flag
    System.arraycopy(MAC, 0, h, 28, 6);
    o.writeBytes(h);
    o.writeBytes(ProxyDhcp.COOKIE);
    o.writeBytes(new byte[] {53, 1, (byte) type});
    for (int i = 0; i < codes.length; i++) {
      o.write(codes[i]);
      o.write(values[i].length);
      o.writeBytes(values[i]);
    }
    o.write(255);
    return o.toByteArray();
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static Inet4Address server() throws Exception {
    return (Inet4Address) InetAddress.getByName("192.168.1.2");
  }

  @Test
  void offersTheBiosLoaderToAPxeRomWithoutAnAddress() throws Exception {
    byte[] uuid = new byte[17];
    uuid[5] = 9;
    byte[] in =
        request(
            ProxyDhcp.DISCOVER,
            new int[] {60, 93, 97},
            ascii("PXEClient:Arch:00000:UNDI:002001"),
            new byte[] {0, 0},
            uuid);
    byte[] out = ProxyDhcp.answer(in, server(), CHAIN);
    assertEquals(ProxyDhcp.BOOTREPLY, out[0]);
    assertArrayEquals(Arrays.copyOfRange(in, 4, 8), Arrays.copyOfRange(out, 4, 8), "xid");
    assertArrayEquals(Arrays.copyOfRange(in, 10, 12), Arrays.copyOfRange(out, 10, 12), "flags");
    assertArrayEquals(new byte[4], Arrays.copyOfRange(out, 16, 20), "yiaddr: no address");
    assertArrayEquals(server().getAddress(), Arrays.copyOfRange(out, 20, 24), "siaddr");
    assertArrayEquals(MAC, Arrays.copyOfRange(out, 28, 34), "chaddr");
    assertEquals("undionly.kpxe", ProxyDhcp.bootFile(out));
    Map<Integer, byte[]> o = ProxyDhcp.options(out);
    assertArrayEquals(new byte[] {ProxyDhcp.OFFER}, o.get(53));
    assertArrayEquals(server().getAddress(), o.get(54));
    assertArrayEquals(ascii("PXEClient"), o.get(60));
    assertArrayEquals(uuid, o.get(97));
    assertArrayEquals(new byte[] {6, 1, 8, (byte) 255}, o.get(43));
  }

  @Test
  void uefiGetsTheEfiLoaderAndIpxeTheChainScript() throws Exception {
    byte[] efi =
        request(
            ProxyDhcp.DISCOVER,
            new int[] {60, 93},
            ascii("PXEClient:Arch:00007"),
            new byte[] {0, 7});
    assertEquals("ipxe.efi", ProxyDhcp.bootFile(ProxyDhcp.answer(efi, server(), CHAIN)));
    byte[] ipxe =
        request(
            ProxyDhcp.REQUEST,
            new int[] {60, 77, 93},
            ascii("PXEClient:Arch:00000"),
            ascii("iPXE"),
            new byte[] {0, 0});
    byte[] ack = ProxyDhcp.answer(ipxe, server(), CHAIN);
    assertEquals(CHAIN, ProxyDhcp.bootFile(ack));
    assertArrayEquals(new byte[] {ProxyDhcp.ACK}, ProxyDhcp.options(ack).get(53));
  }

  @Test
  void leavesEverythingElseToTheNetworksDhcpServer() throws Exception {
    assertNull(
        ProxyDhcp.answer(
            request(ProxyDhcp.DISCOVER, new int[] {60}, ascii("MSFT 5.0")), server(), CHAIN),
        "not a PXE client");
    assertNull(ProxyDhcp.answer(request(ProxyDhcp.DISCOVER, new int[0]), server(), CHAIN));
    assertNull(
        ProxyDhcp.answer(request(8, new int[] {60}, ascii("PXEClient")), server(), CHAIN),
        "DHCPINFORM");
    assertNull(
        ProxyDhcp.answer(
            request(ProxyDhcp.DISCOVER, new int[] {60, 93}, ascii("PXEClient"), new byte[] {0, 11}),
            server(),
            CHAIN),
        "ARM 64 UEFI: no loader here");
    byte[] truncated = request(ProxyDhcp.DISCOVER, new int[] {60}, ascii("PXEClient"));
    assertNull(ProxyDhcp.answer(Arrays.copyOf(truncated, truncated.length - 4), server(), CHAIN));
    byte[] reply = request(ProxyDhcp.DISCOVER, new int[] {60}, ascii("PXEClient"));
    reply[0] = 2;
    assertNull(ProxyDhcp.answer(reply, server(), CHAIN), "a BOOTREPLY");
  }

  @Test
  void repliesGoToTheRelayTheSenderOrBroadcast() throws Exception {
    byte[] in = request(ProxyDhcp.DISCOVER, new int[] {60}, ascii("PXEClient"));
    InetSocketAddress none = new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 68);
    assertEquals(
        new InetSocketAddress(InetAddress.getByName("255.255.255.255"), 68),
        ProxyDhcp.destination(in, none));
    InetSocketAddress from = new InetSocketAddress(InetAddress.getByName("10.0.0.7"), 68);
    assertEquals(from, ProxyDhcp.destination(in, from));
    in[24] = 10;
    in[27] = 1;
    assertEquals(
        new InetSocketAddress(InetAddress.getByName("10.0.0.1"), 67),
        ProxyDhcp.destination(in, from));
  }
}
