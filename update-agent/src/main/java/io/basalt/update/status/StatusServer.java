package io.basalt.update.status;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Function;

/**
 * Serves {@link StatusProtocol} on a Unix domain socket from one daemon thread, one request per
 * connection. The socket file is mode 0660 (root only unless the group is changed). Thread-safe
 * start/close; the handler runs on the server thread.
 */
public final class StatusServer implements AutoCloseable {

  private final Path socket;
  private final Function<String, StatusProtocol.Reply> handler;
  private ServerSocketChannel server;
  private Thread thread;

  /** Serves {@code handler} (request line → reply) on {@code socket}. */
  public StatusServer(Path socket, Function<String, StatusProtocol.Reply> handler) {
    this.socket = socket;
    this.handler = handler;
  }

  /**
   * Binds (replacing a stale socket file) and starts the thread.
   *
   * @throws IOException if the socket cannot be bound
   */
  public synchronized void start() throws IOException {
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    try {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
    thread = new Thread(this::loop, "status-socket");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    while (server.isOpen()) {
      try (SocketChannel c = server.accept()) {
        String req = new String(StatusProtocol.readLine(c), StandardCharsets.UTF_8).strip();
        StatusProtocol.Reply r;
        try {
          r = handler.apply(req);
        } catch (RuntimeException e) {
          r = new StatusProtocol.Reply(false, "internal error: " + e, null);
        }
        ByteBuffer b = ByteBuffer.wrap(StatusProtocol.encode(r));
        while (b.hasRemaining()) {
          c.write(b);
        }
      } catch (IOException e) {
        if (!server.isOpen()) {
          return;
        }
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (server != null) {
      server.close();
      Files.deleteIfExists(socket);
    }
  }
}
