package io.basalt.image.spec;

import io.basalt.host.HostPaths;
import io.basalt.host.UpdateConfKeys;
import io.basalt.image.spec.ImageSpec.Compressor;
import io.basalt.image.spec.ImageSpec.Debian;
import io.basalt.image.spec.ImageSpec.ExtraFile;
import io.basalt.image.spec.ImageSpec.Output;
import io.basalt.image.spec.ImageSpec.Partitions;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.RoleKeys;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.TufException;
import io.basalt.update.agent.UpdateConfCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Binds a located YAML tree to an {@link ImageSpec}; keys a spec leaves out take the embedded
 * default's values. Stateless, thread-safe.
 */
final class SpecBinder {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern VERSION = Pattern.compile("[0-9A-Za-z][0-9A-Za-z.+~_-]{0,62}");
  private static final Pattern CHANNEL = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern SUITE = Pattern.compile("[a-z][a-z0-9-]*");
  private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
  private static final Pattern SIZE = Pattern.compile("([0-9]+)\\s*(|B|KiB|MiB|GiB|TiB)");
  private static final Set<String> VARIANTS =
      Set.of("essential", "minbase", "required", "important", "standard", "apt");
  private static final Set<String> TOP =
      Set.of(
          "name",
          "version",
          "channel",
          "arch",
          "debian",
          "files",
          "kernel",
          "partitions",
          "outputs",
          "compressor",
          "compressor-level",
          "source-date-epoch",
          "update");
  private static final Set<String> DEBIAN =
      Set.of(
          "suite",
          "mirror",
          "variant",
          "packages",
          "extra-packages",
          "java",
          "path-exclude",
          "path-include");

  /**
   * The Java runtime Basalt runs on in each suite it is tested on when the spec does not name one
   * (debian.java): the newest LTS release the suite ships.
   */
  private static final java.util.Map<String, Integer> SUITE_JAVA =
      java.util.Map.of("bookworm", 17, "trixie", 25);

  private static final Set<String> FILE = Set.of("path", "source", "content", "mode");
  private static final Set<String> KERNEL = Set.of("cmdline");
  private static final Set<String> PARTITIONS = Set.of("esp", "usr", "oem", "root");
  private static final Set<String> UPDATE = Set.of("repository", "channel", "root", "settings");

  /** The name the image's default update.conf has in messages of the agent's loader. */
  private static final String CONF_NAME = "update.conf";

  private static final long MIB = 1L << 20;

  private static volatile YamlNode defaults;

  private final String source;

  private SpecBinder(String source) {
    this.source = source;
  }

  static ImageSpec bind(String text, String source, Path baseDir) throws SpecException {
    YamlNode root = YamlNode.parse(text, source);
    return new SpecBinder(source).spec(root, defaults(), baseDir, text);
  }

  private static YamlNode defaults() {
    YamlNode d = defaults;
    if (d == null) {
      try (InputStream in = SpecBinder.class.getResourceAsStream(ImageSpec.DEFAULT_RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException("resource " + ImageSpec.DEFAULT_RESOURCE + " missing");
        }
        d = YamlNode.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "(default spec)");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (SpecException e) {
        throw new IllegalStateException("embedded default spec: " + e.getMessage(), e);
      }
      defaults = d;
    }
    return d;
  }

  private SpecException error(YamlNode at, String key, String message) {
    return new SpecException(
        source, at.line, at.column, (key.isEmpty() ? "" : key + ": ") + message);
  }

  private void checkKeys(YamlNode map, String where, Set<String> allowed) throws SpecException {
    for (Map.Entry<String, int[]> k : map.keyPositions.entrySet()) {
      if (!allowed.contains(k.getKey())) {
        List<String> sorted = new ArrayList<>(allowed);
        sorted.sort(null);
        throw new SpecException(
            source,
            k.getValue()[0],
            k.getValue()[1],
            "unknown key '"
                + (where.isEmpty() ? "" : where + ".")
                + k.getKey()
                + "' (expected one of "
                + String.join(", ", sorted)
                + ")");
      }
    }
  }

