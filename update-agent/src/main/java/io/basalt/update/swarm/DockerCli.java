package io.basalt.update.swarm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * {@link Docker} through the {@code docker} command-line client. Each command may take at most the
 * given timeout. Messages quote docker's output with any token replaced by {@code <token>}.
 * Thread-safe.
 */
public final class DockerCli implements Docker {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String docker;
  private final Duration timeout;

  /**
   * @param docker the client program, {@code docker} on a host
   * @param timeout longest time one command may take
   */
  public DockerCli(String docker, Duration timeout) {
    this.docker = docker;
    this.timeout = timeout;
  }

  @Override
  public SwarmInfo info() throws IOException {
    String out = run(List.of("info", "--format", "{{json .Swarm}}"), null);
    JsonNode s;
    try {
      s = JSON.readTree(out);
    } catch (IOException e) {
      throw new IOException("docker info: not the JSON of .Swarm: " + firstLine(out), e);
    }
    if (s == null || !s.has("LocalNodeState")) {
      throw new IOException("docker info: no LocalNodeState in " + firstLine(out));
    }
    return new SwarmInfo(
        s.path("LocalNodeState").asText(),
        s.path("NodeID").asText(""),
        s.path("ControlAvailable").asBoolean(false));
  }

  @Override
  public void init(String advertiseAddr) throws IOException {
    run(List.of("swarm", "init", "--advertise-addr", advertiseAddr), null);
  }

  @Override
  public String joinToken(SwarmConf.Role role) throws IOException {
    String t = run(List.of("swarm", "join-token", "-q", role.word()), null).strip();
    if (t.isEmpty() || t.contains("\n")) {
      throw new IOException("docker swarm join-token -q " + role.word() + ": no single token");
    }
    return t;
  }

  @Override
  public void join(String token, String advertiseAddr, String remoteAddr) throws IOException {
    run(
        List.of("swarm", "join", "--token", token, "--advertise-addr", advertiseAddr, remoteAddr),
        token);
  }

  @Override
  public void leave() throws IOException {
    run(List.of("swarm", "leave", "--force"), null);
  }

  @Override
  public void addLabels(String nodeId, SortedMap<String, String> labels) throws IOException {
    List<String> args = new ArrayList<>(List.of("node", "update"));
    for (Map.Entry<String, String> l : labels.entrySet()) {
      args.add("--label-add");
      args.add(l.getKey() + "=" + l.getValue());
    }
    args.add(nodeId);
    run(args, null);
  }

  @Override
  public void setAvailability(String nodeId, String availability) throws IOException {
    run(List.of("node", "update", "--availability", availability, nodeId), null);
  }

  @Override
  public List<Node> nodes() throws IOException {
    String out = run(List.of("node", "ls", "--format", "{{json .}}"), null);
    List<Node> nodes = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (IOException e) {
        throw new IOException("docker node ls: not a JSON line: " + firstLine(line), e);
      }
      nodes.add(
          new Node(
              n.path("ID").asText(""),
              n.path("Hostname").asText(""),
              n.path("Self").asBoolean(false),
              n.path("Status").asText(""),
              n.path("Availability").asText(""),
              n.path("ManagerStatus").asText("")));
    }
    return nodes;
  }

  @Override
  public List<String> runningTasks() throws IOException {
    String out =
        run(
            List.of("ps", "--filter", "label=com.docker.swarm.task.id", "--format", "{{.Names}}"),
            null);
    return out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
  }

  /** Runs docker with {@code args}; returns its standard output. */
  private String run(List<String> args, String secret) throws IOException {
    List<String> argv = new ArrayList<>();
    argv.add(docker);
    argv.addAll(args);
    String shown = "docker " + String.join(" ", args);
    if (secret != null) {
      shown = shown.replace(secret, "<token>");
    }
    Process p = new ProcessBuilder(argv).start();
    p.getOutputStream().close();
    CompletableFuture<byte[]> err =
        CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    CompletableFuture<byte[]> out =
        CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new IOException(shown + ": no answer within " + timeout);
      }
      String stderr = new String(err.get(), StandardCharsets.UTF_8).strip();
      if (secret != null) {
        stderr = stderr.replace(secret, "<token>");
      }
      if (p.exitValue() != 0) {
        throw new IOException(
            shown + " exited with " + p.exitValue() + (stderr.isEmpty() ? "" : ": " + stderr));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while running " + shown);
    } catch (ExecutionException e) {
      throw new IOException(shown + ": " + e.getCause(), e);
    }
    try {
      return new String(out.get(), StandardCharsets.UTF_8);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while running " + shown);
    } catch (ExecutionException e) {
      throw new IOException(shown + ": " + e.getCause(), e);
    }
  }

  private static byte[] readAll(InputStream in) {
    try (in) {
      return in.readAllBytes();
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static String firstLine(String s) {
    String l = s.strip();
    int nl = l.indexOf('\n');
    return nl < 0 ? l : l.substring(0, nl);
  }
}
