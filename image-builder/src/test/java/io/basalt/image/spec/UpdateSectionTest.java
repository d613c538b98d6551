package io.basalt.image.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.HostPaths;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The spec's {@code update:} section: binding and every build-time check, on jimfs. */
class UpdateSectionTest {
  private static final byte[] ROOT = TestRoots.root(1, 1, 1);

  private FileSystem fs;
  private Path dir;

  @BeforeEach
  void setUp() throws Exception {
    fs = Jimfs.newFileSystem(Configuration.unix());
    dir = Files.createDirectories(fs.getPath("/work/spec"));
    Files.write(dir.resolve("root.json"), ROOT);
  }

  @AfterEach
  void tearDown() throws Exception {
    fs.close();
  }

  private ImageSpec bind(String text) throws SpecException {
    return ImageSpec.parse(text, "my.yaml", dir);
  }

  private SpecException bad(String text) {
    return assertThrows(SpecException.class, () -> bind(text));
  }

  @Test
  void noSectionMeansNoUpdateFiles() throws Exception {
    assertTrue(bind("version: 1.0.0\n").update().isEmpty());
    assertTrue(ImageSpec.loadDefault().update().isEmpty());
  }

  @Test
  void bindsRepositoryChannelRootAndSettingsInFileOrder() throws Exception {
    ImageSpec s =
        bind(
            "version: 1.0.0\n"
                + "channel: beta\n"
                + "update:\n"
                + "  repository: http://127.0.0.1:8080\n"
                + "  root: root.json\n"
                + "  settings:\n"
                + "    REBOOT_STRATEGY: off\n"
                + "    LOCKSMITHD_GROUP: rack-1\n"
                + "    REBOOT_WINDOW: Mon,Thu 04:00 1h30m\n"
                + "    CHECK_INTERVAL: 30m\n");
    ImageSpec.Update u = s.update().orElseThrow();
    Map<String, String> want = new LinkedHashMap<>();
    want.put("REPOSITORY_URL", "http://127.0.0.1:8080");
    want.put("CHANNEL", "beta"); // the spec's channel when update.channel is left out
    want.put("REBOOT_STRATEGY", "off"); // YAML 1.1 reads off as a boolean: the text is kept
    want.put("LOCK_GROUP", "rack-1"); // a CoreOS alias is written under its native key
    want.put("REBOOT_WINDOW", "Mon,Thu 04:00 1h30m");
    want.put("CHECK_INTERVAL", "30m");
    assertEquals(want, u.settings());
    assertEquals(
        new LinkedHashMap<>(want).keySet().stream().toList(),
        u.settings().keySet().stream().toList());
    assertEquals(new String(ROOT, StandardCharsets.UTF_8), u.rootJson());
    assertEquals(dir.resolve("root.json"), u.root());
    assertEquals(1, u.rootVersion());
    assertEquals(1, u.rootThreshold());
    assertEquals(1, u.rootKeyIds().size());
    assertEquals("http://127.0.0.1:8080", u.repository());
    assertEquals("beta", u.channel());
  }

  @Test
  void channelAndRepositoryAreOptional() throws Exception {
    ImageSpec.Update u =
        bind("update:\n  channel: edge\n  root: ./root.json\n").update().orElseThrow();
    assertEquals("edge", u.channel());
    assertEquals(null, u.repository());
    assertFalse(u.settings().containsKey("REPOSITORY_URL"));
  }

  @Test
  void rootIsRequired() {
    SpecException e = bad("update:\n  repository: https://updates.example.org/basalt\n");
    assertEquals(
        "my.yaml:2:3: update.root: missing: the repository's trusted TUF root (e.g."
            + " REPO/metadata/1.root.json), a file relative to the spec",
        e.getMessage());
  }

  @Test
  void rootFileMustExist() {
    SpecException e = bad("update:\n  root: keys/root.json\n");
    assertEquals(
        "my.yaml:2:9: update.root: expected an existing regular file, found none at"
            + " /work/spec/keys/root.json",
        e.getMessage());
  }

  @Test
  void rootMustParse() throws Exception {
    Files.writeString(dir.resolve("bad.json"), "{\"signed\": ", StandardCharsets.UTF_8);
    SpecException e = bad("update:\n  root: bad.json\n");
    assertTrue(
        e.getMessage()
            .startsWith(
                "my.yaml:2:9: update.root: /work/spec/bad.json: not a TUF root metadata file: "),
        e.getMessage());
  }

