package io.basalt.signing.tuf.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link HttpFetcher} against an in-process server that trickles its answer. */
class HttpFetcherDeadlineTest {

  private HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private URI trickle() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            ex.sendResponseHeaders(200, 100_000);
            OutputStream out = ex.getResponseBody();
            for (int i = 0; i < 100_000; i++) {
              out.write('{');
              out.flush();
              Thread.sleep(20); // every read succeeds well within the read timeout
            }
          } catch (IOException | InterruptedException e) {
            // the client hung up
          }
        });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/timestamp.json");
  }

  @Test
  void aTricklingFetchFailsAtTheDeadline() throws Exception {
    URI uri = trickle();
    HttpFetcher f =
        new HttpFetcher(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(1));
    long t0 = System.nanoTime();
    FetchException e =
        assertThrows(
            FetchException.class,
            () -> {
              try (InputStream in = f.open(uri)) {
                in.readAllBytes();
              }
            });
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 1000 && ms < 5000, "failed after " + ms + " ms");
    assertTrue(
        e.getMessage().contains("not complete within PT1S (the fetch deadline)"), e.getMessage());
    assertTrue(e.getMessage().contains(uri.toString()), e.getMessage());
    assertEquals(-1, e.status());
  }
}
