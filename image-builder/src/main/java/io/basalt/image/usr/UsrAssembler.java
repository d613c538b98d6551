package io.basalt.image.usr;

import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.tree.TreePaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a Debian base tree into Basalt's image tree (a pure {@link FileTree} transform): checks
 * merged /usr, installs Basalt's jars, units, os-release and login banners, enables units from
 * Basalt's presets, trims the Java runtime, removes per-machine secrets and state, keeps the
 * image's {@code /etc} under {@code /usr/share/basalt/etc} and clamps every mtime to
 * SOURCE_DATE_EPOCH. Immutable configuration; thread-safe.
 */
public final class UsrAssembler {
  /** The group whose members may use the agent's read-only control-socket requests. */
  public static final String BASALT_GROUP = "basalt";

  /** Where the image's /etc defaults live (the initramfs copies missing files to /etc). */
  public static final String ETC_DEFAULTS = "/usr/share/basalt/etc";

  /** Where Basalt's jars go. */
  public static final String BASALT_LIB = "/usr/lib/basalt";

  /** The top-level names that must be symlinks into usr/ in a merged-/usr tree. */
  static final List<String> MERGED = List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32");

  /**
   * Files removed from the Java runtime (relative to its home), with why each is safe: see the
   * README ("Java runtime").
   */
  static final List<String> JAVA_TRIM =
      List.of(
          // javac's --release symbol table; nothing at run time reads it.
          "lib/ct.sym",
          // CDS archive used only with -XX:-UseCompressedOops (heaps >= 32 GiB); the default
          // archive stays.
          "lib/server/classes_nocoops.jsa",
          "lib/server/classes_nocoops_coh.jsa",
          // AWT/Java2D/sound/imaging natives: only loaded by java.desktop GUI/imaging code; the
          // agents are headless CLIs.
          "lib/libawt.so",
          "lib/libawt_headless.so",
          "lib/libfontmanager.so",
          "lib/libjavajpeg.so",
          "lib/liblcms.so",
          "lib/libmlib_image.so",
          "lib/libjsound.so",
          "lib/libsplashscreen.so",
          // JFR, attach and debugger agents and their transports (no debugging on a production
          // host).
          "lib/libjdwp.so",
          "lib/libdt_socket.so",
          "lib/libinstrument.so",
          // the JVM's own man-page links and the jexec launcher
          "lib/jexec",
          "man");

  /** Adds Basalt's init-units resources (units, presets, tmpfiles...) to a tree. */
  @FunctionalInterface
  public interface InitUnitsInstaller {
    /** The installer of the resources the basalt-init-units jar on the classpath carries. */
    static InitUnitsInstaller fromClasspath() {
      return InitUnitsResources::addTo;
    }

    /**
     * Adds the resources to {@code tree}, every entry with mtime {@code epoch}.
     *
     * @throws IOException if a resource is missing or malformed
     */
    void install(FileTree.Builder tree, long epoch) throws IOException;
  }

  /**
   * Everything the assembly needs besides the base tree.
   *
   * @param spec the image spec (name, version, channel, extra files)
   * @param sourceDateEpoch SOURCE_DATE_EPOCH: mtime of added entries and upper bound of all others
   * @param buildId BUILD_ID for os-release (derived from the inputs)
   * @param jars Basalt's jars: in-image path relative to {@link #BASALT_LIB} (e.g. "basaltctl.jar",
   *     "lib/picocli-4.7.6.jar") to content
   * @param initUnits installs init-units' resources
   */
  public record Inputs(
      ImageSpec spec,
      long sourceDateEpoch,
      String buildId,
      SortedMap<String, Content> jars,
      InitUnitsInstaller initUnits) {
    public Inputs {
      Objects.requireNonNull(spec, "spec");
      Objects.requireNonNull(buildId, "buildId");
      jars = new TreeMap<>(jars);
      Objects.requireNonNull(initUnits, "initUnits");
    }
  }

  /** What the assembly did, for the progress output and the README. */
  public record Report(
      String debianRelease,
      String javaHome,
      String javaVersion,
      long javaBytesBefore,
      long javaBytesAfter,
      List<String> removed,
      List<String> enabled) {}

