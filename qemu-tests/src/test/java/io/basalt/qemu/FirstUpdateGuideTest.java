package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.image.cli.Basalt;
import io.basalt.qemu.FirstUpdateGuide.Command;
import io.basalt.qemu.FirstUpdateGuide.Step;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;

/**
 * README.md's "Your first update" parses into the steps {@link FirstUpdateVmIT} runs, and its
 * commands agree with each other and with the CLI: one port from the spec's repository URL through
 * {@code repo serve} to {@code --guest-forward}, the ssh login {@code basalt run} forwards, the
 * versions the check announces, and a valid cloud-config.
 */
class FirstUpdateGuideTest {
  private static final String SPEC_HEREDOC = "cat > ~/basalt-site/spec.yaml";
  private static final String MACHINE_HEREDOC = "cat > machine.yml";

  private static CommandSpec run() {
    return Basalt.commandLine().getSubcommands().get("run").getCommandSpec();
  }

  @Test
  void theSectionHasStepsOneToSixEachWithCommands() throws IOException {
    List<Step> steps = FirstUpdateGuide.steps();
    assertEquals(6, steps.size(), steps.toString());
    for (Step s : steps) {
      assertFalse(s.commands().isEmpty(), "step " + s.number() + " " + s.title());
      assertFalse(s.title().isBlank(), "step " + s.number());
    }
    // the commands the test treats specially are where it expects them
    assertTrue(steps.get(0).command("./basalt repo init").text().contains("-r ~/basalt-repo"));
    assertTrue(steps.get(3).command("./basalt repo serve").text().contains("-r ~/basalt-repo"));
    Command vm = steps.get(4).command("./basalt run");
    assertEquals(vm, steps.get(4).commands().get(steps.get(4).commands().size() - 1));
    assertTrue(steps.get(5).command("basaltctl update check").text().startsWith("sudo "));
    assertTrue(steps.get(5).command("basaltctl update apply").text().startsWith("sudo "));
  }

  @Test
  void oneRepositoryPortFromTheSpecThroughServeToTheGuestForward() throws IOException {
    List<Step> steps = FirstUpdateGuide.steps();
    String port = FirstUpdateGuide.option(steps.get(3).command("repo serve"), "--port");
    assertEquals(
        port, FirstUpdateGuide.option(steps.get(4).command("./basalt run"), "--guest-forward"));
    String spec = steps.get(1).command(SPEC_HEREDOC).text();
    Matcher url = Pattern.compile("repository: http://([0-9.]+):(\\d+)\\s").matcher(spec);
    assertTrue(url.find(), spec);
    assertEquals(port, url.group(2), spec);
    String forward = String.join(" ", run().findOption("--guest-forward").description());
    assertTrue(
        forward.contains("http://" + url.group(1) + ":PORT"),
        "basalt run --guest-forward reaches the host at " + url.group(1) + ": " + forward);
  }

  @Test
  void theLoginOfStepSixIsTheOneBasaltRunForwardsAndTheCloudConfigMakes() throws IOException {
    List<Step> steps = FirstUpdateGuide.steps();
    List<String> login = FirstUpdateGuide.login(steps.get(5));
    Command vm = steps.get(4).command("./basalt run");
    assertNull(FirstUpdateGuide.option(vm, "--ssh-port"), vm.text());
    assertEquals(run().findOption("--ssh-port").defaultValue(), login.get(0));
    String machine = steps.get(4).command(MACHINE_HEREDOC).text();
    assertTrue(machine.contains("  - name: " + login.get(1) + "\n"), machine);
    assertTrue(machine.contains("$(cat ~/.ssh/id_ed25519.pub)"), machine);
    assertEquals(
        "cat > machine.yml <<EOF",
        machine.lines().findFirst().orElseThrow(),
        "unquoted: $(...) expands");
  }

