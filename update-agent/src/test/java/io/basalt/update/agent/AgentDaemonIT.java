package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.BootEntry;
import io.basalt.update.cli.Basaltctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon as a real process ({@code AgentMain --root DIR} with the unit's JVM flags): it serves
 * its socket, {@code basaltctl status --json} reads it, SIGTERM removes the socket; its idle RSS is
 * printed.
 */
class AgentDaemonIT {

  @TempDir Path root;

  private String[] ctl(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Basaltctl.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int rc = cl.execute(args);
    return new String[] {Integer.toString(rc), out.toString(), err.toString()};
  }

  /** A fake root with a v1 boot on slot A and a fallback entry; returns the agent's command. */
  private List<String> agentInFakeRoot() throws Exception {
    Files.createDirectories(root.resolve("proc"));
    Files.writeString(root.resolve("proc/cmdline"), UpdateAgentTest.V1 + "\n");
    Files.createDirectories(root.resolve("usr/share/basalt"));
    Files.writeString(
        root.resolve("usr/share/basalt/update.conf"), "SERVER=http://127.0.0.1:9/\nGROUP=beta\n");
    Files.createDirectories(root.resolve("efi/loader/entries"));
    Files.writeString(
        root.resolve("efi/loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(UpdateAgentTest.V1));
    Files.writeString(
        root.resolve("efi/loader/entries/basalt-0.9.0-B.conf"),
        BootEntry.fresh("0.9.0", "B").text("x"));
    Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
    return List.of(
        javaBin.toString(),
        "-Xmx48m",
        "-Xms4m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xss512k",
        "-XX:ReservedCodeCacheSize=16m",
        "-XX:MaxMetaspaceSize=64m",
        "-XX:MinHeapFreeRatio=10",
        "-XX:MaxHeapFreeRatio=30",
        "-cp",
        System.getProperty("java.class.path"),
        "io.basalt.update.agent.AgentMain",
        "--root",
        root.toString());
  }

  /** Starts {@code cmd} with its output collected into {@code log}. */
  private static Process started(List<String> cmd, StringBuffer log) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Thread pump =
        new Thread(
            () -> {
              try (var in =
                  new java.io.BufferedReader(
                      new java.io.InputStreamReader(
                          p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
                String l;
                while ((l = in.readLine()) != null) {
                  log.append(l).append('\n');
                }
              } catch (java.io.IOException e) {
                // process gone
              }
            });
    pump.setDaemon(true);
    pump.start();
    return p;
  }

  /**
   * Under systemd the socket comes from {@code basalt-update-agent.socket}: it exists before the
   * agent's JVM, so {@code basaltctl status} right after boot waits for the answer instead of
   * finding no socket ("the update agent is not running", seen by UpdateEndToEndIT on a fallback
   * boot). {@code systemd-socket-activate} plays systemd: it listens, and on the first connection
   * starts the agent with the listening socket as standard input, as {@code StandardInput=socket}
   * does. An agent that bound a socket of its own left this client unanswered.
   */
  @Test
  void aClientThatConnectsBeforeASocketActivatedAgentStartsIsAnswered() throws Exception {
    List<String> agent = agentInFakeRoot();
    Path sock = root.resolve("run/basalt/update-agent.sock");
    Files.createDirectories(sock.getParent());
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "systemd-socket-activate",
                "--listen=" + sock,
                "sh",
                "-c",
                "exec \"$0\" \"$@\" 0<&3 3<&-"));
    cmd.addAll(agent);
    StringBuffer log = new StringBuffer();
    Process p = started(cmd, log);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.exists(sock) && System.nanoTime() < deadline && p.isAlive()) {
        Thread.sleep(20);
      }
      assertTrue(Files.exists(sock), "systemd-socket-activate made no socket: " + log);
      assertTrue(log.indexOf("started: version") < 0, "the agent must not run before the call");
      String[] r = ctl("status", "--json", "--socket", sock.toString());
      assertEquals("0", r[0], r[2] + "\nlog: " + log);
      assertTrue(r[1].contains("\"version\" : \"1.0.0\""), r[1]);
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertTrue(Files.exists(sock), "the socket is systemd's and stays for the next activation");
    } finally {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void daemonServesStatusAndCleansUpOnSigterm() throws Exception {
    List<String> cmd = agentInFakeRoot();
    StringBuffer logText = new StringBuffer();
    Process p = started(cmd, logText);
    try {
      Path sock = root.resolve("run/basalt/update-agent.sock");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(sock) && System.nanoTime() < deadline && p.isAlive()) {
        Thread.sleep(100);
      }
      assertTrue(Files.exists(sock), "socket not created; log: " + logText);
      String[] r = ctl("status", "--json", "--socket", sock.toString());
      assertEquals("0", r[0], r[2]);
      assertTrue(r[1].contains("\"version\" : \"1.0.0\""), r[1]);
      assertTrue(r[1].contains("\"channel\" : \"beta\""), r[1]);
      assertTrue(r[1].contains("\"fallback\" : \"0.9.0 (slot B, good)\""), r[1]);
      Thread.sleep(5_000);
      String rss =
          Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status")).stream()
              .filter(l -> l.startsWith("VmRSS:"))
              .findFirst()
              .orElse("VmRSS: ?");
      System.out.println("AgentDaemonIT: idle agent " + rss.replaceAll("\\s+", " "));
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertFalse(Files.exists(sock), "socket removed on SIGTERM");
      String out = logText.toString();
      assertTrue(
          out.contains("started: version 1.0.0, slot A, channel beta, strategy reboot"), out);
      String[] gone = ctl("status", "--socket", sock.toString());
      assertEquals("3", gone[0]);
    } finally {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
