package io.basalt.cloudconfig.render;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link SystemTools} for {@code render}: runs nothing, records the commands the applier would run
 * (stdin is never recorded). Not thread-safe.
 */
public final class DryRunSystemTools implements SystemTools {

  private final List<List<String>> commands = new ArrayList<>();

  @Override
  public Result run(List<String> argv, byte[] stdin) {
    commands.add(List.copyOf(argv));
    return new Result(0, "");
  }

  /** The commands, in order. */
  public List<List<String>> commands() {
    return List.copyOf(commands);
  }
}
