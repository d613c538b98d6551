package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.basalt.testing.CommandHelp;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every {@code basaltctl} command, walked from the picocli tree, answers {@code --help}. */
class BasaltctlHelpTest {
  @Test
  void everyBasaltctlCommandAnswersHelp() {
    assertEquals(List.of(), CommandHelp.failures("basaltctl", Basaltctl::commandLine));
  }
}
