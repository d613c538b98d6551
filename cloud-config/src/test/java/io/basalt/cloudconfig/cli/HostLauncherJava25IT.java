package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@link HostLauncherIT} on a Java runtime of release 25 or later, as the default image has: the
 * start-up cache is then an ahead-of-time cache. The runtime is {@code
 * -Dbasalt.test.java25.home=DIR}, else the newest under /usr/lib/jvm with a release file of 25 or
 * later; skipped when there is none (the host's JDK 17 path runs in {@link HostLauncherIT}).
 */
class HostLauncherJava25IT extends HostLauncherIT {
  private static final Optional<Path> HOME = find();

  private static Optional<Path> find() {
    String given = System.getProperty("basalt.test.java25.home");
    if (given != null) {
      return Optional.of(Path.of(given));
    }
    Path jvm = Path.of("/usr/lib/jvm");
    if (!Files.isDirectory(jvm)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.list(jvm)) {
      return s.filter(p -> Files.isRegularFile(p.resolve("release")))
          .filter(p -> Files.isExecutable(p.resolve("bin/java")))
          .filter(p -> feature(p) >= 25)
          .max(Comparator.comparingInt(HostLauncherIT::feature).thenComparing(Path::toString));
    } catch (IOException | IllegalStateException e) {
      return Optional.empty();
    }
  }

  @Override
  Path javaHome() {
    assumeTrue(HOME.isPresent(), "no Java 25 or later under /usr/lib/jvm");
    return HOME.get();
  }
}