  private YamlNode map(YamlNode n, String key) throws SpecException {
    if (n.kind != YamlNode.Kind.MAP) {
      throw error(n, key, "expected a mapping, found " + n.describe());
    }
    return n;
  }

  /** The user's value for key, else the default's (either may be null). */
  private static YamlNode pick(YamlNode user, YamlNode def, String key) {
    YamlNode u = user == null ? null : user.map.get(key);
    if (u != null) {
      return u;
    }
    return def == null ? null : def.map.get(key);
  }

  private String string(YamlNode n, String key, Pattern pattern, String expected)
      throws SpecException {
    if (n == null) {
      throw new SpecException(source, 0, 0, key + ": missing");
    }
    if (n.kind != YamlNode.Kind.STRING && n.kind != YamlNode.Kind.NUMBER) {
      throw error(n, key, "expected " + expected + ", found " + n.describe());
    }
    if (pattern != null && !pattern.matcher(n.text).matches()) {
      throw error(n, key, "expected " + expected + ", found \"" + n.text + "\"");
    }
    return n.text;
  }

  private List<String> strings(YamlNode n, String key, Pattern pattern, String expected)
      throws SpecException {
    if (n == null) {
      return List.of();
    }
    if (n.kind == YamlNode.Kind.NULL) {
      return List.of();
    }
    if (n.kind != YamlNode.Kind.LIST) {
      throw error(n, key, "expected a list of " + expected + ", found " + n.describe());
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n.list.size(); i++) {
      out.add(string(n.list.get(i), key + "[" + i + "]", pattern, expected));
    }
    return out;
  }

