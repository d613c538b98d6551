package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Property test: 10,000 seeded random mutations of the valid corpus never crash the validator, and
 * every diagnostic points inside the document.
 */
class ValidatorFuzzTest {

  private static final String[] TOKENS = {
    ":",
    ": ",
    "- ",
    "-",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "#",
    "|",
    ">",
    "?",
    "\n",
    "  ",
    "\\",
    "\u00e9",
    "\u0000",
    "\uFEFF",
    "null",
    "~",
    "true",
    "0x1F",
    "0644",
    "1e400",
    "$private_ipv4",
    "http://",
    "units:",
    "coreos:",
    "write_files:",
    "- name: x.service",
    "encoding: gzip+base64",
    "content: !!str",
    "path: /usr/x",
    "!!map ",
    "&b [*b]",
    "@",
    "`",
    "%",
    "\r\n",
    "=",
    "users:\n  - name: "
  };

  static List<String> corpus() throws Exception {
    List<String> out = new ArrayList<>();
    for (String dir : List.of("/corpus", "/validate")) {
      Path d = Path.of(ValidatorFuzzTest.class.getResource(dir).toURI());
      try (Stream<Path> s = Files.list(d)) {
        for (Path p :
            s.filter(p -> p.toString().endsWith(".yml")).sorted().collect(Collectors.toList())) {
          out.add(Files.readString(p, StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }

  static String mutate(String s, Random r) {
    StringBuilder b = new StringBuilder(s);
    int n = 1 + r.nextInt(4);
    for (int k = 0; k < n; k++) {
      int pos = b.length() == 0 ? 0 : r.nextInt(b.length() + 1);
      switch (r.nextInt(8)) {
        case 0 -> b.insert(pos, TOKENS[r.nextInt(TOKENS.length)]);
        case 1 -> {
          if (b.length() > 0) {
            int end = Math.min(b.length(), pos + 1 + r.nextInt(12));
            b.delete(Math.min(pos, b.length() - 1), end);
          }
        }
        case 2 -> {
          if (pos < b.length()) {
            b.setCharAt(pos, (char) (32 + r.nextInt(95)));
          }
        }
        case 3 -> { // duplicate a line
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          List<String> l = new ArrayList<>(List.of(lines));
          l.add(i, lines[i]);
          b = new StringBuilder(String.join("\n", l));
        }
        case 4 -> { // change indentation of a line
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          lines[i] = r.nextBoolean() ? "  " + lines[i] : lines[i].replaceFirst("^ {1,2}", "");
          b = new StringBuilder(String.join("\n", lines));
        }
        case 5 -> { // swap two lines
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          int j = r.nextInt(lines.length);
          String t = lines[i];
          lines[i] = lines[j];
          lines[j] = t;
          b = new StringBuilder(String.join("\n", lines));
        }
        case 6 -> b.insert(pos, (char) r.nextInt(0x3000));
        default -> { // truncate
          b.setLength(pos);
        }
      }
    }
    return b.toString();
  }

  @Test
  void tenThousandMutationsNeverCrash() throws Exception {
    List<String> corpus = corpus();
    Random r = new Random(0xBA5A17L);
    int withErrors = 0;
    for (int i = 0; i < 10_000; i++) {
      String input = mutate(corpus.get(r.nextInt(corpus.size())), r);
      UserData ud;
      try {
        ud = UserDataParser.parse(input, ValidationOptions.defaultImage());
      } catch (RuntimeException | StackOverflowError e) {
        fail("mutation " + i + " crashed the validator on:\n" + input, e);
        return;
      }
      assertNotNull(ud);
      long lines = input.chars().filter(c -> c == '\n').count() + 2;
      for (Diagnostic d : ud.diagnostics()) {
        assertTrue(
            d.line() >= 1 && d.line() <= lines && d.column() >= 1,
            "mutation " + i + ": " + d + " in\n" + input);
      }
      if (ud.hasErrors()) {
        withErrors++;
        assertTrue(ud.config() == null, "an invalid config is never returned for applying");
      }
    }
    // The mutations must actually exercise error paths, not only trivial edits.
    assertTrue(withErrors > 1000, "only " + withErrors + " mutations produced errors");
  }
}