  @Test
  void theMachinesCloudConfigIsValidWithoutAWarning() throws IOException {
    String text = FirstUpdateGuide.steps().get(4).command(MACHINE_HEREDOC).text();
    List<String> lines = text.lines().toList();
    String body =
        String.join("\n", lines.subList(1, lines.size() - 1))
                .replace(
                    "$(cat ~/.ssh/id_ed25519.pub)",
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHX8PmJe2Xu3lLFWIS+vlDJhg0n4Il3Z7Qb6W0kFtqb6 you@host")
            + "\n";
    UserData u = UserDataParser.parse(body, ValidationOptions.defaultImage());
    assertEquals(List.of(), u.diagnostics(), body);
    assertEquals(UserData.Kind.CLOUD_CONFIG, u.kind());
  }

  @Test
  void theCheckAnnouncesTheVersionsTheStepsBuild() throws IOException {
    List<Step> steps = FirstUpdateGuide.steps();
    Matcher v1 =
        Pattern.compile("(?m)^version: (\\S+)$").matcher(steps.get(1).command(SPEC_HEREDOC).text());
    assertTrue(v1.find());
    Matcher bump =
        Pattern.compile("s/\\^version: (\\S+)\\$/version: (\\S+)/")
            .matcher(steps.get(2).command("sed -i").text());
    assertTrue(bump.find(), steps.get(2).command("sed -i").text());
    assertEquals(v1.group(1), bump.group(1));
    assertEquals(
        "update available: " + v1.group(1) + " -> " + bump.group(2),
        steps.get(5).command("basaltctl update check").comment());
    assertTrue(steps.get(2).command("./basalt repo publish").text().contains("out/v2/update"));
    assertTrue(steps.get(4).command("cp out/v1/disk.qcow2").text().contains("machine.qcow2"));
  }

  @Test
  void theProseAfterTheBlocksNamesTheStatusCommandTheTestRuns() throws IOException {
    String section = FirstUpdateGuide.section(Files.readString(FirstUpdateGuide.PAGE));
    assertTrue(section.contains("`" + FirstUpdateVmIT.STATUS + "`"), section);
    assertTrue(section.contains("`" + FirstUpdateVmIT.TRIAL_BOOT + "`"), section);
  }

  @Test
  void commandsCommentsHeredocsAndContinuations() throws IOException {
    String page =
        String.join(
            "\n",
            "# T",
            "",
            FirstUpdateGuide.SECTION,
            "",
            "```sh",
            "# 1. First,",
            "#    two lines.",
            "export A='x # not a comment'   # a comment",
            "cat > f <<'EOF'",
            "key: 1   # stays",
            "# stays too",
            "EOF",
            "echo a \\",
            "  b",
            "",
            "# 2. Second",
            "echo \"#\"#x",
            "```",
            "",
            "```sh",
            "# 3. Third",
            "true",
            "```",
            "",
            "## Next",
            "```sh",
            "# 9. not ours",
            "false",
            "```",
            "");
    List<Step> steps = FirstUpdateGuide.steps(page);
    assertEquals(3, steps.size());
    assertEquals("First, two lines.", steps.get(0).title());
    assertEquals(
        List.of(
            new Command("export A='x # not a comment'", "a comment"),
            new Command("cat > f <<'EOF'\nkey: 1   # stays\n# stays too\nEOF", ""),
            new Command("echo a \\\n  b", "")),
        steps.get(0).commands());
    assertEquals(List.of(new Command("echo \"#\"#x", "")), steps.get(1).commands());
    assertEquals(List.of(new Command("true", "")), steps.get(2).commands());
  }

  @Test
  void anUnendedHeredocOrAStepOutOfOrderIsAnError() {
    String head = "\n" + FirstUpdateGuide.SECTION + "\n\n```sh\n";
    assertThrows(
        IOException.class, () -> FirstUpdateGuide.steps(head + "# 1. a\ncat <<EOF\nx\n```\n"));
    assertThrows(IOException.class, () -> FirstUpdateGuide.steps(head + "# 2. a\ntrue\n```\n"));
    assertThrows(IOException.class, () -> FirstUpdateGuide.steps(head + "true\n```\n"));
  }
}