  private ImageSpec spec(YamlNode user, YamlNode def, Path baseDir, String text)
      throws SpecException {
    map(user, "");
    checkKeys(user, "", TOP);
    String name =
        string(
            pick(user, def, "name"),
            "name",
            NAME,
            "a lower-case name ([a-z0-9-], at most 63 characters)");
    String version =
        string(
            pick(user, def, "version"),
            "version",
            VERSION,
            "a version ([0-9A-Za-z.+~_-], at most 63 characters)");
    String channel =
        string(pick(user, def, "channel"), "channel", CHANNEL, "a channel name ([a-z0-9-])");
    YamlNode archNode = pick(user, def, "arch");
    String arch = string(archNode, "arch", null, "x86-64");
    if (!arch.equals("x86-64")) {
      throw error(
          archNode,
          "arch",
          "expected x86-64 (the only architecture Basalt builds), found \"" + arch + "\"");
    }
    Debian debian = debian(user.map.get("debian"), def.map.get("debian"));
    // Only the spec itself has an update: section (the default spec has none).
    Optional<ImageSpec.Update> update = update(user.map.get("update"), channel, baseDir);
    List<ExtraFile> files = files(pick(user, def, "files"), baseDir, update.isPresent());
    List<String> cmdline = kernel(user.map.get("kernel"), def.map.get("kernel"));
    Partitions partitions = partitions(user.map.get("partitions"), def.map.get("partitions"));
    Set<Output> outputs = outputs(pick(user, def, "outputs"));
    YamlNode compNode = pick(user, def, "compressor");
    String comp = string(compNode, "compressor", null, "zstd, xz or gzip");
    Compressor compressor;
    try {
      compressor = Compressor.valueOf(comp.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw error(compNode, "compressor", "expected zstd, xz or gzip, found \"" + comp + "\"");
    }
    java.util.OptionalInt level = java.util.OptionalInt.empty();
    // Left out, the level is the default spec's (README "Image spec"): an explicit null asks for
    // the compressor's own mksquashfs default.
    YamlNode lv = pick(user, def, "compressor-level");
    if (lv != null && lv.kind != YamlNode.Kind.NULL) {
      String expected =
          "an integer from "
              + compressor.minLevel()
              + " to "
              + compressor.maxLevel()
              + " for "
              + compressor.key();
      if (lv.kind != YamlNode.Kind.NUMBER || !lv.text.matches("[0-9]{1,2}")) {
        throw error(lv, "compressor-level", "expected " + expected + ", found " + lv.describe());
      }
      int l = Integer.parseInt(lv.text);
      if (l < compressor.minLevel() || l > compressor.maxLevel()) {
        throw error(lv, "compressor-level", "expected " + expected + ", found " + l);
      }
      level = java.util.OptionalInt.of(l);
    }
    OptionalLong epoch = OptionalLong.empty();
    YamlNode sde = user.map.get("source-date-epoch");
    if (sde != null && sde.kind != YamlNode.Kind.NULL) {
      if (sde.kind != YamlNode.Kind.NUMBER || !sde.text.matches("[0-9]{1,12}")) {
        throw error(
            sde,
            "source-date-epoch",
            "expected seconds since 1970 (a non-negative integer), found " + sde.describe());
      }
      epoch = OptionalLong.of(Long.parseLong(sde.text));
    }
    return new ImageSpec(
        name,
        version,
        channel,
        arch,
        debian,
        files,
        cmdline,
        partitions,
        outputs,
        compressor,
        level,
        epoch,
        update,
        text);
  }

  private Debian debian(YamlNode user, YamlNode def) throws SpecException {
    if (user != null) {
      map(user, "debian");
      checkKeys(user, "debian", DEBIAN);
    }
    String suite =
        string(
            pick(user, def, "suite"),
            "debian.suite",
            SUITE,
            "a Debian suite codename (e.g. trixie)");
    YamlNode mirrorNode = pick(user, def, "mirror");
    String mirror = string(mirrorNode, "debian.mirror", null, "an http(s) or file URL");
    if (!mirror.matches("(https?|file)://\\S+")) {
      throw error(
          mirrorNode,
          "debian.mirror",
          "expected an http://, https:// or file:// URL, found \"" + mirror + "\"");
    }
    YamlNode variantNode = pick(user, def, "variant");
    String variant = string(variantNode, "debian.variant", null, "an mmdebstrap variant");
    if (!VARIANTS.contains(variant)) {
      throw error(
          variantNode,
          "debian.variant",
          "expected one of " + new java.util.TreeSet<>(VARIANTS) + ", found \"" + variant + "\"");
    }
    String pkgExpected = "Debian package names";
    LinkedHashSet<String> packages =
        new LinkedHashSet<>(
            strings(pick(user, def, "packages"), "debian.packages", PACKAGE, pkgExpected));
    YamlNode extra = user == null ? null : user.map.get("extra-packages");
    // debian.java: the feature release Basalt's programs run on; its headless JRE is installed.
    // Left out, it is the one the suite is known to ship (SUITE_JAVA), else the default spec's.
    java.util.OptionalInt javaRelease = java.util.OptionalInt.empty();
    YamlNode javaNode = user == null ? null : user.map.get("java");
    if (javaNode == null && SUITE_JAVA.containsKey(suite)) {
      javaRelease = java.util.OptionalInt.of(SUITE_JAVA.get(suite));
      packages.add("openjdk-" + javaRelease.getAsInt() + "-jre-headless");
    } else if (javaNode == null) {
      javaNode = def.map.get("java");
    }
    if (javaNode != null && javaNode.kind != YamlNode.Kind.NULL) {
      String expected = "a Java feature release of 17 or later (e.g. 25), or null for the newest";
      if (javaNode.kind != YamlNode.Kind.NUMBER || !javaNode.text.matches("[0-9]{2,3}")) {
        throw error(
            javaNode, "debian.java", "expected " + expected + ", found " + javaNode.describe());
      }
      int v = Integer.parseInt(javaNode.text);
      if (v < 17) {
        throw error(javaNode, "debian.java", "expected " + expected + ", found " + v);
      }
      javaRelease = java.util.OptionalInt.of(v);
      packages.add("openjdk-" + v + "-jre-headless");
    }
    packages.addAll(strings(extra, "debian.extra-packages", PACKAGE, pkgExpected));
    if (packages.isEmpty()) {
      YamlNode at = pick(user, def, "packages");
      throw error(at == null ? def : at, "debian.packages", "expected at least one package");
    }
    Pattern glob = Pattern.compile("/\\S*");
    List<String> exclude =
        strings(
            pick(user, def, "path-exclude"), "debian.path-exclude", glob, "absolute path globs");
    List<String> include =
        strings(
            pick(user, def, "path-include"), "debian.path-include", glob, "absolute path globs");
    return new Debian(
        suite, mirror, variant, new ArrayList<>(packages), exclude, include, javaRelease);
  }

  private List<ExtraFile> files(YamlNode n, Path baseDir, boolean update) throws SpecException {
    List<ExtraFile> out = new ArrayList<>();
    if (n == null || n.kind == YamlNode.Kind.NULL) {
      return out;
    }
    if (n.kind != YamlNode.Kind.LIST) {
      throw error(
          n, "files", "expected a list of {path, source|content, mode}, found " + n.describe());
    }
    Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < n.list.size(); i++) {
      String key = "files[" + i + "]";
      YamlNode f = map(n.list.get(i), key);
      checkKeys(f, key, FILE);
      YamlNode pathNode = f.map.get("path");
      if (pathNode == null) {
        throw error(f, key, "missing 'path'");
      }
      String path =
          string(
              pathNode,
              key + ".path",
              Pattern.compile("/[^\\x00]*[^/]"),
              "an absolute in-image file path");
      if (path.contains("/../") || path.endsWith("/..") || path.contains("/./")) {
        throw error(
            pathNode,
            key + ".path",
            "expected a path without '.' or '..' components, found \"" + path + "\"");
      }
      if (!seen.add(path)) {
        throw error(pathNode, key + ".path", "\"" + path + "\" is listed twice");
      }
      if (update
          && (path.equals(HostPaths.SHIPPED_TUF_ROOT)
              || path.equals(HostPaths.UPDATE_CONF_DEFAULTS))) {
        throw error(
            pathNode,
            key + ".path",
            "\""
                + path
                + "\" is written from the update: section; drop this entry or the update: section");
      }
      YamlNode src = f.map.get("source");
      YamlNode content = f.map.get("content");
      if ((src == null) == (content == null)) {
        throw error(
            f, key, "expected exactly one of 'source' (a host file) or 'content' (inline text)");
      }
      Path sourcePath = null;
      String text = null;
      if (src != null) {
        String s = string(src, key + ".source", null, "a file name");
        if (baseDir == null) {
          throw error(src, key + ".source", "host files are not allowed in this spec");
        }
        sourcePath = baseDir.resolve(s).normalize();
        if (!java.nio.file.Files.isRegularFile(sourcePath)) {
          throw error(
              src,
              key + ".source",
              "expected an existing regular file, found none at " + sourcePath);
        }
      } else {
        if (content.kind != YamlNode.Kind.STRING && content.kind != YamlNode.Kind.NUMBER) {
          throw error(content, key + ".content", "expected text, found " + content.describe());
        }
        text = content.text;
      }
      int mode = 0644;
      YamlNode modeNode = f.map.get("mode");
      if (modeNode != null) {
        String m =
            string(
                modeNode,
                key + ".mode",
                Pattern.compile("0?[0-7]{3,4}"),
                "an octal mode in quotes, e.g. \"0644\"");
        mode = Integer.parseInt(m, 8);
        if (mode > 07777) {
          throw error(modeNode, key + ".mode", "expected at most 07777, found " + m);
        }
      }
      out.add(new ExtraFile(path, sourcePath, text, mode));
    }
    return out;
  }

