package io.basalt.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The one JUnit 5 condition behind {@link EnabledIfHost} and {@link QemuLongTest}: reads system
 * properties and the host, and when it disables a test gives the reason JUnit reports. Stateless
 * and thread-safe.
 */
public final class HostCondition implements ExecutionCondition {
  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    List<String> missing = new ArrayList<>();
    Optional<QemuLongTest> qemuLong =
        AnnotationSupport.findAnnotation(context.getElement(), QemuLongTest.class);
    qemuLong.flatMap(HostCondition::longSwitchOff).ifPresent(missing::add);
    Optional<EnabledIfHost> host =
        AnnotationSupport.findAnnotation(context.getElement(), EnabledIfHost.class);
    host.ifPresent(h -> missing.addAll(missingOnHost(h)));
    if (missing.isEmpty()) {
      return ConditionEvaluationResult.enabled("host and switches as required");
    }
    String reason = String.join("; ", missing);
    // Failsafe and Surefire keep the reason in their XML reports only; say it on the console too.
    System.err.println("skipped " + describe(context) + ": " + reason);
    return ConditionEvaluationResult.disabled(reason);
  }

  /** {@code Class} or {@code Class#method} of the test being evaluated. */
  private static String describe(ExtensionContext context) {
    String type = context.getTestClass().map(Class::getSimpleName).orElse(context.getDisplayName());
    return context.getTestMethod().map(m -> type + "#" + m.getName()).orElse(type);
  }

  /** The reason a long scenario is off, or empty when its switch or an input is given. */
  static Optional<String> longSwitchOff(QemuLongTest test) {
    if (Boolean.getBoolean(Tiers.QEMU_LONG_PROPERTY)) {
      return Optional.empty();
    }
    StringBuilder how = new StringBuilder("-D" + Tiers.QEMU_LONG_PROPERTY + "=true");
    for (String property : test.orWhenSet()) {
      if (System.getProperty(property) != null) {
        return Optional.empty();
      }
      how.append(" or -D").append(property).append("=...");
    }
    return Optional.of("long QEMU scenario (tier " + Tiers.QEMU_LONG + "): set " + how);
  }

  /** One line per requirement of {@code host} this host does not meet. */
  static List<String> missingOnHost(EnabledIfHost host) {
    List<String> needs = new ArrayList<>();
    String user = System.getProperty("user.name");
    if (host.root() && !"root".equals(user)) {
      needs.add("root (user.name is " + user + ")");
    }
    for (String path : host.paths()) {
      if (!Files.exists(Path.of(path))) {
        needs.add(path);
      }
    }
    if (host.filesystems().length > 0) {
      List<String> known = kernelFilesystems();
      for (String fs : host.filesystems()) {
        if (!known.contains(fs)) {
          needs.add(fs + " in /proc/filesystems");
        }
      }
    }
    for (String tool : host.tools()) {
      if (!onPath(tool)) {
        needs.add(tool + " on PATH");
      }
    }
    if (needs.isEmpty()) {
      return needs;
    }
    String why = host.reason().isEmpty() ? "" : " (" + host.reason() + ")";
    return List.of("needs " + String.join(", ", needs) + why);
  }

  /** The file system names in /proc/filesystems; none when it cannot be read. */
  static List<String> kernelFilesystems() {
    try {
      List<String> names = new ArrayList<>();
      for (String line : Files.readAllLines(Path.of("/proc/filesystems"), StandardCharsets.UTF_8)) {
        String[] fields = line.trim().split("\\s+");
        names.add(fields[fields.length - 1]);
      }
      return names;
    } catch (IOException e) {
      return List.of();
    }
  }

  /** Whether an executable file named {@code tool} is in one of the PATH directories. */
  static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    return Arrays.stream(path.split(Pattern.quote(File.pathSeparator)))
        .filter(dir -> !dir.isEmpty())
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, tool)));
  }
}
