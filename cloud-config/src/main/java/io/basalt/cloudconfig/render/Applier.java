package io.basalt.cloudconfig.render;

import io.basalt.cloudconfig.CloudConfig;
import io.basalt.cloudconfig.Script;
import io.basalt.host.AtomicFiles;
import io.basalt.host.HostPaths;
import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Makes a validated {@link CloudConfig} so under a root directory (the host's {@code /}, or a
 * directory for {@code render}): host name, users and groups (through {@link SystemTools}),
 * authorized keys, files (atomic write, owner, mode), units and drop-ins, one daemon-reload, then
 * enable and unit commands, networkd restart, etcd/fleet/flannel drop-ins, update agent
 * configuration, OEM release, scripts once per boot. Idempotent: a second run writes nothing and
 * runs no account or reload commands; unit commands and enable are issued again (they are
 * idempotent themselves, as coreos-cloudinit issued them on every boot). A failing step is recorded
 * and the others still run. Secrets (password hashes, keys) are never logged; files holding a
 * credential are 0600. Nothing is written through a symbolic link in a parent directory, and the
 * users' trees (home, {@code ~/.ssh}) are worked on through directories held open ({@link
 * PinnedDir}). Not thread-safe.
 */
public final class Applier {

  /**
   * Where the cloud-config's keys go in each user's authorized_keys.d (CoreOS update-ssh-keys
   * layout).
   */
  public static final String KEYS_FILE = "basalt-cloudinit";

  /** The update agent's machine configuration. */
  public static final String UPDATE_CONF = HostPaths.UPDATE_CONF;

  /** Where scripts are kept. */
  public static final String SCRIPTS_DIR = HostPaths.CLOUD_CONFIG_SCRIPTS;

  /** Once-per-boot markers (tmpfs). */
  public static final String SCRIPT_MARKERS = HostPaths.CLOUD_CONFIG_SCRIPT_MARKERS;

  private final Path root;
  private final SystemTools tools;
  private final boolean dryRun;
  private final Consumer<String> log;
  private final boolean numericOwners;
  private final List<String> changes = new ArrayList<>();
  private Accounts accounts;
  private final List<String> actions = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();

  /**
   * Directories this run checked or made (nothing here removes directories), and whether a user
   * other than root controls one of them or a directory above.
   */
  private final Map<Path, Boolean> checkedDirs = new HashMap<>();

  /**
   * @param root the directory standing for {@code /}
   * @param tools runs the system's tools
   * @param dryRun true for {@code render}: owners are not set (recorded only) and missing homes are
   *     created
   * @param log receives one line per change or failure (never secrets)
   */
  public Applier(Path root, SystemTools tools, boolean dryRun, Consumer<String> log) {
    this.root = Objects.requireNonNull(root, "root");
    this.tools = Objects.requireNonNull(tools, "tools");
    this.dryRun = dryRun;
    this.log = Objects.requireNonNull(log, "log");
    this.numericOwners = root.getFileSystem() == FileSystems.getDefault();
  }

  /**
   * Applies {@code config} and runs {@code scripts}.
   *
   * @return what changed, what was issued, what failed
   */
  public ApplyReport apply(CloudConfig config, List<Script> scripts) {
    Objects.requireNonNull(config, "config");
    step("hostname", () -> hostname(config));
    step("users", () -> users(config));
    for (int i = 0; i < config.writeFiles().size(); i++) {
      CloudConfig.WriteFile f = config.writeFiles().get(i);
      String what = "write_files[" + i + "] " + f.path();
      step(
          what,
          () -> {
            String[] owner = splitOwner(f.owner());
            writeFile(f.path(), f.decodedContent(), f.mode(), owner[0], owner[1]);
          });
    }
    step("manage_etc_hosts", () -> etcHosts(config));
    step("coreos.oem", () -> oem(config));
    step("coreos.update", () -> updateConf(config));
    step(
        "coreos.flannel",
        () -> {
          if (!config.coreos().flannel().isEmpty()) {
            writeFile(
                "/run/flannel/options.env",
                bytes(ServiceDropIns.envFile(config.coreos().flannel())),
                ServiceDropIns.holdsCredential(config.coreos().flannel()) ? 0600 : 0644,
                "root",
                "root");
          }
        });
    step("coreos.units", () -> units(config));
    step("basalt.swarm", () -> swarm(config));
    for (Script s : scripts) {
      step("script " + s.name(), () -> script(s));
    }
    return new ApplyReport(changes, actions, failures);
  }

