package io.basalt.image.spec;

import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.host.KernelCommandLine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The per-machine choices of {@code basalt pxe serve}, read from a small YAML file
 * (image-builder/README.md, "basalt pxe serve"): for each MAC address live or install (or boot the
 * local disk), the install device, a cloud-config served to that machine and extra kernel
 * arguments; a {@code default} entry for the others. Immutable, thread-safe.
 */
public final class PxeConfig {

  /** What a machine does when it PXE-boots. */
  public enum Mode {
    /** Boot Basalt live from RAM. */
    LIVE,
    /** Boot Basalt live and install it to {@link Machine#installDevice()} unattended. */
    INSTALL,
    /** Leave iPXE ({@code exit}): the firmware boots the next device, the local disk. */
    LOCAL
  }

  /**
   * One machine's choices.
   *
   * @param mode live, install or local
   * @param installDevice the whole disk an install writes ({@code /dev/vda}); null unless install
   * @param reboot whether an install reboots into the installed disk
   * @param cloudConfig the cloud-config's text (checked user-data), or null for none
   * @param cloudConfigSource the file it was read from (for messages), or null
   * @param kernelArgs extra kernel arguments, in order
   */
  public record Machine(
      Mode mode,
      String installDevice,
      boolean reboot,
      String cloudConfig,
      Path cloudConfigSource,
      List<String> kernelArgs) {
    /** Live, nothing extra: what a machine gets when no file says otherwise. */
    public static final Machine LIVE = new Machine(Mode.LIVE, null, false, null, null, List.of());

    public Machine {
      kernelArgs = List.copyOf(kernelArgs);
    }
  }

  private static final Set<String> TOP = Set.of("default", "machines");
  private static final Set<String> MACHINE =
      Set.of("mode", "install-device", "reboot", "cloud-config", "kernel-args");
  private static final Pattern MAC =
      Pattern.compile("[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{12}");
  private static final Pattern DEVICE = Pattern.compile("/dev/[A-Za-z0-9._/+:-]+");

  /**
   * Kernel arguments a machine's {@code kernel-args} may not set: the server writes them from
   * {@code mode}, {@code install-device}, {@code reboot} and {@code cloud-config}.
   */
  private static final Set<String> RESERVED =
      Set.of(
          KernelCommandLine.INSTALL_DEV,
          KernelCommandLine.INSTALL_SOURCE,
          KernelCommandLine.INSTALL_CLOUD_CONFIG,
          KernelCommandLine.INSTALL_REBOOT,
          KernelCommandLine.CLOUD_CONFIG_URL,
          KernelCommandLine.LIVE);

  private final Machine fallback;
  private final Map<String, Machine> machines;

  private PxeConfig(Machine fallback, Map<String, Machine> machines) {
    this.fallback = fallback;
    this.machines = Collections.unmodifiableMap(machines);
  }

  /** No file: every machine boots live. */
  public static PxeConfig allLive() {
    return new PxeConfig(Machine.LIVE, new TreeMap<>());
  }

  /**
   * Reads a machines file; {@code cloud-config} files are resolved against its folder, read and
   * checked like {@code basalt cloud-config validate}.
   *
   * @throws SpecException {@code FILE:LINE:COL: key.path: what is wrong}
   * @throws IOException when the file cannot be read
   */
  public static PxeConfig read(Path file) throws SpecException, IOException {
    String source = file.toString();
    String text;
    try {
      text = decode(Files.readAllBytes(file));
    } catch (CharacterCodingException e) {
      throw new SpecException(source, 1, 1, "the file is not valid UTF-8 text");
    }
    Path dir = file.toAbsolutePath().getParent();
    YamlNode root = YamlNode.parse(text, source);
    if (root.kind != YamlNode.Kind.MAP) {
      throw err(source, root, "", "expected a mapping with 'default' and 'machines', found");
    }
    checkKeys(source, root, "", TOP);
    Machine fallback = Machine.LIVE;
    YamlNode d = root.map.get("default");
    if (d != null) {
      fallback = machine(source, dir, d, "default");
    }
    Map<String, Machine> machines = new TreeMap<>();
    YamlNode ms = root.map.get("machines");
    if (ms != null && ms.kind != YamlNode.Kind.NULL) {
      if (ms.kind != YamlNode.Kind.MAP) {
        throw err(source, ms, "machines", "expected a mapping of MAC address to machine, found");
      }
      for (Map.Entry<String, YamlNode> e : ms.map.entrySet()) {
        int[] at = ms.keyPositions.get(e.getKey());
        String key = "machines." + e.getKey();
        if (!MAC.matcher(e.getKey()).matches()) {
          throw new SpecException(
              source,
              at[0],
              at[1],
              key
                  + ": expected a MAC address like 52:54:00:12:34:56 (quote it), found \""
                  + e.getKey()
                  + "\"");
        }
        String mac = normalizeMac(e.getKey());
        if (machines.containsKey(mac)) {
          throw new SpecException(
              source, at[0], at[1], key + ": MAC address " + mac + " is listed twice");
        }
        machines.put(mac, machine(source, dir, e.getValue(), key));
      }
    }
    return new PxeConfig(fallback, machines);
  }

