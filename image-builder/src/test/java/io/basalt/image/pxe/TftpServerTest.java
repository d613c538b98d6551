package io.basalt.image.pxe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TftpServerTest {
  private static byte[] packet(int op, String... fields) {
    java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
    o.write(0);
    o.write(op);
    for (String f : fields) {
      o.writeBytes(f.getBytes(StandardCharsets.US_ASCII));
      o.write(0);
    }
    return o.toByteArray();
  }

  @Test
  void parsesAReadRequestWithOptions() {
    TftpServer.Request r =
        TftpServer.Request.parse(packet(1, "boot.ipxe", "OCTET", "BlkSize", "1468", "tsize", "0"));
    assertEquals(TftpServer.RRQ, r.opcode);
    assertEquals("boot.ipxe", r.name);
    assertEquals("octet", r.mode);
    assertEquals(Map.of("blksize", "1468", "tsize", "0"), r.options);
  }

  @Test
  void otherOpcodesAreNotRequests() {
    assertNull(TftpServer.Request.parse(new byte[] {0, 4, 0, 1}));
  }

  @Test
  void refusesMalformedRequests() {
    assertThrows(IllegalArgumentException.class, () -> TftpServer.Request.parse(new byte[] {0}));
    byte[] unterminated = packet(1, "a", "octet");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            TftpServer.Request.parse(
                java.util.Arrays.copyOf(unterminated, unterminated.length - 1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> TftpServer.Request.parse(packet(1, "a", "octet", "blksize")));
  }

  @Test
  void netasciiTurnsLfIntoCrLfAndALoneCrIntoCrNul() throws Exception {
    byte[] in = "a\nb\rc".getBytes(StandardCharsets.US_ASCII);
    try (TftpServer.NetasciiInputStream s =
        new TftpServer.NetasciiInputStream(new ByteArrayInputStream(in))) {
      assertArrayEquals(new byte[] {'a', '\r', '\n', 'b', '\r', 0, 'c'}, s.readAllBytes());
    }
  }
}