  private final Inputs in;
  private final List<String> removed = new ArrayList<>();
  private final List<String> enabled = new ArrayList<>();
  private String javaHome;
  private String javaVersion;
  private long javaBefore;
  private long javaAfter;

  private UsrAssembler(Inputs in) {
    this.in = in;
  }

  /** The result: the assembled full tree and a report. */
  public record Result(FileTree tree, Report report) {}

  /**
   * The jars Basalt installs under {@value #BASALT_LIB} (the update agent as basaltctl.jar,
   * cloud-config and the libraries they need), keyed by path relative to it, taken from the jars
   * the running JVM was started with.
   *
   * @throws IOException naming what is missing when the update agent or cloud-config is not on the
   *     classpath as a packaged jar (e.g. run from target/classes)
   */
  public static SortedMap<String, Content> basaltJarsFromClasspath() throws IOException {
    return BasaltJars.fromClasspath();
  }

  /**
   * Assembles {@code base} into the image tree.
   *
   * @throws UsrAssemblyException naming the path when the base tree lacks what Basalt needs (not
   *     merged-/usr, no Java runtime, ...)
   * @throws IOException if an extra file or resource cannot be read
   */
  public static Result assemble(FileTree base, Inputs in) throws IOException {
    UsrAssembler a = new UsrAssembler(in);
    FileTree t = a.run(base);
    return new Result(
        t,
        new Report(
            debianRelease(base),
            a.javaHome,
            a.javaVersion,
            a.javaBefore,
            a.javaAfter,
            List.copyOf(a.removed),
            List.copyOf(a.enabled)));
  }

  /**
   * The Debian point release of the base tree ({@code /etc/debian_version}, e.g. "13.2"; a testing
   * or unstable tree says "forky/sid"), or "unknown" without that file.
   */
  static String debianRelease(FileTree base) throws IOException {
    TreeEntry v = base.get("/etc/debian_version");
    if (v == null || v.type() != EntryType.REGULAR) {
      return "unknown";
    }
    List<String> l = lines(v);
    return l.isEmpty() ? "unknown" : l.get(0).strip();
  }

  private FileTree run(FileTree base) throws IOException {
    long epoch = in.sourceDateEpoch();
    checkMergedUsr(base);
    FileTree.Builder b = base.toBuilder();

    // Per-machine secrets and identity never ship in an image.
    for (TreeEntry e : base.children("/etc/ssh")) {
      if (e.name().startsWith("ssh_host_")) {
        b.remove(e.path());
        removed.add(e.path());
      }
    }
    putFile(b, "/etc/machine-id", new byte[0], 0444);
    if (base.contains("/var/lib/dbus/machine-id")) {
      b.remove("/var/lib/dbus/machine-id");
    }
    lockPasswords(base, b);
    addGroup(base, b, BASALT_GROUP);

    // Basalt's own files.
    in.initUnits().install(b, epoch);
    installJars(b);
    installJava(base, b);
    enableFromPresets(b);
    pruneAppArmorProfiles(b);
    putFile(b, "/usr/lib/os-release", osRelease().getBytes(StandardCharsets.UTF_8), 0644);
    if (b.get("/etc/os-release") == null || b.get("/etc/os-release").type() != EntryType.SYMLINK) {
      b.put(TreeEntry.symlink("/etc/os-release", "../usr/lib/os-release").withMtime(epoch));
    }
    // The login banners name the version of the /usr that runs: /etc links into /usr, as for
    // os-release, since the initramfs never overwrites a file of /etc after the first boot.
    String pretty = "Basalt " + in.spec().version() + " (" + in.spec().channel() + ")";
    // agetty(8) ISSUE ESCAPES: \n the host name, \l the tty, as in Debian's /etc/issue.
    putFile(b, "/usr/lib/issue", (pretty + " \\n \\l\n\n").getBytes(StandardCharsets.UTF_8), 0644);
    putFile(b, "/usr/lib/issue.net", (pretty + "\n").getBytes(StandardCharsets.UTF_8), 0644);
    for (String n : List.of("issue", "issue.net")) {
      b.put(TreeEntry.symlink("/etc/" + n, "../usr/lib/" + n).withMtime(epoch));
    }

    for (ImageSpec.ExtraFile f : in.spec().files()) {
      Content c =
          f.source() != null
              ? Content.ofFile(f.source())
              : Content.ofBytes(f.content().getBytes(StandardCharsets.UTF_8));
      TreeEntry existing = b.get(TreePaths.parent(TreePaths.normalize(f.path())));
      if (existing != null && !existing.isDirectory()) {
        throw new UsrAssemblyException(
            f.path(),
            "extra file's parent "
                + existing.path()
                + " is a "
                + existing.type()
                + ", not a directory");
      }
      b.putWithParents(TreeEntry.regular(f.path(), c).withMode(f.mode()).withMtime(epoch));
    }

    if (in.spec().update().isPresent()) {
      UpdateFiles.add(b, in.spec().update().get(), epoch);
    }

    FileTree withEtc = moveEtc(b.build());
    return withEtc.clampMtimes(epoch);
  }