  /**
   * The {@code update:} section: the repository, the channel, the trusted root (read here and
   * checked to be TUF root metadata signed by a threshold of its own root keys, as the agent's
   * updater requires of the root it starts from) and update.conf settings (the schema is {@link
   * UpdateConfKeys}; the whole file is then loaded with the agent's own loader).
   */
  private Optional<ImageSpec.Update> update(YamlNode n, String specChannel, Path baseDir)
      throws SpecException {
    if (n == null || n.kind == YamlNode.Kind.NULL) {
      return Optional.empty();
    }
    map(n, "update");
    checkKeys(n, "update", UPDATE);
    // update.conf lines in file order, each with the node and key path it came from.
    Map<String, String> settings = new LinkedHashMap<>();
    List<YamlNode> lineNodes = new ArrayList<>();
    List<String> lineKeys = new ArrayList<>();

    YamlNode repoNode = n.map.get("repository");
    if (repoNode != null && repoNode.kind != YamlNode.Kind.NULL) {
      String repo = string(repoNode, "update.repository", null, "an http:// or https:// URL");
      Optional<String> problem = UpdateConfKeys.problem(UpdateConfKeys.REPOSITORY_URL, repo);
      if (problem.isPresent() || repo.isBlank()) {
        throw error(
            repoNode,
            "update.repository",
            problem.orElse("expected an http:// or https:// URL, found \"\""));
      }
      settings.put(UpdateConfKeys.REPOSITORY_URL, repo);
      lineNodes.add(repoNode);
      lineKeys.add("update.repository");
    }

    YamlNode channelNode = n.map.get("channel");
    String channel = specChannel;
    if (channelNode != null && channelNode.kind != YamlNode.Kind.NULL) {
      channel =
          string(channelNode, "update.channel", CHANNEL, "a channel name ([a-z0-9-], e.g. stable)");
    }
    settings.put(UpdateConfKeys.CHANNEL, channel);
    lineNodes.add(channelNode != null ? channelNode : n);
    lineKeys.add("update.channel");

    YamlNode rootNode = n.map.get("root");
    if (rootNode == null || rootNode.kind == YamlNode.Kind.NULL) {
      throw error(
          n,
          "update.root",
          "missing: the repository's trusted TUF root (e.g. REPO/metadata/1.root.json), a file"
              + " relative to the spec");
    }
    RootFile root = root(rootNode, baseDir);

    YamlNode set = n.map.get("settings");
    if (set != null && set.kind != YamlNode.Kind.NULL) {
      map(set, "update.settings");
      Map<String, String> spelled = new LinkedHashMap<>(); // canonical key -> key as written
      for (Map.Entry<String, YamlNode> e : set.map.entrySet()) {
        String raw = e.getKey();
        String key = "update.settings." + raw;
        int[] at = set.keyPositions.get(raw);
        Optional<String> canonical = UpdateConfKeys.canonical(raw);
        if (canonical.isEmpty()) {
          TreeSet<String> known = new TreeSet<>(UpdateConfKeys.KEYS);
          known.addAll(UpdateConfKeys.ALIASES.keySet());
          throw new SpecException(
              source,
              at[0],
              at[1],
              key + ": not an update.conf key (expected one of " + String.join(", ", known) + ")");
        }
        String k = canonical.get();
        String instead =
            switch (k) {
              case UpdateConfKeys.REPOSITORY_URL -> "set it with update.repository";
              case UpdateConfKeys.CHANNEL -> "set it with update.channel";
              case UpdateConfKeys.ARCH -> "the image's arch decides it";
              default -> null;
            };
        if (instead != null) {
          throw new SpecException(source, at[0], at[1], key + ": not allowed here; " + instead);
        }
        if (UpdateConfKeys.isCredential(raw) || UpdateConfKeys.isCredential(k)) {
          throw new SpecException(
              source,
              at[0],
              at[1],
              key
                  + ": a secret does not belong in an image (anyone holding the image reads it);"
                  + " set it per machine with cloud-config's coreos.locksmith");
        }
        String before = spelled.put(k, raw);
        if (before != null) {
          throw new SpecException(
              source, at[0], at[1], key + ": the same setting as " + before + " (set it once)");
        }
        YamlNode v = e.getValue();
        if (v.kind != YamlNode.Kind.STRING
            && v.kind != YamlNode.Kind.NUMBER
            && v.kind != YamlNode.Kind.BOOLEAN) {
          throw error(v, key, "expected a value (text), found " + v.describe());
        }
        String value = v.text;
        if (!value.equals(value.strip()) || value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
          throw error(
              v,
              key,
              "expected one line without leading or trailing blanks, found \""
                  + value.replace("\n", "\\n")
                  + "\"");
        }
        Optional<String> problem = UpdateConfKeys.problem(k, value);
        if (problem.isPresent()) {
          throw error(v, key, problem.get());
        }
        settings.put(k, value);
        lineNodes.add(v);
        lineKeys.add(key);
      }
    }

    // The whole file through the agent's own loader: durations, windows and the rules between
    // keys (fleetlock needs FLEETLOCK_URL...). An image whose defaults the agent refuses would fail
    // every boot's health check.
    StringBuilder conf = new StringBuilder();
    for (Map.Entry<String, String> e : settings.entrySet()) {
      conf.append(e.getKey()).append('=').append(e.getValue()).append('\n');
    }
    try {
      UpdateConfCheck.check(conf.toString(), CONF_NAME);
    } catch (IOException e) {
      String m = String.valueOf(e.getMessage());
      var lm =
          Pattern.compile(Pattern.quote(CONF_NAME) + ":([0-9]+): (.*)", Pattern.DOTALL).matcher(m);
      // One line per setting, in order: the agent's line number names the spec node.
      if (lm.matches() && Integer.parseInt(lm.group(1)) <= settings.size()) {
        int line = Integer.parseInt(lm.group(1)) - 1;
        String detail = lm.group(2);
        String k = new ArrayList<>(settings.keySet()).get(line);
        if (detail.startsWith(k + ": ")) {
          detail = detail.substring(k.length() + 2);
        }
        throw error(lineNodes.get(line), lineKeys.get(line), detail);
      }
      throw error(n, "update", m);
    }
    return Optional.of(
        new ImageSpec.Update(
            root.path, root.json, root.version, root.keyIds, root.threshold, settings));
  }

