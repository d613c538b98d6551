package io.basalt.image.pxe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.basalt.image.spec.PxeConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code basalt pxe serve}: serves a build's PXE artifacts to machines that network-boot, over HTTP
 * (the iPXE scripts, {@code pxe/}, {@code update/} and per-machine cloud-configs) and optionally
 * TFTP (the chain script, the kernel and initramfs, and iPXE loaders), on exactly the addresses
 * given. Thread-safe; stop with {@link #close()}.
 */
public final class PxeServer implements AutoCloseable {

  /**
   * What to serve and where.
   *
   * @param pxeDir the build's {@code pxe/} folder ({@code boot.ipxe}, {@code vmlinuz}, {@code
   *     initramfs})
   * @param updateDir the build's {@code update/} folder, or null when the build has none
   * @param config per-machine choices
   * @param http addresses the HTTP server binds (at least one)
   * @param tftp addresses the TFTP server binds (may be empty)
   * @param httpUrl the URL machines reach the HTTP server at, for the TFTP chain script (ends with
   *     {@code /}); null: {@code http://} and the first HTTP address
   * @param tftpDir a folder of further files for TFTP (iPXE loaders), or null
   * @param proxyDhcp addresses the proxy DHCP server binds (may be empty: off)
   */
  public record Settings(
      Path pxeDir,
      Path updateDir,
      PxeConfig config,
      List<InetSocketAddress> http,
      List<InetSocketAddress> tftp,
      String httpUrl,
      Path tftpDir,
      List<InetSocketAddress> proxyDhcp) {
    public Settings {
      http = List.copyOf(http);
      tftp = List.copyOf(tftp);
      proxyDhcp = List.copyOf(proxyDhcp);
    }
  }

  /** The TFTP file name of the chain script. */
  public static final String CHAIN_SCRIPT = "boot.ipxe";

  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9.-]+(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");
  private static final Pattern RANGE = Pattern.compile("bytes=([0-9]{1,18})-([0-9]{0,18})");
  private static final Pattern MAC_QUERY =
      Pattern.compile("(?:^|&)mac=([0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5})(?:&|$)");

  private final Settings settings;
  private final String buildScript;
  private volatile String httpUrl;
  private final Consumer<String> log;
  private final List<HttpServer> httpServers = new ArrayList<>();
  private final List<TftpServer> tftpServers = new ArrayList<>();
  private final List<ProxyDhcp> proxies = new ArrayList<>();
  private final ExecutorService httpPool;

  private PxeServer(Settings settings, String buildScript, String httpUrl, Consumer<String> log) {
    this.settings = settings;
    this.buildScript = buildScript;
    this.httpUrl = httpUrl;
    this.log = log;
    this.httpPool =
        Executors.newFixedThreadPool(
            8,
            r -> {
              Thread t = new Thread(r, "basalt-pxe-http");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Checks the build's files and starts every listener; on any failure nothing stays bound.
   *
   * @param log one line per request and transfer
   * @throws IllegalArgumentException when a file is missing or the settings are unusable
   * @throws IOException when an address cannot be bound
   */
  public static PxeServer start(Settings s, Consumer<String> log) throws IOException {
    if (s.http().isEmpty()) {
      throw new IllegalArgumentException("no HTTP address to listen on");
    }
    for (String f : List.of(CHAIN_SCRIPT, "vmlinuz", "initramfs")) {
      if (!Files.isRegularFile(s.pxeDir().resolve(f))) {
        throw new IllegalArgumentException(
            s.pxeDir().resolve(f) + ": missing (build with 'pxe' in the spec's outputs)");
      }
    }
    String script = Files.readString(s.pxeDir().resolve(CHAIN_SCRIPT), StandardCharsets.UTF_8);
    // fails now, not at the first machine's request, when the build's script is unusable
    BootScripts.machine(script, s.config().fallback(), "http://check/", "00:00:00:00:00:00");
    if (s.config().anyInstall()
        && (s.updateDir() == null || !Files.isRegularFile(s.updateDir().resolve("payload.json")))) {
      throw new IllegalArgumentException(
          (s.updateDir() == null ? "the build's update/ folder" : s.updateDir() + "/payload.json")
              + ": missing, and a machine is to install (build with 'update' in the spec's"
              + " outputs)");
    }
    String url = s.httpUrl();
    if (!s.tftp().isEmpty() && url == null && s.http().get(0).getAddress().isAnyLocalAddress()) {
      throw new IllegalArgumentException(
          "the first --listen address is a wildcard: give --http-url (the URL machines reach the"
              + " HTTP server at) for the TFTP chain script");
    }
    if (!s.proxyDhcp().isEmpty()
        && (s.tftp().isEmpty()
            || !(s.tftp().get(0).getAddress() instanceof java.net.Inet4Address)
            || s.tftp().get(0).getAddress().isAnyLocalAddress())) {
      throw new IllegalArgumentException(
          "proxy DHCP names the TFTP server in its offers: give --tftp with this host's IPv4"
              + " address on the machines' network first");
    }
    PxeServer p = new PxeServer(s, script, url, log);
    try {
      for (InetSocketAddress a : s.http()) {
        HttpServer h;
        try {
          h = HttpServer.create(a, 32);
        } catch (BindException e) {
          throw new IOException("HTTP " + a + ": cannot bind: " + e.getMessage(), e);
        }
        h.createContext("/", p::handle);
        h.setExecutor(p.httpPool);
        h.start();
        p.httpServers.add(h);
      }
      if (url == null && !s.http().get(0).getAddress().isAnyLocalAddress()) {
        // the bound address: a port given as 0 is known only now
        p.httpUrl = "http://" + hostPort(p.httpServers.get(0).getAddress()) + "/";
      }
      for (InetSocketAddress a : s.tftp()) {
        p.tftpServers.add(TftpServer.start(a, p::tftpFile, log));
      }
      for (InetSocketAddress a : s.proxyDhcp()) {
        p.proxies.add(
            ProxyDhcp.start(
                a,
                (java.net.Inet4Address) s.tftp().get(0).getAddress(),
                p.httpUrl + CHAIN_SCRIPT,
                log));
      }
    } catch (IOException | RuntimeException e) {
      p.close();
      throw e;
    }
    return p;
  }

  /** The bound HTTP addresses (ports resolved). */
  public List<InetSocketAddress> httpAddresses() {
    return httpServers.stream().map(HttpServer::getAddress).toList();
  }

  /** The bound TFTP addresses (ports resolved). */
  public List<InetSocketAddress> tftpAddresses() {
    return tftpServers.stream().map(TftpServer::address).toList();
  }

  /** The bound proxy DHCP addresses (ports resolved). */
  public List<InetSocketAddress> proxyDhcpAddresses() {
    return proxies.stream().map(ProxyDhcp::address).toList();
  }

  /** The chain script served over TFTP (and HTTP {@code /boot.ipxe} for the configured URL). */
  public String tftpChainScript() {
    return httpUrl == null ? null : BootScripts.chain(httpUrl);
  }

  private static String hostPort(InetSocketAddress a) {
    String h = a.getAddress().getHostAddress();
    return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
  }

  private TftpServer.Source tftpFile(String name) throws IOException {
    String n = name.startsWith("/") ? name.substring(1) : name;
    if (n.equals(CHAIN_SCRIPT)) {
      return bytes(BootScripts.chain(httpUrl).getBytes(StandardCharsets.UTF_8));
    }
    if (!n.matches("[A-Za-z0-9._-]+")) {
      return null; // one plain name: no folders, so nothing outside the served folders
    }
    for (Path dir : new Path[] {settings.tftpDir(), settings.pxeDir()}) {
      if (dir != null && Files.isRegularFile(dir.resolve(n))) {
        Path f = dir.resolve(n);
        return new TftpServer.Source() {
          @Override
          public long size() throws IOException {
            return Files.size(f);
          }

          @Override
          public InputStream open() throws IOException {
            return Files.newInputStream(f);
          }
        };
      }
    }
    return null;
  }

  private static TftpServer.Source bytes(byte[] b) {
    return new TftpServer.Source() {
      @Override
      public long size() {
        return b.length;
      }

      @Override
      public InputStream open() {
        return new ByteArrayInputStream(b);
      }
    };
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    String what =
        ex.getRemoteAddress().getAddress().getHostAddress()
            + " "
            + ex.getRequestMethod()
            + " "
            + ex.getRequestURI().getRawPath()
            + (ex.getRequestURI().getRawQuery() == null
                ? ""
                : "?" + ex.getRequestURI().getRawQuery());
    try (ex) {
      String method = ex.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(ex, what, 405, "text/plain", null);
        return;
      }
      String base = base(ex);
      if (path.equals("/" + CHAIN_SCRIPT)) {
        respond(ex, what, 200, "text/plain", BootScripts.chain(base));
      } else if (path.equals(BootScripts.MACHINE_SCRIPT)) {
        String q = ex.getRequestURI().getRawQuery();
        Matcher m = MAC_QUERY.matcher(q == null ? "" : q);
        String mac = m.find() ? PxeConfig.normalizeMac(m.group(1)) : null;
        PxeConfig.Machine machine = settings.config().machine(mac);
        String script =
            BootScripts.machine(
                buildScript, machine, base, mac == null ? "00:00:00:00:00:00" : mac);
        respond(
            ex,
            what
                + " ("
                + (mac == null ? "no mac" : mac)
                + ": "
                + machine.mode().name().toLowerCase(java.util.Locale.ROOT)
                + ")",
            200,
            "text/plain",
            script);
      } else if (path.startsWith(BootScripts.MACHINES)) {
        cloudConfig(ex, what, path);
      } else if (path.startsWith("/pxe/")) {
        file(ex, what, settings.pxeDir(), path.substring("/pxe/".length()));
      } else if (path.startsWith("/update/") && settings.updateDir() != null) {
        file(ex, what, settings.updateDir(), path.substring("/update/".length()));
      } else {
        respond(ex, what, 404, "text/plain", null);
      }
    } catch (IOException | RuntimeException e) {
      log.accept(what + " failed: " + e);
      throw e;
    }
  }

  private void cloudConfig(HttpExchange ex, String what, String path) throws IOException {
    String rest = path.substring(BootScripts.MACHINES.length());
    int slash = rest.indexOf('/');
    if (slash > 0 && rest.substring(slash + 1).equals(BootScripts.CLOUD_CONFIG_FILE)) {
      String mac = rest.substring(0, slash);
      if (mac.matches("[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){5}")) {
        PxeConfig.Machine m = settings.config().machine(mac);
        if (m.cloudConfig() != null) {
          respond(ex, what, 200, "text/yaml; charset=utf-8", m.cloudConfig());
          return;
        }
      }
    }
    respond(ex, what, 404, "text/plain", null);
  }

  /** {@code http://<Host header>/}, or the configured URL when the header is absent or odd. */
  private String base(HttpExchange ex) {
    String host = ex.getRequestHeaders().getFirst("Host");
    if (host != null && HOST.matcher(host).matches()) {
      return "http://" + host + "/";
    }
    return httpUrl != null ? httpUrl : "http://" + hostPort(ex.getLocalAddress()) + "/";
  }

  private void respond(HttpExchange ex, String what, int status, String type, String body)
      throws IOException {
    byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head || b.length == 0 ? -1 : b.length);
    if (!head && b.length > 0) {
      try (OutputStream o = ex.getResponseBody()) {
        o.write(b);
      }
    }
    log.accept(what + " " + status + " " + (head ? 0 : b.length));
  }

  /** A regular file of {@code dir} by one plain name; {@code Range: bytes=A-[B]} answered 206. */
  private void file(HttpExchange ex, String what, Path dir, String name) throws IOException {
    if (!name.matches("[A-Za-z0-9_][A-Za-z0-9._-]*") || !Files.isRegularFile(dir.resolve(name))) {
      respond(ex, what, 404, "text/plain", null);
      return;
    }
    Path f = dir.resolve(name);
    long size = Files.size(f);
    long from = 0;
    long to = size - 1;
    int status = 200;
    String range = ex.getRequestHeaders().getFirst("Range");
    if (range != null) {
      Matcher m = RANGE.matcher(range.strip());
      if (m.matches()) {
        from = Long.parseLong(m.group(1));
        if (!m.group(2).isEmpty()) {
          to = Math.min(to, Long.parseLong(m.group(2)));
        }
        if (from >= size || to < from) {
          ex.getResponseHeaders().set("Content-Range", "bytes */" + size);
          respond(ex, what, 416, "text/plain", null);
          return;
        }
        status = 206;
        ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + size);
      }
    }
    long length = size == 0 ? 0 : to - from + 1;
    ex.getResponseHeaders().set("Accept-Ranges", "bytes");
    ex.getResponseHeaders()
        .set(
            "Content-Type",
            name.endsWith(".json") ? "application/json" : "application/octet-stream");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.getResponseHeaders().set("Content-Length", Long.toString(length));
      ex.sendResponseHeaders(status, -1);
      log.accept(what + " " + status + " 0");
      return;
    }
    ex.sendResponseHeaders(status, length == 0 ? -1 : length);
    if (length > 0) {
      try (SeekableByteChannel c = Files.newByteChannel(f);
          OutputStream o = ex.getResponseBody()) {
        c.position(from);
        InputStream in = Channels.newInputStream(c);
        byte[] buf = new byte[1 << 16];
        long left = length;
        while (left > 0) {
          int n = in.read(buf, 0, (int) Math.min(buf.length, left));
          if (n < 0) {
            throw new IOException(f + ": shorter than its size " + size + " while sending");
          }
          o.write(buf, 0, n);
          left -= n;
        }
      }
    }
    log.accept(what + " " + status + " " + length);
  }

  /** The per-machine settings and what each gets, for the start-up summary. */
  public Map<String, PxeConfig.Machine> machines() {
    return settings.config().machines();
  }

  /** Stops every listener. */
  @Override
  public void close() {
    for (HttpServer h : httpServers) {
      h.stop(0);
    }
    for (TftpServer t : tftpServers) {
      t.close();
    }
    for (ProxyDhcp d : proxies) {
      d.close();
    }
    httpPool.shutdownNow();
  }
}
