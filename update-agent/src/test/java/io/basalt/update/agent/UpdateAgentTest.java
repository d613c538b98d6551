package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.BootEntry;
import io.basalt.host.HostPaths;
import io.basalt.update.cli.Basaltctl;
import io.basalt.update.install.TestBootDisk;
import io.basalt.update.install.VerityVerifier;
import io.basalt.update.status.StatusServer;
import io.basalt.update.strategy.RebootCoordinator;
import io.basalt.update.strategy.RebootStrategy;
import io.basalt.update.strategy.ShutdownInhibitors;
import io.basalt.update.testing.RepoRangeSource;
import io.basalt.update.testing.TufFixture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent on a fake root directory (real files, a real Unix socket): boot evaluation, check,
 * install, reboot through the strategy, failed-version memory, lock release after the blessed boot,
 * and {@code basaltctl status|update|rollback} against it.
 */
class UpdateAgentTest {

  private static final FileSystem REPO_FS = Jimfs.newFileSystem(Configuration.unix());
  private static TufFixture tuf;
  static final String V1 =
      "mount.usr=PARTUUID=aaaaaaaa-0000-0000-0000-00000000000a usrhash="
          + "11".repeat(32)
          + " basalt.usr.hashoffset=4096 basalt.slot=A basalt.version=1.0.0 console=ttyS0,115200";

  @TempDir Path root;
  private final List<String> log = new ArrayList<>();
  private final List<String> events = new ArrayList<>();
  private final ExecutorService worker = Executors.newSingleThreadExecutor();
  private StatusServer server;
  private AgentPaths paths;

  @BeforeAll
  static void repo() throws Exception {
    tuf = new TufFixture(REPO_FS.getPath("/t"));
    tuf.addRelease("stable", "x86-64", "2.0.0");
    tuf.publish();
  }

