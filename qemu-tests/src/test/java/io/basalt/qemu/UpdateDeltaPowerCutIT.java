package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.host.HostPaths;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Power cuts on the delta update path (issue 17's acceptance: "power cut during the delta assembly
 * (&ge; 5 points): every time the machine boots v1, and a later run completes to v2"). A v1 machine
 * installs v2 by itself through the chunk index: v2 differs from v1 only in its version, so the
 * agent reuses nearly all of its running slot and fetches a few chunks. QEMU is killed (SIGKILL, as
 * on a power cut) at successive points of that path:
 *
 * <ol>
 *   <li>chunk fetch: after the first chunk response was sent, before the last (the server answers
 *       chunks one at a time after a delay, so the agent's parallel fetches end one by one);
 *   <li>chunk fetch, resumed: the next boot's agent fetches the rest while the guest keeps at least
 *       one chunk in {@code downloads/VERSION/chunks}; the boot after that must request fewer
 *       chunks than the plan's total (kept chunks are not fetched again);
 *   <li>the agent assembling the image in USR-B (the device open, no {@code veritysetup} yet);
 *   <li>the same, &ge; 50 % of usr.img written ({@code wchar} in {@code /proc/PID/io} since the
 *       device was first seen open);
 *   <li>{@code veritysetup format} writing the verity area over the assembled slot.
 * </ol>
 *
 * A guest-side point that the install runs past between two samples is reported as passed (not a
 * cut) and the next point is watched in the same boot; at least 5 cuts must happen. After every cut
 * the machine boots v1 from slot A with no v2 or slot-B entry; after the last one the agent
 * completes, reboots, and v2 comes up from slot B with v1 as fallback, without the server ever
 * having been asked for the full usr.img. Figures in {@code
 * target/update-delta-powercut/figures.txt}. Opt-in like {@link UpdatePowerCutIT} (long: ~60-90
 * min). The agent under test is the one inside the images: with {@code -Dbasalt.qemu.update.images}
 * they must come from this tree (images whose agent did not fsync its kept chunks fail the resume
 * check).
 */
@QemuLongTest(orWhenSet = "basalt.qemu.update.images")
class UpdateDeltaPowerCutIT {
  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Each chunk response waits this long before its first byte, one at a time: the agent's HTTP read
   * timeout is 60 s (AgentMain), so two queued chunks (2 x 24 s) still answer in time, and a cut
   * between two responses has a 24 s window.
   */
  static final long CHUNK_DELAY_MS = 24_000;

  /** The agent's download folder for v2 in the guest. */
  static final String DIR = HostPaths.DOWNLOADS + "/2.0.0";

  /** How long one cut point may take to come (a boot, the agent's check interval, its work). */
  static final Duration POINT = Duration.ofMinutes(40);

  static Path work;
  static UpdateImages images;
  static GuestServer server;
  static GuestImage disk;
  static Path overlay;
  static Path noUpdates;
  static Path withV2;
  static QemuVm vm;
  static int bootNo;

  @BeforeAll
  static void setUp() throws Exception {
    work = Path.of("target", "update-delta-powercut").toAbsolutePath();
    UpdateImages.deleteTree(work);
    Files.createDirectories(work);
    images = UpdateImages.get(Path.of("target", "update-e2e").toAbsolutePath());
    // Nothing published while v1 boots the first time, so the update starts after the test
    // watches; then the same repository with v2 published (usr.img, its chunk index and chunks).
    noUpdates = work.resolve("repo-empty");
    images.repository(noUpdates);
    withV2 = work.resolve("repo");
    images.repository(withV2, 2);
    server = new GuestServer();
    server.hideChunkIndexes(false);
    server.serve(noUpdates);
    disk = GuestImage.driven(images.image(1), work.resolve("vm"));
    overlay = disk.overlay("disk", "4G");
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

  @Test
  void powerCutsOnTheDeltaPathLeaveV1BootingAndALaterRunCompletesWithoutTheFullPayload()
      throws Exception {
    long usrSize = Files.size(images.image(2).resolve("update/usr.img"));
    // What the agent should plan: the same code answers offline (basalt delta plan).
    String planOut =
        UpdateImages.basalt(
            "delta",
            "plan",
            "--from",
            images.image(1).resolve("update/usr.img").toString(),
            "--to",
            images.image(2).toString(),
            "--json");
    JsonNode plan = JSON.readTree(planOut.substring(planOut.indexOf('{')));
    int total = plan.path("fetch_chunks").asInt();
    long planFetch = plan.path("fetch_bytes").asLong();
    long planReuse = plan.path("reuse_bytes").asLong();
    List<String> cuts = new ArrayList<>();
    List<String> passed = new ArrayList<>();
    // failures that need not stop the run: checked at its end, after every cut point was tried
    List<String> problems = new ArrayList<>();
    long t0 = System.nanoTime();
    figure(
        "start: load average %s, usr.img %d bytes; basalt delta plan v1 -> v2: fetch %d bytes in %d"
            + " chunks, reuse %d, rebuild %d (verity area), index %d bytes",
        load(),
        usrSize,
        planFetch,
        total,
        planReuse,
        plan.path("rebuild_bytes").asLong(),
        plan.path("index_bytes").asLong());
    assertTrue(total >= 2, "a cut between two chunk responses needs 2 chunks to fetch: " + plan);

    startVm();
    String boot = server.awaitBoot(null, UpdateEndToEndIT.BOOT, vm);
    assertTrue(
        vm.console().contains("basalt: multi-user reached (version 1.0.0, slot A"), vm.tail());
    figure("v1 first boot: control loop up after %d s (load %s)", secondsSince(t0), load());
    server.delayChunks(CHUNK_DELAY_MS);
    server.serialChunks(true);
    server.serve(withV2);

    // 1. after the first chunk response, before the last
    long t1 = System.nanoTime();
    awaitHost(() -> server.chunkResponses() >= 1, "the first chunk response");
    vm.close(); // power cut
    long responses = server.chunkResponses();
    assertTrue(
        responses > 0 && responses < total,
        "the cut must fall between the first and the last chunk response: "
            + responses
            + " of "
            + total);
    noFullPayload("cut 1");
    cuts.add(
        String.format(
            "chunk fetch: %d of %d chunk responses sent (%d requests, %d bytes), index requested %d"
                + " times",
            responses,
            total,
            server.chunkRequests(),
            server.chunkBytes(),
            server.requests("usr.img.chunks.json.gz")));
    cutFigure(cuts, t1);
    // counted before the boot: a quick boot's agent may fetch before its control loop answers
    long requestsAtBoot = server.chunkRequests();
    long responsesAtBoot = server.chunkResponses();
    boot = bootsV1(boot);

    // 2. the rest being fetched while some chunks are kept in the guest
    t1 = System.nanoTime();
    int kept;
    while (true) {
      long before = server.chunkResponses();
      awaitHost(() -> server.chunkRequests() > requestsAtBoot, "a chunk request of this boot");
      GuestServer.Result r =
          server.run(
              vm,
              "ls " + DIR + "/chunks | grep -c '^[0-9a-f]\\{64\\}$'; true",
              Duration.ofMinutes(5));
      kept = Integer.parseInt(r.out().strip().lines().reduce((a, b) -> b).orElse("-1").strip());
      if (kept >= 1 && kept < total) {
        vm.close(); // power cut
        break;
      }
      if (kept >= total) {
        break;
      }
      // nothing kept yet (the previous cut lost its chunk): wait for one of this boot
      awaitHost(() -> server.chunkResponses() > before, "a chunk response of this boot");
    }
    if (kept < total) {
      noFullPayload("cut 2");
      cuts.add(
          String.format(
              "chunk fetch resumed: %d of %d chunks kept in %s/chunks, this boot's chunk requests"
                  + " %d, responses %d",
              kept,
              total,
              DIR,
              server.chunkRequests() - requestsAtBoot,
              server.chunkResponses() - responsesAtBoot));
      cutFigure(cuts, t1);
    } else {
      passed.add("chunk fetch resumed: all " + total + " chunks were kept before the cut");
      figure("passed: %s", passed.get(passed.size() - 1));
    }
    server.delayChunks(0);
    long requestsAtResume = server.chunkRequests();
    long responsesAtResume = server.chunkResponses();
    if (kept < total) {
      boot = bootsV1(boot);
    }

    // 3.-5. the points the guest sees
    String[] points = {"assembling", "assembled-half", "format"};
    boolean completed = false;
    Integer resumed = null;
    JsonNode during = null;
    for (String point : points) {
      t1 = System.nanoTime();
      GuestServer.Result r;
      try {
        r = server.run(vm, waitFor(point, usrSize), POINT);
      } catch (GuestServer.VmExited e) {
        passed.add(point + ": the install completed and the machine rebooted first");
        figure("passed: %s", passed.get(passed.size() - 1));
        completed = true;
        break;
      }
      String out = r.out().strip();
      if (resumed == null) {
        // the agent fetched what it lacked before it assembled: chunk requests since the resume
        resumed = (int) (server.chunkRequests() - requestsAtResume);
        figure(
            "resume: with %d of %d chunks kept at the cut, the next boot requested %d chunks (%d"
                + " responses); agent: %s",
            kept, total, resumed, server.chunkResponses() - responsesAtResume, logLines(out));
        resumeChecked(resumed, total, problems);
      }
      String statusLine =
          out.lines()
              .filter(l -> l.startsWith("status: ") && l.contains("{"))
              .findFirst()
              .orElse(null);
      if (statusLine != null && during == null) {
        during =
            JSON.readTree(
                statusLine.substring(statusLine.indexOf('{'), statusLine.lastIndexOf('}') + 1));
      }
      if (r.rc() == 3) {
        passed.add(
            point
                + ": "
                + out.substring(out.lastIndexOf("passed: ") + 8).lines().findFirst().orElse(""));
        figure("passed: %s", passed.get(passed.size() - 1));
        continue;
      }
      assertEquals(0, r.rc(), "waiting in the guest for the cut at " + point + ":\n" + out);
      vm.close(); // power cut
      noFullPayload("cut at " + point);
      cuts.add(
          point
              + ": "
              + out.substring(out.lastIndexOf("cut: ") + 5).lines().findFirst().orElse(""));
      cutFigure(cuts, t1);
      boot = bootsV1(boot);
    }

    if (resumed == null) {
      resumed = (int) (server.chunkRequests() - requestsAtResume);
      figure(
          "resume: with %d of %d chunks kept at the cut, the next boot requested %d chunks",
          kept, total, resumed);
      resumeChecked(resumed, total, problems);
    }
    // Left alone, the agent completes the install and reboots into v2.
    long t2 = System.nanoTime();
    if (!completed) {
      while (vm.waitForExit(Duration.ofSeconds(10)) == -1) {
        assertTrue(
            secondsSince(t2) < POINT.toSeconds(), "no reboot after the last cut\n" + vm.tail());
      }
    }
    figure(
        "after the last cut the agent completed the install and rebooted %d s later",
        secondsSince(t2));
    startVm();
    server.awaitBoot(boot, UpdateEndToEndIT.BOOT, vm);
    assertTrue(
        vm.console().contains("basalt: multi-user reached (version 2.0.0, slot B"), vm.tail());
    JsonNode st = status();
    assertEquals("2.0.0", st.path("version").asText(), st.toString());
    assertEquals("B", st.path("slot").asText(), st.toString());
    assertTrue(st.path("fallback").asText().startsWith("1.0.0 (slot A"), st.toString());
    String entries = server.run(vm, "ls /efi/loader/entries", Duration.ofMinutes(2)).out();
    assertTrue(entries.contains("basalt-1.0.0-A"), "v1's entry kept as fallback: " + entries);
    GuestServer.Result journal =
        server.run(
            vm,
            "journalctl --no-pager -o cat -u basalt-update-agent.service | grep 'delta update' | tail -n 20; true",
            Duration.ofMinutes(3));
    figure(
        "v2 from slot B, fallback %s; status on v2: fetchBytes %d, reuseBytes %d; agent's delta"
            + " log lines kept in the journal:%n%s",
        st.path("fallback").asText(),
        st.path("fetchBytes").asLong(),
        st.path("reuseBytes").asLong(),
        journal.out().strip());
    figure(
        "server: usr.img requests %d, chunk requests %d, chunk responses %d, chunk bytes %d (plan:"
            + " %d bytes in %d chunks), index requests %d",
        server.requests("usr.img"),
        server.chunkRequests(),
        server.chunkResponses(),
        server.chunkBytes(),
        planFetch,
        total,
        server.requests("usr.img.chunks.json.gz"));
    noFullPayload("the update");
    assertTrue(server.chunkResponses() >= total, "every missing chunk was fetched once at least");
    if (during != null) {
      figure(
          "basaltctl status --json while the resumed run assembled: state %s, fetchBytes %d,"
              + " reuseBytes %d",
          during.path("state").asText(),
          during.path("fetchBytes").asLong(),
          during.path("reuseBytes").asLong());
      // every chunk was kept by then: the agent reuses all the data and fetches nothing
      assertEquals(
          planFetch + planReuse,
          during.path("fetchBytes").asLong() + during.path("reuseBytes").asLong(),
          during.toString());
      assertTrue(during.path("fetchBytes").asLong() >= 0, "a delta plan: " + during);
    }
    figure(
        "%d power cuts, %d points passed; then v2 booted from slot B, %d s after the last cut;"
            + " %d s in all (load %s)",
        cuts.size(), passed.size(), secondsSince(t2), secondsSince(t0), load());
    for (int i = 0; i < cuts.size(); i++) {
      figure("  cut %d: %s", i + 1, cuts.get(i));
    }
    for (String p : passed) {
      figure("  passed: %s", p);
    }
    assertEquals(List.of(), problems);
    assertTrue(during != null, "basaltctl status --json was never read during a delta install");
    assertTrue(
        cuts.size() >= 5, "at least 5 cuts on the delta path: " + cuts + ", passed " + passed);
  }

  /**
   * A guest script (/bin/sh) that returns rc 0 with a {@code cut: } line as soon as the install
   * reaches {@code point}, or rc 3 with a {@code passed: } line when it is seen past it (v2's entry
   * written, or a later phase running). Samples fork little (a {@code grep} over the processes'
   * {@code comm}, an {@code ls} of the agent's descriptors): the phases last seconds to minutes
   * under TCG.
   *
   * <ul>
   *   <li>{@code assembling}: the agent has USR-B open and no {@code veritysetup} runs; passed once
   *       {@code veritysetup} runs;
   *   <li>{@code assembled-half}: the same, and the agent has written &ge; 50 % of usr.img's size
   *       since the device was first seen open ({@code wchar} of {@code /proc/PID/io}: the slot is
   *       written with positional writes, which leave the descriptor's offset alone);
   *   <li>{@code format}: {@code veritysetup format} runs. While the agent assembles, {@code
   *       basaltctl status --json} is read once and printed as a {@code status: } line.
   * </ul>
   */
  static String waitFor(String point, long usrSize) {
    List<String> s = new ArrayList<>();
    s.add("dir=" + DIR);
    s.add("size=" + usrSize);
    s.add("want=$((size / 100 * 50))");
    s.add("dev=$(readlink -f /dev/disk/by-partlabel/USR-B)");
    s.add(
        "log() { journalctl -b --no-pager -o cat -u basalt-update-agent.service 2>/dev/null"
            + " | grep 'delta update' | tail -n 3 | sed 's/^/agent: /'; }");
    s.add(
        "status() { if [ -s /run/pc-status.json ]; then echo \"status: $(tr -d '\\n' < /run/pc-status.json)\"; fi; }");
    s.add("rm -f /run/pc-status.json");
    s.add("pid=0; fd=; n=0; st=; base=");
    s.add("while [ $n -lt 100000 ]; do");
    s.add("  n=$((n+1))");
    s.add("  for e in /efi/loader/entries/*2.0.0*; do");
    s.add(
        "    if [ -e \"$e\" ]; then status; log; echo \"passed: the install finished first ($e, sample $n)\"; exit 3; fi");
    s.add("  done");
    s.add(
        "  if [ ! -d /proc/$pid/fd ]; then pid=$(systemctl show -p MainPID --value basalt-update-agent.service); fd=; base=; fi");
    s.add("  vs=");
    s.add("  for c in $(grep -lx veritysetup /proc/[0-9]*/comm 2>/dev/null); do");
    s.add("    vs=\"$vs $(tr '\\0' ' ' < ${c%comm}cmdline 2>/dev/null)\"");
    s.add("  done");
    switch (point) {
      case "assembling", "assembled-half" -> {
        s.add("  want=" + (point.equals("assembling") ? "0" : "$((size / 100 * 50))"));
        s.add(
            "  if [ -n \"$vs\" ]; then log; echo \"passed: assembled before a sample saw it ($vs, sample $n)\"; exit 3; fi");
        s.add("  case \"$(ls -l /proc/$pid/fd 2>/dev/null)\" in *\" -> $dev\"*)");
        s.add("    w=$(sed -n 's/^wchar: //p' /proc/$pid/io 2>/dev/null)");
        s.add("    [ -n \"$base\" ] || base=$w");
        s.add("    if [ -n \"$w\" ] && [ $((w - base)) -ge $want ]; then");
        s.add(
            "      echo \"cut: the agent (pid $pid) assembling usr.img in $dev, $((w - base)) bytes written since first seen ($size in all), sample $n\"");
        s.add("      log; exit 0");
        s.add("    fi ;;");
        s.add("  esac");
        s.add("  sleep 0.1");
      }
      case "format" -> {
        s.add("  case \"$vs\" in *\"veritysetup format \"*)");
        s.add(
            "    status; log; echo \"cut: veritysetup format running over $dev (sample $n)\"; exit 0 ;;");
        s.add("  esac");
        s.add(
            "  case \"$vs\" in *\"veritysetup verify \"*) status; log; echo \"passed: veritysetup verify runs (the delta path fell back, sample $n)\"; exit 3 ;; esac");
        s.add("  if [ -z \"$st\" ]; then");
        s.add("    case \"$(ls -l /proc/$pid/fd 2>/dev/null)\" in *\" -> $dev\"*)");
        s.add("      basaltctl status --json > /run/pc-status.json 2>&1; st=1 ;;");
        s.add("    esac");
        s.add("  fi");
        s.add("  sleep 0.2");
      }
      default -> throw new IllegalArgumentException("point: " + point);
    }
    s.add("done");
    s.add("echo \"gave up after $n samples\"; exit 4");
    s.add("");
    return String.join("\n", s);
  }

  /**
   * The resume check: the boot after the cut with chunks kept requests fewer chunks than the plan's
   * total. A failure is recorded (and printed) so the run goes on through the later cut points.
   */
  static void resumeChecked(int resumed, int total, List<String> problems) {
    if (resumed >= total) {
      problems.add(
          "kept chunks must not be fetched again: "
              + resumed
              + " chunk requests after the cut, "
              + total
              + " chunks to fetch in all");
      figure("FAILED: %s", problems.get(problems.size() - 1));
    }
  }

  /** The agent's log lines a guest script printed ({@code agent: } lines), joined. */
  static String logLines(String out) {
    return String.join(
        " | ", out.lines().filter(l -> l.startsWith("agent: ")).map(l -> l.substring(7)).toList());
  }

  /** Polls {@code done} every 100 ms while QEMU runs, for at most {@link #POINT}. */
  static void awaitHost(BooleanSupplier done, String what) throws InterruptedException {
    long t = System.nanoTime();
    while (!done.getAsBoolean()) {
      assertEquals(
          -1,
          vm.waitForExit(Duration.ofMillis(100)),
          "QEMU exited while the test waited for " + what + "\n" + vm.tail());
      assertTrue(
          secondsSince(t) < POINT.toSeconds(),
          "no "
              + what
              + " within "
              + POINT
              + " (chunk requests "
              + server.chunkRequests()
              + ", responses "
              + server.chunkResponses()
              + ", usr.img requests "
              + server.requests("usr.img")
              + ")\n"
              + vm.tail());
    }
  }

  /** The delta path never fell back to the full payload. */
  static void noFullPayload(String when) {
    assertEquals(
        0,
        server.requests("usr.img"),
        when + ": the agent asked for the full usr.img (the delta path failed)");
  }

  static void cutFigure(List<String> cuts, long since) {
    figure(
        "cut %d: %s, %d s after the previous boot's control loop (load %s)",
        cuts.size(), cuts.get(cuts.size() - 1), secondsSince(since), load());
  }

  /** After a cut: the machine boots v1 from slot A, and the new slot has no boot entry yet. */
  static String bootsV1(String previous) throws Exception {
    long t = System.nanoTime();
    startVm();
    GuestServer.CutBoot b = server.awaitV1AfterCut(vm, previous);
    figure(
        "  boot %d: v1 from slot A again, control loop up %d s after QEMU start (entries: %s)",
        bootNo, secondsSince(t), b.entries());
    return b.boot();
  }

  static void startVm() throws IOException {
    if (vm != null) {
      vm.close();
    }
    bootNo++;
    vm =
        QemuVm.start(
            "delta-powercut-" + bootNo,
            disk.uefiVirtio("vm", overlay, server.guestfwd()),
            work.resolve("boot-" + bootNo + ".log"));
  }

  static JsonNode status() throws Exception {
    return server.status(vm);
  }

  static String load() {
    return Figures.load();
  }

  static long secondsSince(long nanos) {
    return Figures.secondsSince(nanos);
  }

  static void figure(String format, Object... args) {
    Figures.print("UpdateDeltaPowerCutIT", work, format, args);
  }
}