  // ------------------------------------------------------------------ steps

  private void hostname(CloudConfig config) throws IOException {
    if (config.hostname() == null) {
      return;
    }
    if (writeFile("/etc/hostname", bytes(config.hostname() + "\n"), 0644, "root", "root")) {
      run("hostname", List.of("hostname", config.hostname()), new byte[0], true);
    }
  }

  private void etcHosts(CloudConfig config) throws IOException {
    if (!"localhost".equals(config.manageEtcHosts())) {
      return;
    }
    String host = config.hostname();
    Path hn = resolve("/etc/hostname");
    if (host == null && Files.isRegularFile(hn)) {
      host = Files.readString(hn, StandardCharsets.UTF_8).trim();
    }
    if (host == null || host.isEmpty()) {
      host = "localhost";
    }
    String names = host;
    int dot = host.indexOf('.');
    if (dot > 0) {
      names = host + " " + host.substring(0, dot);
    }
    String content =
        "# Written by basalt cloud-config (manage_etc_hosts: localhost)\n"
            + "127.0.0.1 "
            + names
            + " localhost\n"
            + "::1 "
            + names
            + " localhost\n";
    writeFile("/etc/hosts", bytes(content), 0644, "root", "root");
  }

  private void oem(CloudConfig config) throws IOException {
    Map<String, String> oem = config.coreos().oem();
    if (oem.isEmpty()) {
      return;
    }
    // coreos-cloudinit's OEMRelease.String(): ID, VERSION_ID, then quoted NAME, HOME_URL,
    // BUG_REPORT_URL.
    String content =
        "ID="
            + oem.getOrDefault("ID", "")
            + "\n"
            + "VERSION_ID="
            + oem.getOrDefault("VERSION_ID", "")
            + "\n"
            + "NAME="
            + goQuote(oem.getOrDefault("NAME", ""))
            + "\n"
            + "HOME_URL="
            + goQuote(oem.getOrDefault("HOME_URL", ""))
            + "\n"
            + "BUG_REPORT_URL="
            + goQuote(oem.getOrDefault("BUG_REPORT_URL", ""))
            + "\n";
    writeFile("/etc/oem-release", bytes(content), 0644, "root", "root");
  }

  /**
   * The update.conf that {@code config} makes of {@code existing} (the machine's current file, ""
   * when there is none): {@code existing} unchanged when the config sets no update keys.
   */
  public static String renderUpdateConf(CloudConfig config, String existing) {
    Map<String, String> wanted = UpdateConf.settings(config);
    return wanted.isEmpty() ? existing : UpdateConf.merge(existing, wanted);
  }

