package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class PrivateIpv4Test {

  @Test
  void addressLinesAreReadFromNetworkAndAddressSectionsOnly() {
    assertNull(PrivateIpv4.firstAddress("[Match]\nAddress=10.0.0.1\n"));
    assertEquals(
        "10.1.0.9",
        PrivateIpv4.firstAddress(
            "[Network]\nDHCP=no\nAddress=2001:db8::1/64\nAddress=10.1.0.9/16\n"));
    assertEquals("192.168.1.4", PrivateIpv4.firstAddress("[Address]\nAddress = 192.168.1.4/24\n"));
    assertNull(PrivateIpv4.firstAddress("[Network]\nAddress=198.51.100.4/24\n"));
  }
}
