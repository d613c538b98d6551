package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The minimal HTTP/1.1 client against a scripted loopback server. */
class SocketHttpTest {

  ServerSocket server;
  final List<String> requests = new ArrayList<>();
  final AtomicInteger connections = new AtomicInteger();

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  /**
   * Serves each connection: for every request, the next scripted reply; null = close the
   * connection.
   */
  URI serve(List<String> replies) throws IOException {
    server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    AtomicInteger next = new AtomicInteger();
    Thread t =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                  connections.incrementAndGet();
                  BufferedReader in =
                      new BufferedReader(
                          new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                  OutputStream out = s.getOutputStream();
                  while (true) {
                    String line = in.readLine();
                    if (line == null) {
                      break;
                    }
                    int len = 0;
                    StringBuilder req = new StringBuilder(line).append('\n');
                    while (!(line = in.readLine()).isEmpty()) {
                      req.append(line).append('\n');
                      if (line.toLowerCase().startsWith("content-length:")) {
                        len = Integer.parseInt(line.substring(15).trim());
                      }
                    }
                    char[] body = new char[len];
                    int off = 0;
                    while (off < len) {
                      off += in.read(body, off, len - off);
                    }
                    req.append(body);
                    synchronized (requests) {
                      requests.add(req.toString());
                    }
                    String reply =
                        replies.get(Math.min(next.getAndIncrement(), replies.size() - 1));
                    if (reply == null) {
                      break;
                    }
                    out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    if (reply.contains("Connection: close")) {
                      break;
                    }
                  }
                } catch (IOException e) {
                  // closed
                }
              }
            });
    t.setDaemon(true);
    t.start();
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  static final String OK =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
  static final String CHUNKED =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "4\r\n{\"b\"\r\n3;ext=1\r\n:22\r\n1\r\n}\r\n0\r\nX-Trailer: y\r\n\r\n";

  @Test
  void contentLengthAndChunkedOnOneKeptAliveConnection() throws Exception {
    URI ep =
        serve(
            List.of(
                OK, CHUNKED, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nNot Found\n"));
    SocketHttp h = new SocketHttp(null, Duration.ofSeconds(5));
    SocketHttp.Response r =
        h.post(ep, "/v3/kv/range", "{}".getBytes(), Map.of("Authorization", "tok"));
    assertEquals(200, r.status());
    assertEquals("{\"a\":1}", new String(r.body(), StandardCharsets.UTF_8));
    r = h.post(ep, "/v3/kv/put", "{\"x\":2}".getBytes(), Map.of());
    assertEquals("{\"b\":22}", new String(r.body(), StandardCharsets.UTF_8));
    r = h.post(ep, "/v3/nope", "{}".getBytes(), Map.of());
    assertEquals(404, r.status());
    assertEquals(1, connections.get(), "one kept-alive connection");
    assertTrue(requests.get(0).startsWith("POST /v3/kv/range HTTP/1.1\n"), requests.get(0));
    assertTrue(
        requests.get(0).contains("Authorization: tok")
            && requests.get(0).contains("Host: 127.0.0.1:"),
        requests.get(0));
    assertTrue(requests.get(1).endsWith("{\"x\":2}"), requests.get(1));
    h.close();
  }

  @Test
  void aConnectionClosedWhileIdleIsReplacedOnce() throws Exception {
    // first connection: one answer, then the server drops it when the next request arrives
    URI ep = serve(java.util.Arrays.asList(OK, null, OK));
    SocketHttp h = new SocketHttp(null, Duration.ofSeconds(5));
    assertEquals(200, h.post(ep, "/a", new byte[0], Map.of()).status());
    assertEquals(200, h.post(ep, "/b", new byte[0], Map.of()).status());
    assertEquals(2, connections.get());
    h.close();
  }

  @Test
  void refusedAndMalformedAreErrors() throws Exception {
    SocketHttp h = new SocketHttp(null, Duration.ofSeconds(2));
    int dead;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      dead = s.getLocalPort();
    }
    assertThrows(
        java.net.ConnectException.class,
        () -> h.post(URI.create("http://127.0.0.1:" + dead), "/x", new byte[0], Map.of()));
    URI ep = serve(List.of("garbage\r\n\r\n"));
    IOException e = assertThrows(IOException.class, () -> h.post(ep, "/x", new byte[0], Map.of()));
    assertTrue(e.getMessage().contains("not an HTTP/1.x response"), e.getMessage());
    assertThrows(
        IOException.class, () -> h.post(ep, "/x", new byte[0], Map.of("Bad", "a\r\nInjected: 1")));
  }
}
