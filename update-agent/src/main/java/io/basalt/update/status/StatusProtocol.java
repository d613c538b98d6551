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
import java.util.Map;

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

  /** Thrown when no agent listens on the socket. */
  public static final class NotRunningException extends IOException {
    private static final long serialVersionUID = 1L;

    NotRunningException(String m) {
      super(m);
    }
  }

  /**
   * Sends one request and reads the reply.
   *
   * @throws NotRunningException when the socket is missing or refuses connections
   * @throws IOException on a malformed reply
   */
  @SuppressWarnings("unchecked")
  public static Reply call(Path socket, String request) throws IOException {
    if (!Files.exists(socket)) {
      throw new NotRunningException(
          "the update agent is not running (no socket "
              + socket
              + "); start it with: systemctl start basalt-update-agent.service");
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
      } catch (IOException e) {
        throw new NotRunningException(
            "the update agent is not running ("
                + socket
                + ": "
                + e.getMessage()
                + "); start it with: systemctl start basalt-update-agent.service");
      }
      ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
      byte[] line = readLine(ch);
      Map<String, Object> m = JSON.readValue(line, Map.class);
      Object st = m.get("status");
      return new Reply(
          Boolean.TRUE.equals(m.get("ok")),
          (String) m.get("message"),
          st instanceof Map<?, ?> sm ? AgentStatus.fromMap((Map<String, Object>) sm) : null);
    }
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