  /** Where AppArmor's profiles are; apparmor.service loads every file at its top on each boot. */
  static final String APPARMOR_PROFILES = "/etc/apparmor.d";

  /**
   * A profile line with an attachment: "profile NAME ATTACHMENT" or an unnamed "/path {" profile;
   * group 1 or 2 is the attachment.
   */
  private static final Pattern APPARMOR_ATTACHMENT =
      Pattern.compile(
          "^\\s*(?:profile\\s+(?:\"[^\"]*\"|\\S+)\\s+(\"[^\"]*\"|/\\S*)|(/\\S*)\\s+(?:flags=|\\{))");

  /**
   * Removes the AppArmor profiles whose programs the image does not have. Debian's apparmor package
   * ships about 90 profiles for programs in other packages (browsers, sbuild, lxc,
   * transmission...); apparmor.service compiles or loads every one of them on every boot, before
   * sysinit.target, and /usr is read-only, so those programs never appear on a Basalt host. A
   * profile file goes only when each of its attachments is a plain path (no AppArmor glob,
   * alternation or variable) that names nothing in the tree; a profile without an attachment, with
   * a pattern, or for a path that exists (busybox, runc...) stays.
   */
  private void pruneAppArmorProfiles(FileTree.Builder b) throws IOException {
    TreeEntry dir = b.get(APPARMOR_PROFILES);
    if (dir == null || !dir.isDirectory()) {
      return;
    }
    FileTree now = b.build();
    for (TreeEntry e : now.children(APPARMOR_PROFILES)) {
      if (e.type() != EntryType.REGULAR) {
        continue;
      }
      List<String> attachments = new ArrayList<>();
      for (String line : lines(e)) {
        Matcher m = APPARMOR_ATTACHMENT.matcher(line);
        if (m.find()) {
          attachments.add(m.group(1) != null ? m.group(1) : m.group(2));
        }
      }
      if (!attachments.isEmpty() && attachments.stream().allMatch(a -> absentPlainPath(now, a))) {
        b.remove(e.path());
        removed.add(e.path());
      }
    }
  }

  /**
   * Whether {@code path} is a plain absolute path (no AppArmor pattern characters) that names
   * nothing in {@code t}. The merged-/usr links (/bin, /sbin, /lib...) are followed; a path through
   * any other symlink counts as present.
   */
  static boolean absentPlainPath(FileTree t, String path) {
    if (!path.startsWith("/") || path.chars().anyMatch(c -> "{}[]*?@$\"\\^".indexOf(c) >= 0)) {
      return false;
    }
    String[] parts = path.substring(1).split("/");
    if (parts.length > 1 && MERGED.contains(parts[0])) {
      TreeEntry top = t.get("/" + parts[0]);
      if (top != null && top.type() == EntryType.SYMLINK) {
        parts[0] = "usr/" + parts[0];
      }
    }
    String at = "";
    for (int i = 0; i < parts.length; i++) {
      at = at + "/" + parts[i];
      TreeEntry e = t.get(at);
      if (e == null) {
        return true;
      }
      if (e.type() == EntryType.SYMLINK && i < parts.length - 1) {
        return false;
      }
    }
    return false;
  }