  private record RootFile(
      Path path, String json, long version, List<String> keyIds, int threshold) {}

  private RootFile root(YamlNode rootNode, Path baseDir) throws SpecException {
    String name = string(rootNode, "update.root", null, "a file name");
    if (baseDir == null) {
      throw error(rootNode, "update.root", "host files are not allowed in this spec");
    }
    Path file = baseDir.resolve(name).normalize();
    if (!Files.isRegularFile(file)) {
      throw error(
          rootNode, "update.root", "expected an existing regular file, found none at " + file);
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw error(rootNode, "update.root", file + ": cannot be read: " + e.getMessage());
    }
    Metadata m;
    Root root;
    try {
      m = Metadata.parse(bytes, "root", "root");
      root = Root.from(m);
    } catch (TufException e) {
      throw error(
          rootNode, "update.root", file + ": not a TUF root metadata file: " + e.getMessage());
    }
    try {
      // TUF 5.2: the trusted root a client starts from must be signed by a threshold of its own
      // root keys (the agent's updater and `basalt tuf-client init` check the same).
      root.verify("root", m);
    } catch (TufException e) {
      throw error(
          rootNode,
          "update.root",
          file + ": not signed by a threshold of its own root keys: " + e.getMessage());
    }
    RoleKeys rk = root.role("root");
    List<String> ids = new ArrayList<>(rk.keyids());
    ids.sort(null);
    return new RootFile(
        file, new String(bytes, StandardCharsets.UTF_8), m.version(), ids, rk.threshold());
  }