  @Test
  void rootMustBeRootMetadata() throws Exception {
    // A valid signed document of another type.
    String other =
        new String(ROOT, StandardCharsets.UTF_8).replace("\"_type\": \"root\"", "\"_type\": \"x\"");
    assertTrue(!other.equals(new String(ROOT, StandardCharsets.UTF_8)), "fixture has _type");
    Files.writeString(dir.resolve("targets.json"), other, StandardCharsets.UTF_8);
    SpecException e = bad("update:\n  root: targets.json\n");
    assertTrue(e.getMessage().contains("not a TUF root metadata file"), e.getMessage());
    assertTrue(e.getMessage().contains("root"), e.getMessage());
  }

  @Test
  void rootMustBeSignedByItsOwnThreshold() throws Exception {
    Files.write(dir.resolve("two.json"), TestRoots.root(2, 2, 1));
    SpecException e = bad("update:\n  root: two.json\n");
    assertTrue(
        e.getMessage()
            .startsWith(
                "my.yaml:2:9: update.root: /work/spec/two.json: not signed by a threshold of its"
                    + " own root keys: "),
        e.getMessage());
    assertTrue(e.getMessage().contains("threshold is 2"), e.getMessage());
  }

  @Test
  void tamperedRootIsRefused() throws Exception {
    String tampered = new String(ROOT, StandardCharsets.UTF_8).replace("2035-01-01", "2036-01-01");
    Files.writeString(dir.resolve("t.json"), tampered, StandardCharsets.UTF_8);
    SpecException e = bad("update:\n  root: t.json\n");
    assertTrue(e.getMessage().contains("not signed by a threshold"), e.getMessage());
  }

  @Test
  void rootNeedsASpecFile() {
    SpecException e =
        assertThrows(
            SpecException.class,
            () -> ImageSpec.parse("update:\n  root: root.json\n", "(default spec)", null));
    assertEquals(
        "(default spec):2:9: update.root: host files are not allowed in this spec", e.getMessage());
  }

  @Test
  void repositoryMustBeAnHttpUrl() {
    assertEquals(
        "my.yaml:2:15: update.repository: expected an http:// or https:// URL, found"
            + " \"ftp://mirror/basalt\"",
        bad("update:\n  repository: ftp://mirror/basalt\n  root: root.json\n").getMessage());
    assertEquals(
        "my.yaml:2:15: update.repository: expected an http:// or https:// URL, found"
            + " \"updates.example.org\"",
        bad("update:\n  repository: updates.example.org\n  root: root.json\n").getMessage());
    assertEquals(
        "my.yaml:2:15: update.repository: expected an http:// or https:// URL, found \"\"",
        bad("update:\n  repository: \"\"\n  root: root.json\n").getMessage());
  }

  @Test
  void channelPattern() {
    assertEquals(
        "my.yaml:2:12: update.channel: expected a channel name ([a-z0-9-], e.g. stable), found"
            + " \"Beta_1\"",
        bad("update:\n  channel: Beta_1\n  root: root.json\n").getMessage());
  }

  @Test
  void strategyValues() {
    assertEquals(
        "my.yaml:4:22: update.settings.REBOOT_STRATEGY: expected one of [etcd-lock, fleetlock,"
            + " reboot, off], found \"best-effort\"",
        bad("update:\n  root: root.json\n  settings:\n    REBOOT_STRATEGY: best-effort\n")
            .getMessage());
  }

  @Test
  void unknownKeysAreNamed() {
    assertTrue(
        bad("update:\n  root: root.json\n  server: x\n")
            .getMessage()
            .startsWith(
                "my.yaml:3:3: unknown key 'update.server' (expected one of channel, repository,"
                    + " root, settings)"));
    SpecException e = bad("update:\n  root: root.json\n  settings:\n    REBOOT_STRAGETY: off\n");
    assertTrue(
        e.getMessage()
            .startsWith(
                "my.yaml:4:5: update.settings.REBOOT_STRAGETY: not an update.conf key (expected"
                    + " one of "),
        e.getMessage());
    assertTrue(e.getMessage().contains("REBOOT_STRATEGY"), e.getMessage());
  }

