package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.testing.EtcdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code basaltctl lock ...} against a real etcd. */
class LockCommandIT {

  static EtcdProcess etcd;
  static final Instant T = Instant.parse("2026-11-21T10:00:00Z");
  static final String ME = "0123456789abcdef0123456789abcdef";
  static final String OTHER = "fedcba9876543210fedcba9876543210";

  @TempDir Path tmp;

  @BeforeAll
  static void startEtcd() throws Exception {
    etcd = EtcdProcess.start();
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  Map<String, String> env(String group) throws Exception {
    Path mid = tmp.resolve("machine-id");
    Files.writeString(mid, ME + "\n");
    Map<String, String> env = new HashMap<>();
    env.put("BASALTCTL_ENDPOINT", etcd.endpoint());
    env.put("BASALTCTL_GROUP", group);
    env.put("BASALTCTL_MACHINE_ID_FILE", mid.toString());
    env.put("BASALT_STATE_DIR", tmp.resolve("state").toString());
    return env;
  }

  static CliRunner.Result run(Map<String, String> env, String... args) {
    return CliRunner.basaltctl(env, Clock.fixed(T, ZoneOffset.UTC), args);
  }

  @Test
  void lockStatusUnlockSetMax() throws Exception {
    Map<String, String> env = env("cli");
    CliRunner.Result r = run(env, "lock", "status");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(
        r.out().contains("Available: 1") && r.out().contains("not created yet"), r.toString());

    r = run(env, "lock", "set-max", "2");
    assertEquals(0, r.exit(), r.toString());
    r = run(env, "lock", "lock");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("Locked for " + ME), r.toString());
    r = run(env, "lock", "lock");
    assertEquals(0, r.exit(), "idempotent: " + r);
    assertTrue(r.out().contains("already holds"), r.toString());
    r = run(env, "lock", "lock", OTHER);
    assertEquals(0, r.exit(), r.toString());
    r = run(env, "lock", "lock", "third");
    assertEquals(LockCommand.EXIT_FULL, r.exit(), r.toString());
    assertTrue(r.err().contains("the lock is full") && r.err().contains(OTHER), r.toString());

    r = run(env, "lock", "status");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("Available: 0") && r.out().contains("Max: 2"), r.toString());
    assertTrue(
        r.out().contains(ME + "   ") && r.out().contains(T.toString() + " (0s ago)"), r.toString());

