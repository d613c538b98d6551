package io.basalt.image.cli;

import picocli.CommandLine.IVersionProvider;

/** Reports the version recorded in the jar manifest (Implementation-Version). Thread-safe. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Basalt.class.getPackage().getImplementationVersion();
    return new String[] {"basalt " + (v == null ? "(development build)" : v)};
  }
}
