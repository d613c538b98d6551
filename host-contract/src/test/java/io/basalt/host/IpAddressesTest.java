package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IpAddressesTest {

  @Test
  void privateIpv4IsRfc1918Only() {
    for (String a :
        new String[] {
          "10.0.0.0", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "10.10.0.2"
        }) {
      assertTrue(IpAddresses.isPrivateIpv4(a), a);
    }
    for (String a :
        new String[] {
          "9.255.255.255",
          "11.0.0.0",
          "172.15.255.255",
          "172.32.0.0",
          "192.167.1.1",
          "192.169.0.0",
          "127.0.0.1",
          "100.64.0.1",
          "169.254.1.1",
          "fd00::1",
          "10.0.0",
          "010.0.0.1",
          ""
        }) {
      assertFalse(IpAddresses.isPrivateIpv4(a), a);
    }
    assertFalse(IpAddresses.isPrivateIpv4(null));
  }
}
