package io.basalt.image.spec;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A small image spec cannot exhaust the builder's memory or stack (hardening issue, item 15): alias
 * expansion, nesting depth and document size are bounded, and each refusal names the spec file, the
 * position and the limit.
 */
class SpecYamlLimitsTest {

  private static SpecException refused(String yaml) {
    return assertThrows(
        SpecException.class, () -> ImageSpec.parse(yaml, "bomb.yaml", Path.of("/tmp")));
  }

  @Test
  void aBillionLaughsSpecIsRefusedWithoutExpandingIt() {
    StringBuilder y = new StringBuilder("debian:\n  packages:\n");
    y.append("    - &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (int i = 1; i < 10; i++) {
      y.append("    - &a").append(i).append(" [");
      for (int j = 0; j < 10; j++) {
        y.append(j == 0 ? "" : ",").append("*a").append(i - 1);
      }
      y.append("]\n");
    }
    SpecException e = refused(y.toString());
    assertTrue(
        e.getMessage()
            .startsWith(
                "bomb.yaml:4:12: YAML alias '*a0': anchors and aliases are not supported in an"
                    + " image spec"),
        e.getMessage());
  }

  @Test
  void deepNestingIsRefusedWithAMessageNotAStackOverflow() {
    String y = "packages: " + "[".repeat(100_000) + "]".repeat(100_000) + "\n";
    SpecException e = refused(y);
    assertTrue(e.getMessage().startsWith("bomb.yaml:"), e.getMessage());
    assertTrue(e.getMessage().contains("nesting"), e.getMessage());
  }

  @Test
  void anOversizedSpecIsRefusedNamingTheLimit() {
    String y = "description: \"" + "x".repeat(4 << 20) + "\"\n";
    SpecException e = refused(y);
    assertTrue(e.getMessage().startsWith("bomb.yaml:"), e.getMessage());
    assertTrue(e.getMessage().contains("limit"), e.getMessage());
  }
}
