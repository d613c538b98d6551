package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class UpdateConfigTest {

  private final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
  private final Path defaults = fs.getPath(UpdateConfig.DEFAULTS_PATH);
  private final Path overrides = fs.getPath(UpdateConfig.OVERRIDES_PATH);

  private void write(Path p, String text) throws Exception {
    Files.createDirectories(p.getParent());
    Files.writeString(p, text, StandardCharsets.UTF_8);
  }

  @Test
  void defaultsWhenNoFileExists() throws Exception {
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertNull(c.repository());
    assertEquals("stable", c.channel());
    assertEquals("reboot", c.rebootStrategy());
    assertEquals(Duration.ofHours(1), c.checkInterval());
    assertEquals(Duration.ofMinutes(10), c.checkJitter());
    assertEquals(List.of("http://127.0.0.1:2379"), c.etcdEndpoints());
  }

  @Test
  void etcOverridesShippedDefaultsKeyByKey() throws Exception {
    write(
        defaults,
        "# shipped\nREPOSITORY_URL=https://updates.example.org/basalt\nCHANNEL=stable\n"
            + "REBOOT_STRATEGY=etcd-lock\nCHECK_INTERVAL=2h\n");
    write(
        overrides,
        "CHANNEL=beta\n\nCHECK_JITTER=\"90s\"\nHEALTH_UNITS=containerd.service  docker.service\n");
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals(URI.create("https://updates.example.org/basalt"), c.repository());
    assertEquals("beta", c.channel());
    assertEquals("etcd-lock", c.rebootStrategy());
    assertEquals(Duration.ofHours(2), c.checkInterval());
    assertEquals(Duration.ofSeconds(90), c.checkJitter());
    assertEquals(List.of("containerd.service", "docker.service"), c.healthUnits());
    assertEquals(URI.create("https://updates.example.org/basalt/metadata/"), c.metadataUrl());
    assertEquals(URI.create("https://updates.example.org/basalt/targets/"), c.targetsUrl());
  }

  @Test
  void cloudConfigLocksmithKeysAreAccepted() throws Exception {
    // exactly what cloud-config's coreos.locksmith + coreos.update write into
    // /etc/basalt/update.conf
    write(
        overrides,
        "REBOOT_STRATEGY=etcd-lock\nLOCKSMITHD_ENDPOINT=http://10.0.2.101:2379,http://10.0.2.102:2379\n"
            + "LOCKSMITHD_GROUP=workers\nLOCKSMITHD_REBOOT_WINDOW_START=Thu 04:00\nLOCKSMITHD_REBOOT_WINDOW_LENGTH=1h30m\n");
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals(List.of("http://10.0.2.101:2379", "http://10.0.2.102:2379"), c.etcdEndpoints());
    assertEquals("workers", c.lockGroup());
    assertEquals("Thu 04:00 1h30m", c.rebootWindow());
    write(overrides, "LOCKSMITHD_REBOOT_WINDOW_START=22:30\nLOCKSMITHD_REBOOT_WINDOW_LENGTH=45m\n");
    assertEquals("daily 22:30 45m", UpdateConfig.load(defaults, overrides).rebootWindow());
    write(overrides, "LOCKSMITHD_REBOOT_WINDOW_START=22:30\n");
    ConfigException e =
        assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertTrue(
        e.getMessage()
            .contains(
                "/etc/basalt/update.conf:1: LOCKSMITHD_REBOOT_WINDOW_START needs "
                    + "LOCKSMITHD_REBOOT_WINDOW_LENGTH"),
        e.getMessage());
  }

  @Test
  void aliasAndNativeKeyInOneFileTheLaterLineWins() throws Exception {
    write(overrides, "ETCD_ENDPOINTS=http://a:2379\nLOCKSMITHD_ENDPOINT=http://b:2379\n");
    assertEquals(List.of("http://b:2379"), UpdateConfig.load(defaults, overrides).etcdEndpoints());
    write(overrides, "GROUP=alpha\nCHANNEL=beta\nSERVER=https://a/\nREPOSITORY_URL=https://b/\n");
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals("beta", c.channel());
    assertEquals(URI.create("https://b/"), c.repository());
    // the same spelling twice is still a mistake
    assertEquals(
        "/etc/basalt/update.conf:2: GROUP already set at /etc/basalt/update.conf:1",
        error("GROUP=a\nGROUP=b\n"));
  }

  @Test
  void locksmithEtcdTlsAndPasswordKeysAreRead() throws Exception {
    write(
        overrides,
        "REBOOT_STRATEGY=etcd-lock\nLOCKSMITHD_ENDPOINT=https://10.0.0.1:2379\n"
            + "LOCKSMITHD_ETCD_CAFILE=/etc/ssl/etcd/ca.pem\n"
            + "LOCKSMITHD_ETCD_CERTFILE=/etc/ssl/etcd/client.pem\n"
            + "LOCKSMITHD_ETCD_KEYFILE=/etc/ssl/etcd/client-key.pem\n"
            + "LOCKSMITHD_ETCD_USERNAME=agent\nLOCKSMITHD_ETCD_PASSWORD=s3cret\n");
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals(Path.of("/etc/ssl/etcd/ca.pem"), c.etcdCaFile());
    assertEquals(Path.of("/etc/ssl/etcd/client.pem"), c.etcdCertFile());
    assertEquals(Path.of("/etc/ssl/etcd/client-key.pem"), c.etcdKeyFile());
    assertEquals("agent", c.etcdUsername());
    assertEquals("s3cret", c.etcdPassword());
    assertFalse(c.toString().contains("s3cret"), c.toString());
    io.basalt.update.lock.EtcdConfig etcd = AgentMain.etcdConfig(c);
    assertEquals(List.of(URI.create("https://10.0.0.1:2379")), etcd.endpoints());
    assertEquals(Path.of("/etc/ssl/etcd/ca.pem"), etcd.caFile().orElseThrow());
    assertEquals(Path.of("/etc/ssl/etcd/client.pem"), etcd.certFile().orElseThrow());
    assertEquals(Path.of("/etc/ssl/etcd/client-key.pem"), etcd.keyFile().orElseThrow());
    assertEquals("agent", etcd.username().orElseThrow());
    assertEquals("s3cret", etcd.password());
    assertEquals(
        "/etc/basalt/update.conf:1: ETCD_CERTFILE needs ETCD_KEYFILE too (a client certificate"
            + " and its key; LOCKSMITHD_ETCD_* names work as well)",
        error("LOCKSMITHD_ETCD_CERTFILE=/c.pem\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: ETCD_PASSWORD needs ETCD_USERNAME", error("ETCD_PASSWORD=x\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: ETCD_CAFILE: expected an absolute path to a PEM file, found"
            + " \"ca.pem\"",
        error("LOCKSMITHD_ETCD_CAFILE=ca.pem\n"));
  }

  @Test
  void coreosKeysAreAccepted() throws Exception {
    write(overrides, "GROUP=alpha\nSERVER=http://127.0.0.1:8080/\nREBOOT_STRATEGY=off\n");
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals("alpha", c.channel());
    assertEquals("off", c.rebootStrategy());
    assertEquals(URI.create("http://127.0.0.1:8080/metadata/"), c.metadataUrl());
  }

  @Test
  void coreosAliasInEtcOverridesCanonicalKeyInUsr() throws Exception {
    write(defaults, "CHANNEL=stable\n");
    write(overrides, "GROUP=beta\n");
    assertEquals("beta", UpdateConfig.load(defaults, overrides).channel());
  }

  private String error(String text) throws Exception {
    write(overrides, text);
    return assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides))
        .getMessage();
  }

  @Test
  void errorsNameFileLineExpectedAndFound() throws Exception {
    assertEquals(
        "/etc/basalt/update.conf:2: REBOOT_STRATEGY: expected one of [etcd-lock, fleetlock, reboot, off], found \"best-effort\"",
        error("CHANNEL=stable\nREBOOT_STRATEGY=best-effort\n"));
    assertTrue(
        error("# c\n\nFOO=1\n")
            .startsWith(
                "/etc/basalt/update.conf:3: unknown key FOO; expected one of [ARCH, CHANNEL,"));
    assertEquals(
        "/etc/basalt/update.conf:1: expected KEY=VALUE, found \"just words\"",
        error("just words\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: CHECK_INTERVAL: expected a duration like 1h30m, 45m or 90s, found \"soon\"",
        error("CHECK_INTERVAL=soon\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: CHECK_INTERVAL: expected at least 1m, found 10s",
        error("CHECK_INTERVAL=10s\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: REPOSITORY_URL: expected an http:// or https:// URL, found \"ftp://x/\"",
        error("SERVER=ftp://x/\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: CHANNEL: expected [a-z0-9-] (e.g. stable), found \"Beta Channel\"",
        error("CHANNEL='Beta Channel'\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: unterminated quote in value \"abc", error("CHANNEL=\"abc\n"));
    assertEquals(
        "/etc/basalt/update.conf:1: REBOOT_STRATEGY=fleetlock needs FLEETLOCK_URL",
        error("REBOOT_STRATEGY=fleetlock\n"));
    assertTrue(
        error("REBOOT_WINDOW=someday 04:00 1h\n")
            .startsWith("/etc/basalt/update.conf:1: REBOOT_WINDOW: "));
    assertEquals(
        "/etc/basalt/update.conf:1: HEALTH_UNITS: expected unit names like containerd.service, found \"rm\"",
        error("HEALTH_UNITS=ok.service rm\n"));
  }

  @Test
  void downloadDeadlineIsAnHourUnlessSet() throws Exception {
    assertEquals(Duration.ofHours(1), UpdateConfig.load(defaults, overrides).downloadDeadline());
    write(overrides, "DOWNLOAD_DEADLINE=3h30m\n");
    assertEquals(
        Duration.ofMinutes(210), UpdateConfig.load(defaults, overrides).downloadDeadline());
    assertEquals(
        "/etc/basalt/update.conf:1: DOWNLOAD_DEADLINE: expected at least 1m, found 5s",
        error("DOWNLOAD_DEADLINE=5s\n"));
  }

  @Test
  void lockLeaseIsFifteenMinutesUnlessSetAndZeroMeansNeverExpire() throws Exception {
    assertEquals(Duration.ofMinutes(15), UpdateConfig.load(defaults, overrides).lockLease());
    write(overrides, "LOCK_LEASE=0\n");
    assertEquals(Duration.ZERO, UpdateConfig.load(defaults, overrides).lockLease());
    write(overrides, "LOCK_LEASE=1h\n");
    assertEquals(Duration.ofHours(1), UpdateConfig.load(defaults, overrides).lockLease());
    assertEquals(
        "/etc/basalt/update.conf:1: LOCK_LEASE: expected 0 (holds never expire) or at least 5s,"
            + " found 2s",
        error("LOCK_LEASE=2s\n"));
  }

  @Test
  void errorInShippedFileNamesThatFile() throws Exception {
    write(defaults, "REBOOT_STRATEGY=sometimes\n");
    ConfigException e =
        assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertTrue(
        e.getMessage().startsWith("/usr/share/basalt/update.conf:1: REBOOT_STRATEGY"),
        e.getMessage());
  }

  @Test
  void fleetlockTokenFileIsAnAbsolutePath() throws Exception {
    write(
        overrides,
        "REBOOT_STRATEGY=fleetlock\nFLEETLOCK_URL=https://fl.example:3333\n"
            + "FLEETLOCK_TOKEN_FILE=/etc/basalt/fleetlock.token\n");
    assertEquals(
        "/etc/basalt/fleetlock.token", UpdateConfig.load(defaults, overrides).fleetlockTokenFile());
    write(overrides, "FLEETLOCK_TOKEN_FILE=fleetlock.token\n");
    ConfigException e =
        assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertEquals(
        "/etc/basalt/update.conf:1: FLEETLOCK_TOKEN_FILE: expected an absolute path, found"
            + " \"fleetlock.token\"",
        e.getMessage());
  }

  @Test
  void swarmDrainAndQuorumCheckKeys() throws Exception {
    UpdateConfig c = UpdateConfig.load(defaults, overrides);
    assertEquals("auto", c.swarmDrain());
    assertEquals(Duration.ofMinutes(5), c.swarmDrainTimeout());
    assertEquals("auto", c.etcdQuorumCheck());
    assertFalse(c.quorumCheck(), "auto: only with strategy etcd-lock");
    write(overrides, "REBOOT_STRATEGY=etcd-lock\n");
    assertTrue(UpdateConfig.load(defaults, overrides).quorumCheck());
    write(
        overrides,
        "REBOOT_STRATEGY=etcd-lock\nSWARM_DRAIN=no\nSWARM_DRAIN_TIMEOUT=90s\n"
            + "ETCD_QUORUM_CHECK=\"No\"\n");
    c = UpdateConfig.load(defaults, overrides);
    assertEquals("no", c.swarmDrain());
    assertEquals(Duration.ofSeconds(90), c.swarmDrainTimeout());
    assertFalse(c.quorumCheck());
    write(
        overrides,
        "REBOOT_STRATEGY=fleetlock\nFLEETLOCK_URL=http://f:3333\nETCD_QUORUM_CHECK=yes\n");
    assertTrue(UpdateConfig.load(defaults, overrides).quorumCheck());

    write(overrides, "# x\nSWARM_DRAIN=maybe\n");
    ConfigException e =
        assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertEquals(
        overrides + ":2: SWARM_DRAIN: expected auto, yes or no, found \"maybe\"", e.getMessage());
    write(overrides, "ETCD_QUORUM_CHECK=true\n");
    e = assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertEquals(
        overrides + ":1: ETCD_QUORUM_CHECK: expected auto, yes or no, found \"true\"",
        e.getMessage());
    write(overrides, "SWARM_DRAIN_TIMEOUT=soon\n");
    e = assertThrows(ConfigException.class, () -> UpdateConfig.load(defaults, overrides));
    assertEquals(
        overrides
            + ":1: SWARM_DRAIN_TIMEOUT: expected a duration like 1h30m, 45m or 90s, found \"soon\"",
        e.getMessage());
  }
}
