package io.basalt.update.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.host.HostPaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The agent's control socket protocol: the client writes one request line ({@code status}, {@code
 * check}, {@code apply [VERSION] [force]}), the agent answers one JSON object line {@code
 * {"ok":bool,"message":..,"status":{..}}} and closes. Stateless; thread-safe.
 */
public final class StatusProtocol {

  /** Default socket path. */
  public static final String SOCKET = HostPaths.STATUS_SOCKET;

  static final ObjectMapper JSON = new ObjectMapper();
  static final int MAX_LINE = 64 * 1024;

  private StatusProtocol() {}

  /** A reply. */
  public record Reply(boolean ok, String message, AgentStatus status) {}

  /** What a user needs for read-only requests, in every refusal. */
  public static final String NEEDS_GROUP =
      "permission denied: basaltctl status needs root or membership in group basalt or sudo"
          + " (add the user with: usermod -aG basalt USER, then log in again)";

  /** Thrown when no agent listens on the socket. */
  public static final class NotRunningException extends IOException {
    private static final long serialVersionUID = 1L;

    NotRunningException(String m) {
      super(m);
    }
  }

  /** Thrown when the socket exists but this user may not connect to it (EACCES). */
  public static final class PermissionDeniedException extends IOException {
    private static final long serialVersionUID = 1L;

    PermissionDeniedException(String m) {
      super(m);
    }
  }

  /**
   * Sends one request and reads the reply, giving up after {@code timeout} (connect and the whole
   * exchange).
   *
   * @throws NotRunningException when the socket is missing or refuses connections
   * @throws PermissionDeniedException when this user may not connect to the socket
   * @throws IOException on a malformed reply or no reply within the timeout
   */
  @SuppressWarnings("unchecked")
  public static Reply call(Path socket, String request, Duration timeout) throws IOException {
    if (!Files.exists(socket)) {
      throw new NotRunningException(
          "the update agent is not running (no socket "
              + socket
              + "); start it with: systemctl start basalt-update-agent.service");
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      AtomicBoolean timedOut = new AtomicBoolean();
      Thread watchdog =
          new Thread(
              () -> {
                try {
                  Thread.sleep(timeout.toMillis());
                  timedOut.set(true);
                  ch.close();
                } catch (InterruptedException | IOException e) {
                  // answered in time, or already closed
                }
              },
              "basaltctl-timeout");
      watchdog.setDaemon(true);
      watchdog.start();
      try {
        try {
          ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
          if (timedOut.get()) {
            throw e;
          }
          throw connectFailure(socket, e);
        }
        IOException writeFailed = null;
        try {
          ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
          writeFailed = e; // an agent that refused this peer may have answered and closed already
        }
        byte[] line = readLine(ch);
        if (line.length == 0) {
          if (writeFailed != null) {
            throw writeFailed;
          }
          throw new IOException("the update agent on " + socket + " closed without an answer");
        }
        Map<String, Object> m = JSON.readValue(line, Map.class);
        Object st = m.get("status");
        return new Reply(
            Boolean.TRUE.equals(m.get("ok")),
            (String) m.get("message"),
            st instanceof Map<?, ?> sm ? AgentStatus.fromMap((Map<String, Object>) sm) : null);
      } catch (IOException e) {
        if (timedOut.get()) {
          throw new IOException(
              "no answer from the update agent on "
                  + socket
                  + " within "
                  + timeout.toMillis()
                  + " ms; see: journalctl -u basalt-update-agent.service",
              e);
        }
        throw e;
      } finally {
        watchdog.interrupt();
      }
    }
  }

  /**
   * The error for a failed connect: permission denied (EACCES, which the JDK reports as a {@code
   * BindException}) says what is needed; anything else means no agent listens.
   */
  static IOException connectFailure(Path socket, IOException e) {
    String m = String.valueOf(e.getMessage());
    if (e instanceof java.nio.file.AccessDeniedException
        || m.toLowerCase(java.util.Locale.ROOT).contains("permission denied")) {
      return new PermissionDeniedException("cannot connect to " + socket + ": " + NEEDS_GROUP);
    }
    return new NotRunningException(
        "the update agent is not running ("
            + socket
            + ": "
            + m
            + "); start it with: systemctl start basalt-update-agent.service");
  }

  static byte[] readLine(SocketChannel ch) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    var in = Channels.newInputStream(ch);
    int b;
    while ((b = in.read()) >= 0 && b != '\n') {
      if (out.size() >= MAX_LINE) {
        throw new IOException("control socket: line longer than " + MAX_LINE + " bytes");
      }
      out.write(b);
    }
    return out.toByteArray();
  }

  static byte[] encode(Reply r) throws IOException {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("ok", r.ok());
    m.put("message", r.message());
    m.put("status", r.status() == null ? null : r.status().toMap());
    return (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
  }
}
