package io.basalt.update.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real single-member etcd started on 127.0.0.1 with free ports and a temporary data directory;
 * {@link #close()} kills it and deletes the directory. Not thread-safe.
 */
public final class EtcdProcess implements AutoCloseable {

  public final Path dir;
  public final int clientPort;
  final int peerPort;
  private final List<String> extraArgs;
  private final String scheme;
  private Process process;
  private final Thread hook;
  private String name = "basalt-test";
  private String initialCluster;

  private EtcdProcess(Path dir, String scheme, List<String> extraArgs) throws IOException {
    this.dir = dir;
    this.scheme = scheme;
    this.extraArgs = extraArgs;
    this.clientPort = freePort();
    this.peerPort = freePort();
    this.hook = new Thread(this::kill);
    Runtime.getRuntime().addShutdownHook(hook);
  }

  public static EtcdProcess start() throws IOException, InterruptedException {
    return start("http", List.of());
  }

  /** Starts etcd; {@code extraArgs} are added to its command line (TLS flags, for instance). */
  public static EtcdProcess start(String scheme, List<String> extraArgs)
      throws IOException, InterruptedException {
    return start(scheme, extraArgs, List.of());
  }

  /** As above; {@code etcdctlArgs} are given to every etcdctl call (TLS client flags). */
  public static EtcdProcess start(String scheme, List<String> extraArgs, List<String> etcdctlArgs)
      throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("basalt-etcd-");
    EtcdProcess p = new EtcdProcess(dir, scheme, extraArgs);
    p.etcdctlTlsArgs = List.copyOf(etcdctlArgs);
    try {
      p.launch();
    } catch (IOException | InterruptedException | RuntimeException e) {
      p.close();
      throw e;
    }
    return p;
  }

  /**
   * Starts an n-member cluster (all members launched before any is waited for, since a member only
   * becomes healthy once a quorum is up). Close every member.
   */
  public static List<EtcdProcess> cluster(int n) throws IOException, InterruptedException {
    List<EtcdProcess> members = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        EtcdProcess p =
            new EtcdProcess(Files.createTempDirectory("basalt-etcd-"), "http", List.of());
        p.name = "m" + i;
        members.add(p);
      }
      StringBuilder ic = new StringBuilder();
      for (EtcdProcess p : members) {
        ic.append(ic.length() == 0 ? "" : ",")
            .append(p.name)
            .append("=http://127.0.0.1:")
            .append(p.peerPort);
      }
      for (EtcdProcess p : members) {
        p.initialCluster = ic.toString();
        p.spawn();
      }
      for (EtcdProcess p : members) {
        p.waitReady(Duration.ofSeconds(60));
      }
      return members;
    } catch (IOException | InterruptedException | RuntimeException e) {
      members.forEach(EtcdProcess::close);
      throw e;
    }
  }

  /** The member's {@code --name} ({@code m0}, {@code m1}, ... in a {@link #cluster}). */
  public String name() {
    return name;
  }

  public String endpoint() {
    return scheme + "://127.0.0.1:" + clientPort;
  }

  public void launch() throws IOException, InterruptedException {
    spawn();
    waitReady(Duration.ofSeconds(30));
  }

  private void spawn() throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "etcd",
                "--name",
                name,
                "--data-dir",
                dir.resolve("data").toString(),
                "--listen-client-urls",
                endpoint(),
                "--advertise-client-urls",
                endpoint(),
                "--listen-peer-urls",
                "http://127.0.0.1:" + peerPort,
                "--initial-advertise-peer-urls",
                "http://127.0.0.1:" + peerPort,
                "--initial-cluster",
                initialCluster != null ? initialCluster : name + "=http://127.0.0.1:" + peerPort,
                "--log-level",
                "warn"));
    cmd.addAll(extraArgs);
    process =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(new java.io.File(dir.toString(), "etcd.log")))
            .start();
  }

  private void waitReady(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("etcd exited with " + process.exitValue() + ": " + log());
      }
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", clientPort)) {
        // port open; now make sure it serves (a leader is elected)
        Process p = etcdctl("endpoint", "health").start();
        if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
          return;
        }
        p.destroyForcibly();
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IOException("etcd did not become ready: " + log());
  }

  /** An etcdctl (v3 API) command against this server. */
  public ProcessBuilder etcdctl(String... args) {
    List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints", endpoint()));
    cmd.addAll(etcdctlTlsArgs);
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("ETCDCTL_API", "3");
    return pb;
  }

  List<String> etcdctlTlsArgs = List.of();

  /** Runs etcdctl and returns its output; fails on a non-zero exit. */
  public String etcdctlOutput(String... args) throws IOException, InterruptedException {
    Process p = etcdctl(args).start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("etcdctl " + String.join(" ", args) + " failed: " + out);
    }
    return out;
  }

  public String log() {
    try {
      String s = Files.readString(dir.resolve("etcd.log"));
      return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** Kills etcd (SIGKILL) and waits for it to exit. */
  public void kill() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Kills etcd and starts it again on the same ports and data. */
  public void restart() throws IOException, InterruptedException {
    kill();
    launch();
  }

  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // fine
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // best effort
                }
              });
    } catch (IOException ignored) {
      // best effort
    }
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