  private List<String> kernel(YamlNode user, YamlNode def) throws SpecException {
    if (user != null) {
      map(user, "kernel");
      checkKeys(user, "kernel", KERNEL);
    }
    List<String> args =
        strings(
            pick(user, def, "cmdline"),
            "kernel.cmdline",
            Pattern.compile("[^\\s\"]+"),
            "kernel arguments (one per item, no spaces or quotes)");
    return args;
  }

  private Partitions partitions(YamlNode user, YamlNode def) throws SpecException {
    if (user != null) {
      map(user, "partitions");
      checkKeys(user, "partitions", PARTITIONS);
    }
    long esp = size(pick(user, def, "esp"), "partitions.esp", 64 * MIB);
    long usr = size(pick(user, def, "usr"), "partitions.usr", 64 * MIB);
    long oem = size(pick(user, def, "oem"), "partitions.oem", 32 * MIB);
    long root = size(pick(user, def, "root"), "partitions.root", 16 * MIB);
    return new Partitions(esp, usr, oem, root);
  }

  private long size(YamlNode n, String key, long min) throws SpecException {
    String s = string(n, key, null, "a size such as 256MiB or 1GiB");
    var m = SIZE.matcher(s.trim());
    if (!m.matches()) {
      throw error(
          n,
          key,
          "expected a size such as 256MiB or 1GiB (units B, KiB, MiB, GiB, TiB), found \""
              + s
              + "\"");
    }
    long mult;
    switch (m.group(2)) {
      case "KiB":
        mult = 1L << 10;
        break;
      case "MiB":
        mult = 1L << 20;
        break;
      case "GiB":
        mult = 1L << 30;
        break;
      case "TiB":
        mult = 1L << 40;
        break;
      default:
        mult = 1;
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(Long.parseLong(m.group(1)), mult);
    } catch (ArithmeticException | NumberFormatException e) {
      throw error(n, key, "size too large: \"" + s + "\"");
    }
    if (bytes % MIB != 0) {
      throw error(
          n,
          key,
          "expected a multiple of 1 MiB (partitions are 1 MiB aligned), found \"" + s + "\"");
    }
    if (bytes < min) {
      throw error(n, key, "expected at least " + (min / MIB) + "MiB, found \"" + s + "\"");
    }
    return bytes;
  }

