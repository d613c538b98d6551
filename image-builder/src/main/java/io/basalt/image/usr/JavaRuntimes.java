package io.basalt.image.usr;

import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Java runtimes of a base tree, found by version: every directory under {@code /usr/lib/jvm}
 * (symlinks such as Debian's {@code java-1.25.0-openjdk-amd64} are names of another, not a runtime
 * of their own) with an executable {@code bin/java} and a {@code release} file whose {@code
 * JAVA_VERSION} is a supported feature release. Stateless.
 */
public final class JavaRuntimes {
  /** The oldest feature release Basalt's bytecode (release 17) runs on. */
  public static final int OLDEST = 17;

  private static final String JVM_DIR = "/usr/lib/jvm";
  private static final Pattern VERSION =
      Pattern.compile("(?m)^JAVA_VERSION=\"((\\d+)(?:\\.[0-9][0-9.]*)?[^\"]*)\"$");

  private JavaRuntimes() {}

  /**
   * One runtime of the tree.
   *
   * @param home its home, e.g. /usr/lib/jvm/java-25-openjdk-amd64
   * @param feature the feature release (25)
   * @param version the full version as its release file says (25.0.1)
   */
  public record Runtime(String home, int feature, String version) {
    /** The {@code java} launcher. */
    public String java() {
      return home + "/bin/java";
    }
  }

  /**
   * The runtimes of {@code base}, newest feature release first (ties by home, for a deterministic
   * order).
   */
  public static List<Runtime> find(FileTree base) throws IOException {
    List<Runtime> out = new ArrayList<>();
    if (base.get(JVM_DIR) == null || !base.get(JVM_DIR).isDirectory()) {
      return out;
    }
    for (TreeEntry e : base.children(JVM_DIR)) {
      if (!e.isDirectory()) {
        continue;
      }
      TreeEntry java = base.get(e.path() + "/bin/java");
      TreeEntry release = base.get(e.path() + "/release");
      if (java == null
          || java.type() != io.basalt.image.tree.EntryType.REGULAR
          || (java.mode() & 0111) == 0
          || release == null) {
        continue;
      }
      if (release.type() != io.basalt.image.tree.EntryType.REGULAR) {
        continue;
      }
      Matcher m = VERSION.matcher(String.join("\n", UsrAssembler.lines(release)));
      if (!m.find()) {
        continue;
      }
      int feature;
      try {
        feature = Integer.parseInt(m.group(2));
      } catch (NumberFormatException ex) {
        continue;
      }
      if (feature >= OLDEST) {
        out.add(new Runtime(e.path(), feature, m.group(1)));
      }
    }
    out.sort(Comparator.comparingInt(Runtime::feature).reversed().thenComparing(Runtime::home));
    return out;
  }

  /**
   * The runtime the image runs Basalt's programs on: the one of feature release {@code wanted}, or
   * with none wanted the newest.
   *
   * @throws UsrAssemblyException naming {@code /usr/lib/jvm}, what was found and the package that
   *     would provide what is missing
   */
  public static Runtime choose(FileTree base, OptionalInt wanted) throws IOException {
    List<Runtime> all = find(base);
    if (wanted.isPresent()) {
      for (Runtime r : all) {
        if (r.feature() == wanted.getAsInt()) {
          return r;
        }
      }
      throw new UsrAssemblyException(
          JVM_DIR,
          "no Java "
              + wanted.getAsInt()
              + " runtime in the base tree (found "
              + describe(all)
              + "); debian.java: "
              + wanted.getAsInt()
              + " installs openjdk-"
              + wanted.getAsInt()
              + "-jre-headless, check that the suite has it");
    }
    if (all.isEmpty()) {
      throw new UsrAssemblyException(
          JVM_DIR,
          "no Java runtime of release "
              + OLDEST
              + " or later (DIR/bin/java with a release file) in the base tree; set debian.java"
              + " (e.g. 25) or add an openjdk-N-jre-headless package");
    }
    return all.get(0);
  }

  private static String describe(List<Runtime> all) {
    if (all.isEmpty()) {
      return "none";
    }
    List<String> s = new ArrayList<>();
    for (Runtime r : all) {
      s.add(r.version() + " at " + r.home());
    }
    return String.join(", ", s);
  }
}
