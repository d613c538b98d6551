package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated JSON Schema checked by a reference implementation (Python jsonschema, Draft 7, YAML
 * read as YAML 1.2 editors do): the valid corpus passes, typical mistakes fail.
 */
class JsonSchemaIT {

  static final String CHECKER =
      String.join(
          "\n",
          "import json, sys, yaml, re, jsonschema",
          "class L(yaml.SafeLoader): pass",
          "# YAML 1.2 core schema booleans (yaml-language-server's default): on/off/yes/no stay strings.",
          "L.yaml_implicit_resolvers = {k: [(t, r) for t, r in v if t != 'tag:yaml.org,2002:bool']",
          "                             for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}",
          "L.add_implicit_resolver('tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF'))",
          "schema = json.load(open(sys.argv[1]))",
          "jsonschema.Draft7Validator.check_schema(schema)",
          "v = jsonschema.Draft7Validator(schema)",
          "for f in sys.argv[2:]:",
          "    doc = yaml.load(open(f), Loader=L)",
          "    errs = sorted(e.message for e in v.iter_errors(doc))",
          "    print(f.rsplit('/', 1)[-1] + ': ' + str(len(errs)) + (' ' + errs[0] if errs else ''))",
          "");

  @TempDir Path tmp;

  @Test
  void referenceValidatorAgreesOnCorpusAndMistakes() throws Exception {
    Path schema = tmp.resolve("schema.json");
    Files.writeString(schema, JsonSchema.generate());
    Path script = tmp.resolve("check.py");
    Files.writeString(script, CHECKER);
    List<Path> corpus;
    try (Stream<Path> s = Files.list(Path.of(getClass().getResource("/corpus").toURI()))) {
      corpus = s.filter(p -> p.toString().endsWith(".yml")).sorted().collect(Collectors.toList());
    }
    Path bad1 = tmp.resolve("bad-command.yml");
    Files.writeString(
        bad1, "#cloud-config\ncoreos:\n  units:\n    - name: a.service\n      command: strat\n");
    Path bad2 = tmp.resolve("bad-unknown.yml");
    Files.writeString(bad2, "#cloud-config\nhostnme: x\n");
    Path bad3 = tmp.resolve("bad-missing-name.yml");
    Files.writeString(bad3, "#cloud-config\nusers:\n  - groups: [a]\n");
    Path bad4 = tmp.resolve("bad-suffix.yml");
    Files.writeString(bad4, "#cloud-config\ncoreos:\n  units:\n    - name: docker\n");
    Path bad5 = tmp.resolve("bad-type.yml");
    Files.writeString(
        bad5,
        "#cloud-config\ncoreos:\n  units:\n    - name: a.service\n      enable: \"yes please\"\n");
    Path bad6 = tmp.resolve("bad-swarm.yml");
    Files.writeString(
        bad6, "#cloud-config\nbasalt:\n  swarm:\n    role: boss\n    advertise-addr: 10.0.0.1\n");
    List<String> argv =
        new java.util.ArrayList<>(List.of("python3", script.toString(), schema.toString()));
    corpus.forEach(p -> argv.add(p.toString()));
    for (Path p : List.of(bad1, bad2, bad3, bad4, bad5, bad6)) {
      argv.add(p.toString());
    }
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    for (Path c : corpus) {
      assertTrue(out.contains(c.getFileName() + ": 0\n"), out);
    }
    for (Path b : List.of(bad1, bad2, bad3, bad4, bad5, bad6)) {
      assertTrue(out.matches("(?s).*" + b.getFileName() + ": [1-9].*"), out);
    }
  }
}