  private Set<Output> outputs(YamlNode n) throws SpecException {
    if (n == null) {
      throw new SpecException(source, 0, 0, "outputs: missing");
    }
    if (n.kind != YamlNode.Kind.LIST) {
      throw error(n, "outputs", "expected a list of outputs, found " + n.describe());
    }
    EnumSet<Output> out = EnumSet.noneOf(Output.class);
    int openNebulaAt = -1;
    List<String> names = new ArrayList<>();
    for (Output o : Output.values()) {
      names.add(o.key());
    }
    for (int i = 0; i < n.list.size(); i++) {
      YamlNode item = n.list.get(i);
      String s = string(item, "outputs[" + i + "]", null, "one of " + String.join(", ", names));
      Output found = null;
      for (Output o : Output.values()) {
        if (o.key().equals(s)) {
          found = o;
        }
      }
      if (found == null) {
        throw error(
            item,
            "outputs[" + i + "]",
            "expected one of " + String.join(", ", names) + ", found \"" + s + "\"");
      }
      if (!out.add(found)) {
        throw error(item, "outputs[" + i + "]", "\"" + s + "\" is listed twice");
      }
      if (found == Output.OPENNEBULA) {
        openNebulaAt = i;
      }
    }
    if (out.isEmpty()) {
      throw error(n, "outputs", "expected at least one output");
    }
    if (out.contains(Output.OPENNEBULA) && !out.contains(Output.DISK_QCOW2)) {
      throw error(
          n.list.get(openNebulaAt),
          "outputs[" + openNebulaAt + "]",
          "\"opennebula\" needs \"disk.qcow2\" in the outputs too (the template's disk image)");
    }
    return out;
  }
}