  /** Every top-level bin/sbin/lib* name must be a symlink to usr/NAME (or /usr/NAME). */
  static void checkMergedUsr(FileTree t) throws UsrAssemblyException {
    TreeEntry usr = t.get("/usr");
    if (usr == null || !usr.isDirectory()) {
      throw new UsrAssemblyException(
          "/usr", "missing or not a directory: the base tree has no /usr");
    }
    for (String n : MERGED) {
      TreeEntry e = t.get("/" + n);
      boolean required = n.equals("bin") || n.equals("sbin") || n.equals("lib");
      if (e == null) {
        if (required) {
          throw new UsrAssemblyException(
              "/" + n,
              "missing: Basalt needs a merged-/usr tree where /" + n + " is a symlink to usr/" + n);
        }
        continue;
      }
      String target = e.linkTarget();
      if (e.type() != EntryType.SYMLINK
          || !(("usr/" + n).equals(target) || ("/usr/" + n).equals(target))) {
        throw new UsrAssemblyException(
            "/" + n,
            "not merged-/usr: expected a symlink to usr/"
                + n
                + ", found "
                + (e.type() == EntryType.SYMLINK ? "a symlink to " + target : "a " + e.type())
                + " (use a suite whose bootstrap merges /usr, e.g. bookworm or later)");
      }
    }
  }

  private void putFile(FileTree.Builder b, String path, byte[] bytes, int mode) {
    b.putWithParents(
        TreeEntry.regular(path, Content.ofBytes(bytes))
            .withMode(mode)
            .withMtime(in.sourceDateEpoch()));
  }

  /** root and every other account: no usable password (locked), no empty password fields. */
  private void lockPasswords(FileTree base, FileTree.Builder b) throws IOException {
    TreeEntry passwd = base.get("/etc/passwd");
    if (passwd == null || passwd.type() != EntryType.REGULAR) {
      throw new UsrAssemblyException("/etc/passwd", "missing from the base tree");
    }
    List<String> users = new ArrayList<>();
    StringBuilder pw = new StringBuilder();
    for (String line : lines(passwd)) {
      String[] f = line.split(":", -1);
      if (f.length >= 2 && f[1].isEmpty()) {
        f[1] = "x";
      }
      if (f.length >= 1 && !f[0].isEmpty()) {
        users.add(f[0]);
      }
      pw.append(String.join(":", f)).append('\n');
    }
    b.put(
        passwd
            .withContent(Content.ofBytes(pw.toString().getBytes(StandardCharsets.UTF_8)))
            .withMtime(in.sourceDateEpoch()));

    TreeEntry shadow = base.get("/etc/shadow");
    StringBuilder sh = new StringBuilder();
    List<String> inShadow = new ArrayList<>();
    if (shadow != null && shadow.type() == EntryType.REGULAR) {
      for (String line : lines(shadow)) {
        String[] f = line.split(":", -1);
        if (f.length >= 2 && (f[1].isEmpty() || f[0].equals("root") && !isLocked(f[1]))) {
          f[1] = "*";
        }
        if (f.length >= 2 && !isLocked(f[1])) {
          throw new UsrAssemblyException(
              "/etc/shadow",
              "account '"
                  + f[0]
                  + "' has a password hash in the base tree; Basalt images ship no passwords");
        }
        inShadow.add(f[0]);
        sh.append(String.join(":", f)).append('\n');
      }
    }
    for (String u : users) {
      if (!inShadow.contains(u)) {
        sh.append(u).append(":*:").append(in.sourceDateEpoch() / 86400).append(":0:99999:7:::\n");
      }
    }
    TreeEntry sEntry =
        shadow != null && shadow.type() == EntryType.REGULAR
            ? shadow
            : TreeEntry.regular("/etc/shadow", Content.ofBytes(new byte[0]))
                .withMode(0640)
                .withOwner(0, shadowGid(base));
    b.put(
        sEntry
            .withContent(Content.ofBytes(sh.toString().getBytes(StandardCharsets.UTF_8)))
            .withMtime(in.sourceDateEpoch()));
  }

