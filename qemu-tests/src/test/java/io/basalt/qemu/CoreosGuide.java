package io.basalt.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The worked examples of {@code docs/coming-from-coreos.md}: each fenced block right after a {@code
 * <!-- example: NAME -->} line, so that the cluster test runs what the page shows. Stateless.
 */
final class CoreosGuide {
  /** The page, from qemu-tests (Maven's working directory for this module). */
  static final Path PAGE = Path.of("..", "docs", "coming-from-coreos.md");

  private static final Pattern EXAMPLE =
      Pattern.compile("<!-- example: ([a-z0-9-]+) -->\\n```[a-z]*\\n(.*?)```", Pattern.DOTALL);

  private CoreosGuide() {}

  /**
   * The page's examples by name, in page order.
   *
   * @throws IOException if the page cannot be read or names an example twice
   */
  static Map<String, String> examples() throws IOException {
    return examples(Files.readString(PAGE));
  }

  static Map<String, String> examples(String page) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = EXAMPLE.matcher(page);
    while (m.find()) {
      if (out.put(m.group(1), m.group(2)) != null) {
        throw new IOException(PAGE + ": example " + m.group(1) + " twice");
      }
    }
    return out;
  }

  /**
   * The example {@code name}.
   *
   * @throws IOException if the page has none of that name
   */
  static String example(Map<String, String> examples, String name) throws IOException {
    String e = examples.get(name);
    if (e == null) {
      throw new IOException(PAGE + ": no example " + name + "; it has " + examples.keySet());
    }
    return e;
  }

  /**
   * Node {@code n}'s cloud-config made from node-1's as the page says: the names {@code node-1} and
   * {@code etcd-1} and the address {@code 10.10.0.1} become node {@code n}'s, except in {@code
   * initial_cluster} (every member) and in {@code ConditionHost=} (where the registry runs).
   */
  static String nodeConfig(String nodeOne, int n) {
    return nodeOne
        .lines()
        .map(
            l ->
                l.strip().startsWith("initial_cluster:") || l.strip().startsWith("ConditionHost=")
                    ? l
                    : l.replace("node-1", "node-" + n)
                        .replace("etcd-1", "etcd-" + n)
                        .replace("10.10.0.1", "10.10.0." + n))
        .collect(Collectors.joining("\n", "", "\n"));
  }
}
