package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UpdateConfKeysTest {

  @Test
  void urlKeysTakeHttpUrlsWithAHost() {
    for (String key : new String[] {UpdateConfKeys.REPOSITORY_URL, UpdateConfKeys.FLEETLOCK_URL}) {
      assertEquals(Optional.empty(), UpdateConfKeys.problem(key, "http://10.0.2.100:8080"));
      assertEquals(Optional.empty(), UpdateConfKeys.problem(key, "https://u.example.org/basalt"));
      assertEquals(Optional.empty(), UpdateConfKeys.problem(key, "")); // unset
      for (String bad : new String[] {"ftp://x/y", "u.example.org", "http:///path", "http://a b"}) {
        assertEquals(
            Optional.of("expected an http:// or https:// URL, found \"" + bad + "\""),
            UpdateConfKeys.problem(key, bad),
            bad);
      }
    }
  }

  @Test
  void mergeReplacesEitherSpellingInPlaceKeepsCommentsAndAppendsTheRest() {
    String existing = "# defaults\n#REPOSITORY_URL=https://example\nGROUP=stable\nARCH=x86-64\n";
    Map<String, String> wanted = new LinkedHashMap<>();
    wanted.put("CHANNEL", "beta");
    wanted.put("REPOSITORY_URL", "http://10.0.2.100:8080");
    String merged = UpdateConfKeys.merge(existing, wanted);
    assertEquals(
        "# defaults\n#REPOSITORY_URL=https://example\nCHANNEL=beta\nARCH=x86-64\n"
            + "REPOSITORY_URL=http://10.0.2.100:8080\n",
        merged);
    assertEquals(merged, UpdateConfKeys.merge(merged, wanted));
    assertEquals("CHANNEL=beta\n", UpdateConfKeys.merge("", Map.of("CHANNEL", "beta")));
  }

  @Test
  void keyOfSkipsCommentsAndNonSettings() {
    assertEquals("CHANNEL", UpdateConfKeys.keyOf("  CHANNEL = beta"));
    assertEquals(null, UpdateConfKeys.keyOf("# CHANNEL=beta"));
    assertEquals(null, UpdateConfKeys.keyOf("=x"));
    assertEquals(null, UpdateConfKeys.keyOf(""));
  }
}
