package io.basalt.image.usr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class UsrAssemblerTest {
  static final long EPOCH = 1_700_000_000L;
  static final long LATER = 1_800_000_000L;

  static TreeEntry file(String path, String text) {
    return TreeEntry.regular(path, Content.ofBytes(text.getBytes(StandardCharsets.UTF_8)))
        .withMtime(LATER);
  }

  /** A small merged-/usr Debian-like tree. */
  static FileTree.Builder base() {
    FileTree.Builder b = FileTree.builder();
    b.put(TreeEntry.directory("/").withMtime(LATER));
    for (String n : new String[] {"bin", "sbin", "lib", "lib64"}) {
      b.put(TreeEntry.symlink("/" + n, "usr/" + n).withMtime(LATER));
    }
    b.putWithParents(file("/usr/bin/true", "ELF"));
    b.putWithParents(file("/usr/lib/os-release", "ID=debian\n"));
    addJava(b, "java-25-openjdk-amd64", "25.0.1");
    b.putWithParents(file("/usr/lib/jvm/java-25-openjdk-amd64/lib/modules", "m".repeat(1000)));
    b.putWithParents(file("/usr/lib/jvm/java-25-openjdk-amd64/lib/libawt.so", "a".repeat(100)));
    b.putWithParents(
        file("/usr/lib/jvm/java-25-openjdk-amd64/lib/server/classes_nocoops.jsa", "c".repeat(200)));
    b.putWithParents(
        TreeEntry.symlink("/usr/lib/jvm/java-1.25.0-openjdk-amd64", "java-25-openjdk-amd64"));
    b.putWithParents(file("/etc/debian_version", "13.2\n"));
    b.putWithParents(
        file(
            "/usr/lib/systemd/system/ssh.service",
            "[Unit]\nDescription=ssh\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n"));
    b.putWithParents(
        file(
            "/usr/lib/systemd/system/docker.service",
            "[Service]\nExecStart=/usr/bin/dockerd\n[Install]\nWantedBy=multi-user.target\n"));
    b.putWithParents(
        file(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\ndaemon::1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"));
    b.putWithParents(file("/etc/shadow", "root:$6$abc$hash:19000:0:99999:7:::\n"));
    b.putWithParents(file("/etc/group", "root:x:0:\nshadow:x:42:\n"));
    b.putWithParents(file("/etc/machine-id", "0123456789abcdef0123456789abcdef\n"));
    b.putWithParents(file("/etc/ssh/sshd_config", "PermitRootLogin no\n"));
    b.putWithParents(file("/etc/ssh/ssh_host_ed25519_key", "SECRET"));
    b.putWithParents(file("/etc/ssh/ssh_host_ed25519_key.pub", "PUBLIC"));
    b.putWithParents(
        TreeEntry.symlink(
            "/etc/systemd/system/multi-user.target.wants/docker.service",
            "/lib/systemd/system/docker.service"));
    b.putWithParents(TreeEntry.symlink("/etc/os-release", "../usr/lib/os-release"));
    b.putWithParents(file("/etc/issue", "Debian GNU/Linux 12 \\n \\l\n\n"));
    b.putWithParents(file("/etc/issue.net", "Debian GNU/Linux 12\n"));
    return b;
  }

  /** A Debian-like runtime: an executable bin/java and a release file naming its version. */
  static void addJava(FileTree.Builder b, String dir, String version) {
    String home = "/usr/lib/jvm/" + dir;
    b.putWithParents(file(home + "/bin/java", "java-binary").withMode(0755));
    b.putWithParents(
        file(
            home + "/release",
            "IMPLEMENTOR=\"Debian\"\nJAVA_VERSION=\"" + version + "\"\nOS_NAME=\"Linux\"\n"));
  }

  static UsrAssembler.Inputs inputs(ImageSpec spec) {
    TreeMap<String, Content> jars = new TreeMap<>();
    jars.put("basaltctl.jar", Content.ofBytes(new byte[] {'P', 'K'}));
    jars.put("lib/picocli-4.7.6.jar", Content.ofBytes(new byte[] {'P', 'K', 1}));
    jars.put("lib/basalt-install.jar", Content.ofBytes(new byte[] {'P', 'K', 2}));
    return new UsrAssembler.Inputs(
        spec,
        EPOCH,
        "0123456789ab",
        jars,
        (tree, epoch) -> {
          tree.putWithParents(
              file(
                      "/usr/lib/systemd/system/basalt-boot-marker.service",
                      "[Unit]\nAfter=multi-user.target\n[Service]\nExecStart=/usr/lib/basalt/boot-marker\n[Install]\nWantedBy=multi-user.target\n")
                  .withMtime(epoch));
          tree.putWithParents(
              file(
                      "/usr/lib/systemd/system-preset/80-basalt.preset",
                      "# Basalt\nenable basalt-boot-marker.service\nenable ssh.service\ndisable docker.service\n")
                  .withMtime(epoch));
        });
  }

  static String text(FileTree t, String path) throws IOException {
    TreeEntry e = t.get(path);
    assertNotNull(e, path);
    try (InputStream in = e.content().open()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void assemblesTheDocumentedLayout() throws Exception {
    ImageSpec spec =
        ImageSpec.parse(
            "version: 1.2.3\nfiles:\n  - path: /etc/motd\n    content: hi\n", "t.yaml", null);
    UsrAssembler.Result r = UsrAssembler.assemble(base().build(), inputs(spec));
    FileTree t = r.tree();

    // /etc moved under /usr, an empty /etc left as mount point
    assertTrue(t.get("/etc").isDirectory());
    assertTrue(t.children("/etc").isEmpty());
    assertEquals("hi", text(t, "/usr/share/basalt/etc/motd"));
    assertEquals("PermitRootLogin no\n", text(t, "/usr/share/basalt/etc/ssh/sshd_config"));

    // secrets and identity
    assertNull(t.get("/usr/share/basalt/etc/ssh/ssh_host_ed25519_key"));
    assertNull(t.get("/usr/share/basalt/etc/ssh/ssh_host_ed25519_key.pub"));
    assertEquals(0, t.get("/usr/share/basalt/etc/machine-id").size());
    String shadow = text(t, "/usr/share/basalt/etc/shadow");
    assertTrue(shadow.startsWith("root:*:"), shadow);
    assertTrue(shadow.contains("\ndaemon:*:"), shadow);
    assertTrue(text(t, "/usr/share/basalt/etc/passwd").contains("daemon:x:1:1"));

    // os-release
    String os = text(t, "/usr/lib/os-release");
    assertTrue(os.contains("\nID=basalt\n"), os);
    assertTrue(os.contains("VERSION_ID=1.2.3\n"), os);
    assertTrue(os.contains("BUILD_ID=0123456789ab\n"), os);
    assertTrue(os.startsWith("NAME=\"Basalt\"\n"), os);

    // jars, launcher on the image's own Java, Java trimmed
    assertNotNull(t.get("/usr/lib/basalt/basaltctl.jar"));
    assertNotNull(t.get("/usr/lib/basalt/lib/picocli-4.7.6.jar"));
    TreeEntry java = t.get("/usr/lib/basalt/java");
    assertEquals(EntryType.SYMLINK, java.type());
    assertEquals("../jvm/java-25-openjdk-amd64", java.linkTarget());
    assertEquals("25.0.1", r.report().javaVersion());
    assertEquals("13.2", r.report().debianRelease());
    assertNull(t.get("/usr/lib/jvm/java-25-openjdk-amd64/lib/libawt.so"));
    assertNull(t.get("/usr/lib/jvm/java-25-openjdk-amd64/lib/server/classes_nocoops.jsa"));
    assertNotNull(t.get("/usr/lib/jvm/java-25-openjdk-amd64/lib/modules"));
    assertEquals(1000 + 100 + 200 + 11 + 59, r.report().javaBytesBefore());
    assertEquals(1000 + 11 + 59, r.report().javaBytesAfter());

    // presets: enable writes the [Install] links in /usr, disable drops the base tree's /etc link
    TreeEntry marker =
        t.get("/usr/lib/systemd/system/multi-user.target.wants/basalt-boot-marker.service");
    assertEquals(EntryType.SYMLINK, marker.type());
    assertEquals("../basalt-boot-marker.service", marker.linkTarget());
    assertNotNull(t.get("/usr/lib/systemd/system/multi-user.target.wants/ssh.service"));
    assertNull(
        t.get("/usr/share/basalt/etc/systemd/system/multi-user.target.wants/docker.service"));

    // mtimes clamped, nothing newer than the epoch
    assertTrue(t.stream().allMatch(e -> e.mtime() <= EPOCH));
    assertEquals(EPOCH, t.get("/usr/bin/true").mtime());
  }

  @Test
  void sudoMembersGetPasswordlessSudoFromADropInAndTheBasaltGroupExists() throws Exception {
    ImageSpec spec = ImageSpec.parse("version: 1.2.3\n", "t.yaml", null);
    UsrAssembler.Inputs real = inputs(spec);
    UsrAssembler.Inputs in =
        new UsrAssembler.Inputs(
            real.spec(),
            real.sourceDateEpoch(),
            real.buildId(),
            real.jars(),
            (tree, epoch) -> {
              real.initUnits().install(tree, epoch);
              // the shipped init-units files this test is about
              FileTree units = InitUnitsResources.addTo(FileTree.builder(), epoch).build();
              for (String p :
                  new String[] {"/etc/sudoers.d/basalt-sudo", "/usr/lib/sysusers.d/basalt.conf"}) {
                assertNotNull(units.get(p), p + " not installed by init-units");
                tree.putWithParents(units.get(p));
              }
            });
    FileTree t = UsrAssembler.assemble(base().build(), in).tree();

    TreeEntry dropIn = t.get("/usr/share/basalt/etc/sudoers.d/basalt-sudo");
    assertNotNull(dropIn);
    assertEquals(0440, dropIn.mode());
    assertTrue(
        text(t, "/usr/share/basalt/etc/sudoers.d/basalt-sudo")
            .contains("\n%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n"),
        text(t, "/usr/share/basalt/etc/sudoers.d/basalt-sudo"));
    assertTrue(text(t, "/usr/lib/sysusers.d/basalt.conf").contains("\ng basalt -"));
    String group = text(t, "/usr/share/basalt/etc/group");
    assertTrue(group.contains("\nbasalt:x:999:\n"), group);
  }

  @Test
  void consoleBannerNamesBasaltAndTheRunningVersion() throws Exception {
    ImageSpec spec = ImageSpec.parse("version: 1.2.3+b1\nchannel: beta\n", "t.yaml", null);
    FileTree t = UsrAssembler.assemble(base().build(), inputs(spec)).tree();

    // agetty's banner: name, version and channel (as os-release's PRETTY_NAME), then agetty's own
    // escapes for host name and tty, as Debian's; issue.net without escapes.
    assertEquals("Basalt 1.2.3+b1 (beta) \\n \\l\n\n", text(t, "/usr/lib/issue"));
    assertEquals("Basalt 1.2.3+b1 (beta)\n", text(t, "/usr/lib/issue.net"));
    assertEquals(0644, t.get("/usr/lib/issue").mode());
    // The /etc defaults link into /usr, as os-release does, so that the banner names the version
    // of the /usr that runs, also after an update (the initramfs never overwrites /etc).
    for (String n : new String[] {"issue", "issue.net"}) {
      TreeEntry e = t.get(UsrAssembler.ETC_DEFAULTS + "/" + n);
      assertNotNull(e, n);
      assertEquals(EntryType.SYMLINK, e.type(), n);
      assertEquals("../usr/lib/" + n, e.linkTarget(), n);
    }
  }

  @Test
  void anExtraFileReplacesTheConsoleBanner() throws Exception {
    ImageSpec spec =
        ImageSpec.parse(
            "version: 1.2.3\nfiles:\n  - path: /etc/issue\n    content: mine\n", "t.yaml", null);
    FileTree t = UsrAssembler.assemble(base().build(), inputs(spec)).tree();
    assertEquals("mine", text(t, UsrAssembler.ETC_DEFAULTS + "/issue"));
  }

  @Test
  void appArmorProfilesOfProgramsTheImageLacksAreRemovedOthersStay() throws Exception {
    FileTree.Builder b = base();
    String d = "/etc/apparmor.d/";
    b.putWithParents(
        file(
            d + "chrome",
            "profile chrome /opt/google/chrome/chrome flags=(unconfined) {\n  userns,\n}\n"));
    b.putWithParents(
        file(d + "old-style", "#include <tunables/global>\n/usr/sbin/gone {\n  /etc/x r,\n}\n"));
    b.putWithParents(
        file(
            d + "transmission",
            "profile transmission-daemon /usr/bin/transmission-daemon flags=(complain) {\n}\n"
                + "profile transmission-cli /usr/bin/transmission-cli {\n}\n"));
    // present through the merged-/usr link /bin -> usr/bin
    b.putWithParents(file(d + "true", "profile true /bin/true flags=(unconfined) {\n}\n"));
    b.putWithParents(
        file(d + "mixed", "profile gone /usr/bin/gone {\n}\nprofile here /usr/bin/true {\n}\n"));
    b.putWithParents(
        file(d + "runc", "profile runc /usr/{bin,sbin}/runc flags=(unconfined) {\n}\n"));
    b.putWithParents(file(d + "opera", "profile opera /usr/lib/@{multiarch}/opera/opera {\n}\n"));
    b.putWithParents(file(d + "userns", "profile unprivileged_userns flags=(complain) {\n}\n"));
    b.putWithParents(file(d + "quoted", "profile \"A B\" \"/usr/lib/a b/A B\" {\n}\n"));
    b.putWithParents(file(d + "abstractions/base", "/usr/bin/gone rix,\n"));
    // a path through a symlink other than the merged-/usr ones counts as present
    b.putWithParents(TreeEntry.symlink("/opt/app", "/usr/lib/app"));
    b.putWithParents(file(d + "via-link", "profile app /opt/app/run {\n}\n"));

    UsrAssembler.Result r =
        UsrAssembler.assemble(
            b.build(), inputs(ImageSpec.parse("version: 1.2.3\n", "t.yaml", null)));
    FileTree t = r.tree();
    String e = "/usr/share/basalt/etc/apparmor.d/";
    for (String gone : new String[] {"chrome", "old-style", "transmission"}) {
      assertNull(t.get(e + gone), gone);
      assertTrue(r.report().removed().contains(d + gone), gone);
    }
    for (String kept :
        new String[] {
          "true", "mixed", "runc", "opera", "userns", "quoted", "abstractions/base", "via-link"
        }) {
      assertNotNull(t.get(e + kept), kept);
    }
  }

  @Test
  void sameInputsGiveEqualTrees() throws Exception {
    ImageSpec spec = ImageSpec.loadDefault();
    FileTree a = UsrAssembler.assemble(base().build(), inputs(spec)).tree();
    FileTree b = UsrAssembler.assemble(base().build(), inputs(spec)).tree();
    assertEquals(
        a.stream().map(TreeEntry::toString).toList(), b.stream().map(TreeEntry::toString).toList());
  }

  @Test
  void notMergedUsrIsAnError() {
    FileTree.Builder b = base();
    b.put(TreeEntry.directory("/bin"));
    UsrAssemblyException e =
        assertThrows(
            UsrAssemblyException.class,
            () -> UsrAssembler.assemble(b.build(), inputs(ImageSpec.loadDefault())));
    assertEquals("/bin", e.path());
    assertTrue(
        e.getMessage().contains("expected a symlink to usr/bin, found a DIRECTORY"),
        e.getMessage());
  }

  @Test
  void theRuntimeIsFoundByVersionNewestByDefaultOrTheOneTheSpecNames() throws Exception {
    FileTree.Builder b = base();
    addJava(b, "java-17-openjdk-amd64", "17.0.17");
    addJava(b, "java-21-openjdk-amd64", "21.0.9");
    // not runtimes: no release file; a release file without a version; too old
    b.putWithParents(file("/usr/lib/jvm/odd/bin/java", "x").withMode(0755));
    b.putWithParents(file("/usr/lib/jvm/noversion/bin/java", "x").withMode(0755));
    b.putWithParents(file("/usr/lib/jvm/noversion/release", "IMPLEMENTOR=x\n"));
    addJava(b, "java-11-openjdk-amd64", "11.0.2");
    FileTree base = b.build();
    assertEquals(
        java.util.List.of(
            "/usr/lib/jvm/java-25-openjdk-amd64",
            "/usr/lib/jvm/java-21-openjdk-amd64",
            "/usr/lib/jvm/java-17-openjdk-amd64"),
        JavaRuntimes.find(base).stream().map(JavaRuntimes.Runtime::home).toList());
    assertEquals("25.0.1", JavaRuntimes.choose(base, java.util.OptionalInt.empty()).version());
    assertEquals(
        "/usr/lib/jvm/java-17-openjdk-amd64",
        JavaRuntimes.choose(base, java.util.OptionalInt.of(17)).home());
    UsrAssembler.Result r =
        UsrAssembler.assemble(
            base,
            inputs(
                ImageSpec.parse(
                    "name: x\nversion: 1\ndebian:\n  suite: bookworm\n",
                    "t.yaml",
                    java.nio.file.Path.of("."))));
    assertEquals("../jvm/java-17-openjdk-amd64", r.tree().get("/usr/lib/basalt/java").linkTarget());
    assertEquals("17.0.17", r.report().javaVersion());
    UsrAssemblyException e =
        assertThrows(
            UsrAssemblyException.class,
            () -> JavaRuntimes.choose(base, java.util.OptionalInt.of(24)));
    assertEquals("/usr/lib/jvm", e.path());
    assertTrue(
        e.getMessage().contains("no Java 24 runtime in the base tree (found 25.0.1 at"),
        e.getMessage());
    assertTrue(e.getMessage().contains("openjdk-24-jre-headless"), e.getMessage());
  }

  @Test
  void missingJavaIsAnError() {
    FileTree.Builder b = base();
    b.remove("/usr/lib/jvm");
    UsrAssemblyException e =
        assertThrows(
            UsrAssemblyException.class,
            () -> UsrAssembler.assemble(b.build(), inputs(ImageSpec.loadDefault())));
    assertEquals("/usr/lib/jvm", e.path());
  }

  @Test
  void presetEnablingAUnitWithoutInstallSectionIsAnError() {
    FileTree.Builder b = base();
    b.put(file("/usr/lib/systemd/system/ssh.service", "[Unit]\nDescription=ssh\n"));
    UsrAssemblyException e =
        assertThrows(
            UsrAssemblyException.class,
            () -> UsrAssembler.assemble(b.build(), inputs(ImageSpec.loadDefault())));
    assertTrue(e.getMessage().contains("no [Install]"), e.getMessage());
  }

  @Test
  void usrTreeIsReRootedAndCopiesOutsideHardLinks() throws Exception {
    FileTree.Builder b = base();
    b.putWithParents(file("/var/lib/x", "shared"));
    b.putWithParents(TreeEntry.hardlink("/usr/share/x", "/var/lib/x"));
    b.putWithParents(TreeEntry.hardlink("/usr/bin/true2", "/usr/bin/true"));
    FileTree t = UsrAssembler.assemble(b.build(), inputs(ImageSpec.loadDefault())).tree();
    FileTree usr = UsrAssembler.usrTree(t);
    assertTrue(usr.root().isDirectory());
    assertEquals("shared", text(usr, "/share/x"));
    assertEquals(EntryType.HARDLINK, usr.get("/bin/true2").type());
    assertEquals("/bin/true", usr.get("/bin/true2").linkTarget());
    assertNotNull(usr.get("/share/basalt/etc/passwd"));
    assertFalse(usr.contains("/usr"));
  }
}
