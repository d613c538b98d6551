package io.basalt.image.api;

/**
 * Receives the build's progress: one call when a stage starts, detail lines while it runs, one when
 * it ends. Implementations decide how to show it (the CLI prints to stderr). Must tolerate calls
 * from the building thread only; need not be thread-safe.
 */
public interface Progress {

  /** Stage {@code index} of {@code total} named {@code name} starts. */
  void stageStarted(int index, int total, String name, String what);

  /** A detail line of the running stage (tool output, a sub-step). */
  void detail(String line);

  /** The running stage ended after {@code nanos}; {@code result} says what it made (sizes). */
  void stageFinished(String name, long nanos, String result);

  /** Progress that is dropped. */
  static Progress silent() {
    return new Progress() {
      @Override
      public void stageStarted(int index, int total, String name, String what) {}

      @Override
      public void detail(String line) {}

      @Override
      public void stageFinished(String name, long nanos, String result) {}
    };
  }
}
