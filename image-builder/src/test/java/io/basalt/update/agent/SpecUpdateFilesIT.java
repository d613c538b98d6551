package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.render.Applier;
import io.basalt.host.HostPaths;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.usr.UpdateFiles;
import io.basalt.image.usr.UsrAssembler;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.Repository;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spec's {@code update:} section as the host sees it: a repository made by {@code basalt repo
 * init}'s code, a spec naming its root, init-units' files and the update files written into a tree,
 * that tree's two files put on disk under a host root, and the agent's own loader ({@link
 * UpdateConfig}, in this package for that reason) reading them, alone and under a machine
 * update.conf rendered by cloud-config from {@code coreos.update}.
 */
class SpecUpdateFilesIT {
  private static final long EPOCH = 1_700_000_000L;

  @TempDir Path tmp;

  @Test
  void theAgentLoadsTheImageDefaultsAndCloudConfigStillOverridesThem() throws Exception {
    Path repo = tmp.resolve("repo");
    Repository.init(
        repo,
        new Repository.InitOptions(),
        Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "walkthrough")),
        Clock.systemUTC(),
        new SecureRandom());
    Path site = Files.createDirectories(tmp.resolve("site"));
    Files.copy(repo.resolve("metadata/1.root.json"), site.resolve("root.json"));
    Path specFile = site.resolve("spec.yaml");
    Files.writeString(
        specFile,
        "version: 1.0.0\n"
            + "update:\n"
            + "  repository: http://10.0.2.100:8080\n"
            + "  channel: beta\n"
            + "  root: root.json\n"
            + "  settings:\n"
            + "    REBOOT_STRATEGY: etcd-lock\n"
            + "    LOCKSMITHD_GROUP: rack-1\n"
            + "    REBOOT_WINDOW: Mon,Thu 04:00 1h30m\n"
            + "    HEALTH_UNITS: containerd.service\n",
        StandardCharsets.UTF_8);
    ImageSpec spec = ImageSpec.load(specFile);

    FileTree.Builder b = FileTree.builder();
    UsrAssembler.InitUnitsInstaller.fromClasspath().install(b, EPOCH);
    String shipped = text(b.get(HostPaths.UPDATE_CONF_DEFAULTS));
    UpdateFiles.add(b, spec.update().orElseThrow(), EPOCH);
    FileTree tree = b.build();

    Path host = tmp.resolve("host");
    for (String p : new String[] {HostPaths.UPDATE_CONF_DEFAULTS, HostPaths.SHIPPED_TUF_ROOT}) {
      TreeEntry e = tree.get(p);
      assertEquals(0644, e.mode(), p);
      assertEquals(EPOCH, e.mtime(), p);
      Path out = HostPaths.under(host, p);
      Files.createDirectories(out.getParent());
      try (InputStream in = e.content().open()) {
        Files.copy(in, out);
      }
    }
    AgentPaths paths = new AgentPaths(host);

    // The shipped root is the repository's, byte for byte, and a root the agent's updater trusts.
    byte[] root = Files.readAllBytes(paths.shippedRoot());
    assertArrayEquals(Files.readAllBytes(repo.resolve("metadata/1.root.json")), root);
    Metadata m = Metadata.parse(root, "root", "root");
    Root.from(m).verify("root", m);

    // init-units' comments and defaults stay; the spec's keys replace their lines or are appended.
    String conf = Files.readString(paths.defaultsConf(), StandardCharsets.UTF_8);
    assertTrue(conf.startsWith(shipped.substring(0, shipped.indexOf('\n'))), conf);
    assertTrue(conf.contains("\nCHANNEL=beta\n"), conf);
    assertTrue(conf.contains("\nREBOOT_STRATEGY=etcd-lock\n"), conf);
    assertTrue(conf.contains("\nCHECK_INTERVAL=1h\n"), conf);
    assertEquals(1, conf.split("\nCHANNEL=", -1).length - 1, conf);

    UpdateConfig image = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
    assertEquals(URI.create("http://10.0.2.100:8080"), image.repository());
    assertEquals(URI.create("http://10.0.2.100:8080/metadata/"), image.metadataUrl());
    assertEquals("beta", image.channel());
    assertEquals("x86-64", image.arch());
    assertEquals("etcd-lock", image.rebootStrategy());
    assertEquals("rack-1", image.lockGroup());
    assertEquals("Mon,Thu 04:00 1h30m", image.rebootWindow());
    assertEquals(java.util.List.of("containerd.service"), image.healthUnits());
    assertEquals(Duration.ofHours(1), image.checkInterval());

    // A machine's cloud-config writes /etc/basalt/update.conf; its keys win, the others stay the
    // image's.
    UserData ud =
        UserDataParser.parse(
            "#cloud-config\n"
                + "coreos:\n"
                + "  update:\n"
                + "    server: https://updates.example.org/basalt\n"
                + "    reboot-strategy: \"off\"\n",
            ValidationOptions.defaultImage());
    assertTrue(!ud.hasErrors(), ud.diagnostics().toString());
    Path etc = paths.overridesConf();
    Files.createDirectories(etc.getParent());
    Files.writeString(etc, Applier.renderUpdateConf(ud.config(), ""), StandardCharsets.UTF_8);
    UpdateConfig machine = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
    assertEquals(URI.create("https://updates.example.org/basalt"), machine.repository());
    assertEquals("off", machine.rebootStrategy());
    assertEquals("beta", machine.channel());
    assertEquals("rack-1", machine.lockGroup());
    assertEquals("Mon,Thu 04:00 1h30m", machine.rebootWindow());
  }

  private static String text(TreeEntry e) throws Exception {
    try (InputStream in = e.content().open()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
