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
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import jdk.net.ExtendedSocketOptions;

/**
 * Serves {@link StatusProtocol} on a Unix domain socket, one request per connection, each client on
 * its own thread (at most {@link #MAX_CLIENTS} at once; more are answered "busy"). A client must
 * send its request line within the read timeout or is disconnected.
 *
 * <p>Access is decided per connection from the peer's credentials ({@code SO_PEERCRED}) by a {@link
 * PeerAccess}: root may send every request, members of group {@code basalt} or {@code sudo} only
 * {@code status}, everyone else is refused with a reply naming what is needed. So that refused
 * users get that reply rather than a bare EACCES, the socket file is mode 0666 in a 0755 directory
 * (the D-Bus model: the file lets everyone connect, the server checks who connected).
 *
 * <p>Under systemd the socket comes from {@code basalt-update-agent.socket} (socket activation: the
 * listening socket is the process's standard input). It exists from early boot, so a client that
 * connects before the agent's JVM is up waits in the socket's backlog for the answer instead of
 * finding no socket; and it is systemd's file, left in place when the agent stops.
 *
 * <p>Thread-safe start/close; the handler runs on client threads concurrently.
 */
public final class StatusServer implements AutoCloseable {

  /** Most clients served at once. */
  public static final int MAX_CLIENTS = 8;

  /** Default time a client has to send its request line. */
  public static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

  /** The host's group file, read for {@code basalt} and {@code sudo} membership. */
  public static final String GROUP_FILE = "/etc/group";

  /** Requests that do not change the agent's state. */
  public static final Set<String> READ_ONLY = Set.of("status");

  /*
   * The fixed answers, encoded once. Making them also loads the protocol class and its JSON encoder
   * at start-up rather than inside the first client's read timeout.
   */
  private static final byte[] BUSY;
  private static final byte[] REFUSED;

  static {
    try {
      BUSY =
          StatusProtocol.encode(
              new StatusProtocol.Reply(false, "the update agent is busy; try again", null));
      REFUSED =
          StatusProtocol.encode(new StatusProtocol.Reply(false, StatusProtocol.NEEDS_GROUP, null));
    } catch (IOException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Path socket;
  private final Function<String, StatusProtocol.Reply> handler;
  private final PeerAccess access;
  private final Duration readTimeout;
  private final Semaphore slots = new Semaphore(MAX_CLIENTS);
  private ServerSocketChannel server;
  private boolean activated;
  private Thread thread;
  private ExecutorService clients;
  private ScheduledExecutorService timer;

  /** Serves {@code handler} on {@code socket}, access checked against the host's /etc/group. */
  public StatusServer(Path socket, Function<String, StatusProtocol.Reply> handler) {
    this(socket, handler, PeerAccess.groups(Path.of(GROUP_FILE)), READ_TIMEOUT);
  }

  /** Serves {@code handler} (request line → reply) on {@code socket}. */
  public StatusServer(
      Path socket,
      Function<String, StatusProtocol.Reply> handler,
      PeerAccess access,
      Duration readTimeout) {
    this.socket = socket;
    this.handler = handler;
    this.access = access;
    this.readTimeout = readTimeout;
  }

  /**
   * Serves the listening socket systemd passed for this path (socket activation), else binds
   * (replacing a stale socket file), and starts the threads.
   *
   * @throws IOException if the socket cannot be bound
   */
  public synchronized void start() throws IOException {
    if (System.inheritedChannel() instanceof ServerSocketChannel passed
        && passed.getLocalAddress() instanceof UnixDomainSocketAddress a
        && a.getPath().equals(socket)) {
      server = passed;
      activated = true;
    } else {
      bind();
    }
    AtomicInteger n = new AtomicInteger();
    clients =
        Executors.newFixedThreadPool(
            MAX_CLIENTS, r -> daemon(r, "status-client-" + n.incrementAndGet()));
    timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "status-timeout"));
    thread = daemon(this::loop, "status-socket");
    thread.start();
  }

  /** Binds the socket file as systemd's socket unit makes it: mode 0666 in a 0755 directory. */
  private void bind() throws IOException {
    Files.createDirectories(socket.getParent());
    try {
      Files.setPosixFilePermissions(
          socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    try {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private void loop() {
    while (server.isOpen()) {
      SocketChannel c;
      try {
        c = server.accept();
      } catch (IOException e) {
        if (!server.isOpen()) {
          return;
        }
        continue;
      }
      if (!slots.tryAcquire()) {
        ScheduledFuture<?> cut = deadline(c);
        try (c) {
          write(c, BUSY);
        } catch (IOException e) {
          // the client is gone
        } finally {
          cut.cancel(false);
        }
        continue;
      }
      try {
        clients.execute(
            () -> {
              try {
                serve(c);
              } finally {
                slots.release();
              }
            });
      } catch (RuntimeException e) { // rejected: shutting down
        slots.release();
        try {
          c.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }
  }

  /** Closes {@code c} when the read timeout passes, unblocking a read or write on it. */
  private ScheduledFuture<?> deadline(SocketChannel c) {
    return timer.schedule(
        () -> {
          try {
            c.close();
          } catch (IOException e) {
            // already closed
          }
        },
        readTimeout.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void serve(SocketChannel c) {
    try (c) {
      PeerAccess.Level level = access.level(c.getOption(ExtendedSocketOptions.SO_PEERCRED));
      if (level == PeerAccess.Level.NONE) {
        ScheduledFuture<?> cut = deadline(c);
        // Read the request first: closing before the client has written it fails the client's
        // write with "Broken pipe" instead of showing this answer.
        StatusProtocol.readLine(c);
        write(c, REFUSED);
        cut.cancel(false);
        return;
      }
      ScheduledFuture<?> cut = deadline(c);
      String req = new String(StatusProtocol.readLine(c), StandardCharsets.UTF_8).strip();
      cut.cancel(false);
      String verb = req.isEmpty() ? "" : req.split("\\s+", 2)[0];
      StatusProtocol.Reply r;
      if (level != PeerAccess.Level.ALL && !READ_ONLY.contains(verb)) {
        r =
            new StatusProtocol.Reply(
                false,
                "permission denied: "
                    + (verb.isEmpty() ? "this request" : verb)
                    + " changes the agent's state and needs root; run it as"
                    + " sudo basaltctl ...",
                null);
      } else {
        try {
          r = handler.apply(req);
        } catch (RuntimeException e) {
          r = new StatusProtocol.Reply(false, "internal error: " + e, null);
        }
      }
      // Encoded before the deadline: the timeout measures the client, not the agent's own work.
      byte[] out;
      try {
        out = StatusProtocol.encode(r);
      } catch (IOException | RuntimeException e) {
        out =
            StatusProtocol.encode(
                new StatusProtocol.Reply(
                    false, "internal error: cannot encode the reply: " + e, null));
      }
      cut = deadline(c);
      write(c, out);
      cut.cancel(false);
    } catch (IOException e) {
      // the client went away or timed out: nothing to answer
    }
  }

  private static void write(SocketChannel c, byte[] reply) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(reply);
    while (b.hasRemaining()) {
      c.write(b);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (server != null) {
      server.close();
      clients.shutdownNow();
      timer.shutdownNow();
      if (!activated) {
        Files.deleteIfExists(socket); // systemd's socket stays for the next activation
      }
    }
  }
}
