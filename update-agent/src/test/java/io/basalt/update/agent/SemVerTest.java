package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class SemVerTest {

  @Test
  void ordersBySemverPrecedence() {
    // The example chain of semver.org section 11, plus numeric (not lexical) core comparison.
    List<String> ordered =
        List.of(
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2.0",
            "1.10.0",
            "2.0.0",
            "2026.11.1");
    List<SemVer> shuffled = new ArrayList<>();
    for (int i = ordered.size() - 1; i >= 0; i--) {
      shuffled.add(SemVer.parse(ordered.get(i)));
    }
    Collections.shuffle(shuffled, new java.util.Random(7));
    Collections.sort(shuffled);
    assertEquals(ordered, shuffled.stream().map(SemVer::toString).toList());
  }

  @Test
  void buildMetadataIgnoredAndMissingPartsAreZero() {
    assertEquals(0, SemVer.parse("1.2.3+build.5").compareTo(SemVer.parse("1.2.3")));
    assertEquals(SemVer.parse("1.2"), SemVer.parse("1.2.0"));
    assertTrue(SemVer.parse("1.2.1").compareTo(SemVer.parse("1.2")) > 0);
  }

  @Test
  void rejectsNonVersions() {
    assertTrue(SemVer.tryParse("latest").isEmpty());
    assertTrue(SemVer.tryParse("1..2").isEmpty());
    assertEquals(
        "not a version (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]): \"x1\"",
        assertThrows(IllegalArgumentException.class, () -> SemVer.parse("x1")).getMessage());
  }
}