  private void updateConf(CloudConfig config) throws IOException {
    Map<String, String> wanted = UpdateConf.settings(config);
    if (wanted.isEmpty()) {
      return;
    }
    Path p = resolve(UPDATE_CONF);
    String existing = Files.isRegularFile(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    String merged = UpdateConf.merge(existing, wanted);
    // The operator's own lines count too: a password already there must not become readable.
    writeFile(
        UPDATE_CONF,
        bytes(merged),
        UpdateConf.holdsCredential(merged) ? 0600 : 0644,
        "root",
        "root");
  }

  private void users(CloudConfig config) throws IOException {
    List<CloudConfig.User> users = new ArrayList<>(config.users());
    Map<String, List<String>> keys = new LinkedHashMap<>();
    for (CloudConfig.User u : users) {
      keys.computeIfAbsent(u.name(), k -> new ArrayList<>()).addAll(u.sshAuthorizedKeys());
    }
    if (!config.sshAuthorizedKeys().isEmpty()) {
      if (users.stream().noneMatch(u -> u.name().equals("core"))) {
        users.add(
            new CloudConfig.User(
                "core", null, List.of(), null, null, false, null, List.of(), false, false, false,
                null));
      }
      keys.computeIfAbsent("core", k -> new ArrayList<>()).addAll(config.sshAuthorizedKeys());
    }
    for (CloudConfig.User u : users) {
      step("user " + u.name(), () -> user(u));
      List<String> k = keys.getOrDefault(u.name(), List.of());
      if (!k.isEmpty()) {
        step("ssh keys of " + u.name(), () -> authorizedKeys(u, k));
      }
    }
  }

  private void user(CloudConfig.User u) throws IOException {
    Accounts acc = accounts();
    List<String> wantedGroups = new ArrayList<>(u.groups());
    if (u.primaryGroup() != null && !wantedGroups.contains(u.primaryGroup())) {
      wantedGroups.add(0, u.primaryGroup());
    }
    for (String g : wantedGroups) {
      if (!acc.groups.containsKey(g)) {
        List<String> argv = new ArrayList<>(List.of("groupadd"));
        if (u.system()) {
          argv.add("--system");
        }
        argv.add(g);
        run("group " + g, argv, new byte[0], true);
      }
    }
    if (!acc.users.containsKey(u.name())) {
      run("user " + u.name(), useradd(u), new byte[0], true);
    } else {
      List<String> missing =
          u.groups().stream().filter(g -> !acc.inGroup(u.name(), g)).collect(Collectors.toList());
      if (!missing.isEmpty()) {
        run(
            "groups of " + u.name(),
            List.of("usermod", "--append", "--groups", String.join(",", missing), u.name()),
            new byte[0],
            true);
      }
    }
    if (u.passwd() != null && !u.passwd().equals(accounts().shadow.get(u.name()))) {
      // The hash goes through stdin, never argv (visible in /proc) or logs.
      run(
          "password of " + u.name(),
          List.of("chpasswd", "--encrypted"),
          (u.name() + ":" + u.passwd() + "\n").getBytes(StandardCharsets.UTF_8),
          true);
    }
  }

  /** useradd arguments as coreos-cloudinit built them (system/user.go), without the password. */
  static List<String> useradd(CloudConfig.User u) {
    List<String> a = new ArrayList<>(List.of("useradd"));
    if (u.gecos() != null) {
      a.addAll(List.of("--comment", u.gecos()));
    }
    if (u.homedir() != null) {
      a.addAll(List.of("--home-dir", u.homedir()));
    }
    a.add(u.noCreateHome() ? "--no-create-home" : "--create-home");
    if (u.primaryGroup() != null) {
      a.addAll(List.of("--gid", u.primaryGroup()));
    }
    if (!u.groups().isEmpty()) {
      a.addAll(List.of("--groups", String.join(",", u.groups())));
    }
    if (u.noUserGroup()) {
      a.add("--no-user-group");
    }
    if (u.system()) {
      a.add("--system");
    }
    if (u.noLogInit()) {
      a.add("--no-log-init");
    }
    if (u.shell() != null) {
      a.addAll(List.of("--shell", u.shell()));
    }
    a.add(u.name());
    return a;
  }

  private void authorizedKeys(CloudConfig.User u, List<String> keys) throws IOException {
    Accounts acc = accounts();
    Accounts.Passwd pw = acc.users.get(u.name());
    String home;
    String group;
    if (pw != null) {
      home = pw.home();
      group = acc.groupName(pw.gid());
    } else if (dryRun) {
      home = u.homedir() != null ? u.homedir() : "/home/" + u.name();
      group = u.primaryGroup() != null ? u.primaryGroup() : u.name();
    } else {
      throw new IOException("user " + u.name() + " does not exist after useradd");
    }
    PinnedDir h;
    try {
      h = openDir(home, dryRun);
    } catch (NoSuchFileException e) {
      throw new IOException(
          "home directory " + home + " of " + u.name() + " does not exist; keys not written", e);
    }
    // The home, ~/.ssh and authorized_keys.d belong to the user: every step below works relative
    // to a directory held open and never follows a link, so swapping ~/.ssh or a key file for a
    // link (to /root/.ssh, /etc/shadow) redirects nothing and reveals nothing.
    try (h;
        PinnedDir sshDir = ensureDir(h, ".ssh", 0700, u.name(), group);
        PinnedDir keysDir = ensureDir(sshDir, "authorized_keys.d", 0700, u.name(), group)) {
      StringBuilder b = new StringBuilder();
      for (String k : keys) {
        b.append(k.trim()).append('\n');
      }
      writeIn(keysDir, KEYS_FILE, bytes(b.toString()), 0600, u.name(), group);
      // authorized_keys is regenerated from every file in authorized_keys.d, in name order
      // (update-ssh-keys): only regular files the user owns, so a link or a hard link to a file
      // the user cannot read is never copied.
      StringBuilder all = new StringBuilder();
      for (String name : keysDir.names()) {
        if (name.startsWith(".")) {
          continue;
        }
        String c = keyFile(keysDir, name, u.name(), group);
        if (c == null) {
          continue;
        }
        all.append(c);
        if (!c.isEmpty() && !c.endsWith("\n")) {
          all.append('\n');
        }
      }
      writeIn(sshDir, "authorized_keys", bytes(all.toString()), 0600, u.name(), group);
    }
  }

  /** Largest file of authorized_keys.d that is copied. */
  static final int KEY_FILE_LIMIT = 1 << 20;

  /**
   * The content of key file {@code name}, or null (logged, naming the file) when it is not a
   * regular file the user owns, is too large, or changed while being read.
   */
  private String keyFile(PinnedDir dir, String name, String user, String group) throws IOException {
    String host = dir.hostPathOf(name);
    PosixFileAttributes before = dir.attributes(name);
    String why = null;
    if (before == null) {
      return null;
    } else if (before.isSymbolicLink()) {
      why = "a symbolic link (never followed)";
    } else if (!before.isRegularFile()) {
      why = "not a regular file";
    } else if (!dryRun && !before.owner().equals(principals(user, group).owner())) {
      why = "owned by " + before.owner().getName() + ", not " + user;
    } else if (before.size() > KEY_FILE_LIMIT) {
      why = "larger than " + KEY_FILE_LIMIT + " bytes";
    }
    byte[] data = null;
    if (why == null) {
      try {
        data = dir.read(name, KEY_FILE_LIMIT);
      } catch (IOException e) {
        why = "unreadable without following a link: " + e.getMessage();
      }
    }
    if (why == null) {
      PosixFileAttributes after = dir.attributes(name);
      if (after == null
          || !Objects.equals(before.fileKey(), after.fileKey())
          || data.length > KEY_FILE_LIMIT) {
        why = "changed while being read";
      }
    }
    if (why != null) {
      log.accept("skipped " + host + ": " + why);
      return null;
    }
    return new String(data, StandardCharsets.UTF_8);
  }

  private void units(CloudConfig config) {
    List<CloudConfig.Unit> units = new ArrayList<>(ServiceDropIns.units(config));
    units.addAll(config.coreos().units());
    boolean reload = false;
    boolean networkd = false;
    for (CloudConfig.Unit u : units) {
      boolean[] changed = {false};
      // networkd reads .network/.netdev/.link from /etc|/run/systemd/network (coreos-cloudinit
      // Unit.Destination).
      String dir =
          (u.runtime() ? "/run" : "/etc")
              + (u.isNetworkdUnit() ? "/systemd/network" : "/systemd/system");
      step(
          "unit " + u.name(),
          () -> {
            String path = dir + "/" + u.name();
            if (u.mask()) {
              changed[0] |= symlink(path, "/dev/null");
            } else if (u.content() != null) {
              changed[0] |=
                  writeFile(path, bytes(u.content()), unitMode(u.content()), "root", "root");
            } else {
              changed[0] |= unmask(path);
            }
            for (CloudConfig.DropIn d : u.dropIns()) {
              changed[0] |=
                  writeFile(
                      dir + "/" + u.name() + ".d/" + d.name(),
                      bytes(d.content() == null ? "" : d.content()),
                      unitMode(d.content()),
                      "root",
                      "root");
            }
          });
      if (changed[0]) {
        if (u.isNetworkdUnit()) {
          networkd = true;
        } else {
          reload = true;
        }
      }
    }
    if (reload) {
      run("daemon-reload", List.of("systemctl", "daemon-reload"), new byte[0], true);
    }
    for (CloudConfig.Unit u : units) {
      if (u.enable() && !u.mask() && !u.isNetworkdUnit()) {
        run("enable " + u.name(), List.of("systemctl", "enable", u.name()), new byte[0], false);
      }
    }
    for (CloudConfig.Unit u : units) {
      if (u.command() != null && !u.isNetworkdUnit()) {
        // --no-block: this runs from a unit ordered before the services it starts; waiting would
        // deadlock.
        run(
            u.command() + " " + u.name(),
            List.of("systemctl", "--no-block", u.command(), u.name()),
            new byte[0],
            false);
      }
    }
    if (networkd) {
      run(
          "restart systemd-networkd",
          List.of("systemctl", "--no-block", "restart", "systemd-networkd.service"),
          new byte[0],
          true);
    }
  }

  /**
   * {@code basalt.swarm}: {@link HostPaths#SWARM_CONF}, then {@code systemctl enable} of {@link
   * SwarmConf#UNIT} and a start without waiting (a restart when the settings changed, so a running
   * node applies new labels).
   */
  private void swarm(CloudConfig config) throws IOException {
    CloudConfig.Swarm s = config.swarm();
    if (s == null) {
      return;
    }
    SwarmConf conf;
    try {
      conf =
          new SwarmConf(
              SwarmConf.Role.of(s.role()),
              s.advertiseAddr(),
              s.cluster(),
              new TreeMap<>(s.labels()));
    } catch (IllegalArgumentException e) {
      throw new IOException(
          e.getMessage()
              + (s.advertiseAddr().startsWith("$")
                  ? " (no datasource gave a value for " + s.advertiseAddr() + ")"
                  : ""),
          e);
    }
    boolean changed = writeFile(HostPaths.SWARM_CONF, bytes(conf.render()), 0644, "root", "root");
    run(
        "enable " + SwarmConf.UNIT,
        List.of("systemctl", "enable", SwarmConf.UNIT),
        new byte[0],
        false);
    // --no-block: cloud-config runs before docker, which the unit waits for.
    run(
        (changed ? "restart " : "start ") + SwarmConf.UNIT,
        List.of("systemctl", "--no-block", changed ? "restart" : "start", SwarmConf.UNIT),
        new byte[0],
        false);
  }

  /**
   * 0600 for a unit or drop-in that sets a credential ({@code
   * Environment="FLANNELD_ETCD_PASSWORD=..."}: systemd reads it as root), else 0644.
   */
  private static int unitMode(String content) {
    return ServiceDropIns.holdsCredential(content) ? 0600 : 0644;
  }

  private void script(Script s) throws IOException {
    String sha = sha256(s.content()).substring(0, 16);
    String marker = SCRIPT_MARKERS + "/" + sha;
    if (Files.exists(resolve(marker))) {
      return;
    }
    String path = SCRIPTS_DIR + "/" + s.name();
    writeFile(path, bytes(s.content()), 0700, "root", "root");
    run(
        "script " + s.name(),
        List.of(
            "systemd-run",
            "--no-block",
            "--unit=basalt-cloudinit-script-" + sha + ".service",
            "--description=cloud-config user-data " + s.name(),
            path),
        new byte[0],
        false);
    writeFile(marker, bytes(s.name() + "\n"), 0644, "root", "root");
  }

  // ------------------------------------------------------------------ files

  /**
   * Writes {@code hostPath} when its bytes, mode or owner differ; returns whether it changed
   * anything.
   */
  boolean writeFile(String hostPath, byte[] data, int mode, String user, String group)
      throws IOException {
    Path p = resolve(hostPath);
    if (checkParents(hostPath, p)) {
      try (PinnedDir d = openDir("/" + root.normalize().relativize(p.getParent()), false)) {
        return writeIn(d, p.getFileName().toString(), data, mode, user, group);
      }
    }
    int[] ids = dryRun ? null : ids(user, group);
    if (unchanged(p, data, mode, user, group, ids)) {
      return false;
    }
    AtomicFiles.write(
        p,
        tmp -> {
          // Owner-only before the content goes in: the temp file never shows a secret to others.
          setMode(tmp, 0600);
          Files.write(tmp, data);
          // Owner first: chown clears the set-user/group-ID bits the mode may carry.
          setOwner(tmp, user, group, ids);
          setMode(tmp, mode);
          return null;
        });
    wrote(hostPath, mode, user, group);
    return true;
  }

  private void wrote(String hostPath, int mode, String user, String group) {
    change(
        (dryRun ? "would write " : "wrote ")
            + hostPath
            + " (mode "
            + octal(mode)
            + ", owner "
            + (group == null ? user : user + ":" + group)
            + ")");
  }

  /**
   * Writes entry {@code name} of {@code dir}, a directory a user controls, when its bytes, mode or
   * owner differ, relative to the open directory ({@link AtomicFiles#writeIn}); returns whether it
   * changed anything.
   */
  private boolean writeIn(
      PinnedDir dir, String name, byte[] data, int mode, String user, String group)
      throws IOException {
    String host = dir.hostPathOf(name);
    if ((mode & ~0777) != 0) {
      throw new IOException(
          host
              + ": mode "
              + octal(mode)
              + " has set-user-ID, set-group-ID or sticky bits, refused in "
              + dir.hostPath
              + " (a directory a user other than root can change)");
    }
    Principals who = dryRun ? null : principals(user, group);
    PosixFileAttributes a = dir.attributes(name);
    if (a != null
        && a.isRegularFile()
        && modeOf(a.permissions()) == mode
        && (who == null || (a.owner().equals(who.owner()) && a.group().equals(who.group())))
        && a.size() == data.length
        && Arrays.equals(dir.read(name, data.length), data)) {
      return false;
    }
    AtomicFiles.writeIn(
        dir.stream,
        dir.path,
        dir.entry(name),
        data,
        perms(mode),
        who == null ? null : who.owner(),
        who == null ? null : who.group());
    wrote(host, mode, user, group);
    return true;
  }

  /** The owner and group of a written file, as principals of the root's file system. */
  private record Principals(UserPrincipal owner, GroupPrincipal group) {}

  private Principals principals(String user, String group) throws IOException {
    UserPrincipalLookupService lookup = root.getFileSystem().getUserPrincipalLookupService();
    if (numericOwners) {
      // The root's passwd decides the ids (it may not be this machine's); a name that is all
      // digits is looked up as that id when no such name exists (shadow-utils refuses such names).
      int[] ids = ids(user, group);
      return new Principals(
          lookup.lookupPrincipalByName(Integer.toString(ids[0])),
          lookup.lookupPrincipalByGroupName(Integer.toString(ids[1])));
    }
    return new Principals(
        lookup.lookupPrincipalByName(user),
        lookup.lookupPrincipalByGroupName(group != null ? group : groupOf(user)));
  }

  private boolean symlink(String hostPath, String target) throws IOException {
    Path p = resolve(hostPath);
    if (checkParents(hostPath, p)) {
      throw new IOException(
          hostPath + ": refused, its directory is one a user other than root can change");
    }
    if (Files.isSymbolicLink(p) && Files.readSymbolicLink(p).toString().equals(target)) {
      return false;
    }
    AtomicFiles.symlink(p, p.getFileSystem().getPath(target));
    change("masked " + hostPath + " -> " + target);
    return true;
  }

  private boolean unmask(String hostPath) throws IOException {
    Path p = resolve(hostPath);
    if (!Files.isSymbolicLink(p)) {
      return false;
    }
    if (checkParents(hostPath, p)) {
      throw new IOException(
          hostPath + ": refused, its directory is one a user other than root can change");
    }
    if (Files.readSymbolicLink(p).toString().equals("/dev/null")) {
      Files.delete(p);
      change("unmasked " + hostPath);
      return true;
    }
    return false;
  }

  /**
   * Checks the directories from the root down to {@code p}'s parent one component at a time (never
   * following a link), making missing ones. Returns true when one of them is owned by a user other
   * than root or writable by others without the sticky bit (such a directory can change after this
   * check: writes in it go through {@link PinnedDir}).
   *
   * @throws IOException naming the component when it is a symbolic link or not a directory
   */
  private boolean checkParents(String hostPath, Path p) throws IOException {
    Path parent = p.getParent();
    Boolean known = checkedDirs.get(parent);
    if (known != null) {
      return known;
    }
    Path base = root.normalize();
    Path cur = base;
    String host = "";
    boolean userControlled = false;
    for (Path name : base.relativize(parent)) {
      if (name.toString().isEmpty()) {
        continue; // the root itself: trusted
      }
      cur = cur.resolve(name.toString());
      host = host + "/" + name;
      Boolean k = checkedDirs.get(cur);
      if (k != null) {
        userControlled = k;
        continue;
      }
      PosixFileAttributes a;
      try {
        a = Files.readAttributes(cur, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        Files.createDirectory(cur);
        a = Files.readAttributes(cur, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      }
      if (a.isSymbolicLink()) {
        throw new IOException(hostPath + ": refused: " + PinnedDir.symlinkRefused(host, cur));
      }
      if (!a.isDirectory()) {
        throw new IOException(hostPath + ": refused: " + host + " is not a directory");
      }
      if (!dryRun && !userControlled) {
        int m = modeOf(a.permissions());
        boolean sticky =
            numericOwners
                && (((Integer) Files.getAttribute(cur, "unix:mode", LinkOption.NOFOLLOW_LINKS))
                        & 01000)
                    != 0;
        userControlled = !isRoot(a.owner()) || ((m & 0022) != 0 && !sticky);
      }
      checkedDirs.put(cur, userControlled);
    }
    return userControlled;
  }

  private boolean isRoot(UserPrincipal owner) throws IOException {
    UserPrincipalLookupService lookup = root.getFileSystem().getUserPrincipalLookupService();
    return owner.equals(lookup.lookupPrincipalByName(numericOwners ? "0" : "root"));
  }

  /**
   * Opens {@code hostPath} under the root, walking from the root one component at a time without
   * following a link; missing directories are made when {@code create}.
   *
   * @throws NoSuchFileException when a directory is missing and not to be made
   */
  private PinnedDir openDir(String hostPath, boolean create) throws IOException {
    resolve(hostPath.isEmpty() ? "/" : hostPath);
    PinnedDir cur = PinnedDir.root(root.normalize());
    try {
      for (String name : hostPath.split("/")) {
        if (name.isEmpty()) {
          continue;
        }
        PinnedDir next = cur.child(name, create);
        cur.close();
        cur = next;
      }
      return cur;
    } catch (IOException | RuntimeException e) {
      cur.close();
      throw e;
    }
  }

  /**
   * Opens the subdirectory {@code name} of {@code parent} (made when missing) and gives it {@code
   * mode} and owner through its own descriptor.
   */
  private PinnedDir ensureDir(PinnedDir parent, String name, int mode, String user, String group)
      throws IOException {
    PinnedDir d = parent.child(name, true);
    try {
      Principals who = dryRun ? null : principals(user, group);
      PosixFileAttributeView v = d.view();
      PosixFileAttributes a = v.readAttributes();
      if (modeOf(a.permissions()) == mode
          && (who == null || (a.owner().equals(who.owner()) && a.group().equals(who.group())))) {
        return d;
      }
      if (who != null) {
        v.setOwner(who.owner());
        v.setGroup(who.group());
      }
      v.setPermissions(perms(mode));
      change(
          (dryRun ? "would make directory " : "made directory ")
              + d.hostPath
              + " (mode "
              + octal(mode)
              + ", owner "
              + (group == null ? user : user + ":" + group)
              + ")");
      return d;
    } catch (IOException | RuntimeException e) {
      d.close();
      throw e;
    }
  }

  /**
   * Whether {@code p} is a regular file with exactly these bytes, mode and owner. On the default
   * file system one lstat answers type, mode and owner (this runs for every file on every boot).
   */
  private boolean unchanged(Path p, byte[] data, int mode, String user, String group, int[] ids)
      throws IOException {
    if (!numericOwners) {
      return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
          && Arrays.equals(Files.readAllBytes(p), data)
          && modeOf(p) == mode
          && ownerMatches(p, user, group, ids);
    }
    Map<String, Object> a;
    try {
      a = Files.readAttributes(p, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return false; // missing or unreadable: (re)written
    }
    int m = (Integer) a.get("mode");
    return (m & 0170000) == 0100000
        && (m & 07777) == mode
        && (dryRun || ((Integer) a.get("uid") == ids[0] && (Integer) a.get("gid") == ids[1]))
        && Arrays.equals(Files.readAllBytes(p), data);
  }

  private Path resolve(String hostPath) throws IOException {
    if (!hostPath.startsWith("/")) {
      throw new IOException("not an absolute path: " + hostPath);
    }
    Path p = root.resolve(hostPath.substring(1)).normalize();
    if (!p.startsWith(root.normalize())) {
      throw new IOException("path escapes the root: " + hostPath);
    }
    return p;
  }

  private int modeOf(Path p) throws IOException {
    if (numericOwners) {
      return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
    }
    int m = 0;
    for (PosixFilePermission perm : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
      m |= 1 << (8 - perm.ordinal());
    }
    return m;
  }

  private static int modeOf(Set<PosixFilePermission> perms) {
    int m = 0;
    for (PosixFilePermission perm : perms) {
      m |= 1 << (8 - perm.ordinal());
    }
    return m;
  }

  private static Set<PosixFilePermission> perms(int mode) {
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        perms.add(perm);
      }
    }
    return perms;
  }

  private void setMode(Path p, int mode) throws IOException {
    if (numericOwners) {
      Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
      return;
    }
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        perms.add(perm);
      }
    }
    Files.setPosixFilePermissions(p, perms);
  }