  @BeforeEach
  void setUp() throws Exception {
    paths = new AgentPaths(root);
    write("proc/cmdline", V1 + "\n");
    write(
        "usr/share/basalt/update.conf",
        "SERVER=http://repo/\nGROUP=stable\nREBOOT_STRATEGY=reboot\n");
    Files.copy(tuf.clientDir.resolve("root.json"), root.resolve("usr/share/basalt/root.json"));
    write("efi/loader/entries/basalt-1.0.0-A.conf", BootEntry.fresh("1.0.0", "A").text(V1));
    write("dev/vda3", "");
    Files.write(root.resolve("dev/vda3"), new byte[65536]);
    TestBootDisk.write(root);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.close();
    }
    worker.shutdownNow();
  }

  private void write(String rel, String text) throws Exception {
    Path p = root.resolve(rel);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
  }

  /** Whether the stand-in swarm guard can set the node active again (docker up). */
  private boolean dockerUp = true;

  /** Stands in for the Swarm drain: records when the agent asks it. */
  private final io.basalt.update.strategy.ClusterGuard swarm =
      new io.basalt.update.strategy.ClusterGuard() {
        @Override
        public java.util.Optional<String> beforeReboot() {
          events.add("drain");
          return java.util.Optional.empty();
        }

        @Override
        public boolean afterBoot() {
          events.add(dockerUp ? "active" : "active (docker not up)");
          return dockerUp;
        }
      };

  private UpdateAgent agent() throws Exception {
    RebootStrategy strategy =
        new RebootStrategy() {
          @Override
          public String name() {
            return "test";
          }

          @Override
          public Permission acquire() {
            events.add("acquire");
            return new Permission(true, "granted");
          }

          @Override
          public void release() {
            events.add("release");
          }
        };
    Clock clock = Clock.fixed(TufFixture.T0.plusSeconds(60), ZoneOffset.UTC);
    UpdateAgent a =
        new UpdateAgent(
            paths,
            clock,
            tuf.fetcher(),
            new RepoRangeSource(tuf.repoDir),
            (VerityVerifier) (d, h, o) -> events.add("verify " + d.getFileName() + " " + o),
            c ->
                RebootCoordinator.builder()
                    .strategy(strategy)
                    .grace(java.time.Duration.ZERO)
                    .inhibitors(ShutdownInhibitors.none())
                    .sessions(List::of)
                    .rebooter(() -> events.add("reboot"))
                    .localHold(new io.basalt.update.strategy.LocalHold(paths.stateDir()))
                    .clock(clock)
                    .guard(swarm)
                    .build(),
            log::add,
            new Random(1));
    a.start();
    return a;
  }

  private String[] ctl(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Basaltctl.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int rc = cl.execute(args);
    return new String[] {Integer.toString(rc), out.toString(), err.toString()};
  }

  @Test
  void checkInstallRebootThenBlessedBootReleasesTheLock() throws Exception {
    UpdateAgent a = agent();
    server = new StatusServer(paths.socket(), a.handler(worker));
    server.start();
    String sock = paths.socket().toString();

    String[] st = ctl("status", "--socket", sock);
    assertEquals("0", st[0], st[2]);
    assertTrue(st[1].contains("Version:    1.0.0 (slot A)"), st[1]);
    assertTrue(st[1].contains("Fallback:   none"), st[1]);
    assertTrue(st[1].contains("Last check: never"), st[1]);

    String[] check = ctl("update", "check", "--socket", sock);
    assertEquals("0", check[0], check[2]);
    assertEquals("update available: 1.0.0 -> 2.0.0\n", check[1]);

    assertTrue(
        a.runCycle(true, null, false)
            .startsWith("version 2.0.0 installed in slot B (basalt-2.0.0-B+3.conf)"));
    assertTrue(Files.exists(root.resolve("efi/loader/entries/basalt-2.0.0-B+3.conf")));
    String[] json = ctl("status", "--json", "--socket", sock);
    assertTrue(json[1].contains("\"state\" : \"reboot-pending\""), json[1]);
    assertTrue(json[1].contains("\"fallback\" : \"2.0.0 (slot B, 3 tries left)\""), json[1]);
    assertTrue(json[1].contains("\"available\" : \"2.0.0\""), json[1]);

    assertTrue(a.rebootStep().isEmpty());
    assertEquals(List.of("verify vda3 4096", "acquire", "drain", "reboot"), events);
    assertEquals("rebooting", a.status().state());

    // The next boot runs 2.0.0 from slot B; systemd-bless-boot has not run yet: the lock stays.
    server.close();
    server = null;
    events.clear();
    String v2 = Installer2.options(root);
    write("proc/cmdline", v2 + "\n");
    UpdateAgent b = agent();
    assertEquals("2.0.0", b.status().version());
    assertEquals("1.0.0 (slot A, good)", b.status().fallback());
    assertFalse(b.releaseLockIfBlessed());
    assertEquals(List.of(), events);
    // boot-complete reached: systemd-bless-boot drops the counter
    Files.move(
        root.resolve("efi/loader/entries/basalt-2.0.0-B+3.conf"),
        root.resolve("efi/loader/entries/basalt-2.0.0-B.conf"));
    dockerUp = false; // the swarm node cannot be set active yet: the lock is kept
    assertFalse(b.releaseLockIfBlessed());
    assertEquals(List.of("active (docker not up)"), events);
    dockerUp = true;
    assertTrue(b.releaseLockIfBlessed());
    assertEquals(List.of("active (docker not up)", "active", "release"), events);
    assertTrue(b.releaseLockIfBlessed());
    assertEquals(List.of("active (docker not up)", "active", "release"), events, "released once");
  }

  /** Reads the options of the entry the agent wrote. */
  static final class Installer2 {
    static String options(Path root) throws Exception {
      return BootEntry.options(
              Files.readString(root.resolve("efi/loader/entries/basalt-2.0.0-B+3.conf")))
          .orElseThrow();
    }
  }

  @Test
  void aVersionWhoseTriesRanOutIsRecordedAsFailedAndNotRetried() throws Exception {
    UpdateAgent a = agent();
    a.runCycle(true, null, false);
    // The new slot never reached boot-complete: the loader used up the tries and booted 1.0.0
    // again.
    Files.move(
        root.resolve("efi/loader/entries/basalt-2.0.0-B+3.conf"),
        root.resolve("efi/loader/entries/basalt-2.0.0-B+0-3.conf"));
    UpdateAgent b = agent();
    assertEquals(List.of("2.0.0"), b.status().failedVersions());
    assertEquals(
        "version 2.0.0 did not reach boot-complete; back on 1.0.0", b.status().lastError());
    assertTrue(
        log.contains(
            "version 2.0.0 (slot B) ran out of boot tries; recorded as failed, running 1.0.0"),
        log.toString());
    assertEquals(
        "newest version 2.0.0 failed to boot here before; waiting for a newer one",
        b.runCycle(true, null, false));
    assertTrue(
        Files.exists(root.resolve("efi/loader/entries/basalt-2.0.0-B+0-3.conf")),
        "not reinstalled");
    assertEquals("2.0.0 (slot B, no tries left)", b.status().fallback());
    // The operator can still force it.
    assertTrue(b.runCycle(true, "2.0.0", true).startsWith("version 2.0.0 installed in slot B"));
  }

  @Test
  void aTrialBootInstallsNothingUntilItIsBlessed() throws Exception {
    // 1.0.0 in slot A runs on trial (boot counter left); 0.9.0 in slot B is the only proven one.
    Files.delete(root.resolve("efi/loader/entries/basalt-1.0.0-A.conf"));
    write("efi/loader/entries/basalt-1.0.0-A+2-1.conf", BootEntry.fresh("1.0.0", "A").text(V1));
    write("efi/loader/entries/basalt-0.9.0-B.conf", BootEntry.fresh("0.9.0", "B").text("x"));
    UpdateAgent a = agent();
    String m = a.runCycle(true, null, false);
    assertEquals(
        "version 2.0.0 available; not installing until this boot (1.0.0, slot A,"
            + " basalt-1.0.0-A+2-1.conf) is blessed: slot B holds the last known-good version",
        m);
    assertEquals("trial-boot", a.status().state());
    assertEquals(m, a.status().message());
    assertTrue(log.contains(m), log.toString());
    assertTrue(Files.exists(root.resolve("efi/loader/entries/basalt-0.9.0-B.conf")));
    assertEquals(List.of(), events, "slot B not written");

    // boot-complete reached: systemd-bless-boot drops the counter; the next cycle installs
    Files.move(
        root.resolve("efi/loader/entries/basalt-1.0.0-A+2-1.conf"),
        root.resolve("efi/loader/entries/basalt-1.0.0-A.conf"));
    assertTrue(
        a.runCycle(true, null, false).startsWith("version 2.0.0 installed in slot B"),
        a.status().message());
  }

  @Test
  void theEntryTheLoaderCountsHoldsBackTheInstall() throws Exception {
    // The ESP has a blessed 1.0.0-A entry, but the loader booted a counted one
    // (LoaderBootCountPath)
    write("efi/loader/entries/basalt-1.0.0-A+1-2.conf", BootEntry.fresh("1.0.0", "A").text(V1));
    Path efivar = root.resolve(HostPaths.LOADER_BOOT_COUNT_PATH.substring(1));
    Files.createDirectories(efivar.getParent());
    byte[] text =
        "\\loader\\entries\\basalt-1.0.0-A+1-2.conf\0".getBytes(StandardCharsets.UTF_16LE);
    byte[] var = new byte[4 + text.length];
    var[0] = 6; // attributes: boot service + runtime access
    System.arraycopy(text, 0, var, 4, text.length);
    Files.write(efivar, var);
    UpdateAgent a = agent();
    assertFalse(a.blessed());
    assertTrue(a.runCycle(true, null, false).contains("not installing until this boot"));
    assertEquals(List.of(), events);
    Files.delete(root.resolve("efi/loader/entries/basalt-1.0.0-A+1-2.conf")); // blessed
    assertTrue(a.blessed());
  }

  @Test
  void aCorruptTrustedRootIsReseededFromTheShippedRootWithAWarning() throws Exception {
    UpdateAgent a = agent();
    assertEquals("update available: 1.0.0 -> 2.0.0", a.runCycle(false, null, false));
    Path trusted = paths.tufDir().resolve("root.json");
    Files.writeString(trusted, "{\"signed\": {\"_type\": \"ro"); // a torn write
    assertEquals("update available: 1.0.0 -> 2.0.0", a.runCycle(false, null, false));
    assertEquals("idle", a.status().state());
    String warning =
        log.stream().filter(l -> l.startsWith("warning: " + trusted + ": ")).findFirst().orElse("");
    assertTrue(
        warning.endsWith("; re-seeded from the image's " + paths.shippedRoot()), log.toString());
    assertTrue(Arrays.equals(Files.readAllBytes(paths.shippedRoot()), Files.readAllBytes(trusted)));
  }

  @Test
  void noUpdatesInLiveModeOrWithNoupdateFile() throws Exception {
    write("usr/.noupdate", "");
    UpdateAgent a = agent();
    assertEquals(
        root.resolve("usr/.noupdate") + " exists: updates are switched off",
        a.runCycle(true, null, false));
    assertEquals("disabled", a.status().state());
    Files.delete(root.resolve("usr/.noupdate"));
    write(
        "proc/cmdline",
        "basalt.live usrhash="
            + "11".repeat(32)
            + " basalt.usr.hashoffset=4096 basalt.version=1.0.0\n");
    UpdateAgent live = agent();
    assertEquals("PXE live boot (basalt.live): no A/B updates", live.runCycle(true, null, false));
    assertEquals(List.of(), events);
  }

  @Test
  void configErrorsAndMissingRepositoryAreReportedInStatus() throws Exception {
    write("usr/share/basalt/update.conf", "GROUP=stable\n");
    UpdateAgent a = agent();
    assertEquals(
        "no REPOSITORY_URL (or SERVER) in " + paths.overridesConf() + " or " + paths.defaultsConf(),
        a.runCycle(false, null, false));
    assertEquals("error", a.status().state());
    write("etc/basalt/update.conf", "REBOOT_STRATEGY=maybe\n");
    String m = a.runCycle(false, null, false);
    assertTrue(m.startsWith(paths.overridesConf() + ":1: REBOOT_STRATEGY: expected one of"), m);
  }

  @Test
  void basaltctlSaysClearlyWhenTheAgentIsNotRunning() {
    String[] r = ctl("status", "--socket", root.resolve("run/basalt/update-agent.sock").toString());
    assertEquals("3", r[0]);
    assertEquals(
        "basaltctl status: the update agent is not running (no socket "
            + root.resolve("run/basalt/update-agent.sock")
            + "); start it with: systemctl start basalt-update-agent.service\n",
        r[2]);
    assertEquals("3", ctl("update", "apply", "--socket", root.resolve("x.sock").toString())[0]);
  }

  @Test
  void rollbackMakesTheOtherSlotTheDefault() throws Exception {
    write("efi/loader/entries/basalt-0.9.0-B.conf", BootEntry.fresh("0.9.0", "B").text("x"));
    String[] r =
        ctl(
            "rollback",
            "--esp",
            root.resolve("efi").toString(),
            "--cmdline",
            root.resolve("proc/cmdline").toString());
    assertEquals("0", r[0], r[2]);
    assertEquals(
        "marked basalt-1.0.0-A.conf as out of tries (basalt-1.0.0-A+0-1.conf)\n"
            + "next boot: 0.9.0 (slot B); reboot to switch (systemctl reboot)\n",
        r[1]);
    try (var s = Files.list(root.resolve("efi/loader/entries"))) {
      assertEquals(
          List.of("basalt-0.9.0-B.conf", "basalt-1.0.0-A+0-1.conf"),
          s.map(p -> p.getFileName().toString()).sorted().toList());
    }
    Files.delete(root.resolve("efi/loader/entries/basalt-0.9.0-B.conf"));
    String[] none =
        ctl(
            "rollback",
            "--esp",
            root.resolve("efi").toString(),
            "--cmdline",
            root.resolve("proc/cmdline").toString());
    assertEquals("1", none[0]);
    assertTrue(none[2].contains("slot B has no bootable entry"), none[2]);
  }
}
