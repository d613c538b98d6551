package io.basalt.qemu;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One QEMU virtual machine run by a test: started with its serial console on the process's
 * stdin/stdout, the console captured in memory and in a log file, markers awaited with timeouts,
 * and the process always killed on {@link #close()}. Only TCG and user-mode networking with {@code
 * restrict=on}, as the test rules require. Thread-safe: the console is read by a daemon thread and
 * queried under a lock.
 */
public final class QemuVm implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;
  private final StringBuilder console = new StringBuilder();
  private final Thread reader;
  private final OutputStream serialIn;
  private final List<String> command;

  private QemuVm(String name, List<String> command, Path log) throws IOException {
    this.name = name;
    this.command = List.copyOf(command);
    this.log = log;
    Files.createDirectories(log.toAbsolutePath().getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    this.process = pb.start();
    this.serialIn = process.getOutputStream();
    OutputStream logOut = Files.newOutputStream(log);
    this.reader = new Thread(() -> pump(process.getInputStream(), logOut), "qemu-console-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code qemu-system-x86_64} with {@code args} (the caller's machine, disks, kernel...),
   * to which this adds: TCG (unless {@code args} has its own {@code -accel tcg,...}), no graphics,
   * no default devices, the serial console on stdio, no reboot.
   *
   * @throws IOException if QEMU cannot be started
   */
  public static QemuVm start(String name, List<String> args, Path logFile) throws IOException {
    return new QemuVm(name, command(args), logFile);
  }

  /** The command line {@link #start} runs; throws if {@code args} break the rules above. */
  static List<String> command(List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64"));
    if (!args.contains("-accel")) {
      cmd.addAll(List.of("-accel", "tcg"));
    }
    cmd.addAll(
        List.of(
            "-nodefaults",
            "-display",
            "none",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-no-reboot"));
    cmd.addAll(args);
    int accel = cmd.indexOf("-accel");
    if (!cmd.get(accel + 1).startsWith("tcg")) {
      throw new IllegalArgumentException("QEMU runs under TCG here: -accel " + cmd.get(accel + 1));
    }
    for (String a : cmd) {
      if (a.contains("hostfwd=") && a.matches(".*hostfwd=[a-z]+:(?!127\\.0\\.0\\.1:).*")) {
        throw new IllegalArgumentException("port forwards must bind 127.0.0.1: " + a);
      }
      if (a.startsWith("user,") && !a.contains("restrict=on")) {
        throw new IllegalArgumentException("user-mode networking must use restrict=on: " + a);
      }
      if (a.startsWith("socket,") || (a.matches("(stream|dgram),.*") && !unixOnly(a))) {
        throw new IllegalArgumentException("socket networks must be unix sockets (L2Hub): " + a);
      }
    }
    return cmd;
  }

  /** Whether every address of a stream/dgram netdev ({@code addr.type=}, ...) is a unix socket. */
  private static boolean unixOnly(String netdev) {
    Matcher m = Pattern.compile("(?:^|,)(?:addr|local|remote)\\.type=([^,]*)").matcher(netdev);
    boolean any = false;
    while (m.find()) {
      if (!m.group(1).equals("unix")) {
        return false;
      }
      any = true;
    }
    return any;
  }

  private void pump(InputStream in, OutputStream logOut) {
    byte[] buf = new byte[8192];
    try (in;
        logOut) {
      int n;
      while ((n = in.read(buf)) > 0) {
        logOut.write(buf, 0, n);
        logOut.flush();
        String s = new String(buf, 0, n, StandardCharsets.UTF_8).replace("\r", "");
        synchronized (console) {
          console.append(s);
          console.notifyAll();
        }
      }
    } catch (IOException e) {
      // the VM was killed; the log has what we got
    } finally {
      synchronized (console) {
        console.notifyAll();
      }
    }
  }

  /** Everything the console printed so far (carriage returns dropped). */
  public String console() {
    synchronized (console) {
      return console.toString();
    }
  }

  /**
   * Waits until the console, from offset {@code from}, contains one of {@code markers}; returns the
   * index of the first marker found (earliest in the output).
   *
   * @throws QemuTimeoutException carrying the console tail when none appears in time or QEMU exits
   */
  public Match waitForAny(int from, Duration timeout, String... markers)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (console) {
      while (true) {
        int best = -1;
        int at = Integer.MAX_VALUE;
        for (int i = 0; i < markers.length; i++) {
          int p = console.indexOf(markers[i], from);
          if (p >= 0 && p < at) {
            at = p;
            best = i;
          }
        }
        if (best >= 0) {
          return new Match(best, markers[best], at, at + markers[best].length());
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new QemuTimeoutException(
              name + ": none of " + List.of(markers) + " within " + timeout.toSeconds() + " s",
              tail(),
              log);
        }
        if (!process.isAlive() && !reader.isAlive()) {
          throw new QemuTimeoutException(
              name
                  + ": QEMU exited (status "
                  + process.exitValue()
                  + ") before any of "
                  + List.of(markers),
              tail(),
              log);
        }
        console.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 500)));
      }
    }
  }

  /**
   * Waits for {@code marker}; fails at once when one of {@code failures} appears first.
   *
   * @throws QemuTimeoutException on timeout, QEMU exit or a failure marker, with the console tail
   */
  public Match expect(int from, Duration timeout, String marker, String... failures)
      throws InterruptedException {
    String[] all = new String[failures.length + 1];
    all[0] = marker;
    System.arraycopy(failures, 0, all, 1, failures.length);
    Match m = waitForAny(from, timeout, all);
    if (m.index != 0) {
      throw new QemuTimeoutException(
          name + ": '" + m.marker + "' appeared while waiting for '" + marker + "'", tail(), log);
    }
    return m;
  }

  /**
   * Waits for a console line containing {@code prefix} (and its end) and returns the rest of that
   * line after the prefix, trimmed; fails early on any of {@code failures}.
   *
   * @throws QemuTimeoutException on timeout, QEMU exit or a failure marker, with the console tail
   */
  public String lineAfter(int from, Duration timeout, String prefix, String... failures)
      throws InterruptedException {
    Match m = expect(from, timeout, prefix, failures);
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (console) {
      while (console.indexOf("\n", m.end) < 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
          break;
        }
        console.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 500)));
      }
      int nl = console.indexOf("\n", m.end);
      return console.substring(m.end, nl < 0 ? console.length() : nl).trim();
    }
  }

  /** Types {@code line} and a newline on the serial console. */
  public void send(String line) throws IOException {
    serialIn.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    serialIn.flush();
  }

  /**
   * Waits up to {@code timeout} for QEMU to exit; returns its status, or -1 if it is still running.
   */
  public int waitForExit(Duration timeout) throws InterruptedException {
    if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      reader.join(5000);
      return process.exitValue();
    }
    return -1;
  }

  /** The last 200 lines of the console. */
  public String tail() {
    String[] lines = console().split("\n", -1);
    int from = Math.max(0, lines.length - 200);
    return String.join("\n", java.util.Arrays.asList(lines).subList(from, lines.length));
  }

  public Path logFile() {
    return log;
  }

  public List<String> command() {
    return command;
  }

  /** Kills QEMU (and waits for it), whatever state it is in. */
  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
      reader.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Which marker matched and where in the console. Immutable. */
  public static final class Match {
    public final int index;
    public final String marker;
    public final int start;
    public final int end;

    Match(int index, String marker, int start, int end) {
      this.index = index;
      this.marker = Objects.requireNonNull(marker);
      this.start = start;
      this.end = end;
    }
  }
}