  /**
   * Adds {@code name} to /etc/group (and /etc/gshadow when the base tree has one) unless present,
   * with the highest system gid (999 down to 100) not yet taken, as systemd-sysusers would; the
   * same group is declared in /usr/lib/sysusers.d/basalt.conf (init-units) for hosts whose /etc
   * predates it.
   */
  private void addGroup(FileTree base, FileTree.Builder b, String name) throws IOException {
    TreeEntry group = base.get("/etc/group");
    if (group == null || group.type() != EntryType.REGULAR) {
      throw new UsrAssemblyException("/etc/group", "missing from the base tree");
    }
    List<String> lines = lines(group);
    java.util.Set<Integer> taken = new java.util.HashSet<>();
    for (String line : lines) {
      String[] f = line.split(":", -1);
      if (f[0].equals(name)) {
        return;
      }
      if (f.length >= 3) {
        try {
          taken.add(Integer.parseInt(f[2]));
        } catch (NumberFormatException e) {
          throw new UsrAssemblyException(
              "/etc/group", "group '" + f[0] + "' has gid '" + f[2] + "', not a number");
        }
      }
    }
    int gid = 999;
    while (taken.contains(gid)) {
      gid--;
      if (gid < 100) {
        throw new UsrAssemblyException(
            "/etc/group", "no free system gid (100-999) for group '" + name + "'");
      }
    }
    StringBuilder g = new StringBuilder();
    for (String line : lines) {
      g.append(line).append('\n');
    }
    g.append(name).append(":x:").append(gid).append(":\n");
    b.put(
        group
            .withContent(Content.ofBytes(g.toString().getBytes(StandardCharsets.UTF_8)))
            .withMtime(in.sourceDateEpoch()));
    TreeEntry gshadow = base.get("/etc/gshadow");
    if (gshadow != null && gshadow.type() == EntryType.REGULAR) {
      StringBuilder gs = new StringBuilder();
      for (String line : lines(gshadow)) {
        gs.append(line).append('\n');
      }
      gs.append(name).append(":!::\n");
      b.put(
          gshadow
              .withContent(Content.ofBytes(gs.toString().getBytes(StandardCharsets.UTF_8)))
              .withMtime(in.sourceDateEpoch()));
    }
  }

  private static boolean isLocked(String hash) {
    return hash.startsWith("!") || hash.startsWith("*");
  }

  private static int shadowGid(FileTree base) throws IOException {
    TreeEntry group = base.get("/etc/group");
    if (group != null && group.type() == EntryType.REGULAR) {
      for (String line : lines(group)) {
        String[] f = line.split(":", -1);
        if (f.length >= 3 && f[0].equals("shadow")) {
          return Integer.parseInt(f[2]);
        }
      }
    }
    return 0;
  }

  static List<String> lines(TreeEntry e) throws IOException {
    try (InputStream s = e.content().open()) {
      String text = new String(s.readAllBytes(), StandardCharsets.UTF_8);
      List<String> out = new ArrayList<>();
      for (String l : text.split("\n")) {
        if (!l.isEmpty()) {
          out.add(l);
        }
      }
      return out;
    }
  }

  private void installJars(FileTree.Builder b) throws UsrAssemblyException {
    if (in.jars().isEmpty()) {
      throw new UsrAssemblyException(
          BASALT_LIB, "no Basalt jars to install (update agent, cloud-config)");
    }
    for (Map.Entry<String, Content> j : in.jars().entrySet()) {
      b.putWithParents(
          TreeEntry.regular(BASALT_LIB + "/" + j.getKey(), j.getValue())
              .withMtime(in.sourceDateEpoch()));
    }
  }

