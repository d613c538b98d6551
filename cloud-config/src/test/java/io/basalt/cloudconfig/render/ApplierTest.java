package io.basalt.cloudconfig.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.CloudConfig;
import io.basalt.cloudconfig.Script;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The applier against an in-memory root and a fake system (useradd & co. edit etc/passwd there).
 */
class ApplierTest {

  private FileSystem fs;
  private Path root;
  private FakeSystemTools tools;
  private final List<String> log = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    fs = TestFs.unix();
    root = fs.getPath("/host");
    Files.createDirectories(root);
    tools = new FakeSystemTools(root);
  }

  @AfterEach
  void tearDown() throws Exception {
    fs.close();
  }

  private ApplyReport apply(CloudConfig config, List<Script> scripts) {
    return new Applier(root, tools, false, log::add).apply(config, scripts);
  }

  private static CloudConfig corpus(String name) throws Exception {
    UserData ud =
        RenderGoldenTest.parse(Path.of(ApplierTest.class.getResource("/corpus/" + name).toURI()));
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    return ud.config();
  }

  private static CloudConfig parse(String yaml) {
    UserData ud = UserDataParser.parse(yaml, ValidationOptions.defaultImage());
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    return ud.config();
  }

  private PosixFileAttributes attrs(String hostPath) throws Exception {
    return Files.readAttributes(root.resolve(hostPath.substring(1)), PosixFileAttributes.class);
  }

  @Test
  void everyCorpusConfigAppliedTwiceChangesNothingTheSecondTime() throws Exception {
    List<String> names;
    try (Stream<Path> s = Files.list(Path.of(getClass().getResource("/corpus").toURI()))) {
      names =
          s.map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".yml"))
              .sorted()
              .collect(Collectors.toList());
    }
    for (String name : names) {
      CloudConfig config = corpus(name);
      ApplyReport first = apply(config, List.of());
      assertTrue(first.ok(), name + ": " + first.failures());
      assertFalse(first.changes().isEmpty(), name);
      String before = TreeDump.dump(root, true);
      int commandsBefore = tools.commands.size();
      ApplyReport second = apply(config, List.of());
      assertTrue(second.ok(), name + ": " + second.failures());
      assertEquals(List.of(), second.changes(), name + ": second apply changed something");
      assertEquals(before, TreeDump.dump(root, true), name);
      // Only the per-boot unit commands and enables are issued again; never accounts, hostname or
      // reloads.
      for (String c : tools.commands.subList(commandsBefore, tools.commands.size())) {
        assertTrue(
            c.startsWith("systemctl --no-block ") || c.startsWith("systemctl enable "),
            name + ": " + c);
      }
    }
  }

  @Test
  void usersGroupsKeysAndOwners() throws Exception {
    ApplyReport r = apply(corpus("users.yml"), List.of());
    assertTrue(r.ok(), r.failures().toString());
    String passwd = Files.readString(root.resolve("etc/passwd"));
    assertTrue(
        passwd.contains("elroy:x:1000:1001::/home/elroy:/bin/sh"),
        passwd); // gid 1000 went to docker
    assertTrue(passwd.contains("deploy:x:999:100:Deployment bot:/var/lib/deploy:/bin/sh"), passwd);
    String group = Files.readString(root.resolve("etc/group"));
    assertTrue(group.contains("sudo:x:27:elroy"), group);
    assertTrue(group.contains("docker:x:1000:elroy"), group);
    assertTrue(Files.readString(root.resolve("etc/shadow")).contains("elroy:$6$5s2u6/jR$"));
    PosixFileAttributes keys = attrs("/home/elroy/.ssh/authorized_keys");
    assertEquals("elroy", keys.owner().getName());
    assertEquals("elroy", keys.group().getName());
    assertEquals(0600, TreeDump.mode(keys));
    assertEquals(0700, TreeDump.mode(attrs("/home/elroy/.ssh")));
    assertEquals("users", attrs("/var/lib/deploy/.ssh/authorized_keys").group().getName());
    // The password hash went through stdin only: never in argv, never in the log.
    assertEquals(1, tools.stdins.size());
    for (String line : tools.commands) {
      assertFalse(line.contains("$6$"), line);
    }
    for (String line : log) {
      assertFalse(line.contains("$6$") || line.contains("AAAA"), line);
    }
  }

  @Test
  void existingUserGetsMissingGroupsAndNewPassword() throws Exception {
    apply(parse("#cloud-config\nusers:\n  - name: ops\n    groups: [sudo]\n"), List.of());
    tools.commands.clear();
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\nusers:\n  - name: ops\n    groups: [sudo, adm]\n    passwd: $6$x$y\n"),
            List.of());
    assertTrue(r.ok(), r.failures().toString());
    assertEquals(
        List.of("groupadd adm", "usermod --append --groups adm ops", "chpasswd --encrypted"),
        tools.commands);
  }

  @Test
  void filesGetOwnerModeAndContentAtomically() throws Exception {
    ApplyReport r = apply(corpus("files.yml"), List.of());
    assertTrue(r.ok(), r.failures().toString());
    PosixFileAttributes a = attrs("/etc/app/config.json");
    assertEquals("app", a.owner().getName());
    assertEquals("app", a.group().getName());
    assertEquals(0600, TreeDump.mode(a));
    assertEquals(0755, TreeDump.mode(attrs("/opt/bin/backup.sh")));
    assertTrue(Files.readString(root.resolve("etc/motd")).startsWith("Welcome to Basalt."));
    try (Stream<Path> s = Files.walk(root)) {
      assertTrue(
          s.noneMatch(
              p ->
                  p.getFileName() != null
                      && p.getFileName().toString().endsWith(".cloud-config.tmp")));
    }
  }

  @Test
  void missingOwnerFailsThatFileOnly() throws Exception {
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\nwrite_files:\n  - path: /etc/a\n    owner: nobody-here\n"
                    + "  - path: /etc/b\n    content: b\n"),
            List.of());
    assertEquals(1, r.failures().size(), r.failures().toString());
    assertTrue(r.failures().get(0).contains("owner user 'nobody-here' does not exist"));
    assertFalse(Files.exists(root.resolve("etc/a")));
    assertEquals("b", Files.readString(root.resolve("etc/b")));
  }

  @Test
  void oneFailingUnitCommandDoesNotStopTheOthers() throws Exception {
    tools.failing.add("systemctl --no-block start a.service");
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\ncoreos:\n  units:\n    - name: a.service\n      command: start\n"
                    + "    - name: b.service\n      command: start\n      content: \"[Service]\\nExecStart=/bin/true\\n\"\n"),
            List.of());
    assertEquals(1, r.failures().size());
    assertTrue(tools.commands.contains("systemctl --no-block start b.service"));
    assertEquals(
        1, tools.commands.stream().filter(c -> c.equals("systemctl daemon-reload")).count());
  }

  @Test
  void maskUnmaskAndRuntimeUnits() throws Exception {
    apply(
        parse(
            "#cloud-config\ncoreos:\n  units:\n    - name: m.service\n      mask: true\n"
                + "    - name: r.service\n      runtime: true\n      content: x\n"),
        List.of());
    Path m = root.resolve("etc/systemd/system/m.service");
    assertTrue(Files.isSymbolicLink(m));
    assertEquals("/dev/null", Files.readSymbolicLink(m).toString());
    assertTrue(Files.exists(root.resolve("run/systemd/system/r.service")));
    tools.commands.clear();
    ApplyReport r =
        apply(
            parse("#cloud-config\ncoreos:\n  units:\n    - name: m.service\n      mask: false\n"),
            List.of());
    assertTrue(r.ok());
    assertFalse(Files.exists(m, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertEquals(List.of("systemctl daemon-reload"), tools.commands);
  }

  @Test
  void networkdUnitsGoToSystemdNetwork() throws Exception {
    apply(
        parse(
            "#cloud-config\ncoreos:\n  units:\n    - name: 10-a.network\n      content: x\n"
                + "    - name: 20-b.netdev\n      runtime: true\n      content: y\n"),
        List.of());
    assertTrue(Files.exists(root.resolve("etc/systemd/network/10-a.network")));
    assertTrue(Files.exists(root.resolve("run/systemd/network/20-b.netdev")));
    assertEquals(List.of("systemctl --no-block restart systemd-networkd.service"), tools.commands);
  }

  @Test
  void networkdUnitsRestartNetworkdOnlyWhenChanged() throws Exception {
    CloudConfig c =
        parse(
            "#cloud-config\ncoreos:\n  units:\n    - name: 10-eth0.network\n      command: start\n"
                + "      content: \"[Match]\\nName=eth0\\n\"\n");
    apply(c, List.of());
    assertTrue(tools.commands.contains("systemctl --no-block restart systemd-networkd.service"));
    assertFalse(tools.commands.contains("systemctl --no-block start 10-eth0.network"));
    tools.commands.clear();
    apply(c, List.of());
    assertEquals(List.of(), tools.commands);
  }

  @Test
  void updateConfMergesWithTheOperatorsLines() throws Exception {
    Files.createDirectories(root.resolve("etc/basalt"));
    Files.writeString(
        root.resolve("etc/basalt/update.conf"), "# mine\nSERVER=https://old\nCHECK_INTERVAL=1h\n");
    apply(
        parse(
            "#cloud-config\ncoreos:\n  update:\n    server: https://new.example.com\n    reboot-strategy: best-effort\n"),
        List.of());
    assertEquals(
        "# mine\nSERVER=https://new.example.com\nCHECK_INTERVAL=1h\nREBOOT_STRATEGY=reboot\n",
        Files.readString(root.resolve("etc/basalt/update.conf")));
  }

  @Test
  void scriptsRunOncePerBoot() throws Exception {
    Script s = new Script("user-data", "#!/bin/sh\necho hi\n");
    apply(CloudConfig.empty(), List.of(s));
    apply(CloudConfig.empty(), List.of(s));
    List<String> runs =
        tools.commands.stream()
            .filter(c -> c.startsWith("systemd-run"))
            .collect(Collectors.toList());
    assertEquals(1, runs.size(), runs.toString());
    assertTrue(runs.get(0).endsWith(Applier.SCRIPTS_DIR + "/user-data"));
    assertEquals(0700, TreeDump.mode(attrs(Applier.SCRIPTS_DIR + "/user-data")));
    // A new boot (tmpfs /run emptied) runs it again.
    deleteTree(root.resolve("run"));
    apply(CloudConfig.empty(), List.of(s));
    assertEquals(2, tools.commands.stream().filter(c -> c.startsWith("systemd-run")).count());
  }

  @Test
  void etcHostsUsesTheHostname() throws Exception {
    apply(parse("#cloud-config\nhostname: node7\nmanage_etc_hosts: localhost\n"), List.of());
    assertEquals(
        "# Written by basalt cloud-config (manage_etc_hosts: localhost)\n127.0.0.1 node7 localhost\n"
            + "::1 node7 localhost\n",
        Files.readString(root.resolve("etc/hosts"), StandardCharsets.UTF_8));
    assertTrue(tools.commands.contains("hostname node7"));
  }

  private static final String ELROY =
      "#cloud-config\nusers:\n  - name: elroy\n    ssh-authorized-keys:\n"
          + "      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE5vQ2Zl8yZQ9a0hQwz3D+8i9Dq0Wq1bOqlH4lmBXQJx elroy@desk\n";

  @Test
  void symlinkedOrForeignKeyFilesInAuthorizedKeysDAreNotCopied() throws Exception {
    assertTrue(apply(parse(ELROY), List.of()).ok());
    Path secret = fs.getPath("/outside/shadow");
    Files.createDirectories(secret.getParent());
    Files.writeString(secret, "root:TOP-SECRET-HASH:19000::::::\n");
    Path keysD = root.resolve("home/elroy/.ssh/authorized_keys.d");
    Files.createSymbolicLink(keysD.resolve("evil"), secret);
    // A hard link to a file the user does not own reads as a regular file: the owner tells.
    Path rootsOwn = root.resolve("etc/root-only");
    Files.writeString(rootsOwn, "ROOT-ONLY-CONTENT\n");
    Files.setOwner(rootsOwn, fs.getUserPrincipalLookupService().lookupPrincipalByName("root"));
    Files.createLink(keysD.resolve("linked"), rootsOwn);
    Path laptop = keysD.resolve("laptop");
    Files.writeString(laptop, "ssh-ed25519 AAAAlaptop elroy@laptop\n");
    Files.setOwner(laptop, fs.getUserPrincipalLookupService().lookupPrincipalByName("elroy"));
    log.clear();
    ApplyReport r = apply(parse(ELROY), List.of());
    assertTrue(r.ok(), r.failures().toString());
    String keys = Files.readString(root.resolve("home/elroy/.ssh/authorized_keys"));
    assertFalse(keys.contains("TOP-SECRET"), keys);
    assertFalse(keys.contains("ROOT-ONLY"), keys);
    assertTrue(keys.contains("elroy@laptop"), keys);
    assertTrue(keys.contains("elroy@desk"), keys);
    assertTrue(
        log.stream()
            .anyMatch(
                l -> l.contains("/home/elroy/.ssh/authorized_keys.d/evil") && l.contains("link")),
        log.toString());
    assertTrue(
        log.stream().anyMatch(l -> l.contains("/home/elroy/.ssh/authorized_keys.d/linked")),
        log.toString());
  }

  @Test
  void sshDirectorySwappedForASymlinkIsRefused() throws Exception {
    assertTrue(apply(parse(ELROY), List.of()).ok());
    Path ssh = root.resolve("home/elroy/.ssh");
    Path elsewhere = root.resolve("root/.ssh");
    Files.createDirectories(elsewhere.resolve("authorized_keys.d"));
    Files.writeString(elsewhere.resolve("authorized_keys"), "ssh-ed25519 AAAAroot root@admin\n");
    deleteTree(ssh);
    Files.createSymbolicLink(ssh, elsewhere);
    ApplyReport r = apply(parse(ELROY), List.of());
    assertEquals(1, r.failures().size(), r.failures().toString());
    String f = r.failures().get(0);
    assertTrue(f.contains("/home/elroy/.ssh") && f.contains("symbolic link"), f);
    assertEquals(
        "ssh-ed25519 AAAAroot root@admin\n",
        Files.readString(elsewhere.resolve("authorized_keys")));
    try (Stream<Path> s = Files.list(elsewhere.resolve("authorized_keys.d"))) {
      assertEquals(0, s.count());
    }
  }

  @Test
  void userOwnedSymlinkInAWritePathIsRefused() throws Exception {
    assertTrue(apply(parse(ELROY), List.of()).ok());
    Files.createSymbolicLink(root.resolve("home/elroy/app"), root.resolve("etc"));
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\nwrite_files:\n  - path: /home/elroy/app/sudoers\n"
                    + "    content: x\n"),
            List.of());
    assertEquals(1, r.failures().size(), r.failures().toString());
    String f = r.failures().get(0);
    assertTrue(f.contains("/home/elroy/app") && f.contains("symbolic link"), f);
    assertFalse(Files.exists(root.resolve("etc/sudoers")));
  }

  @Test
  void flannelCredentialsAreWrittenOwnerOnly() throws Exception {
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\ncoreos:\n  flannel:\n    etcd_endpoints: http://127.0.0.1:2379\n"
                    + "    etcd_username: flannel\n    etcd_password: s3cret\n"
                    + "  fleet:\n    metadata: region=x\n"
                    + "  units:\n    - name: app.service\n      drop_ins:\n"
                    + "        - name: 10-db.conf\n"
                    + "          content: \"[Service]\\nEnvironment=DB_USER=app DB_PASSWORD=pw\\n\"\n"),
            List.of());
    assertTrue(r.ok(), r.failures().toString());
    assertEquals(0600, TreeDump.mode(attrs("/run/flannel/options.env")));
    assertEquals(
        0600, TreeDump.mode(attrs("/run/systemd/system/flanneld.service.d/20-cloudinit.conf")));
    assertEquals(0600, TreeDump.mode(attrs("/etc/systemd/system/app.service.d/10-db.conf")));
    // Units without a credential keep the usual mode.
    assertEquals(
        0644, TreeDump.mode(attrs("/run/systemd/system/fleet.service.d/20-cloudinit.conf")));
  }

  @Test
  void updateConfHoldingTheOperatorsPasswordStaysOwnerOnly() throws Exception {
    Files.createDirectories(root.resolve("etc/basalt"));
    Files.writeString(
        root.resolve("etc/basalt/update.conf"), "LOCKSMITHD_ETCD_PASSWORD=operators-secret\n");
    ApplyReport r = apply(parse("#cloud-config\ncoreos:\n  update:\n    group: beta\n"), List.of());
    assertTrue(r.ok(), r.failures().toString());
    assertEquals(0600, TreeDump.mode(attrs("/etc/basalt/update.conf")));
  }

  @Test
  void setUidFileInAUserOwnedDirectoryIsRefused() throws Exception {
    assertTrue(apply(parse(ELROY), List.of()).ok());
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\nwrite_files:\n  - path: /home/elroy/bin/tool\n"
                    + "    permissions: '4755'\n    content: x\n"),
            List.of());
    assertEquals(1, r.failures().size(), r.failures().toString());
    assertTrue(r.failures().get(0).contains("set-user-ID"), r.failures().get(0));
    assertFalse(Files.exists(root.resolve("home/elroy/bin/tool")));
  }

  /** The same refusals on this machine's file system (openat, O_NOFOLLOW), as {@code render}. */
  @Test
  void renderOnARealFileSystemNeverFollowsLinksInTheUsersTree(@TempDir Path tmp) throws Exception {
    Path host = tmp.resolve("root");
    Files.createDirectories(host.resolve("home/elroy/.ssh/authorized_keys.d"));
    Path secret = tmp.resolve("shadow");
    Files.writeString(secret, "root:TOP-SECRET-HASH:19000::::::\n");
    Path keysD = host.resolve("home/elroy/.ssh/authorized_keys.d");
    Files.createSymbolicLink(keysD.resolve("evil"), secret);
    Files.writeString(keysD.resolve("laptop"), "ssh-ed25519 AAAAlaptop elroy@laptop\n");
    List<String> out = new ArrayList<>();
    ApplyReport r =
        new Applier(host, new DryRunSystemTools(), true, out::add).apply(parse(ELROY), List.of());
    assertTrue(r.ok(), r.failures().toString());
    String keys = Files.readString(host.resolve("home/elroy/.ssh/authorized_keys"));
    assertFalse(keys.contains("TOP-SECRET"), keys);
    assertTrue(keys.contains("elroy@laptop") && keys.contains("elroy@desk"), keys);
    assertTrue(
        out.contains(
            "skipped /home/elroy/.ssh/authorized_keys.d/evil: a symbolic link (never followed)"),
        out.toString());

    Path elsewhere = tmp.resolve("elsewhere");
    Files.createDirectories(elsewhere);
    deleteTree(host.resolve("home/elroy/.ssh"));
    Files.createSymbolicLink(host.resolve("home/elroy/.ssh"), elsewhere);
    r = new Applier(host, new DryRunSystemTools(), true, out::add).apply(parse(ELROY), List.of());
    assertEquals(1, r.failures().size(), r.failures().toString());
    assertTrue(
        r.failures().get(0).contains("/home/elroy/.ssh is a symbolic link (to " + elsewhere + ")"),
        r.failures().get(0));
    try (Stream<Path> s = Files.list(elsewhere)) {
      assertEquals(0, s.count());
    }
  }

  private static void deleteTree(Path p) throws Exception {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q :
          s.sorted((a, b) -> b.toString().compareTo(a.toString())).collect(Collectors.toList())) {
        Files.delete(q);
      }
    }
  }

  @Test
  void swarmWritesItsSettingsEnablesTheUnitAndRestartsItOnlyWhenTheyChange() throws Exception {
    String yaml =
        "#cloud-config\nbasalt:\n  swarm:\n    role: worker\n    advertise_addr: 10.0.0.12\n"
            + "    labels: {zone: b}\n";
    ApplyReport first = apply(parse(yaml), List.of());
    assertTrue(first.ok(), first.failures().toString());
    assertEquals(
        "# Written by basalt cloud-config from basalt.swarm; read by basaltctl swarm join.\n"
            + "ROLE=worker\nADVERTISE_ADDR=10.0.0.12\nCLUSTER=default\nLABEL=zone=b\n",
        Files.readString(root.resolve("etc/basalt/swarm.conf")));
    assertEquals(0644, TreeDump.mode(attrs("/etc/basalt/swarm.conf")));
    assertEquals(
        List.of(
            "systemctl enable basalt-swarm.service",
            "systemctl --no-block restart basalt-swarm.service"),
        tools.commands);
    tools.commands.clear();
    ApplyReport second = apply(parse(yaml), List.of());
    assertEquals(List.of(), second.changes());
    assertEquals(
        List.of(
            "systemctl enable basalt-swarm.service",
            "systemctl --no-block start basalt-swarm.service"),
        tools.commands);
    tools.commands.clear();
    apply(parse(yaml.replace("zone: b", "zone: c")), List.of());
    assertEquals("systemctl --no-block restart basalt-swarm.service", tools.commands.get(1));
  }

  @Test
  void noSwarmSectionNoSwarmUnit() throws Exception {
    apply(parse("#cloud-config\nhostname: n1\n"), List.of());
    assertFalse(Files.exists(root.resolve("etc/basalt/swarm.conf")));
    assertTrue(tools.commands.stream().noneMatch(c -> c.contains("basalt-swarm")));
  }

  @Test
  void anAddressVariableNoDatasourceFilledFailsTheSwarmStepOnly() throws Exception {
    ApplyReport r =
        apply(
            parse(
                "#cloud-config\nhostname: n1\nbasalt:\n  swarm:\n    role: manager\n"
                    + "    advertise_addr: $private_ipv4\n"),
            List.of());
    assertEquals(
        List.of(
            "basalt.swarm: ADVERTISE_ADDR: expected an IPv4 or IPv6 address (no host name, no"
                + " port), found \"$private_ipv4\" (no datasource gave a value for"
                + " $private_ipv4)"),
        r.failures());
    assertTrue(Files.exists(root.resolve("etc/hostname")));
    assertFalse(Files.exists(root.resolve("etc/basalt/swarm.conf")));
  }
}