    r = run(env, "lock", "unlock", OTHER);
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().contains("not this machine") && r.err().contains("--force"), r.toString());
    r = run(env, "lock", "unlock", OTHER, "--force");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("Unlocked " + OTHER), r.toString());
    r = run(env, "lock", "unlock");
    assertEquals(0, r.exit(), r.toString());
    r = run(env, "lock", "unlock");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("does not hold"), r.toString());

    r = run(env, "lock", "status", "--json");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(
        r.out().contains("\"available\" : 2") && r.out().contains("\"holders\" : [ ]"),
        r.toString());

    r = run(env, "lock", "set-max", "--", "-1");
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().contains("N must be 0 or more, got -1"), r.toString());
  }

  @Test
  void flagsBeforeOrAfterTheSubcommandAndLocksmithEnvironment() throws Exception {
    Map<String, String> env = env("ignored");
    env.remove("BASALTCTL_ENDPOINT");
    env.remove("BASALTCTL_GROUP");
    env.put("LOCKSMITHCTL_ENDPOINT", etcd.endpoint());
    CliRunner.Result r = run(env, "lock", "--group", "flags", "lock");
    assertEquals(0, r.exit(), r.toString());
    r = run(env, "lock", "status", "--group", "flags");
    assertTrue(r.out().contains("groups/flags/semaphore") && r.out().contains(ME), r.toString());
    r =
        run(
            env,
            "lock",
            "status",
            "--endpoint",
            "http://127.0.0.1:1",
            "--endpoint",
            etcd.endpoint(),
            "--group",
            "flags");
    assertEquals(0, r.exit(), "failover across --endpoint flags: " + r);
    assertTrue(r.out().contains(ME), r.toString());
  }

  @Test
  void errorsAreClear() throws Exception {
    Map<String, String> env = env("errors");
    int dead = EtcdProcess.freePort();
    CliRunner.Result r =
        run(env, "lock", "status", "--endpoint", "http://127.0.0.1:" + dead, "--timeout", "1s");
    assertEquals(LockCommand.EXIT_UNAVAILABLE, r.exit(), r.toString());
    assertTrue(
        r.err().contains("etcd unreachable") && r.err().contains("127.0.0.1:" + dead),
        r.toString());

    etcd.etcdctlOutput(
        "put", "coreos.com/updateengine/rebootlock/groups/errors/semaphore", "{oops");
    r = run(env, "lock", "lock");
    assertEquals(LockCommand.EXIT_REFUSED, r.exit(), r.toString());
    assertTrue(
        r.err().contains("groups/errors/semaphore") && r.err().contains("not valid JSON"),
        r.toString());

    Files.delete(tmp.resolve("machine-id"));
    r = run(env, "lock", "unlock");
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().contains("cannot read this machine's id"), r.toString());

    r = run(env, "lock", "lock", "--wait", "soon");
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().contains("--wait: 'soon' is not a duration"), r.toString());

    r = run(env, "lock", "status", "--etcd-certfile", "/nonexistent.pem");
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().contains("--etcd-keyfile"), r.toString());
  }

  @Test
  void localHoldPersistsInTheStateDir() throws Exception {
    Map<String, String> env = env("hold");
    CliRunner.Result r = run(env, "lock", "hold", "--reason", "db migration");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(Files.exists(tmp.resolve("state/reboot-hold.json")));
    r = run(env, "lock", "status");
    assertTrue(r.out().contains("Local hold: held since " + T + ": db migration"), r.toString());
    r = run(env, "lock", "release");
    assertEquals(0, r.exit(), r.toString());
    assertFalse(Files.exists(tmp.resolve("state/reboot-hold.json")));
    r = run(env, "lock", "release");
    assertTrue(r.out().contains("no local reboot hold"), r.toString());
  }

  @Test
  void statusShowsEachHoldersAgeAndLastRenewalAndMarksStaleOnes() throws Exception {
    Map<String, String> env = env("ages");
    String key = io.basalt.update.lock.RebootLock.keyFor("ages");
    etcd.etcdctlOutput(
        "put",
        key,
        "{\"semaphore\":-1,\"max\":2,\"holders\":[\""
            + ME
            + "\",\""
            + OTHER
            + "\",\"ls\"],\"since\":{\""
            + ME
            + "\":\""
            + T.minusSeconds(3600)
            + "\",\""
            + OTHER
            + "\":\""
            + T.minusSeconds(1200)
            + "\"},\"basalt_leases\":{\""
            + ME
            + "\":\""
            + T.minusSeconds(60)
            + "\"}}");
    CliRunner.Result r = run(env, "lock", "status", "--lease", "15m");
    assertEquals(0, r.exit(), r.toString());
    String me = r.out().lines().filter(l -> l.startsWith(ME)).findFirst().orElseThrow();
    String other = r.out().lines().filter(l -> l.startsWith(OTHER)).findFirst().orElseThrow();
    String ls = r.out().lines().filter(l -> l.startsWith("ls ")).findFirst().orElseThrow();
    assertTrue(me.contains("1h0m0s") && me.contains("1m0s ago") && !me.contains("stale"), me);
    assertTrue(other.contains("20m0s") && other.contains("stale"), other);
    assertTrue(ls.contains("unknown"), ls);
    r = run(env, "lock", "status", "--json", "--lease", "15m");
    assertTrue(r.out().contains("\"age_seconds\" : 3600"), r.toString());
    assertTrue(r.out().contains("\"stale\" : true"), r.toString());
  }
}
