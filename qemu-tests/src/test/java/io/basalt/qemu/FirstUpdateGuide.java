package io.basalt.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * README.md's "Your first update" as the commands it shows: the {@code sh} blocks of that section,
 * cut into numbered steps ({@code # N. title} comment lines) and commands (a line, its {@code \}
 * continuations, or a here-document up to its end word), each with its trailing comment, so that
 * {@link FirstUpdateVmIT} runs what the page shows. Stateless.
 */
final class FirstUpdateGuide {
  /** The page, from qemu-tests (Maven's working directory for this module). */
  static final Path PAGE = Path.of("..", "README.md");

  static final String SECTION = "## Your first update";

  private static final Pattern BLOCK = Pattern.compile("```sh\\n(.*?)```", Pattern.DOTALL);
  private static final Pattern STEP = Pattern.compile("# (\\d+)\\. (.*)");
  private static final Pattern HEREDOC = Pattern.compile("<<-?\\s*(['\"]?)(\\w+)\\1");
  private static final Pattern SSH =
      Pattern.compile("ssh -p (\\d+) ([a-z_][a-z0-9_-]*)@(127\\.0\\.0\\.1)");

  /** One command as the page shows it: {@code text} without its trailing comment. */
  record Command(String text, String comment) {
    /** The first line of the command (a here-document's header). */
    String firstLine() {
      return text.lines().findFirst().orElse("");
    }
  }

  /** Step {@code number}: its title (the comment lines before its first command) and commands. */
  record Step(int number, String title, List<Command> commands) {
    /** The only command of this step whose text contains {@code word}. */
    Command command(String word) throws IOException {
      List<Command> c = commands.stream().filter(x -> x.text().contains(word)).toList();
      if (c.size() != 1) {
        throw new IOException(
            PAGE + ": step " + number + " has " + c.size() + " commands with '" + word + "'");
      }
      return c.get(0);
    }
  }

  private FirstUpdateGuide() {}

  /**
   * The section's text, from its heading to the next {@code ## } heading.
   *
   * @throws IOException if the page has no such section
   */
  static String section(String page) throws IOException {
    int start = page.indexOf("\n" + SECTION + "\n");
    if (start < 0) {
      throw new IOException(PAGE + ": no section '" + SECTION + "'");
    }
    int end = page.indexOf("\n## ", start + 1);
    return page.substring(start + 1, end < 0 ? page.length() : end + 1);
  }

  /**
   * The section's steps in page order.
   *
   * @throws IOException if the page cannot be read or its blocks do not parse as steps
   */
  static List<Step> steps() throws IOException {
    return steps(Files.readString(PAGE));
  }

  static List<Step> steps(String page) throws IOException {
    List<Step> steps = new ArrayList<>();
    Matcher b = BLOCK.matcher(section(page));
    while (b.find()) {
      List<String> lines = b.group(1).lines().toList();
      int number = -1;
      StringBuilder title = null;
      List<Command> commands = null;
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (line.isBlank()) {
          continue;
        }
        Matcher s = STEP.matcher(line);
        if (s.matches()) {
          if (commands != null) {
            steps.add(new Step(number, title.toString(), List.copyOf(commands)));
          }
          number = Integer.parseInt(s.group(1));
          title = new StringBuilder(s.group(2).strip());
          commands = new ArrayList<>();
          continue;
        }
        if (commands == null) {
          throw new IOException(PAGE + ": a command before the first '# N.' step: " + line);
        }
        if (line.startsWith("#")) {
          if (!commands.isEmpty()) {
            throw new IOException(
                PAGE + ": step " + number + ": a comment line between commands: " + line);
          }
          title.append(' ').append(line.substring(1).strip());
          continue;
        }
        int cut = commentStart(line);
        String comment = cut < 0 ? "" : line.substring(cut + 1).strip();
        StringBuilder text =
            new StringBuilder(
                cut < 0 ? line.stripTrailing() : line.substring(0, cut).stripTrailing());
        Matcher h = HEREDOC.matcher(text);
        if (h.find()) {
          String end = h.group(2);
          do {
            i++;
            if (i == lines.size()) {
              throw new IOException(PAGE + ": step " + number + ": no " + end + " after " + line);
            }
            text.append('\n').append(lines.get(i));
          } while (!lines.get(i).equals(end));
        } else {
          while (text.toString().endsWith("\\") && i + 1 < lines.size()) {
            i++;
            text.append('\n').append(lines.get(i).stripTrailing());
          }
        }
        commands.add(new Command(text.toString(), comment));
      }
      if (commands != null) {
        steps.add(new Step(number, title.toString(), List.copyOf(commands)));
      }
    }
    for (int i = 0; i < steps.size(); i++) {
      if (steps.get(i).number() != i + 1) {
        throw new IOException(
            PAGE + ": step " + steps.get(i).number() + " where " + (i + 1) + " belongs");
      }
    }
    return steps;
  }

  /** Where a {@code #} comment starts in a shell line (outside quotes, after a blank), or -1. */
  static int commentStart(String line) {
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '#' && (i == 0 || Character.isWhitespace(line.charAt(i - 1)))) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The login a step's title names: {@code [port, user, address]} of its {@code ssh -p PORT
   * USER@127.0.0.1}.
   *
   * @throws IOException if the title names none
   */
  static List<String> login(Step step) throws IOException {
    Matcher m = SSH.matcher(step.title());
    if (!m.find()) {
      throw new IOException(
          PAGE + ": step " + step.number() + " names no ssh login: " + step.title());
    }
    return List.of(m.group(1), m.group(2), m.group(3));
  }

  /** The value of {@code --name VALUE} in a command's words, or null. */
  static String option(Command c, String name) {
    List<String> w = List.of(c.text().strip().split("\\s+"));
    int i = w.indexOf(name);
    return i < 0 || i + 1 >= w.size() ? null : w.get(i + 1);
  }
}
