package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class FleetLockRegistrationTest {

  @Test
  void basaltFleetlockServeIsRegistered() {
    CommandLine cl = Basalt.commandLine();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    assertEquals(0, cl.execute("fleetlock", "serve", "--help"));
    assertTrue(
        out.toString().contains("/v1/pre-reboot") && out.toString().contains("--endpoint"),
        out.toString());
  }
}
