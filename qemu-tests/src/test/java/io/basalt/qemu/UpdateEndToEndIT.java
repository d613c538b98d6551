package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issues 7 and 17, end to end on real images under QEMU: one machine (a UEFI VM on one qcow2
 * overlay and one OVMF variable store, restarted after every reboot since QEMU runs with
 * -no-reboot) boots v1, updates itself to v2 from a TUF repository served on the host's loopback
 * through the delta path (only the chunks it lacks fetched: exactly what {@code basalt delta plan}
 * says), refuses metadata signed with the wrong key, a replay of older metadata and a tampered
 * payload (corrupted chunks and a flipped usr.img byte), then, with only the chunks corrupted,
 * falls back to the full payload for a v3 that fails its health check, and falls back to v2 when
 * v3's tries run out. The guest is driven through a control loop started by the test hook
 * (GuestServer). The steps depend on each other and run in order. Opt-in: {@code
 * -Dbasalt.qemu.long=true} (builds three images first) or {@code
 * -Dbasalt.qemu.update.images=PREFIX} (images made by UpdateImages.main).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@QemuLongTest(orWhenSet = "basalt.qemu.update.images")
class UpdateEndToEndIT {
  /** Generous: a first boot under TCG is ~4 min idle, far longer on a loaded 2-core machine. */
  static final Duration BOOT = Duration.ofMinutes(30);

  static final Duration INSTALL = Duration.ofMinutes(40);
  static final ObjectMapper JSON = new ObjectMapper();

  static Path work;
  static UpdateImages images;
  static GuestServer server;
  static GuestImage disk;
  static Path overlay;
  static Path repoA;
  static Path repoB;
  static Path repoC;
  static volatile Path wrongKey;
  static QemuVm vm;
  static String boot;
  static int bootNo;
  static int stage;

  /** The last {@code basaltctl status --json} of an install that showed a delta plan. */
  static volatile JsonNode planned;

  @BeforeAll
  static void setUp() throws Exception {
    work = Path.of("target", "update-e2e").toAbsolutePath();
    Files.createDirectories(work);
    long t0 = System.nanoTime();
    images = UpdateImages.get(work);
    figure("images ready (built or given) in %d s", secondsSince(t0));
    server = new GuestServer();
    disk = GuestImage.driven(images.image(1), work.resolve("vm"));
    overlay = disk.overlay("disk", "4G");
  }

  /**
   * The repository states the test serves: A = v1 published (kept as old metadata to replay), B =
   * v1 + v2, C = v1 + v2 + v3, and a repository with the same layout made with other keys.
   */
  static void repositories() throws Exception {
    long t0 = System.nanoTime();
    Path r = work.resolve("repo");
    UpdateImages.deleteTree(r);
    UpdateImages.copyTree(images.repo, r);
    publish(r, 1);
    repoA = work.resolve("repo-a");
    UpdateImages.deleteTree(repoA);
    UpdateImages.copyTree(r, repoA);
    publish(r, 2);
    repoB = work.resolve("repo-b");
    UpdateImages.deleteTree(repoB);
    UpdateImages.copyTree(r, repoB);
    repoC = r;
    figure("repositories A, B published in %d s", secondsSince(t0));
  }

  /**
   * C = B + v3, and the wrong-key repository offering v3 (made when the steps that need v3 start).
   */
  static void repositoriesWithV3() throws Exception {
    if (wrongKey != null) {
      return;
    }
    long t0 = System.nanoTime();
    publish(repoC, 3);
    Path w = work.resolve("repo-wrong-key");
    UpdateImages.deleteTree(w);
    UpdateImages.basalt("repo", "init", "-r", w.toString());
    publish(w, 3);
    wrongKey = w;
    figure("repositories C, wrong-key published in %d s", secondsSince(t0));
  }

  static void publish(Path repo, int major) throws Exception {
    UpdateImages.basalt(
        "repo",
        "publish",
        "-r",
        repo.toString(),
        images.awaitImage(major, Duration.ofMinutes(90)).resolve("update").toString(),
        "--channel",
        "stable");
  }

