package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Small documents that expand enormously through YAML aliases ("billion laughs") get an error
 * naming the limit, quickly and without exhausting the heap; normal use of aliases still passes.
 */
class YamlAmplificationTest {

  private static final Duration QUICK = Duration.ofSeconds(10);

  /** The classic: ten levels of lists, each holding the previous one ten times. */
  static String billionLaughsLists() {
    StringBuilder b = new StringBuilder("#cloud-config\nl0: &l0 [lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
      b.append('l').append(i).append(": &l").append(i).append(" [");
      for (int j = 0; j < 10; j++) {
        b.append(j == 0 ? "" : ", ").append("*l").append(i - 1);
      }
      b.append("]\n");
    }
    return b.append("ssh_authorized_keys: *l9\n").toString();
  }

  /** The same through merge keys, within the alias limit: 2^24 copies of one key. */
  static String billionLaughsMerges() {
    StringBuilder b = new StringBuilder("#cloud-config\nm0: &m0 {hostname: lol}\n");
    for (int i = 1; i < 25; i++) {
      b.append('m').append(i).append(": &m").append(i);
      b.append(" {<<: [*m").append(i - 1).append(", *m").append(i - 1).append("]}\n");
    }
    return b.append("<<: *m24\n").toString();
  }

  static String errors(UserData ud) {
    return ud.diagnostics().stream()
        .filter(d -> d.severity() == Diagnostic.Severity.ERROR)
        .map(Diagnostic::toString)
        .collect(Collectors.joining("\n"));
  }

  @Test
  void billionLaughsThroughListAliasesIsRefusedNamingTheLimit() {
    String doc = billionLaughsLists();
    assertTrue(doc.length() < 1200, "a ~1 KB document: " + doc.length());
    UserData ud =
        assertTimeoutPreemptively(
            QUICK, () -> UserDataParser.parse(doc, ValidationOptions.defaultImage()));
    assertNull(ud.config());
    String e = errors(ud);
    assertTrue(e.contains("limit") && e.contains("more than 50 aliases"), e);
  }

  @Test
  void billionLaughsThroughMergeKeysMergesEachMappingOnce() {
    String doc = billionLaughsMerges();
    assertTrue(doc.length() < 1200, "a ~1 KB document: " + doc.length());
    UserData ud =
        assertTimeoutPreemptively(
            QUICK, () -> UserDataParser.parse(doc, ValidationOptions.defaultImage()));
    // Merging the same mapping twice adds nothing: the result is one hostname.
    String e = errors(ud);
    assertEquals("", e);
    assertEquals("lol", ud.config().hostname());
  }

  @Test
  void expansionBeyondTheNodeLimitIsRefusedNamingTheLimit() {
    // 45 users sharing one list of 100,000 groups: 4.5 million values once the aliases expand.
    String doc =
        "#cloud-config\n"
            + "g: &g [a"
            + ",a".repeat(99_999)
            + "]\n"
            + "u: &u {name: lol, groups: *g}\n"
            + "users: [*u"
            + ", *u".repeat(44)
            + "]\n";
    UserData ud =
        assertTimeoutPreemptively(
            QUICK, () -> UserDataParser.parse(doc, ValidationOptions.defaultImage()));
    assertNull(ud.config());
    String e = errors(ud);
    assertTrue(e.contains("limit") && e.contains("200000 values"), e);
  }

  @Test
  void aFewAliasesStillPass() {
    String doc =
        "#cloud-config\n"
            + "groups: &g [docker, sudo]\n"
            + "users:\n"
            + "  - &u {name: alice, groups: *g}\n"
            + "  - {<<: *u, name: bob}\n"
            + "  - name: carol\n"
            + "    groups: *g\n"
            + "coreos:\n"
            + "  units:\n"
            + "    - &unit {name: a.service, command: start, content: &c \"[Service]\\nExecStart=/bin/true\\n\"}\n"
            + "    - {<<: *unit, name: b.service}\n"
            + "    - {name: c.service, content: *c}\n";
    UserData ud = UserDataParser.parse(doc, ValidationOptions.defaultImage());
    assertEquals("", errors(ud));
    assertEquals(3, ud.config().users().size());
    assertEquals("bob", ud.config().users().get(1).name());
    assertEquals(java.util.List.of("docker", "sudo"), ud.config().users().get(1).groups());
    assertEquals(3, ud.config().coreos().units().size());
  }
}
