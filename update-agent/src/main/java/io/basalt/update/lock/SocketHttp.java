package io.basalt.update.lock;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A minimal HTTP/1.1 POST client over plain or TLS sockets with keep-alive connection reuse, just
 * what etcd's JSON gateway needs (Content-Length and chunked responses). It exists for memory:
 * {@code java.net.http} plus the default TLS context cost the agent about 15 MB of RSS. TLS
 * verifies the server's host name (endpoint identification "HTTPS"). Thread-safe.
 */
final class SocketHttp {

  /** A response: status code and body. */
  record Response(int status, byte[] body) {}

  private static final int MAX_BODY = 8 * 1024 * 1024;
  private static final int MAX_POOLED = 8;

  private final SSLContext tls;
  private final Duration timeout;
  private final Map<String, Deque<Conn>> idle = new ConcurrentHashMap<>();

  /**
   * @param tls context for https endpoints, or null when there are none
   */
  SocketHttp(SSLContext tls, Duration timeout) {
    this.tls = tls;
    this.timeout = timeout;
  }

  private static final class Conn {
    final Socket socket;
    final InputStream in;
    final OutputStream out;

    Conn(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream(), 8192);
      this.out = new BufferedOutputStream(socket.getOutputStream(), 8192);
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  /**
   * POSTs {@code body} to {@code endpoint + path}. A failure on a reused idle connection before any
   * response byte is retried once on a fresh connection (a request repeated this way is harmless
   * here: every write is a compare-and-swap).
   *
   * @throws IOException on connection, TLS or protocol errors
   */
  Response post(URI endpoint, String path, byte[] body, Map<String, String> headers)
      throws IOException {
    String poolKey = endpoint.getScheme() + "://" + endpoint.getRawAuthority();
    Deque<Conn> pool = idle.computeIfAbsent(poolKey, k -> new ConcurrentLinkedDeque<>());
    Conn c = pool.pollFirst();
    if (c != null) {
      try {
        return exchange(c, pool, endpoint, path, body, headers);
      } catch (StaleConnection stale) {
        c.close();
      }
    }
    Conn fresh = open(endpoint);
    try {
      return exchange(fresh, pool, endpoint, path, body, headers);
    } catch (StaleConnection e) {
      fresh.close();
      throw new EOFException("connection closed by " + poolKey + " before it answered");
    }
  }

  /** Closes the idle connections. */
  void close() {
    idle.values()
        .forEach(
            d -> {
              Conn c;
              while ((c = d.pollFirst()) != null) {
                c.close();
              }
            });
  }

  private static final class StaleConnection extends IOException {
    private static final long serialVersionUID = 1L;

    StaleConnection(Throwable cause) {
      super(cause);
    }
  }

  private Conn open(URI endpoint) throws IOException {
    boolean https = endpoint.getScheme().equals("https");
    int port = endpoint.getPort() > 0 ? endpoint.getPort() : https ? 443 : 80;
    String host = endpoint.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    Socket s = new Socket();
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    try {
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress(host, port), ms);
      s.setSoTimeout(ms);
      if (https) {
        if (tls == null) {
          throw new IOException("no TLS context for " + endpoint);
        }
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, host, port, true);
        SSLParameters p = ssl.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        return new Conn(ssl);
      }
      return new Conn(s);
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  private Response exchange(
      Conn c, Deque<Conn> pool, URI endpoint, String path, byte[] body, Map<String, String> headers)
      throws IOException {
    StringBuilder h = new StringBuilder(256);
    String base = endpoint.getRawPath() == null ? "" : endpoint.getRawPath();
    h.append("POST ").append(base).append(path).append(" HTTP/1.1\r\n");
    h.append("Host: ").append(endpoint.getRawAuthority()).append("\r\n");
    h.append("Content-Type: application/json\r\n");
    h.append("Content-Length: ").append(body.length).append("\r\n");
    for (Map.Entry<String, String> e : headers.entrySet()) {
      if (e.getValue().indexOf('\r') >= 0 || e.getValue().indexOf('\n') >= 0) {
        throw new IOException("header " + e.getKey() + " contains a line break");
      }
      h.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
    }
    h.append("\r\n");
    String statusLine;
    try {
      c.out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
      c.out.write(body);
      c.out.flush();
      statusLine = readLine(c.in);
    } catch (java.net.SocketTimeoutException e) {
      c.close();
      throw e;
    } catch (IOException e) {
      throw new StaleConnection(e);
    }
    if (statusLine == null) {
      throw new StaleConnection(new EOFException("connection closed"));
    }
    try {
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP/1.x response: " + statusLine);
      }
      int status = Integer.parseInt(parts[1]);
      long length = -1;
      boolean chunked = false;
      boolean close = parts[0].equals("HTTP/1.0");
      String line;
      while ((line = readLine(c.in)) != null && !line.isEmpty()) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = line.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> close |= value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      if (line == null) {
        throw new EOFException("connection closed inside the response headers");
      }
      byte[] payload;
      if (chunked) {
        payload = readChunked(c.in);
      } else if (length >= 0) {
        if (length > MAX_BODY) {
          throw new IOException("response body of " + length + " bytes is larger than " + MAX_BODY);
        }
        payload = c.in.readNBytes((int) length);
        if (payload.length != length) {
          throw new EOFException(
              "response body cut short: " + payload.length + " of " + length + " bytes");
        }
      } else {
        close = true;
        payload = c.in.readNBytes(MAX_BODY);
      }
      if (close) {
        c.close();
      } else if (pool.size() < MAX_POOLED) {
        pool.addFirst(c);
      } else {
        c.close();
      }
      return new Response(status, payload);
    } catch (IOException | RuntimeException e) {
      c.close();
      if (e instanceof NumberFormatException) {
        throw new IOException("malformed HTTP response from " + endpoint + ": " + e.getMessage());
      }
      throw e;
    }
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (true) {
      String size = readLine(in);
      if (size == null) {
        throw new EOFException("connection closed inside a chunked body");
      }
      int semi = size.indexOf(';');
      int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
      if (n == 0) {
        String trailer;
        while ((trailer = readLine(in)) != null && !trailer.isEmpty()) {
          // trailers ignored
        }
        return out.toByteArray();
      }
      if (out.size() + (long) n > MAX_BODY) {
        throw new IOException("chunked response body larger than " + MAX_BODY + " bytes");
      }
      byte[] chunk = in.readNBytes(n);
      if (chunk.length != n) {
        throw new EOFException("chunk cut short");
      }
      out.write(chunk);
      readLine(in);
    }
  }

  /** Reads a CRLF- (or LF-) terminated ISO-8859-1 line; null at end of stream before any byte. */
  private static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder(64);
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        int len = b.length();
        if (len > 0 && b.charAt(len - 1) == '\r') {
          b.setLength(len - 1);
        }
        return b.toString();
      }
      if (b.length() > 16 * 1024) {
        throw new IOException("HTTP header line longer than 16 KiB");
      }
      b.append((char) c);
    }
    if (b.length() == 0) {
      return null;
    }
    throw new EOFException("connection closed mid-line");
  }
}