  @AfterAll
  static void tearDown() {
    if (vm != null) {
      vm.close();
    }
    if (server != null) {
      server.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void v1UpdatesItselfToV2InSlotBAndKeepsV1AsFallback() throws Exception {
    long t0 = System.nanoTime();
    startVm(); // v1's first boot overlaps publishing (and, with given images, v2's build still
    // running)
    repositories();
    server.serve(repoB);
    boot = server.awaitBoot(null, BOOT, vm);
    figure(
        "v1 first boot: control loop up after %d s (initramfs full verity check included)",
        secondsSince(t0));
    GuestServer.Result r = run("cat /proc/cmdline", Duration.ofMinutes(2));
    assertTrue(
        r.out().contains("basalt.version=1.0.0") && r.out().contains("basalt.slot=A"), r.out());
    assertTrue(
        vm.console().contains("basalt: multi-user reached (version 1.0.0, slot A"), vm.tail());
    // The agent checks ~30-100 s after it started, installs v2 into USR-B and reboots by itself
    // (strategy reboot).
    long t1 = System.nanoTime();
    planned = null;
    followUntilReboot("v1->v2");
    figure("v1 -> v2: install and reboot %d s after v1's control loop came up", secondsSince(t1));
    vm.close();

    long t2 = System.nanoTime();
    startVm();
    boot = server.awaitBoot(boot, BOOT, vm);
    figure("v2 first boot (slot B): control loop up after %d s", secondsSince(t2));
    assertTrue(
        vm.console().contains("basalt: multi-user reached (version 2.0.0, slot B"), vm.tail());
    assertTrue(
        !vm.console().contains("checking every block of /usr"),
        "the agent verified slot B while installing, so the initramfs does not check it again");
    r = run("cat /proc/cmdline; findmnt -n -o SOURCE /usr", Duration.ofMinutes(2));
    assertTrue(
        r.out().contains("basalt.version=2.0.0") && r.out().contains("basalt.slot=B"), r.out());
    JsonNode s = status();
    assertEquals("2.0.0", s.path("version").asText(), s.toString());
    assertEquals("B", s.path("slot").asText(), s.toString());
    assertTrue(s.path("fallback").asText().startsWith("1.0.0 (slot A"), s.toString());
    String text = run("basaltctl status", Duration.ofMinutes(2)).out();
    figure("basaltctl status on v2:%n%s", text.strip());
    // The delta path: the chunk index and only the chunks the running slot lacked, never usr.img.
    JsonNode plan =
        JSON.readTree(
            UpdateImages.basalt(
                    "delta",
                    "plan",
                    "--from",
                    images.image(1).resolve("update/usr.img").toString(),
                    "--to",
                    images.image(2).resolve("update").toString(),
                    "--json")
                .strip());
    long full = Files.size(images.image(2).resolve("update/usr.img"));
    figure(
        "v1 -> v2 over the delta path: served %d chunks, %d bytes (%.3f %% of usr.img's %d bytes);"
            + " usr.img requests %d; index requests %d; basalt delta plan: %s",
        server.chunkResponses(),
        server.chunkBytes(),
        100.0 * server.chunkBytes() / full,
        full,
        server.requests("usr.img"),
        server.requests("usr.img.chunks.json.gz"),
        plan);
    assertEquals(0, server.requests("usr.img"), "the full payload was not downloaded");
    assertTrue(server.requests("usr.img.chunks.json.gz") >= 1, "the chunk index was fetched");
    assertEquals(
        plan.path("fetch_bytes").asLong(),
        server.chunkBytes(),
        "chunk bytes served = what basalt delta plan says a v1 machine fetches");
    assertEquals(plan.path("fetch_chunks").asLong(), server.chunkResponses(), "chunks served");
    // what basaltctl status --json said while v1 installed v2
    assertTrue(planned != null, "basaltctl status never showed the delta plan");
    assertEquals(
        plan.path("fetch_bytes").asLong(), planned.path("fetchBytes").asLong(), planned.toString());
    assertEquals(
        plan.path("reuse_bytes").asLong(), planned.path("reuseBytes").asLong(), planned.toString());
    // blessed after boot-complete: the +3 counter is gone from v2's entry
    String entries =
        waitFor(
            "ls /efi/loader/entries",
            o -> o.contains("basalt-2.0.0-B.conf"),
            Duration.ofMinutes(10));
    assertTrue(entries.contains("basalt-1.0.0-A"), entries);
    figure("entries after the update: %s", entries.strip().replace('\n', ' '));
    stage = 1;
  }

  @Test
  @Order(2)
  void refusesWrongKeyReplayedOldMetadataAndATamperedPayload() throws Exception {
    Assumptions.assumeTrue(stage >= 1, "needs the v2 machine of the previous step");
    repositoriesWithV3();
    String before = entries();
    long usrRequests = server.requests("usr.img");

    // metadata signed with keys the machine does not trust
    server.serve(wrongKey);
    GuestServer.Result r = run("basaltctl update check", Duration.ofMinutes(5));
    JsonNode s = status();
    figure(
        "wrong key: update check rc=%d: %s | state=%s lastError=%s",
        r.rc(), r.out().strip(), s.path("state").asText(), s.path("lastError").asText());
    assertNotEquals(0, r.rc(), r.out());
    assertEquals("error", s.path("state").asText(), s.toString());
    assertEquals(before, entries());

    // a mirror replaying older metadata (only v1 offered, versions older than what the machine saw)
    server.serve(repoA);
    r = run("basaltctl update check", Duration.ofMinutes(5));
    s = status();
    figure(
        "replayed old metadata: update check rc=%d: %s | state=%s lastError=%s",
        r.rc(), r.out().strip(), s.path("state").asText(), s.path("lastError").asText());
    assertNotEquals(0, r.rc(), r.out());
    assertEquals("error", s.path("state").asText(), s.toString());
    assertEquals("2.0.0", s.path("version").asText());
    assertEquals(before, entries());
    assertEquals(
        usrRequests, server.requests("usr.img"), "nothing downloaded for refused metadata");

    // v3 correctly signed, but every chunk served and the usr.img served do not match their signed
    // hashes: the delta path refuses the chunks and falls back to the full payload, which is
    // refused
    server.serve(repoC);
    long chunksBefore = server.chunkResponses();
    server.corruptChunks(true);
    server.flipUsrImgByte(123L << 20);
    run("basaltctl update apply", Duration.ofMinutes(5));
    long t0 = System.nanoTime();
    JsonNode err = null;
    while (secondsSince(t0) < INSTALL.toSeconds()) {
      s = status();
      if ("error".equals(s.path("state").asText()) && server.requests("usr.img") > usrRequests) {
        err = s;
        break;
      }
      assertNotEquals("reboot-pending", s.path("state").asText(), s.toString());
      Thread.sleep(15_000);
    }
    assertTrue(err != null, "no error state within " + INSTALL);
    figure(
        "tampered payload refused after %d s: lastError=%s",
        secondsSince(t0), err.path("lastError").asText());
    assertTrue(
        err.path("lastError").asText().toLowerCase(Locale.ROOT).contains("sha256")
            || err.path("lastError").asText().toLowerCase(Locale.ROOT).contains("hash"),
        err.toString());
    assertEquals(before, entries());
    assertTrue(server.chunkResponses() > chunksBefore, "the delta path was tried first");
    figure(
        "corrupted chunks: %d chunk responses, then usr.img (flipped) requested %d times",
        server.chunkResponses() - chunksBefore, server.requests("usr.img") - usrRequests);
    server.flipUsrImgByte(-1);
    stage = 2;
  }

  @Test
  @Order(3)
  void v3ThatFailsItsHealthCheckFallsBackToV2AndIsNotRetried() throws Exception {
    Assumptions.assumeTrue(stage >= 2, "needs the v2 machine of the previous steps");
    repositoriesWithV3();
    server.serve(repoC);
    server.flipUsrImgByte(-1);
    // chunks still corrupted: the agent falls back to the (intact) full payload
    server.corruptChunks(true);
    long usrBefore = server.requests("usr.img");
    long t0 = System.nanoTime();
    run("basaltctl update apply", Duration.ofMinutes(5));
    followUntilReboot("v2->v3");
    figure(
        "v2 -> v3 with corrupted chunks: full payload (usr.img requests %d), install and reboot in %d s",
        server.requests("usr.img") - usrBefore, secondsSince(t0));
    assertTrue(server.requests("usr.img") > usrBefore, "v3 came from the full payload");
    server.corruptChunks(false);
    vm.close();

    int v3Boots = 0;
    String before;
    while (true) {
      long t1 = System.nanoTime();
      before =
          server
              .lastBoot(); // v3's control loops call in too: wait for one newer than the last seen
      startVm();
      QemuVm.Match m =
          vm.waitForAny(
              0,
              BOOT,
              "basalt: multi-user reached (version 3.0.0",
              "basalt: multi-user reached (version 2.0.0",
              "Kernel panic",
              "dropping to an emergency shell");
      if (m.index == 1) {
        break;
      }
      assertEquals(0, m.index, vm.tail());
      v3Boots++;
      assertTrue(v3Boots <= 3, "v3 booted more than its 3 tries");
      // boot-fallback reboots only because v2's blessed entry can be chosen (BootFallbackIT)
      vm.expect(
          0,
          BOOT,
          "rebooting so the loader falls back to loader/entries/basalt-2.0.0-B.conf",
          GuestImage.FAILURES);
      assertNotEquals(
          -1, vm.waitForExit(Duration.ofMinutes(5)), "the fallback unit reboots the machine");
      figure("v3 boot %d: health check failed, rebooted after %d s", v3Boots, secondsSince(t1));
      vm.close();
    }
    assertEquals(3, v3Boots, "v3 boots before the loader fell back");
    boot = server.awaitBoot(before, BOOT, vm);
    JsonNode s = status();
    figure("back on v2: %s", s);
    assertEquals("2.0.0", s.path("version").asText(), s.toString());
    assertEquals("B", s.path("slot").asText(), s.toString());
    assertTrue(s.path("failedVersions").toString().contains("3.0.0"), s.toString());
    assertTrue(
        s.path("lastError").asText().contains("3.0.0 did not reach boot-complete"), s.toString());
    long usr = server.requests("usr.img");
    long targetBytes = server.targetBytes();
    GuestServer.Result r = run("basaltctl update check", Duration.ofMinutes(5));
    figure("update check after the fallback: rc=%d %s", r.rc(), r.out().strip());
    // a periodic check (every 1 min + 10 s jitter) passes without downloading v3 again
    Thread.sleep(100_000);
    s = status();
    assertEquals("2.0.0", s.path("version").asText());
    assertTrue(
        !s.path("state").asText().equals("downloading")
            && !s.path("state").asText().equals("installing"),
        s.toString());
    assertEquals(usr, server.requests("usr.img"), "v3 is not downloaded again");
    assertEquals(targetBytes, server.targetBytes(), "no chunk or index of v3 fetched again");
    figure(
        "basaltctl status after the fallback:%n%s",
        run("basaltctl status", Duration.ofMinutes(2)).out().strip());
    stage = 3;
  }

  // ---------------------------------------------------------------------------------------------

  static void startVm() throws IOException {
    if (vm != null) {
      vm.close();
    }
    bootNo++;
    vm =
        QemuVm.start(
            "update-" + bootNo,
            disk.uefiVirtio("vm", overlay, server.guestfwd()),
            work.resolve("boot-" + bootNo + ".log"));
  }

  static GuestServer.Result run(String script, Duration timeout) throws Exception {
    return server.run(vm, script, timeout);
  }

  static JsonNode status() throws Exception {
    return server.status(vm);
  }

  /** The ESP's boot entries with a short hash of each. */
  static String entries() throws Exception {
    return run(
            "cd /efi/loader/entries && for f in *; do echo \"$f $(sha256sum < \"$f\" | cut -c1-16)\"; done",
            Duration.ofMinutes(2))
        .out();
  }

  static String waitFor(String script, java.util.function.Predicate<String> ok, Duration timeout)
      throws Exception {
    long t0 = System.nanoTime();
    String out;
    do {
      out = run(script, Duration.ofMinutes(2)).out();
      if (ok.test(out)) {
        return out;
      }
      Thread.sleep(10_000);
    } while (secondsSince(t0) < timeout.toSeconds());
    throw new AssertionError(script + ": not as expected within " + timeout + ": " + out);
  }

  /** Prints the agent's state every 15 s until the machine reboots (QEMU exits). */
  static void followUntilReboot(String what) throws Exception {
    long t0 = System.nanoTime();
    String last = "";
    while (vm.waitForExit(Duration.ZERO) == -1) {
      if (secondsSince(t0) > INSTALL.toSeconds()) {
        throw new AssertionError(what + ": no reboot within " + INSTALL + "\n" + vm.tail());
      }
      try {
        JsonNode s = status();
        if (s.path("fetchBytes").asLong(-1) >= 0) {
          planned = s;
        }
        String now = s.path("state").asText() + " " + s.path("progress").asInt();
        if (!now.equals(last)) {
          figure(
              "%s: +%d s state %s (served %d MiB of targets) %s",
              what,
              secondsSince(t0),
              now,
              server.targetBytes() >> 20,
              s.path("state").asText().equals("error") ? s.path("lastError").asText() : "");
          last = now;
        }
      } catch (GuestServer.VmExited e) {
        break;
      } catch (AssertionError e) {
        if (vm.waitForExit(Duration.ofMinutes(2)) != -1) {
          break; // the agent was already stopping for the reboot
        }
        throw e;
      }
      Thread.sleep(15_000);
    }
    assertEquals(
        0, vm.waitForExit(Duration.ofMinutes(2)), "QEMU exit status after the guest rebooted");
  }

  static long secondsSince(long nanos) {
    return Figures.secondsSince(nanos);
  }

  static void figure(String format, Object... args) {
    Figures.print("UpdateEndToEndIT", work, format, args);
  }
}
