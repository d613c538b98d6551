package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.qemu.FirstUpdateGuide.Command;
import io.basalt.qemu.FirstUpdateGuide.Step;
import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * README.md's "Your first update", steps 1 to 6 and the second {@code ./basalt run}, command by
 * command as {@link FirstUpdateGuide} reads them from the page, through the {@code ./basalt}
 * launcher of this checkout: a repository, 1.0.0 and 1.1.0 built, 1.1.0 published and served on
 * 127.0.0.1, a QEMU machine on its own copy of 1.0.0's disk reached over ssh on {@code basalt
 * run}'s forward, {@code sudo basaltctl update check} answering what the page says, {@code update
 * apply} writing slot B and the agent rebooting (QEMU exits), and the same {@code ./basalt run}
 * booting 1.1.0 from slot B with 1.0.0 in slot A as its fallback.
 *
 * <p>What differs from a person at a terminal, and nothing else: each command runs in {@code bash
 * -e -o pipefail} with the page's {@code export}s before it, from a folder under {@code
 * target/first-update-vm} that holds a link {@code basalt} to this checkout's launcher (so {@code
 * out/}, {@code machine.qcow2} and {@code machine.yml} land there); {@code HOME} is that folder's
 * {@code home/} (so {@code ~/basalt-repo}, {@code ~/basalt-site} and {@code ~/.ssh/id_ed25519.pub},
 * made by the test with {@code ssh-keygen}, are the test's; the builds still use the user's base
 * tree cache, which Java finds through the user's passwd entry); the passphrase is the page's;
 * {@code repo serve} and {@code basalt run} run in the background, the machine's console going to a
 * log; the step-6 commands go through {@code ssh -p PORT USER@127.0.0.1} as the page names it, with
 * the test's key, batch mode and no known-hosts file. The page's ports must be free. The agent's
 * own first check (30 s plus up to 5 min after it starts) could come before step 6's and install by
 * itself; the test then fails at the check's answer. Opt-in: {@code -Dbasalt.qemu.long=true}; about
 * 30 min on an idle 2-core machine.
 */
@QemuLongTest
class FirstUpdateVmIT {
  /** The status command of the page's prose after the blocks, run on the machine. */
  static final String STATUS = "basaltctl status";

  /** The agent state the page says {@code update apply} may meet right after a boot. */
  static final String TRIAL_BOOT = "trial-boot";

  static final Duration BUILD = Duration.ofMinutes(40);
  static final Duration BOOT = Duration.ofMinutes(30);
  static final Duration INSTALL = Duration.ofMinutes(40);

  static final Path LAUNCHER = Path.of("..", "basalt").toAbsolutePath().normalize();

  private static final ObjectMapper JSON = new ObjectMapper();

  private Path work;
  private Path dir;
  private Path key;
  private final Map<String, String> env = new HashMap<>(System.getenv());
  private final List<String> exports = new ArrayList<>();
  private final Map<Process, Thread> pumps = new HashMap<>();
  private Process serve;
  private Process machine;
  private Path machineLog;
  private int boots;
  private int commandNo;

  @Test
  @Timeout(value = 3, unit = TimeUnit.HOURS)
  void theReadmesMachineMovesFromTheFirstVersionToTheSecond() throws Exception {
    long t0 = System.nanoTime();
    List<Step> steps = FirstUpdateGuide.steps();
    Step onMachine = steps.get(5);
    List<String> login = FirstUpdateGuide.login(onMachine);
    int sshPort = Integer.parseInt(login.get(0));
    int repoPort =
        Integer.parseInt(FirstUpdateGuide.option(steps.get(3).command("repo serve"), "--port"));
    assertFree(repoPort);
    assertFree(sshPort);

    work = Path.of("target", "first-update-vm").toAbsolutePath();
    UpdateImages.deleteTree(work);
    dir = Files.createDirectories(work.resolve("clone"));
    Path home = Files.createDirectories(work.resolve("home"));
    Files.createSymbolicLink(dir.resolve("basalt"), LAUNCHER);
    env.put("HOME", home.toString());
    Files.createDirectories(home.resolve(".ssh"));
    key = home.resolve(".ssh/id_ed25519");
    Host.run(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "first-update", "-f", key.toString());
    figure("load %s; launcher %s; work %s", Figures.load(), LAUNCHER, work);

    Command vm = null;
    try {
      for (Step s : steps.subList(0, 5)) {
        for (Command c : s.commands()) {
          if (c.text().startsWith("./basalt repo serve ")) {
            serveInBackground(s, c, repoPort);
          } else if (c.text().startsWith("./basalt run ")) {
            vm = c;
            boot(s, c, "1.0.0", "A", sshPort, login);
          } else {
            foreground(s, c);
          }
        }
      }

      // 6. On the machine.
      Command check = onMachine.command("basaltctl update check");
      Command apply = onMachine.command("basaltctl update apply");
      long t6 = System.nanoTime();
      for (Command c : onMachine.commands()) {
        long t = System.nanoTime();
        Ssh r = ssh(login, c.text(), Duration.ofMinutes(10));
        figure(
            "step 6: `%s` over ssh: exit %d in %d s: %s",
            c.text(), r.rc, Figures.secondsSince(t), r.out.strip());
        assertEquals(0, r.rc, c.text() + ": " + r.out);
        if (c == check) {
          assertEquals(c.comment(), r.out.strip(), "what the page says the check answers");
        }
      }
      followUntilReboot(login, apply);
      figure(
          "step 6: apply to QEMU's exit (the guest rebooted) %d s; basalt run exit %d",
          Figures.secondsSince(t6), machine.exitValue());
      assertEquals(0, machine.exitValue(), "basalt run's exit after the guest's reboot");

      // The same ./basalt run again: 1.1.0 from slot B, 1.0.0 in slot A as the fallback.
      boot(steps.get(4), vm, "1.1.0", "B", sshPort, login);
      Ssh st = ssh(login, STATUS, Duration.ofMinutes(5));
      figure("`%s` on 1.1.0: exit %d%n%s", STATUS, st.rc, st.out.stripTrailing());
      assertEquals(0, st.rc, st.out);
      assertTrue(
          Pattern.compile("(?m)^Version:\\s+1\\.1\\.0 \\(slot B\\)$").matcher(st.out).find(),
          st.out);
      assertTrue(
          Pattern.compile("(?m)^Fallback:\\s+1\\.0\\.0 \\(slot A, good\\)$").matcher(st.out).find(),
          st.out);
      Ssh cmdline = ssh(login, "cat /proc/cmdline", Duration.ofMinutes(2));
      assertTrue(
          cmdline.out.contains("basalt.version=1.1.0") && cmdline.out.contains("basalt.slot=B"),
          cmdline.out);
      figure("the whole walkthrough: %d s", Figures.secondsSince(t0));
    } finally {
      quitMachine();
      if (serve != null) {
        serve.descendants().forEach(ProcessHandle::destroy);
        serve.destroy();
        if (!serve.waitFor(30, TimeUnit.SECONDS)) {
          serve.destroyForcibly();
        }
      }
    }
  }

  /** Runs one command of the page to completion; a quoted comment is text its output must hold. */
  private void foreground(Step s, Command c) throws Exception {
    long t = System.nanoTime();
    Path log = log(s, c);
    Process p = start(c, log);
    p.getOutputStream().close();
    boolean done = p.waitFor(BUILD.toMinutes(), TimeUnit.MINUTES);
    if (!done) {
      p.destroyForcibly();
    }
    drained(p);
    String out = read(log);
    figure(
        "step %d: `%s` exit %s in %d s (load %s)",
        s.number(),
        c.firstLine(),
        done ? Integer.toString(p.exitValue()) : "(killed after " + BUILD + ")",
        Figures.secondsSince(t),
        Figures.load());
    assertTrue(done && p.exitValue() == 0, c.text() + "\n" + tail(out));
    if (c.text().startsWith("export ")) {
      exports.add(c.text());
    }
    Matcher quoted = Pattern.compile("^\"([^\"]+)\"").matcher(c.comment());
    if (quoted.find()) {
      assertTrue(out.contains(quoted.group(1)), c.comment() + ": not in the output\n" + out);
    }
  }

  /**
   * Starts {@code bash -e -o pipefail -c 'cd DIR; EXPORTS; COMMAND'} with the test's HOME, its
   * output and errors copied to {@code log} as they come.
   */
  private Process start(Command c, Path log) throws IOException {
    List<String> script = new ArrayList<>();
    script.add("cd '" + dir + "'");
    script.addAll(exports);
    script.add(c.text());
    ProcessBuilder pb =
        new ProcessBuilder("bash", "-e", "-o", "pipefail", "-c", String.join("\n", script))
            .redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    OutputStream to = Files.newOutputStream(log);
    Thread pump =
        new Thread(
            () -> {
              try (InputStream from = p.getInputStream();
                  to) {
                byte[] buf = new byte[8192];
                int n;
                while ((n = from.read(buf)) > 0) {
                  to.write(buf, 0, n);
                  to.flush();
                }
              } catch (IOException e) {
                // the process ended; its output so far is in the log
              }
            },
            "log " + log.getFileName());
    pump.setDaemon(true);
    pump.start();
    pumps.put(p, pump);
    return p;
  }

  /** Waits for the thread copying {@code p}'s output (after {@code p} ended). */
  private void drained(Process p) throws InterruptedException {
    Thread t = pumps.get(p);
    if (t != null) {
      t.join(10_000);
    }
  }

  private Path log(Step s, Command c) throws IOException {
    commandNo++;
    Path logs = Files.createDirectories(work.resolve("logs"));
    return logs.resolve(
        String.format(
            java.util.Locale.ROOT,
            "%02d-step%d-%s.log",
            commandNo,
            s.number(),
            c.firstLine().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "")));
  }

  private void serveInBackground(Step s, Command c, int port) throws Exception {
    long t = System.nanoTime();
    Path log = log(s, c);
    serve = start(c, log);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), port)) {
        break;
      } catch (IOException e) {
        assertTrue(serve.isAlive(), c.text() + " exited:\n" + read(log));
        assertTrue(System.nanoTime() < deadline, c.text() + ": nothing listens on " + port);
        Thread.sleep(200);
      }
    }
    figure("step %d: `%s` listening after %d s", s.number(), c.text(), Figures.secondsSince(t));
  }

  /**
   * Starts the page's {@code ./basalt run} and waits for {@code version} to reach multi-user from
   * {@code slot} and for the ssh login; checks what it printed and QEMU's network.
   */
  private void boot(Step s, Command c, String version, String slot, int sshPort, List<String> login)
      throws Exception {
    long t = System.nanoTime();
    boots++;
    machineLog = work.resolve("logs").resolve("machine-boot-" + boots + ".log");
    Files.createDirectories(machineLog.getParent());
    machine = start(c, machineLog);
    String marker = "basalt: multi-user reached (version " + version + ", slot " + slot;
    waitForConsole(marker, BOOT);
    long multiUser = Figures.secondsSince(t);
    String out = read(machineLog);
    assertTrue(
        out.contains("log in with  ssh -p " + sshPort + " <user>@127.0.0.1"),
        "basalt run names the page's ssh port\n" + tail(out));
    List<String> qemu = qemuArguments();
    String net =
        qemu.stream()
            .filter(a -> a.startsWith("user,"))
            .findFirst()
            .orElseThrow(AssertionError::new);
    assertTrue(net.contains(",restrict=on,") || net.endsWith(",restrict=on"), net);
    QemuVm.command(qemu.subList(1, qemu.size())); // the harness' network rules hold
    long sshStart = System.nanoTime();
    Ssh r;
    do {
      r = ssh(login, "true", Duration.ofMinutes(2));
      if (r.rc != 0) {
        assertTrue(machine.isAlive(), "the machine stopped\n" + tail(read(machineLog)));
        assertTrue(Figures.secondsSince(sshStart) < BOOT.toSeconds(), "no ssh login: " + r.out);
        Thread.sleep(5_000);
      }
    } while (r.rc != 0);
    figure(
        "step %d: `%s` (boot %d): multi-user with %s from slot %s after %d s, ssh login after %d s"
            + " (load %s); QEMU network %s",
        s.number(),
        c.firstLine(),
        boots,
        version,
        slot,
        multiUser,
        Figures.secondsSince(t),
        Figures.load(),
        net);
  }

  /** Waits until the machine's console shows {@code marker}; fails early on a panic or exit. */
  private void waitForConsole(String marker, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String out = read(machineLog);
      if (out.contains(marker)) {
        return;
      }
      for (String f : GuestImage.FAILURES) {
        assertTrue(!out.contains(f), f + "\n" + tail(out));
      }
      assertTrue(machine.isAlive(), "basalt run exited before '" + marker + "'\n" + tail(out));
      assertTrue(
          System.nanoTime() < deadline, "no '" + marker + "' within " + timeout + "\n" + tail(out));
      Thread.sleep(2_000);
    }
  }

  /** The command line of the QEMU that {@code basalt run} started (from /proc). */
  private List<String> qemuArguments() throws IOException {
    Optional<ProcessHandle> q =
        machine
            .descendants()
            .filter(h -> h.info().command().orElse("").endsWith("qemu-system-x86_64"))
            .findFirst();
    assertTrue(q.isPresent(), "no qemu-system-x86_64 under basalt run");
    String raw =
        new String(
            Files.readAllBytes(Path.of("/proc", Long.toString(q.get().pid()), "cmdline")),
            StandardCharsets.UTF_8);
    return List.of(raw.split("\0"));
  }

  /**
   * Follows the agent with {@code STATUS --json} every 20 s until QEMU exits (the agent rebooted
   * the guest); runs {@code apply} again while the agent answers {@code trial-boot}, as the page
   * says.
   */
  private void followUntilReboot(List<String> login, Command apply) throws Exception {
    long t = System.nanoTime();
    String last = "";
    long trialAt = -1;
    while (machine.isAlive()) {
      assertTrue(
          Figures.secondsSince(t) < INSTALL.toSeconds(),
          "no reboot within " + INSTALL + "\n" + tail(read(machineLog)));
      Ssh r = ssh(login, STATUS + " --json", Duration.ofMinutes(2));
      if (r.rc == 0 && r.out.indexOf('{') >= 0) {
        JsonNode s = JSON.readTree(r.out.substring(r.out.indexOf('{')));
        String state = s.path("state").asText();
        String now = state + " " + s.path("progress").asInt(-1);
        if (!now.equals(last)) {
          figure(
              "step 6: +%d s state %s%s",
              Figures.secondsSince(t),
              now,
              state.equals("error") || state.equals(TRIAL_BOOT)
                  ? ": " + s.path("message").asText() + " " + s.path("lastError").asText()
                  : "");
          last = now;
        }
        assertTrue(!state.equals("error"), s.toString());
        if (state.equals(TRIAL_BOOT)) {
          if (trialAt < 0) {
            trialAt = System.nanoTime();
          } else if (Figures.secondsSince(trialAt) >= 30) {
            Ssh again = ssh(login, apply.text(), Duration.ofMinutes(2));
            figure("step 6: `%s` again: exit %d: %s", apply.text(), again.rc, again.out.strip());
            trialAt = -1;
          }
        }
      }
      machine.waitFor(20, TimeUnit.SECONDS);
    }
  }

  private record Ssh(int rc, String out) {}

  /** {@code ssh -p PORT USER@ADDRESS COMMAND} with the test's key; exit code and output. */
  private Ssh ssh(List<String> login, String command, Duration timeout) throws Exception {
    Process p =
        new ProcessBuilder(
                "ssh",
                "-p",
                login.get(0),
                "-i",
                key.toString(),
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=30",
                "-o",
                "LogLevel=ERROR",
                login.get(1) + "@" + login.get(2),
                command)
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Ssh(-1, "timed out after " + timeout + ": " + out);
    }
    return new Ssh(p.exitValue(), out);
  }

  /** Quits QEMU the way the page says (Ctrl-A X on its console), then by force. */
  private void quitMachine() throws InterruptedException {
    if (machine == null || !machine.isAlive()) {
      return;
    }
    try {
      OutputStream in = machine.getOutputStream();
      in.write(new byte[] {1, 'x'});
      in.flush();
    } catch (IOException e) {
      // killed below
    }
    if (!machine.waitFor(60, TimeUnit.SECONDS)) {
      machine.descendants().forEach(ProcessHandle::destroyForcibly);
      machine.destroyForcibly();
      machine.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static void assertFree(int port) throws IOException {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
    } catch (IOException e) {
      throw new AssertionError(
          "127.0.0.1:" + port + " is in use; the page's commands need it free", e);
    }
  }

  /** A log's text, undecodable bytes (a console's) replaced rather than thrown on. */
  private static String read(Path log) throws IOException {
    return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
  }

  private static String tail(String out) {
    List<String> l = out.lines().toList();
    return String.join("\n", l.subList(Math.max(0, l.size() - 60), l.size()));
  }

  private void figure(String format, Object... args) {
    Figures.print("FirstUpdateVmIT", work, format, args);
  }
}