  /**
   * Chooses the image's Java runtime by version ({@link JavaRuntimes}), trims it and points {@code
   * /usr/lib/basalt/java} at it: init-units' {@code /usr/lib/basalt/java-run} runs every Basalt
   * program on that link, with the flags of its feature release.
   */
  private void installJava(FileTree base, FileTree.Builder b) throws IOException {
    JavaRuntimes.Runtime rt = JavaRuntimes.choose(base, in.spec().debian().java());
    String home = rt.home();
    javaHome = home;
    javaVersion = rt.version();
    javaBefore = bytesUnder(base, home);
    for (String rel : JAVA_TRIM) {
      String p = home + "/" + rel;
      if (b.get(p) != null) {
        b.remove(p);
        removed.add(p);
      }
    }
    javaAfter = bytesUnder(b.build(), home);
    if (!in.jars().containsKey(BasaltJars.INSTALLER)) {
      throw new UsrAssemblyException(
          BASALT_LIB + "/" + BasaltJars.INSTALLER,
          "the install jar (/usr/bin/basalt install) is not among the jars to install");
    }
    if (!in.jars().containsKey("basaltctl.jar")) {
      throw new UsrAssemblyException(
          BASALT_LIB + "/basaltctl.jar", "the update agent jar is not among the jars to install");
    }
    b.putWithParents(
        TreeEntry.symlink(BASALT_LIB + "/java", "../jvm/" + TreePaths.name(home))
            .withMtime(in.sourceDateEpoch()));
  }

  private static long bytesUnder(FileTree t, String dir) {
    String prefix = dir + "/";
    long sum = 0;
    for (TreeEntry e : t) {
      if (e.path().startsWith(prefix)) {
        sum += e.size();
      }
    }
    return sum;
  }

