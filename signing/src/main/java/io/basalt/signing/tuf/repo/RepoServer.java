package io.basalt.signing.tuf.repo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Serves a repository's {@code metadata/} and {@code targets/} over HTTP on the loopback interface
 * ({@code GET /metadata/FILE}, {@code GET /targets/PATH}). Thread-safe; stop with {@link #close()}.
 */
public final class RepoServer implements AutoCloseable {
  private final HttpServer server;

  private RepoServer(HttpServer server) {
    this.server = server;
  }

  /**
   * Starts serving on 127.0.0.1.
   *
   * @param port 0 picks a free port
   * @throws IOException if the port cannot be bound
   */
  public static RepoServer start(Path repoDir, int port) throws IOException {
    return start(repoDir, port, line -> {});
  }

  /**
   * Starts serving on 127.0.0.1 and reports every request to {@code accessLog} as one line: {@code
   * METHOD PATH STATUS BYTES} (bytes of the body sent).
   *
   * @param port 0 picks a free port
   * @throws IOException if the port cannot be bound
   */
  public static RepoServer start(Path repoDir, int port, Consumer<String> accessLog)
      throws IOException {
    HttpServer s =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
    Path meta = repoDir.resolve("metadata").toAbsolutePath().normalize();
    Path targets = repoDir.resolve("targets").toAbsolutePath().normalize();
    // metadata names are stored escaped (a%2Fb.json): serve them by raw path
    s.createContext(
        "/metadata/",
        ex ->
            serve(
                ex,
                meta,
                ex.getRequestURI().getRawPath().substring("/metadata/".length()),
                accessLog));
    s.createContext(
        "/targets/",
        ex ->
            serve(
                ex,
                targets,
                ex.getRequestURI().getPath().substring("/targets/".length()),
                accessLog));
    s.setExecutor(
        java.util.concurrent.Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "basalt-repo-serve");
              t.setDaemon(true);
              return t;
            }));
    s.start();
    return new RepoServer(s);
  }

  /** The base URL, e.g. {@code http://127.0.0.1:8080/}. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  private static void serve(HttpExchange ex, Path base, String rel, Consumer<String> log)
      throws IOException {
    String what = ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath();
    try (ex) {
      Path f = base.resolve(rel).normalize();
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.sendResponseHeaders(405, -1);
        log.accept(what + " 405 0");
        return;
      }
      if (rel.isEmpty()
          || !f.startsWith(base)
          || !Files.isRegularFile(f)
          || f.getFileName().toString().matches("\\.(tmp|add|verify|download)-.*")) {
        ex.sendResponseHeaders(404, -1);
        log.accept(what + " 404 0");
        return;
      }
      long size = Files.size(f);
      ex.getResponseHeaders()
          .set(
              "Content-Type",
              f.getFileName().toString().endsWith(".json")
                  ? "application/json"
                  : "application/octet-stream");
      if (ex.getRequestMethod().equals("HEAD")) {
        ex.sendResponseHeaders(200, -1);
        log.accept(what + " 200 0");
        return;
      }
      ex.sendResponseHeaders(200, size);
      try (InputStream in = Files.newInputStream(f);
          OutputStream out = ex.getResponseBody()) {
        in.transferTo(out);
      }
      log.accept(what + " 200 " + size);
    }
  }

  /** Stops the server. */
  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
