package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.AccessDeniedException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PermissionMessagesTest {

  @Test
  void lockHoldWithoutRootSaysItNeedsRootOrSudo() {
    // tests run as root, so the EACCES of a non-root user is simulated with the exception the
    // file system throws for it
    CommandLine cl = Basaltctl.commandLine().getSubcommands().get("lock");
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    CommandLine hold = cl.getSubcommands().get("hold");
    int rc =
        LockCommand.guarded(
            hold.getCommandSpec(),
            out -> {
              throw new AccessDeniedException("/var/lib/basalt/reboot-hold.json.tmp");
            });
    assertEquals(1, rc);
    assertEquals(
        "basaltctl lock hold: /var/lib/basalt/reboot-hold.json.tmp: permission denied; this needs"
            + " root: run it as sudo basaltctl lock hold (members of group sudo may)",
        err.toString().strip());
  }
}
