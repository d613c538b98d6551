package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code basaltctl swarm join} refusing bad settings before it touches docker or etcd. */
class SwarmCommandTest {

  @TempDir Path root;

  private void file(String hostPath, String text) throws Exception {
    Path p = root.resolve(hostPath.substring(1));
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
  }

  /** The one error line, with the root's path shown as ROOT. */
  private String run(int expectedExit) {
    CommandLine cl = Basaltctl.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    cl.setOut(new PrintWriter(new StringWriter()));
    int rc =
        cl.execute("swarm", "join", "--root", root.toString(), "--docker", "/nonexistent/docker");
    assertEquals(expectedExit, rc, err.toString());
    return err.toString().strip().replace(root.toString(), "ROOT");
  }

  @Test
  void withoutSwarmConfItSaysWhereItComesFrom() {
    assertEquals(
        "basaltctl swarm join: ROOT/etc/basalt/swarm.conf does not exist: cloud-config writes it"
            + " from basalt.swarm",
        run(2));
  }

  @Test
  void aBadSettingNamesFileAndLine() throws Exception {
    file("/etc/basalt/swarm.conf", "# x\nROLE=boss\nADVERTISE_ADDR=10.0.0.1\n");
    assertEquals(
        "basaltctl swarm join: ROOT/etc/basalt/swarm.conf:2: ROLE: expected manager or worker,"
            + " found \"boss\"",
        run(2));
  }

  @Test
  void aBadUpdateConfIsABadSetting() throws Exception {
    file("/etc/basalt/swarm.conf", "ROLE=worker\nADVERTISE_ADDR=10.0.0.1\n");
    file("/etc/basalt/update.conf", "# x\nETCD_ENDPONTS=x\n");
    String message = run(2);
    assertTrue(
        message.startsWith("basaltctl swarm join: ROOT/etc/basalt/update.conf:2: "), message);
  }
}