  /** The choices for a MAC address (any of the usual spellings); the default for unknown ones. */
  public Machine machine(String mac) {
    if (mac == null || !MAC.matcher(mac).matches()) {
      return fallback;
    }
    return machines.getOrDefault(normalizeMac(mac), fallback);
  }

  /** The default entry (live unless the file says otherwise). */
  public Machine fallback() {
    return fallback;
  }

  /** The listed machines by normalized MAC ({@code 52:54:00:12:34:56}), sorted. */
  public Map<String, Machine> machines() {
    return machines;
  }

  /** Whether any entry installs (the server then needs the build's {@code update/} folder). */
  public boolean anyInstall() {
    return fallback.mode() == Mode.INSTALL
        || machines.values().stream().anyMatch(m -> m.mode() == Mode.INSTALL);
  }

  /**
   * {@code 52:54:00:12:34:56} from {@code 52-54-00-12-34-56}, {@code 525400123456} or upper case.
   *
   * @throws IllegalArgumentException when {@code mac} is not a MAC address
   */
  public static String normalizeMac(String mac) {
    if (!MAC.matcher(mac).matches()) {
      throw new IllegalArgumentException("not a MAC address: " + mac);
    }
    String hex = mac.replace(":", "").replace("-", "").toLowerCase(Locale.ROOT);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 12; i += 2) {
      b.append(i == 0 ? "" : ":").append(hex, i, i + 2);
    }
    return b.toString();
  }

  private static Machine machine(String source, Path dir, YamlNode n, String path)
      throws SpecException, IOException {
    if (n.kind != YamlNode.Kind.MAP) {
      throw err(source, n, path, "expected a mapping (mode, install-device, ...), found");
    }
    checkKeys(source, n, path, MACHINE);
    Mode mode = Mode.LIVE;
    YamlNode m = n.map.get("mode");
    if (m != null) {
      String v = scalar(source, m, path + ".mode");
      switch (v) {
        case "live" -> mode = Mode.LIVE;
        case "install" -> mode = Mode.INSTALL;
        case "local" -> mode = Mode.LOCAL;
        default -> throw err(source, m, path + ".mode", "expected live, install or local, found");
      }
    }
    String device = null;
    YamlNode dev = n.map.get("install-device");
    if (dev != null) {
      device = scalar(source, dev, path + ".install-device");
      if (!DEVICE.matcher(device).matches()) {
        throw err(
            source,
            dev,
            path + ".install-device",
            "expected a whole disk's device path such as /dev/vda or /dev/disk/by-id/..., found");
      }
      if (mode != Mode.INSTALL) {
        throw err(source, dev, path + ".install-device", "needs 'mode: install'; found with");
      }
    }
    if (mode == Mode.INSTALL && device == null) {
      throw new SpecException(
          source,
          n.line,
          n.column,
          path
              + ": 'mode: install' needs 'install-device' (the whole disk to write, e.g. /dev/vda)");
    }
    boolean reboot = mode == Mode.INSTALL;
    YamlNode r = n.map.get("reboot");
    if (r != null) {
      if (r.kind != YamlNode.Kind.BOOLEAN) {
        throw err(source, r, path + ".reboot", "expected true or false, found");
      }
      if (mode != Mode.INSTALL) {
        throw err(source, r, path + ".reboot", "needs 'mode: install'; found with");
      }
      reboot = Boolean.parseBoolean(r.text);
    }
    String cloudConfig = null;
    Path cloudConfigSource = null;
    YamlNode c = n.map.get("cloud-config");
    if (c != null) {
      if (mode == Mode.LOCAL) {
        throw err(source, c, path + ".cloud-config", "has no use with 'mode: local'; found");
      }
      String f = scalar(source, c, path + ".cloud-config");
      cloudConfigSource = dir.resolve(f);
      cloudConfig = cloudConfig(source, c, path + ".cloud-config", cloudConfigSource);
    }
    List<String> args = new ArrayList<>();
    YamlNode k = n.map.get("kernel-args");
    if (k != null) {
      if (mode == Mode.LOCAL) {
        throw err(source, k, path + ".kernel-args", "has no use with 'mode: local'; found");
      }
      if (k.kind != YamlNode.Kind.LIST) {
        throw err(source, k, path + ".kernel-args", "expected a list of arguments, found");
      }
      for (int i = 0; i < k.list.size(); i++) {
        YamlNode a = k.list.get(i);
        String key = path + ".kernel-args[" + i + "]";
        String v = scalar(source, a, key);
        if (v.isEmpty() || !v.chars().allMatch(ch -> ch > ' ' && ch < 0x7f)) {
          throw err(source, a, key, "expected one argument (printable ASCII, no spaces), found");
        }
        if (RESERVED.contains(KernelCommandLine.key(v))) {
          throw err(
              source,
              a,
              key,
              KernelCommandLine.key(v)
                  + " is set by the server from mode, install-device, reboot and cloud-config;"
                  + " found");
        }
        args.add(v);
      }
    }
    return new Machine(mode, device, reboot, cloudConfig, cloudConfigSource, args);
  }

  private static String cloudConfig(String source, YamlNode at, String key, Path file)
      throws SpecException, IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new SpecException(source, at.line, at.column, key + ": no such file " + file);
    }
    String text;
    try {
      text = decode(bytes);
    } catch (CharacterCodingException e) {
      throw new SpecException(
          source, at.line, at.column, key + ": " + file + ":1:1: not valid UTF-8 text");
    }
    UserData ud = UserDataParser.parse(text, ValidationOptions.defaultImage());
    if (ud.hasErrors()) {
      StringBuilder b = new StringBuilder();
      for (Diagnostic d : ud.diagnostics()) {
        if (d.severity() == Diagnostic.Severity.ERROR) {
          b.append("\n  ").append(d.format(file.toString()));
        }
      }
      throw new SpecException(
          source, at.line, at.column, key + ": " + file + " is not usable user-data:" + b);
    }
    return text;
  }

  private static String decode(byte[] b) throws CharacterCodingException {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(b))
        .toString();
  }

  private static void checkKeys(String source, YamlNode map, String path, Set<String> allowed)
      throws SpecException {
    for (Map.Entry<String, int[]> e : map.keyPositions.entrySet()) {
      if (!allowed.contains(e.getKey())) {
        throw new SpecException(
            source,
            e.getValue()[0],
            e.getValue()[1],
            (path.isEmpty() ? "" : path + ".")
                + e.getKey()
                + ": unknown key (expected one of "
                + new java.util.TreeSet<>(allowed)
                + ")");
      }
    }
  }

  private static String scalar(String source, YamlNode n, String key) throws SpecException {
    if (n.kind != YamlNode.Kind.STRING && n.kind != YamlNode.Kind.NUMBER) {
      throw err(source, n, key, "expected a string, found");
    }
    return n.text;
  }

  private static SpecException err(String source, YamlNode n, String key, String what) {
    return new SpecException(
        source, n.line, n.column, (key.isEmpty() ? "" : key + ": ") + what + " " + n.describe());
  }
}