  /**
   * Applies "enable" lines of Basalt's preset files (/usr/lib/systemd/system-preset/*basalt*) by
   * writing the units' [Install] WantedBy=/RequiredBy= links under /usr/lib/systemd/system, and
   * "disable" lines by removing the base tree's /etc/systemd/system links to that unit.
   */
  private void enableFromPresets(FileTree.Builder b) throws IOException {
    FileTree t = b.build();
    String unitDir = "/usr/lib/systemd/system";
    for (TreeEntry preset : t.children("/usr/lib/systemd/system-preset")) {
      if (!preset.name().contains("basalt") || preset.type() != EntryType.REGULAR) {
        continue;
      }
      int lineNo = 0;
      for (String raw : lines(preset)) {
        lineNo++;
        String line = raw.trim();
        if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
          continue;
        }
        String[] f = line.split("\\s+");
        if (f.length < 2 || !(f[0].equals("enable") || f[0].equals("disable"))) {
          throw new UsrAssemblyException(
              preset.path(),
              "line "
                  + lineNo
                  + ": expected 'enable UNIT' or 'disable UNIT', found '"
                  + line
                  + "'");
        }
        String unit = f[1];
        if (f[0].equals("disable")) {
          for (TreeEntry e : t) {
            if (e.path().startsWith("/etc/systemd/system/")
                && e.type() == EntryType.SYMLINK
                && e.name().equals(unit)) {
              b.remove(e.path());
              removed.add(e.path());
            }
          }
          continue;
        }
        TreeEntry unitFile = t.get(unitDir + "/" + unit);
        if (unitFile == null) {
          throw new UsrAssemblyException(
              preset.path(),
              "line " + lineNo + ": enables " + unit + ", which is not in " + unitDir);
        }
        while (unitFile.type() == EntryType.SYMLINK) {
          String target = unitFile.linkTarget();
          String resolved =
              target.startsWith("/")
                  ? target
                  : TreePaths.normalize(unitFile.parent() + "/" + target);
          unitFile = t.get(resolved);
          if (unitFile == null) {
            throw new UsrAssemblyException(unitDir + "/" + unit, "dangling symlink to " + target);
          }
        }
        List<String> wanted = new ArrayList<>();
        boolean inInstall = false;
        for (String ul : lines(unitFile)) {
          String u = ul.trim();
          if (u.startsWith("[")) {
            inInstall = u.equals("[Install]");
            continue;
          }
          if (!inInstall) {
            continue;
          }
          int eq = u.indexOf('=');
          if (eq < 0) {
            continue;
          }
          String key = u.substring(0, eq).trim();
          String suffix =
              key.equals("WantedBy") ? ".wants" : key.equals("RequiredBy") ? ".requires" : null;
          if (suffix == null) {
            continue;
          }
          for (String target : u.substring(eq + 1).trim().split("\\s+")) {
            if (!target.isEmpty()) {
              wanted.add(target + suffix);
            }
          }
        }
        if (wanted.isEmpty()) {
          throw new UsrAssemblyException(
              unitFile.path(),
              "enabled by " + preset.name() + " but has no [Install] WantedBy= or RequiredBy=");
        }
        for (String w : wanted) {
          String link = unitDir + "/" + w + "/" + unit;
          b.putWithParents(TreeEntry.symlink(link, "../" + unit).withMtime(in.sourceDateEpoch()));
          enabled.add(link);
        }
      }
    }
  }

  private String osRelease() {
    ImageSpec s = in.spec();
    String versionId = s.version().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", ".");
    return "NAME=\"Basalt\"\n"
        + "ID=basalt\n"
        + "ID_LIKE=debian\n"
        + "PRETTY_NAME=\"Basalt "
        + s.version()
        + " ("
        + s.channel()
        + ")\"\n"
        + "VERSION=\""
        + s.version()
        + " ("
        + s.channel()
        + ")\"\n"
        + "VERSION_ID="
        + versionId
        + "\n"
        + "BUILD_ID="
        + in.buildId()
        + "\n"
        + "IMAGE_ID="
        + s.name()
        + "\n"
        + "IMAGE_VERSION="
        + versionId
        + "\n"
        + "ANSI_COLOR=\"0;38;2;90;90;100\"\n"
        + "BASALT_CHANNEL="
        + s.channel()
        + "\n"
        + "BASALT_DEBIAN_SUITE="
        + s.debian().suite()
        + "\n";
  }

  /**
   * Moves /etc to {@link #ETC_DEFAULTS} (hard links into it retargeted) and leaves an empty /etc
   * mount point.
   */
  static FileTree moveEtc(FileTree t) throws UsrAssemblyException {
    TreeEntry etc = t.get("/etc");
    if (etc == null || !etc.isDirectory()) {
      throw new UsrAssemblyException("/etc", "missing or not a directory");
    }
    if (t.contains(ETC_DEFAULTS)) {
      throw new UsrAssemblyException(ETC_DEFAULTS, "already exists in the base tree");
    }
    FileTree.Builder b = FileTree.builder();
    for (TreeEntry e : t) {
      String p = e.path();
      TreeEntry out = e;
      if (p.equals("/etc") || p.startsWith("/etc/")) {
        out = e.withPath(ETC_DEFAULTS + p.substring(4));
        if (p.equals("/etc")) {
          b.put(e);
        }
      }
      if (out.type() == EntryType.HARDLINK && (out.linkTarget().startsWith("/etc/"))) {
        out =
            TreeEntry.hardlink(out.path(), ETC_DEFAULTS + out.linkTarget().substring(4))
                .withMode(out.mode())
                .withOwner(out.uid(), out.gid())
                .withMtime(out.mtime())
                .withXattrs(out.xattrs());
      }
      b.putWithParents(out);
    }
    return b.build();
  }

  /**
   * The /usr part of an assembled tree as its own tree ("/usr/bin/x" becomes "/bin/x"); hard links
   * to files outside /usr become copies.
   */
  public static FileTree usrTree(FileTree assembled) {
    FileTree.Builder b = FileTree.builder();
    TreeEntry usr = assembled.get("/usr");
    b.put(usr.withPath("/"));
    for (TreeEntry e : assembled) {
      if (!e.path().startsWith("/usr/")) {
        continue;
      }
      TreeEntry out = e.withPath(e.path().substring(4));
      if (e.type() == EntryType.HARDLINK) {
        if (e.linkTarget().startsWith("/usr/")) {
          out =
              TreeEntry.hardlink(out.path(), e.linkTarget().substring(4))
                  .withMode(e.mode())
                  .withOwner(e.uid(), e.gid())
                  .withMtime(e.mtime())
                  .withXattrs(e.xattrs());
        } else {
          TreeEntry target = assembled.get(e.linkTarget());
          out = target.withPath(out.path());
        }
      }
      b.put(out);
    }
    return b.build();
  }
}
