package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The "Coming from CoreOS" page's examples exist and its cloud-configs are valid. */
class CoreosGuideTest {

  @Test
  void thePageHasEveryExampleTheClusterTestRuns() throws IOException {
    Map<String, String> e = CoreosGuide.examples();
    for (String name : ClusterIT.EXAMPLES) {
      assertFalse(CoreosGuide.example(e, name).isBlank(), name);
    }
  }

  @Test
  void eachNodesCloudConfigIsValidWithoutAWarning() throws IOException {
    String one = CoreosGuide.example(CoreosGuide.examples(), "node-cloud-config");
    for (int n = 1; n <= 3; n++) {
      String config = CoreosGuide.nodeConfig(one, n);
      UserData u = UserDataParser.parse(config, ValidationOptions.defaultImage());
      assertEquals(List.of(), u.diagnostics(), "node-" + n + ":\n" + config);
      assertEquals(UserData.Kind.CLOUD_CONFIG, u.kind());
    }
  }

  @Test
  void nodeConfigsDifferOnlyInNameAndAddress() throws IOException {
    String one = CoreosGuide.example(CoreosGuide.examples(), "node-cloud-config");
    String three = CoreosGuide.nodeConfig(one, 3);
    List<String> a = one.lines().toList();
    List<String> b = three.lines().toList();
    assertEquals(a.size(), b.size());
    List<String> changed = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i).equals(b.get(i))) {
        changed.add(b.get(i).strip());
      }
    }
    assertEquals(
        List.of(
            "hostname: node-3",
            "name: etcd-3",
            "initial_advertise_peer_urls: http://10.10.0.3:2380",
            "advertise_client_urls: http://10.10.0.3:2379",
            "Address=10.10.0.3/24",
            "advertise_addr: 10.10.0.3"),
        changed);
    assertTrue(three.contains("ConditionHost=node-2"), "the registry stays on node-2");
  }

  @Test
  void anExampleNamedTwiceIsAnError() {
    String page = "<!-- example: a -->\n```sh\nx\n```\n<!-- example: a -->\n```sh\ny\n```\n";
    assertThrows(IOException.class, () -> CoreosGuide.examples(page));
  }
}
