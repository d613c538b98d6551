package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden tests: each validate/NAME.yml gives exactly the lines in NAME.expected (line:col
 * included).
 */
class ValidatorGoldenTest {

  static Path dir() throws URISyntaxException {
    return Path.of(ValidatorGoldenTest.class.getResource("/validate").toURI());
  }

  static String run(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    UserData ud = UserDataParser.parse(text, ValidationOptions.defaultImage());
    StringBuilder out = new StringBuilder();
    for (Diagnostic d : ud.diagnostics()) {
      out.append(d.format(file.getFileName().toString())).append('\n');
    }
    out.append("exit ").append(ud.hasErrors() ? 1 : 0).append('\n');
    return out.toString();
  }

  @TestFactory
  Stream<DynamicTest> golden() throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir())) {
      files = s.filter(p -> p.toString().endsWith(".yml")).sorted().collect(Collectors.toList());
    }
    assertTrue(files.size() >= 15, "golden corpus present");
    return files.stream()
        .map(
            f ->
                DynamicTest.dynamicTest(
                    f.getFileName().toString(),
                    () -> {
                      Path expected =
                          f.resolveSibling(f.getFileName().toString().replace(".yml", ".expected"));
                      assertEquals(Files.readString(expected, StandardCharsets.UTF_8), run(f));
                    }));
  }

  /** Every message kind the issue lists has at least one golden case. */
  @Test
  void everyMessageKindIsCovered() throws Exception {
    List<String> all = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir())) {
      for (Path p :
          s.filter(p -> p.toString().endsWith(".expected")).collect(Collectors.toList())) {
        all.addAll(Files.readAllLines(p));
      }
    }
    String joined = String.join("\n", all);
    for (String kind :
        List.of(
            "error: bad header",
            "error: YAML syntax error",
            "warning: unknown key",
            "did you mean",
            "error: wrong type",
            "error: invalid value",
            "for write_files[0].permissions",
            "error: invalid unit name",
            "expected a unit type suffix",
            ".command: expected one of",
            "window_start",
            "error: invalid URL",
            "error: cannot decode",
            "is under /usr",
            "warning: deprecated key",
            "warning: deprecated value",
            "error: missing required key",
            "error: duplicate key",
            "does not ship fleet.service",
            "is not an SSH public key",
            "error: invalid drop-in name")) {
      assertTrue(joined.contains(kind), "no golden case for: " + kind);
    }
  }

  /** Password hashes and keys never appear in messages. */
  @Test
  void secretsAreNotEchoed() throws Exception {
    String out = run(dir().resolve("secrets.yml")) + run(dir().resolve("wrong-types.yml"));
    assertTrue(
        !out.contains("SECRET") && !out.contains("hunter2") && !out.contains("AAAAB3Nza"), out);
  }
}
