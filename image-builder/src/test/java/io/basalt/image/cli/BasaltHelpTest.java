package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.basalt.testing.CommandHelp;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every {@code basalt} command, walked from the picocli tree, answers {@code --help}. */
class BasaltHelpTest {
  @Test
  void everyBasaltCommandAnswersHelp() {
    assertEquals(List.of(), CommandHelp.failures("basalt", Basalt::commandLine));
  }
}
