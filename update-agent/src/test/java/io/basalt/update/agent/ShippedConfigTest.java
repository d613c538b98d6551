package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The defaults file init-units ships as /usr/share/basalt/update.conf parses and says what the
 * README says.
 */
class ShippedConfigTest {

  @Test
  void shippedDefaultsParse() throws Exception {
    Path src = Paths.get("..", "init-units", "src", "main", "resources", "basalt", "update.conf");
    Path root = Jimfs.newFileSystem(Configuration.unix()).getPath("/");
    AgentPaths p = new AgentPaths(root);
    Files.createDirectories(p.defaultsConf().getParent());
    Files.write(p.defaultsConf(), Files.readAllBytes(src));
    UpdateConfig c = UpdateConfig.load(p.defaultsConf(), p.overridesConf());
    assertNull(c.repository());
    assertEquals("stable", c.channel());
    assertEquals("reboot", c.rebootStrategy());
    assertEquals(Duration.ofHours(1), c.checkInterval());
    assertEquals(Duration.ofMinutes(10), c.checkJitter());
  }
}
