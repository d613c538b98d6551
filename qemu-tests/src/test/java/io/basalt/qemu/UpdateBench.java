package io.basalt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Benchmark, not a test ({@code bench/run update}): in one v1 VM (TCG), the update agent's idle RSS
 * and CPU, then {@code basaltctl update apply} of v4 (v1 + one package, {@link
 * UpdateImages#onePackage}): the full payload (download from the host's loopback, slot write,
 * verity check, kernel) against plain {@code dd} of the same usr.img to the same USR-B partition of
 * the same virtual disk (from a file on ROOT, and streamed from the same server through bash's
 * /dev/tcp, GuestServer's {@code e2e-get.sh}), then the same apply through the delta path (issue
 * 17's target: at most 0.3 x the full apply). Prints the figures and ratios. Usage: {@code
 * UpdateBench PREFIX WORK} with PREFIX as for {@code -Dbasalt.qemu.update.images}.
 */
public final class UpdateBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static GuestServer server;
  private static QemuVm vm;

  private UpdateBench() {}

  public static void main(String[] args) throws Exception {
    System.setProperty("basalt.qemu.update.images", args[0]);
    Path work = Path.of(args[1]).toAbsolutePath();
    UpdateImages.deleteTree(work);
    Files.createDirectories(work);
    UpdateImages images = UpdateImages.get(work);
    Path repoA = work.resolve("repo-a");
    UpdateImages.copyTree(images.repo, repoA);
    UpdateImages.basalt(
        "repo", "publish", "-r", repoA.toString(), images.image(1).resolve("update").toString());
    Path repoB = work.resolve("repo-b");
    UpdateImages.copyTree(repoA, repoB);
    Path v4 = images.onePackage();
    UpdateImages.basalt("repo", "publish", "-r", repoB.toString(), v4.resolve("update").toString());
    Path payload = v4.resolve("update");
    long size = Files.size(payload.resolve("usr.img"));
    Files.createLink(
        repoA.resolve("usr.img"), payload.resolve("usr.img")); // the reference's source

    server = new GuestServer();
    server.hideChunkIndexes(true); // the full payload: the agent downloads usr.img whole
    server.serve(repoA); // v1 only: the agent has nothing to do
    GuestImage disk = GuestImage.driven(images.image(1), work.resolve("vm"));
    Path overlay = disk.overlay("disk", "4G");
    try {
      vm =
          QemuVm.start(
              "update-bench",
              disk.uefiVirtio("vm", overlay, server.guestfwd()),
              work.resolve("bench.log"));
      server.awaitBoot(null, UpdateEndToEndIT.BOOT, vm);
      // The shipped check interval and jitter (1h, 10m) and no automatic reboot. A key set twice is
      // a configuration error, so the test site's values are replaced, not appended to.
      run(
          "sed -i -e '/^CHECK_INTERVAL=/d' -e '/^CHECK_JITTER=/d' -e '/^REBOOT_STRATEGY=/d' /etc/basalt/update.conf"
              + " && printf 'REBOOT_STRATEGY=off\\n' >> /etc/basalt/update.conf && systemctl restart basalt-update-agent");
      // Reference: dd of the same bytes to the same partition (usr.img is linked into the served
      // repository folder, so the agent's checks meanwhile see
      // valid metadata).
      run("bash /run/e2e-get.sh /repo/usr.img > /var/tmp/usr.img && sync");
      List<Double> dd = new ArrayList<>();
      List<Double> wgetDd = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        dd.add(
            seconds(
                run(
                    "sync; echo 3 > /proc/sys/vm/drop_caches; s=$(date +%s%N); "
                        + "dd if=/var/tmp/usr.img of=/dev/disk/by-partlabel/USR-B bs=1M conv=fsync 2>/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))")));
        wgetDd.add(
            seconds(
                run(
                    "s=$(date +%s%N); bash /run/e2e-get.sh /repo/usr.img "
                        + "| dd of=/dev/disk/by-partlabel/USR-B bs=1M conv=fsync 2>/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))")));
      }
      run("rm -f /var/tmp/usr.img");
      print(
          "dd file -> USR-B (%d MiB): %s s, median %.1f s = %.1f MiB/s",
          size >> 20, dd, median(dd), (size >> 20) / median(dd));
      print(
          "http get | dd -> USR-B: %s s, median %.1f s = %.1f MiB/s",
          wgetDd, median(wgetDd), (size >> 20) / median(wgetDd));

      // The agent's first check comes 30 s + up to 5 min after its start (during the reference
      // runs above, if they take that long); the idle figures are taken once it is done (the next
      // one is an hour away), JIT warm-up included.
      long w0 = System.nanoTime();
      JsonNode idle = status();
      while (idle.path("lastCheck").isNull() || idle.path("lastCheck").isMissingNode()) {
        if (System.nanoTime() - w0 > 480_000_000_000L) {
          throw new AssertionError(
              "the agent has not checked within 8 min of the reference runs' end: " + idle);
        }
        Thread.sleep(30_000);
        idle = status();
      }
      if (!"off".equals(idle.path("strategy").asText())) {
        throw new AssertionError("the agent did not start with the bench settings: " + idle);
      }
      Thread.sleep(60_000);
      print(
          "agent before the idle figures: state %s, last check %s, strategy %s",
          idle.path("state").asText(),
          idle.path("lastCheck").asText(),
          idle.path("strategy").asText());
      String pid = run("systemctl show -p MainPID --value basalt-update-agent").strip();
      List<Double> rss = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        rss.add(
            Double.parseDouble(run("awk '/VmRSS/ {print $2}' /proc/" + pid + "/status").strip())
                / 1024);
        Thread.sleep(10_000);
      }
      String cpu =
          run(
              "a=$(awk '{print $14+$15}' /proc/"
                  + pid
                  + "/stat); sleep 120; b=$(awk '{print $14+$15}' /proc/"
                  + pid
                  + "/stat); echo $((b-a)) $(getconf CLK_TCK)");
      String[] c = cpu.strip().split("\\s+");
      double cpuPct = Double.parseDouble(c[0]) / Double.parseDouble(c[1]) / 120 * 100;
      print(
          "agent idle RSS (3 reads 10 s apart, after the first check): %s MiB, median %.1f MiB (target <= 40)",
          rss, median(rss));
      print("agent idle CPU over 120 s: %s ticks = %.2f %% of one CPU", c[0], cpuPct);
      // Where the idle RSS is: the rollup, then the largest mappings (kB resident, kB mapped,
      // permissions, file or [anon]) and the resident kB summed by file.
      print(
          "agent idle smaps_rollup: %s",
          run("grep -E '^(Rss|Pss|Anonymous|Shared_Clean|Private_Clean|Private_Dirty):' /proc/"
                  + pid
                  + "/smaps_rollup | tr -s ' \\t\\n' ' '")
              .strip());
      String maps =
          run(
              "awk '/^[0-9a-f]+-[0-9a-f]+ / { if (m != \"\") print r, z, m; m = $2 \" \" ($6 == \"\" ? \"[anon]\" : $6); r = 0; z = 0; next }"
                  + " /^Size:/ { z = $2 } /^Rss:/ { r = $2 } END { print r, z, m }' /proc/"
                  + pid
                  + "/smaps | sort -rn");
      int shown = 0;
      Map<String, Long> byFile = new TreeMap<>();
      for (String line : maps.strip().split("\n")) {
        String[] w = line.strip().split("\\s+");
        if (w.length < 4) {
          continue;
        }
        if (shown++ < 30) {
          print("agent idle mapping: %s", line.strip());
        }
        byFile.merge(w[3], Long.parseLong(w[0]), Long::sum);
      }
      byFile.entrySet().stream()
          .filter(e -> e.getValue() >= 256)
          .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
          .forEach(e -> print("agent idle RSS by file: %6d kB %s", e.getValue(), e.getKey()));

      // basaltctl update apply of v4 (v1 + one package), timed inside the guest: first the full
      // payload (the chunk index hidden), then, after the machine is put back as it was (v4's
      // entry and downloads removed, page cache dropped, agent restarted), the delta path.
      // The apply is timed from the basaltctl call, so the client JVM's start is part of it: how
      // long one basaltctl call to the agent takes alone, and the start-up caches it can use.
      print(
          "basaltctl status alone: %.1f s; start-up caches: %s",
          seconds(
              run(
                  "s=$(date +%s%N); basaltctl status >/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))")),
          run("ls /var/cache/basalt/java/ 2>&1 | tr '\\n' ' '").strip());
      server.serve(repoB);
      double[] full = apply(size);
      JsonNode after = status();
      if (!"reboot-pending".equals(after.path("state").asText())) {
        throw new AssertionError("after the apply the agent is not reboot-pending: " + after);
      }
      print(
          "agent after the apply: %s",
          run("grep -E 'VmRSS|VmHWM' /proc/" + pid + "/status | tr -s ' \\t\\n' ' '").strip());
      print(
          "update apply, full payload: %.1f s in all (= %.1f MiB/s of usr.img; the basaltctl call itself %.1f s), download done by"
              + " %.1f s, slot written by %.1f s, verity + kernel + entry %.1f s (phase ends: 0.5 s probes)",
          full[3], (size >> 20) / full[3], full[0], full[1], full[2], full[3] - full[2]);
      print(
          "ratio apply / dd file: %.2f x the time; apply / (http get | dd): %.2f x",
          full[3] / median(dd), full[3] / median(wgetDd));
      print(
          "download + slot write alone vs (http get | dd): %.2f x; slot write alone vs dd file: %.2f x",
          full[2] / median(wgetDd), (full[2] - full[1]) / median(dd));

      run(
          "systemctl stop basalt-update-agent && rm -f /efi/loader/entries/basalt-4.0.0-* "
              + "&& rm -rf /var/lib/basalt/downloads/* && sync && echo 3 > /proc/sys/vm/drop_caches "
              + "&& systemctl start basalt-update-agent");
      // The unit is Type=simple: started means the JVM runs, not that the agent listens yet (its
      // start takes tens of seconds under TCG); apply only once its socket is there.
      run(
          "i=0; until [ -S /run/basalt/update-agent.sock ]; do i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.5; done");
      long usrRequests = server.requests("usr.img");
      server.hideChunkIndexes(false);
      // The full apply's agent had run its checks (and idled) before it; this one has just started,
      // so its JIT would compile the whole check path during the timed apply and compete with the
      // client's JVM. One check (no install: `update check` only looks) and a minute idle first.
      print(
          "delta apply: agent warmed by one check in %.1f s",
          seconds(
              run(
                  "s=$(date +%s%N); basaltctl update check >/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))")));
      Thread.sleep(60_000);
      JsonNode warmed = status();
      if (!"idle".equals(warmed.path("state").asText())) {
        throw new AssertionError(
            "before the delta apply the agent is not idle with v4 available (a scheduled check"
                + " may have started the update): "
                + warmed);
      }
      double[] delta = apply(size);
      JsonNode planned = status();
      if (server.requests("usr.img") != usrRequests || planned.path("fetchBytes").asLong(-1) < 0) {
        throw new AssertionError(
            "the second apply did not take the delta path: usr.img requests "
                + (server.requests("usr.img") - usrRequests)
                + ", status "
                + planned);
      }
      print(
          "update apply, delta: %.1f s in all (the basaltctl call itself %.1f s), index + chunks +"
              + " kernel + initramfs downloaded by %.1f s, slot assembled by %.1f s, verity (format"
              + " over the slot, root hash compared) + kernel + entry %.1f s; fetched %d bytes"
              + " (%d chunk responses), reused %d bytes",
          delta[3],
          delta[0],
          delta[1],
          delta[2],
          delta[3] - delta[2],
          planned.path("fetchBytes").asLong(),
          server.chunkResponses(),
          planned.path("reuseBytes").asLong());
      print("ratio delta apply / full apply: %.3f x (target <= 0.3)", delta[3] / full[3]);
    } finally {
      if (vm != null) {
        vm.close();
      }
      server.close();
    }
  }

  /**
   * {@code basaltctl update apply} of v4, timed inside the guest; the phases are watched with cheap
   * probes every 0.5 s (a basaltctl status would start a JVM each time and compete with the agent):
   * download done = the last payload file in place (or a later sign), slot written = veritysetup
   * verifying or, on the delta path, formatting the assembled slot (or the entry), done = v4's +3
   * entry on the ESP. Returns seconds: the basaltctl call, download done, slot written, done.
   */
  private static double[] apply(long size) throws Exception {
    String out =
        run(
            String.join(
                "\n",
                "d=/var/lib/basalt/downloads/4.0.0; e=/efi/loader/entries/basalt-4.0.0-B+3.conf",
                "ls /efi/loader/entries >/dev/null",
                "P=$(systemctl show -p MainPID --value basalt-update-agent)",
                // snap NAME: the guest's CPU counters and the agent's per-thread CPU ticks
                "snap() { { head -n 1 /proc/stat; echo \"N $(date +%s%N)\"; for t in /proc/$P/task/*; do",
                "  echo \"T $(tr ' ' _ < $t/comm) $(sed 's/.*) //' $t/stat | cut -d' ' -f12,13)\"; done;",
                "  echo \"C $(sed 's/.*) //' /proc/$P/stat | cut -d' ' -f14,15)\";",
                "  echo \"A $(sed 's/.*) //' /proc/$P/stat | cut -d' ' -f12,13)\"; } > /run/snap-$1 2>/dev/null; }",
                "rm -f /run/snap-*; snap 0",
                "s=$(date +%s%N); basaltctl update apply >/dev/null || exit 1; r=$(date +%s%N)",
                "dl=; wr=; i=0",
                "while :; do",
                "  now=$(date +%s%N)",
                "  if [ -e $e ]; then [ -z \"$dl\" ] && snap 1; [ -z \"$wr\" ] && snap 2;",
                "    dl=${dl:-$now}; wr=${wr:-$now}; snap 3; break; fi",
                "  if [ -z \"$wr\" ] && pgrep -f 'veritysetup (verify|format)' >/dev/null; then",
                "    [ -z \"$dl\" ] && snap 1; dl=${dl:-$now}; wr=$now; snap 2; fi",
                "  [ -z \"$dl\" ] && [ -e $d/initramfs ] && dl=$now && snap 1",
                "  i=$((i+1))",
                "  if [ $((i % 20)) = 0 ] && journalctl -q -u basalt-update-agent --since @$((s/1000000000)) | grep -q ']: update failed'; then",
                "    journalctl -q -u basalt-update-agent --since @$((s/1000000000)) | tail -n 3; exit 1",
                "  fi",
                "  [ $(((now-s)/1000000000)) -gt 3600 ] && exit 1",
                "  sleep 0.5",
                "done",
                "for f in 0 1 2 3; do echo \"S $f\"; cat /run/snap-$f; done",
                "echo $((r-s)) $((dl-s)) $((wr-s)) $((now-s))"),
            Duration.ofMinutes(65));
    printCpu(out);
    String[] t = out.strip().split("\\s+");
    double[] r = new double[4];
    for (int i = 0; i < 4; i++) {
      r[i] = Long.parseLong(t[t.length - 4 + i]) / 1e9;
    }
    return r;
  }

  /**
   * Prints, for each phase of an apply (download, slot write, verity + kernel + entry), how busy
   * the guest's CPUs were and the CPU seconds of the agent's threads (by name) and of its
   * waited-for children (veritysetup), from the snapshots {@link #apply} took at the phase ends;
   * the CPU of threads that ended within a phase (the download's writer) is listed as "(ended
   * threads)".
   */
  private static void printCpu(String out) {
    List<Map<String, Long>> snaps = new ArrayList<>();
    Map<String, Long> cur = null;
    for (String line : out.split("\n")) {
      String[] w = line.strip().split("\\s+");
      if (w.length == 2 && w[0].equals("S")) {
        cur = new TreeMap<>();
        snaps.add(cur);
      } else if (cur != null && w[0].equals("cpu") && w.length >= 8) {
        long busy = 0;
        for (int i = 1; i < w.length; i++) {
          if (i != 4 && i != 5) { // idle and iowait
            busy += Long.parseLong(w[i]);
          }
        }
        cur.put(" busy", busy);
        cur.put(" iowait", Long.parseLong(w[5]));
      } else if (cur != null && w[0].equals("N") && w.length == 2) {
        cur.put(" ns", Long.parseLong(w[1]));
      } else if (cur != null && w[0].equals("A") && w.length == 3) {
        cur.put(" all", Long.parseLong(w[1]) + Long.parseLong(w[2]));
      } else if (cur != null && (w[0].equals("T") || w[0].equals("C")) && w.length >= 3) {
        String name = w[0].equals("C") ? "(children: veritysetup)" : w[1];
        long ticks = Long.parseLong(w[w.length - 2]) + Long.parseLong(w[w.length - 1]);
        cur.merge(name, ticks, Long::sum);
      }
    }
    if (snaps.size() != 4 || snaps.stream().anyMatch(m -> !m.containsKey(" ns"))) {
      print("apply CPU: snapshots incomplete (%d)", snaps.size());
      return;
    }
    String[] phase = {"download", "slot write", "verity+kernel+entry"};
    double tck = 100.0; // USER_HZ on Linux x86_64
    for (int p = 0; p < 3; p++) {
      Map<String, Long> a = snaps.get(p);
      Map<String, Long> b = snaps.get(p + 1);
      double secs = (b.get(" ns") - a.get(" ns")) / 1e9;
      StringBuilder threads = new StringBuilder();
      List<Map.Entry<String, Long>> d = new ArrayList<>();
      for (Map.Entry<String, Long> e : b.entrySet()) {
        if (!e.getKey().startsWith(" ")) {
          long v = e.getValue() - a.getOrDefault(e.getKey(), 0L);
          if (v > 0) {
            d.add(Map.entry(e.getKey(), v));
          }
        }
      }
      // the process's own CPU (children not included) beyond its live threads': threads that
      // ended within the phase, such as the download's writer
      long live =
          d.stream().filter(e -> !e.getKey().startsWith("(")).mapToLong(Map.Entry::getValue).sum();
      if (a.containsKey(" all") && b.containsKey(" all")) {
        long ended = b.get(" all") - a.get(" all") - live;
        if (ended > 0) {
          d.add(Map.entry("(ended threads)", ended));
        }
      }
      d.sort((x, y) -> Long.compare(y.getValue(), x.getValue()));
      for (Map.Entry<String, Long> e : d) {
        threads.append(String.format(" %s %.1f;", e.getKey(), e.getValue() / tck));
      }
      print(
          "apply CPU, %s (%.1f s): guest CPUs busy %.0f %% of 2, iowait %.0f %%; agent CPU s:%s",
          phase[p],
          secs,
          secs <= 0 ? 0 : (b.get(" busy") - a.get(" busy")) / tck / secs / 2 * 100,
          secs <= 0 ? 0 : (b.get(" iowait") - a.get(" iowait")) / tck / secs / 2 * 100,
          threads);
    }
  }

  private static String run(String script) throws Exception {
    return run(script, Duration.ofMinutes(30));
  }

  private static String run(String script, Duration timeout) throws Exception {
    GuestServer.Result r = server.run(vm, script, timeout);
    if (r.rc() != 0) {
      throw new AssertionError(script + ": exit " + r.rc() + ": " + r.out());
    }
    return r.out();
  }

  private static JsonNode status() throws Exception {
    String out = run("basaltctl status --json");
    return JSON.readTree(out.substring(out.indexOf('{')));
  }

  private static double seconds(String nanos) {
    return Long.parseLong(nanos.strip()) / 1e9;
  }

  private static double median(List<Double> v) {
    double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  private static void print(String format, Object... args) {
    System.out.println("update-bench: " + String.format(format, args));
  }
}
