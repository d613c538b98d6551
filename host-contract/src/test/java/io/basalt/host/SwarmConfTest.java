package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class SwarmConfTest {

  @Test
  void rendersAndParsesBack() {
    SwarmConf c =
        new SwarmConf(
            SwarmConf.Role.MANAGER,
            "10.0.0.1",
            null,
            new TreeMap<>(Map.of("zone", "a", "com.example.rack", "r 1=x")));
    String text = c.render();
    assertEquals(
        "# Written by basalt cloud-config from basalt.swarm; read by basaltctl swarm join.\n"
            + "ROLE=manager\nADVERTISE_ADDR=10.0.0.1\nCLUSTER=default\n"
            + "LABEL=com.example.rack=r 1=x\nLABEL=zone=a\n",
        text);
    assertEquals(c, SwarmConf.parse(text, "/etc/basalt/swarm.conf"));
    assertEquals(
        SwarmConf.Role.WORKER,
        SwarmConf.parse("ROLE=worker\nADVERTISE_ADDR=fd00::2\n", "f").role());
  }

  @Test
  void errorsNameFileLineAndValue() {
    assertEquals(
        "f:2: ROLE: expected manager or worker, found \"boss\"",
        assertThrows(
                IllegalArgumentException.class,
                () -> SwarmConf.parse("# c\nROLE=boss\nADVERTISE_ADDR=10.0.0.1\n", "f"))
            .getMessage());
    assertEquals(
        "f:2: ADVERTISE_ADDR: expected an IPv4 or IPv6 address (no host name, no port), found"
            + " \"node1.example\"",
        assertThrows(
                IllegalArgumentException.class,
                () -> SwarmConf.parse("ROLE=worker\nADVERTISE_ADDR=node1.example\n", "f"))
            .getMessage());
    assertEquals(
        "f:1: unknown key TOKEN (expected ROLE, ADVERTISE_ADDR, CLUSTER or LABEL)",
        assertThrows(IllegalArgumentException.class, () -> SwarmConf.parse("TOKEN=x\n", "f"))
            .getMessage());
    assertEquals(
        "f:3: label zone is given twice",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    SwarmConf.parse(
                        "ROLE=worker\nLABEL=zone=a\nLABEL=zone=b\nADVERTISE_ADDR=10.0.0.2\n", "f"))
            .getMessage());
    assertEquals(
        "f: missing ADVERTISE_ADDR=",
        assertThrows(IllegalArgumentException.class, () -> SwarmConf.parse("ROLE=worker\n", "f"))
            .getMessage());
  }

  @Test
  void valueRules() {
    assertEquals(Optional.empty(), SwarmConf.problem(SwarmConf.ADVERTISE_ADDR, "192.168.1.10"));
    assertEquals(Optional.empty(), SwarmConf.problem(SwarmConf.ADVERTISE_ADDR, "2001:db8::1"));
    for (String bad : new String[] {"10.0.0.1:2377", "256.1.1.1", "eth0", "", "$private_ipv4"}) {
      assertTrue(SwarmConf.problem(SwarmConf.ADVERTISE_ADDR, bad).isPresent(), bad);
    }
    assertTrue(SwarmConf.problem(SwarmConf.CLUSTER, "Prod").isPresent());
    assertTrue(SwarmConf.problem(SwarmConf.CLUSTER, "prod/x").isPresent());
    assertEquals(Optional.empty(), SwarmConf.problem(SwarmConf.CLUSTER, "prod-1"));
    assertTrue(SwarmConf.problem(SwarmConf.LABEL, "-zone=a").isPresent());
    assertTrue(SwarmConf.problem(SwarmConf.LABEL, "zone=a\nROLE=manager").isPresent());
    assertEquals(Optional.empty(), SwarmConf.problem(SwarmConf.LABEL, "zone="));
  }
}
