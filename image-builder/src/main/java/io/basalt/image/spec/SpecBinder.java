package io.basalt.image.spec;

import io.basalt.image.spec.ImageSpec.Compressor;
import io.basalt.image.spec.ImageSpec.Debian;
import io.basalt.image.spec.ImageSpec.ExtraFile;
import io.basalt.image.spec.ImageSpec.Output;
import io.basalt.image.spec.ImageSpec.Partitions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
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
          "source-date-epoch");
  private static final Set<String> DEBIAN =
      Set.of(
          "suite",
          "mirror",
          "variant",
          "packages",
          "extra-packages",
          "path-exclude",
          "path-include");
  private static final Set<String> FILE = Set.of("path", "source", "content", "mode");
  private static final Set<String> KERNEL = Set.of("cmdline");
  private static final Set<String> PARTITIONS = Set.of("esp", "usr", "oem", "root");
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
    List<ExtraFile> files = files(pick(user, def, "files"), baseDir);
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
            "a Debian suite codename (e.g. bookworm)");
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
    return new Debian(suite, mirror, variant, new ArrayList<>(packages), exclude, include);
  }

  private List<ExtraFile> files(YamlNode n, Path baseDir) throws SpecException {
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
    }
    if (out.isEmpty()) {
      throw error(n, "outputs", "expected at least one output");
    }
    return out;
  }
}