  /** uid and gid of {@code user}/{@code group} from the root's passwd and group files. */
  private int[] ids(String user, String group) throws IOException {
    Accounts acc = accounts();
    int uid;
    if (acc.users.containsKey(user)) {
      uid = acc.users.get(user).uid();
    } else if (user.equals("root")) {
      uid = 0;
    } else {
      throw new IOException("owner user '" + user + "' does not exist");
    }
    int gid;
    if (group == null) {
      gid = acc.users.containsKey(user) ? acc.users.get(user).gid() : 0;
    } else if (acc.groups.containsKey(group)) {
      gid = acc.groups.get(group).gid();
    } else if (group.equals("root")) {
      gid = 0;
    } else {
      throw new IOException("owner group '" + group + "' does not exist");
    }
    return new int[] {uid, gid};
  }

  private boolean ownerMatches(Path p, String user, String group, int[] ids) throws IOException {
    if (dryRun) {
      return true;
    }
    if (numericOwners) {
      return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) == ids[0]
          && (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS) == ids[1];
    }
    PosixFileAttributeView v =
        Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    String g = group != null ? group : groupOf(user);
    return v.getOwner().getName().equals(user) && v.readAttributes().group().getName().equals(g);
  }

  private void setOwner(Path p, String user, String group, int[] ids) throws IOException {
    if (dryRun) {
      return;
    }
    if (numericOwners) {
      Files.setAttribute(p, "unix:uid", ids[0], LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", ids[1], LinkOption.NOFOLLOW_LINKS);
      return;
    }
    UserPrincipalLookupService lookup = p.getFileSystem().getUserPrincipalLookupService();
    UserPrincipal owner = lookup.lookupPrincipalByName(user);
    GroupPrincipal g = lookup.lookupPrincipalByGroupName(group != null ? group : groupOf(user));
    PosixFileAttributeView v =
        Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    v.setOwner(owner);
    v.setGroup(g);
  }

  private String groupOf(String user) throws IOException {
    Accounts acc = accounts();
    Accounts.Passwd pw = acc.users.get(user);
    String g = pw == null ? null : acc.groupName(pw.gid());
    return g != null ? g : "root";
  }

  // ------------------------------------------------------------------ plumbing

  /** passwd/group/shadow under the root, re-read after any system tool ran (they change them). */
  private Accounts accounts() throws IOException {
    if (accounts == null) {
      accounts = Accounts.read(root);
    }
    return accounts;
  }

  private interface Step {
    void run() throws IOException;
  }

  private void step(String what, Step s) {
    try {
      s.run();
    } catch (IOException | RuntimeException e) {
      fail(
          what
              + ": "
              + (e.getMessage() == null || e instanceof RuntimeException
                  ? e.toString()
                  : e.getMessage()));
    }
  }

  private void run(String what, List<String> argv, byte[] stdin, boolean isChange) {
    try {
      accounts = null;
      SystemTools.Result r = tools.run(argv, stdin);
      if (!r.ok()) {
        fail(
            what
                + ": "
                + display(argv)
                + " exited with "
                + r.exitCode()
                + (r.output().isEmpty() ? "" : ": " + r.output()));
        return;
      }
      String verb = dryRun ? "would run " : "ran ";
      if (isChange) {
        change(verb + display(argv));
      } else {
        actions.add(verb + display(argv));
        log.accept(verb + display(argv));
      }
    } catch (IOException e) {
      fail(what + ": " + e.getMessage());
    }
  }

  /** argv for logs: arguments with spaces or quotes single-quoted (shell style). */
  static String display(List<String> argv) {
    StringBuilder b = new StringBuilder();
    for (String a : argv) {
      if (b.length() > 0) {
        b.append(' ');
      }
      b.append(shellSafe(a) ? a : "'" + a.replace("'", "'\\''") + "'");
    }
    return b.toString();
  }

  /**
   * Whether {@code a} is non-empty and only [A-Za-z0-9_@%+=:,./-] (no regex: this runs per
   * argument).
   */
  static boolean shellSafe(String a) {
    if (a.isEmpty()) {
      return false;
    }
    for (int i = 0; i < a.length(); i++) {
      char c = a.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || "_@%+=:,./-".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private void change(String what) {
    changes.add(what);
    log.accept(what);
  }

  private void fail(String what) {
    failures.add(what);
    log.accept("FAILED: " + what);
  }

  static String[] splitOwner(String owner) {
    if (owner == null || owner.isEmpty()) {
      return new String[] {"root", "root"};
    }
    int colon = owner.indexOf(':');
    return colon < 0
        ? new String[] {owner, null}
        : new String[] {owner.substring(0, colon), owner.substring(colon + 1)};
  }

  /**
   * A mode as four octal digits (not String.format: it is slow on a cold JVM, and this runs per
   * file).
   */
  static String octal(int mode) {
    String o = Integer.toOctalString(mode);
    return "0000".substring(Math.min(4, o.length())) + o;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Go's %q for printable ASCII strings. */
  private static String goQuote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(s)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
