package io.basalt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Benchmark, not a test ({@code qemu-tests/bench/update-bench.sh}): in one v1 VM (TCG), the update
 * agent's idle RSS and CPU, then {@code basaltctl update apply} of v2 (download from the host's
 * loopback, slot write, verity check, kernel) against plain {@code dd} of the same usr.img to the
 * same USR-B partition of the same virtual disk (from a file on ROOT, and streamed from the same
 * server with busybox wget). Prints the figures and ratios. Usage: {@code UpdateBench PREFIX WORK}
 * with PREFIX as for {@code -Dbasalt.qemu.update.images}.
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
    UpdateImages.basalt("repo", "publish", "-r", repoA.toString(), images.image(1).resolve("update").toString());
    Path repoB = work.resolve("repo-b");
    UpdateImages.copyTree(repoA, repoB);
    UpdateImages.basalt("repo", "publish", "-r", repoB.toString(), images.image(2).resolve("update").toString());
    Path payload = images.image(2).resolve("update");
    long size = Files.size(payload.resolve("usr.img"));

    server = new GuestServer();
    server.serve(repoA); // v1 only: the agent has nothing to do
    GuestImage disk = new GuestImage(images.image(1), work.resolve("vm"));
    disk.appendCmdline("basalt.testhook");
    for (var e : GuestServer.guestScripts().entrySet()) {
      disk.putOem(e.getKey(), e.getValue());
    }
    Path overlay = disk.overlay("disk", "4G");
    try {
      vm = QemuVm.start("update-bench", disk.uefiVirtio("vm", overlay, server.guestfwd()), work.resolve("bench.log"));
      server.awaitBoot(null, UpdateEndToEndIT.BOOT, vm);
      // The shipped check interval (1h) and no automatic reboot.
      run("printf 'CHECK_INTERVAL=1h\\nREBOOT_STRATEGY=off\\n' >> /etc/basalt/update.conf && systemctl restart basalt-update-agent");
      Thread.sleep(150_000); // past the first check (30 s + jitter) and JIT warm-up
      String pid = run("systemctl show -p MainPID --value basalt-update-agent").strip();
      List<Double> rss = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        rss.add(Double.parseDouble(run("awk '/VmRSS/ {print $2}' /proc/" + pid + "/status").strip()) / 1024);
        Thread.sleep(10_000);
      }
      String cpu = run("a=$(awk '{print $14+$15}' /proc/" + pid + "/stat); sleep 120; b=$(awk '{print $14+$15}' /proc/" + pid
          + "/stat); echo $((b-a)) $(getconf CLK_TCK)");
      String[] c = cpu.strip().split("\\s+");
      double cpuPct = Double.parseDouble(c[0]) / Double.parseDouble(c[1]) / 120 * 100;
      print("agent idle RSS (3 reads 10 s apart, 150 s after start): %s MiB, median %.1f MiB (target <= 64)", rss, median(rss));
      print("agent idle CPU over 120 s: %s ticks = %.2f %% of one CPU", c[0], cpuPct);

      // Reference: dd of the same bytes to the same partition.
      server.serve(payload);
      run("busybox wget -q -O /var/tmp/usr.img http://10.0.2.100/repo/usr.img && sync");
      List<Double> dd = new ArrayList<>();
      List<Double> wgetDd = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        dd.add(seconds(run("sync; echo 3 > /proc/sys/vm/drop_caches; s=$(date +%s%N); "
            + "dd if=/var/tmp/usr.img of=/dev/disk/by-partlabel/USR-B bs=1M conv=fsync 2>/dev/null; e=$(date +%s%N); echo $((e-s))")));
        wgetDd.add(seconds(run("s=$(date +%s%N); busybox wget -q -O - http://10.0.2.100/repo/usr.img "
            + "| dd of=/dev/disk/by-partlabel/USR-B bs=1M conv=fsync 2>/dev/null; e=$(date +%s%N); echo $((e-s))")));
      }
      run("rm -f /var/tmp/usr.img");
      print("dd file -> USR-B (%d MiB): %s s, median %.1f s = %.1f MiB/s", size >> 20, dd, median(dd), (size >> 20) / median(dd));
      print("wget | dd -> USR-B: %s s, median %.1f s = %.1f MiB/s", wgetDd, median(wgetDd), (size >> 20) / median(wgetDd));

      // basaltctl update apply, phases from the agent's progress (polled through basaltctl status).
      server.serve(repoB);
      long t0 = System.nanoTime();
      run("basaltctl update apply");
      double downloaded = -1;
      double written = -1;
      double total;
      while (true) {
        JsonNode s = JSON.readTree(run("basaltctl status --json"));
        double t = (System.nanoTime() - t0) / 1e9;
        int p = s.path("progress").asInt();
        String st = s.path("state").asText();
        if (downloaded < 0 && (p >= 60 || st.equals("reboot-pending"))) {
          downloaded = t;
        }
        if (written < 0 && (p >= 90 || st.equals("reboot-pending"))) {
          written = t;
        }
        if (st.equals("reboot-pending")) {
          total = t;
          break;
        }
        if (st.equals("error") || t > 3600) {
          throw new AssertionError("apply failed: " + s);
        }
        Thread.sleep(1000);
      }
      print("update apply: %.0f s in all (= %.1f MiB/s of usr.img), download done by %.0f s, slot written by %.0f s "
          + "(status polled every few s, so phase ends are upper bounds)", total, (size >> 20) / total, downloaded, written);
      print("ratio apply / dd file: %.2f x the time; apply / (wget | dd): %.2f x", total / median(dd), total / median(wgetDd));
      print("write phase alone vs dd file: %.2f x", (written - downloaded) / median(dd));
    } finally {
      if (vm != null) {
        vm.close();
      }
      server.close();
    }
  }

  private static String run(String script) throws Exception {
    GuestServer.Result r = server.run(vm, script, Duration.ofMinutes(30));
    if (r.rc() != 0) {
      throw new AssertionError(script + ": exit " + r.rc() + ": " + r.out());
    }
    return r.out();
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
