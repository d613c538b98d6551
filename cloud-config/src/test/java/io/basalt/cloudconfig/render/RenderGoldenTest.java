package io.basalt.cloudconfig.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Renders each realistic config of src/test/resources/corpus (metadata substituted) into an
 * in-memory root and compares every file written, with its mode, and the commands the applier would
 * run, to corpus/NAME.render. On a mismatch the actual output is left in target/golden-actual/ for
 * review.
 */
class RenderGoldenTest {

  static final Metadata METADATA =
      new Metadata(
          "203.0.113.10", "10.0.0.10", "2001:db8::10", "fd00::10", null, List.of(), Map.of());

  static UserData parse(Path file) throws Exception {
    String text = METADATA.substitute(Files.readString(file, StandardCharsets.UTF_8));
    return UserDataParser.parse(text, ValidationOptions.defaultImage());
  }

  static String render(Path file) throws Exception {
    UserData ud = parse(file);
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    try (FileSystem fs = TestFs.unix()) {
      Path root = fs.getPath("/render");
      Files.createDirectories(root);
      DryRunSystemTools tools = new DryRunSystemTools();
      List<String> log = new ArrayList<>();
      ApplyReport report =
          new Applier(root, tools, true, log::add).apply(ud.config(), ud.scripts());
      assertTrue(report.ok(), report.failures().toString());
      StringBuilder b = new StringBuilder(TreeDump.dump(root, false));
      for (List<String> c : tools.commands()) {
        b.append("$ ").append(String.join(" ", c)).append('\n');
      }
      for (String l : log) {
        b.append("# ").append(l).append('\n');
      }
      return b.toString();
    }
  }

  @TestFactory
  Stream<DynamicTest> corpusRendersExactly() throws Exception {
    Path dir = Path.of(getClass().getResource("/corpus").toURI());
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".yml")).sorted().collect(Collectors.toList());
    }
    assertTrue(files.size() >= 4);
    return files.stream()
        .map(
            f ->
                DynamicTest.dynamicTest(
                    f.getFileName().toString(),
                    () -> {
                      String actual = render(f);
                      Path golden =
                          f.resolveSibling(f.getFileName().toString().replace(".yml", ".render"));
                      String expected =
                          Files.exists(golden)
                              ? Files.readString(golden, StandardCharsets.UTF_8)
                              : "";
                      if (!expected.equals(actual)) {
                        Path out = Path.of("target/golden-actual");
                        Files.createDirectories(out);
                        Files.writeString(
                            out.resolve(golden.getFileName().toString()),
                            actual,
                            StandardCharsets.UTF_8);
                      }
                      assertEquals(expected, actual);
                    }));
  }
}
