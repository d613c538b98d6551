package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.render.Applier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every valid cloud-config example in the repository (cloud-config's test resources, the {@code
 * #cloud-config} blocks of every README and of docs/) rendered into update.conf, alone and over an
 * operator's file that uses the native key names, loads in the agent without an error.
 */
class CloudConfigExamplesTest {

  static final Path REPO = Path.of("..").toAbsolutePath().normalize();

  static final String OPERATOR_FILE =
      "# the operator's own lines\n"
          + "REPOSITORY_URL=https://operator.example.com/basalt\n"
          + "CHANNEL=beta\n"
          + "ETCD_ENDPOINTS=http://10.9.9.9:2379\n"
          + "LOCK_GROUP=operators\n";

  @TempDir Path tmp;

  @Test
  void everyValidCloudConfigExampleRendersAnUpdateConfTheAgentLoads() throws IOException {
    Map<String, String> examples = examples();
    List<String> failures = new ArrayList<>();
    int rendered = 0;
    int withLocksmithTls = 0;
    for (Map.Entry<String, String> e : examples.entrySet()) {
      UserData ud = UserDataParser.parse(e.getValue(), ValidationOptions.defaultImage());
      if (ud.hasErrors() || ud.kind() != UserData.Kind.CLOUD_CONFIG) {
        continue; // an invalid example (validator tests) is never rendered
      }
      String alone = Applier.renderUpdateConf(ud.config(), "");
      if (alone.isEmpty()) {
        continue;
      }
      rendered++;
      if (alone.contains("LOCKSMITHD_ETCD_CAFILE=")) {
        withLocksmithTls++;
      }
      for (String existing : List.of("", OPERATOR_FILE)) {
        String conf = Applier.renderUpdateConf(ud.config(), existing);
        Path file = tmp.resolve("update-" + rendered + (existing.isEmpty() ? "" : "-op") + ".conf");
        Files.writeString(file, conf, StandardCharsets.UTF_8);
        try {
          UpdateConfig.load(null, file);
        } catch (ConfigException ex) {
          failures.add(
              e.getKey()
                  + (existing.isEmpty() ? "" : " (over the operator's file)")
                  + ": "
                  + ex.getMessage()
                  + "\n--- rendered:\n"
                  + conf);
        }
      }
    }
    assertTrue(rendered >= 3, "examples with coreos.update/locksmith found: " + rendered);
    assertTrue(withLocksmithTls >= 1, "the locksmith TLS example was found");
    assertEquals(List.of(), failures, String.join("\n\n", failures));
  }

  /** Example name → text: cloud-config test resources, and fenced blocks in Markdown files. */
  static Map<String, String> examples() throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    try (Stream<Path> s = Files.walk(REPO.resolve("cloud-config/src/test/resources"))) {
      for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
        String text = Files.readString(p, StandardCharsets.UTF_8);
        if (text.startsWith(UserDataParser.HEADER)) {
          out.put(REPO.relativize(p).toString(), text);
        }
      }
    }
    try (Stream<Path> s = Files.walk(REPO)) {
      for (Path p :
          s.filter(p -> p.getFileName().toString().endsWith(".md"))
              .filter(p -> !REPO.relativize(p).toString().contains("target/"))
              .filter(p -> !REPO.relativize(p).startsWith("."))
              .sorted()
              .toList()) {
        List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          if (!lines.get(i).strip().startsWith("```")
              || i + 1 >= lines.size()
              || !lines.get(i + 1).strip().equals(UserDataParser.HEADER)) {
            continue;
          }
          StringBuilder block = new StringBuilder();
          int j = i + 1;
          for (; j < lines.size() && !lines.get(j).strip().startsWith("```"); j++) {
            block.append(lines.get(j)).append('\n');
          }
          out.put(REPO.relativize(p) + ":" + (i + 2), block.toString());
          i = j;
        }
      }
    }
    return out;
  }
}