  @Test
  void settingsThatHaveTheirOwnKeyAreRefused() {
    assertEquals(
        "my.yaml:4:5: update.settings.SERVER: not allowed here; set it with update.repository",
        bad("update:\n  root: root.json\n  settings:\n    SERVER: http://x\n").getMessage());
    assertEquals(
        "my.yaml:4:5: update.settings.CHANNEL: not allowed here; set it with update.channel",
        bad("update:\n  root: root.json\n  settings:\n    CHANNEL: beta\n").getMessage());
    assertEquals(
        "my.yaml:4:5: update.settings.ARCH: not allowed here; the image's arch decides it",
        bad("update:\n  root: root.json\n  settings:\n    ARCH: x86-64\n").getMessage());
  }

  @Test
  void secretsAreRefused() {
    assertTrue(
        bad("update:\n  root: root.json\n  settings:\n    ETCD_USERNAME: a\n    ETCD_PASSWORD: b\n")
            .getMessage()
            .startsWith(
                "my.yaml:5:5: update.settings.ETCD_PASSWORD: a secret does not belong in an"
                    + " image"));
  }

  @Test
  void aliasAndNativeKeyAreOneSetting() {
    assertEquals(
        "my.yaml:5:5: update.settings.LOCK_GROUP: the same setting as LOCKSMITHD_GROUP (set it"
            + " once)",
        bad("update:\n  root: root.json\n  settings:\n    LOCKSMITHD_GROUP: a\n    LOCK_GROUP: b\n")
            .getMessage());
  }

  @Test
  void valuesAreOneLine() {
    assertEquals(
        "my.yaml:4:19: update.settings.HEALTH_UNITS: expected one line without leading or"
            + " trailing blanks, found \"a.service\\nb.service\"",
        bad("update:\n  root: root.json\n  settings:\n    HEALTH_UNITS: \"a.service\\nb.service\"\n")
            .getMessage());
    assertEquals(
        "my.yaml:4:19: update.settings.HEALTH_UNITS: expected a value (text), found a list",
        bad("update:\n  root: root.json\n  settings:\n    HEALTH_UNITS: [a, b]\n").getMessage());
  }

  @Test
  void theAgentsOwnLoaderChecksDurationsWindowsAndKeyRules() {
    assertEquals(
        "my.yaml:4:21: update.settings.CHECK_INTERVAL: expected at least 1m, found 30s",
        bad("update:\n  root: root.json\n  settings:\n    CHECK_INTERVAL: 30s\n").getMessage());
    assertEquals(
        "my.yaml:4:22: update.settings.REBOOT_STRATEGY: REBOOT_STRATEGY=fleetlock needs"
            + " FLEETLOCK_URL",
        bad("update:\n  root: root.json\n  settings:\n    REBOOT_STRATEGY: fleetlock\n")
            .getMessage());
    SpecException w =
        bad("update:\n  root: root.json\n  settings:\n    REBOOT_WINDOW: Someday 04:00 1h\n");
    assertTrue(
        w.getMessage().startsWith("my.yaml:4:20: update.settings.REBOOT_WINDOW: "), w.getMessage());
    assertEquals(
        "my.yaml:4:20: update.settings.FLEETLOCK_URL: expected an http:// or https:// URL, found"
            + " \"fleetlock:3333\"",
        bad("update:\n  root: root.json\n  settings:\n    FLEETLOCK_URL: fleetlock:3333\n")
            .getMessage());
  }

  @Test
  void filesMayNotAlsoWriteTheUpdateFiles() {
    for (String p : new String[] {HostPaths.SHIPPED_TUF_ROOT, HostPaths.UPDATE_CONF_DEFAULTS}) {
      SpecException e =
          bad("update:\n  root: root.json\nfiles:\n  - path: " + p + "\n    content: x\n");
      assertEquals(
          "my.yaml:4:11: files[0].path: \""
              + p
              + "\" is written from the update: section; drop this entry or the update: section",
          e.getMessage());
    }
  }

  @Test
  void withoutTheSectionFilesMayStillWriteThem() throws Exception {
    ImageSpec s =
        bind(
            "files:\n  - path: "
                + HostPaths.SHIPPED_TUF_ROOT
                + "\n    source: root.json\n  - path: /etc/basalt/update.conf\n"
                + "    content: \"REPOSITORY_URL=http://x\"\n");
    assertEquals(2, s.files().size());
    assertTrue(s.update().isEmpty());
  }

  @Test
  void updateMustBeAMapping() {
    assertEquals(
        "my.yaml:1:9: update: expected a mapping, found the string \"yes-please\"",
        bad("update: yes-please\n").getMessage());
  }
}
