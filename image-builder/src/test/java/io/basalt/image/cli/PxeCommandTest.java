package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PxeCommandTest {
  @Test
  void refusesToStartWithoutAListenAddress() {
    StringWriter err = new StringWriter();
    CommandLine c = Basalt.commandLine();
    c.setErr(new PrintWriter(err));
    int code = c.execute("pxe", "serve", "/nonexistent");
    assertEquals(PxeCommand.EXIT_USAGE, code);
    assertTrue(
        err.toString().startsWith("basalt pxe serve: give at least one --listen ADDRESS:PORT"),
        err.toString());
  }

  @Test
  void addressesAreIpLiteralsWithPorts() {
    assertEquals(
        new InetSocketAddress("127.0.0.1", 8080),
        PxeCommand.Serve.address("--listen", "127.0.0.1:8080", -1));
    assertEquals(
        new InetSocketAddress("::1", 80), PxeCommand.Serve.address("--listen", "[::1]:80", -1));
    assertEquals(
        new InetSocketAddress("10.0.0.1", 69), PxeCommand.Serve.address("--tftp", "10.0.0.1", 69));
    assertEquals(
        "--listen 127.0.0.1: expected an IP address and a port, e.g. 127.0.0.1:8080 (no host"
            + " names)",
        assertThrows(
                IllegalArgumentException.class,
                () -> PxeCommand.Serve.address("--listen", "127.0.0.1", -1))
            .getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> PxeCommand.Serve.address("--listen", "localhost:80", -1));
    assertThrows(
        IllegalArgumentException.class,
        () -> PxeCommand.Serve.address("--listen", "300.0.0.1:80", -1));
    assertThrows(
        IllegalArgumentException.class,
        () -> PxeCommand.Serve.address("--listen", "1.2.3.4:70000", -1));
  }
}
