package io.basalt.image.cli;

import io.basalt.image.pxe.PxeServer;
import io.basalt.image.spec.PxeConfig;
import io.basalt.image.spec.SpecException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt pxe}: network boot of a build. {@code serve} runs {@link PxeServer} until
 * interrupted. Not thread-safe; one instance per invocation.
 */
@Command(
    name = "pxe",
    mixinStandardHelpOptions = true,
    description = "Network-boot machines from a build (PXE, iPXE).",
    subcommands = {PxeCommand.Serve.class})
final class PxeCommand implements Runnable {
  /** Exit code for wrong options, files or settings. */
  static final int EXIT_USAGE = 2;

  /** Exit code when an address cannot be bound. */
  static final int EXIT_BIND = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: serve");
  }

  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = {
        "Serve a build's PXE artifacts: iPXE scripts, kernel, initramfs and the update/ payload"
            + " over HTTP, optionally the chain script, kernel, initramfs and iPXE loaders over"
            + " TFTP; each machine boots live, installs to its disk or boots its local disk as"
            + " --machines says. Binds only the addresses given; runs until interrupted.",
        "BUILD: a build output folder (default: the only one under ./out) or its pxe/ folder."
      })
  static final class Serve implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "BUILD", description = "the build")
    Path build;

    @Option(
        names = "--listen",
        paramLabel = "ADDRESS:PORT",
        description =
            "HTTP address to bind, e.g. 192.168.1.2:8080 or [fd00::2]:80 (repeatable; at least"
                + " one)")
    List<String> listen = new ArrayList<>();

    @Option(
        names = "--tftp",
        paramLabel = "ADDRESS[:PORT]",
        description = "TFTP address to bind (port 69 unless given; repeatable; default: no TFTP)")
    List<String> tftp = new ArrayList<>();

    @Option(
        names = "--proxy-dhcp",
        paramLabel = "ADDRESS[:PORT]",
        description =
            "answer PXE clients' DHCP requests with the boot file only, leaving addresses to the"
                + " network's DHCP server (port 67 unless given; repeatable; default: off; needs"
                + " --tftp). Broadcasts reach a socket bound to 0.0.0.0 only, or come through a"
                + " DHCP relay to the address given")
    List<String> proxyDhcp = new ArrayList<>();

    @Option(
        names = "--http-url",
        paramLabel = "URL",
        description =
            "the URL machines reach the HTTP server at, used in the TFTP chain script (default:"
                + " http:// and the first --listen address)")
    String httpUrl;

    @Option(
        names = "--machines",
        paramLabel = "FILE",
        description = "per-MAC choices (YAML; default: every machine boots live)")
    Path machines;

    @Option(
        names = "--tftp-dir",
        paramLabel = "DIR",
        description =
            "further files served over TFTP by name, e.g. /usr/lib/ipxe (undionly.kpxe, ipxe.efi"
                + " from the Debian package ipxe)")
    Path tftpDir;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Set by tests: called once the server is up, instead of waiting for an interrupt. */
    java.util.function.Consumer<PxeServer> onStarted;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      PxeServer.Settings settings;
      try {
        settings = settings();
      } catch (IllegalArgumentException | SpecException | NoSuchFileException e) {
        err.println(
            "basalt pxe serve: "
                + (e instanceof NoSuchFileException
                    ? e.getMessage() + ": not found"
                    : e.getMessage()));
        err.flush();
        return EXIT_USAGE;
      }
      PxeServer server;
      try {
        server =
            PxeServer.start(
                settings,
                line -> {
                  synchronized (err) {
                    err.println(line);
                    err.flush();
                  }
                });
      } catch (IllegalArgumentException e) {
        err.println("basalt pxe serve: " + e.getMessage());
        err.flush();
        return EXIT_USAGE;
      } catch (IOException e) {
        err.println("basalt pxe serve: " + e.getMessage());
        err.flush();
        return EXIT_BIND;
      }
      try (server) {
        for (InetSocketAddress a : server.httpAddresses()) {
          out.println(
              "basalt pxe serve: HTTP on " + url(a) + " (iPXE: chain " + url(a) + "boot.ipxe)");
        }
        for (InetSocketAddress a : server.tftpAddresses()) {
          out.println(
              "basalt pxe serve: TFTP on "
                  + a.getAddress().getHostAddress()
                  + " port "
                  + a.getPort()
                  + " (boot file "
                  + PxeServer.CHAIN_SCRIPT
                  + ")");
        }
        for (InetSocketAddress a : server.proxyDhcpAddresses()) {
          out.println(
              "basalt pxe serve: proxy DHCP on "
                  + a.getAddress().getHostAddress()
                  + " port "
                  + a.getPort()
                  + " (PXE clients only; no addresses given out)");
        }
        PxeConfig.Machine d = settings.config().fallback();
        out.println("basalt pxe serve: other machines: " + describe(d));
        for (Map.Entry<String, PxeConfig.Machine> e : server.machines().entrySet()) {
          out.println("basalt pxe serve: " + e.getKey() + ": " + describe(e.getValue()));
        }
        out.flush();
        if (onStarted != null) {
          onStarted.accept(server);
          return 0;
        }
        try {
          new CountDownLatch(1).await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return 0;
    }

    private static String url(InetSocketAddress a) {
      String h = a.getAddress().getHostAddress();
      return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort() + "/";
    }

    private static String describe(PxeConfig.Machine m) {
      StringBuilder b = new StringBuilder(m.mode().name().toLowerCase(java.util.Locale.ROOT));
      if (m.mode() == PxeConfig.Mode.INSTALL) {
        b.append(" to ").append(m.installDevice()).append(m.reboot() ? ", reboot" : ", no reboot");
      }
      if (m.cloudConfigSource() != null) {
        b.append(", cloud-config ").append(m.cloudConfigSource());
      }
      if (!m.kernelArgs().isEmpty()) {
        b.append(", kernel args ").append(String.join(" ", m.kernelArgs()));
      }
      return b.toString();
    }

    PxeServer.Settings settings() throws IOException, SpecException {
      if (listen.isEmpty()) {
        throw new IllegalArgumentException(
            "give at least one --listen ADDRESS:PORT (e.g. --listen 192.168.1.2:8080): the server"
                + " binds only the addresses it is given");
      }
      List<InetSocketAddress> http = new ArrayList<>();
      for (String l : listen) {
        http.add(address("--listen", l, -1));
      }
      List<InetSocketAddress> tftpAddresses = new ArrayList<>();
      for (String t : tftp) {
        tftpAddresses.add(address("--tftp", t, 69));
      }
      List<InetSocketAddress> proxies = new ArrayList<>();
      for (String d : proxyDhcp) {
        proxies.add(address("--proxy-dhcp", d, 67));
      }
      String url = httpUrl;
      if (url != null) {
        try {
          URI u = new URI(url);
          if (!"http".equals(u.getScheme()) || u.getHost() == null) {
            throw new URISyntaxException(url, "expected http://HOST[:PORT]/");
          }
        } catch (URISyntaxException e) {
          throw new IllegalArgumentException(
              "--http-url " + url + ": expected http://HOST[:PORT][/PATH]", e);
        }
        url = url.endsWith("/") ? url : url + "/";
      }
      if (tftpDir != null && !Files.isDirectory(tftpDir)) {
        throw new IllegalArgumentException("--tftp-dir " + tftpDir + ": not a folder");
      }
      Path pxeDir =
          RunCommand.resolveArtifact(build == null ? Path.of("out") : build, build == null, true);
      Path buildDir = pxeDir.toAbsolutePath().getParent();
      Path update = buildDir.resolve("update");
      PxeConfig config = machines == null ? PxeConfig.allLive() : PxeConfig.read(machines);
      return new PxeServer.Settings(
          pxeDir,
          Files.isDirectory(update) ? update : null,
          config,
          http,
          tftpAddresses,
          url,
          tftpDir,
          proxies);
    }

    private static final Pattern ADDRESS =
        Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+)(?::([0-9]{1,5}))?");

    /**
     * An IP literal with a port ({@code 192.168.1.2:8080}, {@code [::1]:80}); names are refused so
     * that the address bound is exactly the one given.
     */
    static InetSocketAddress address(String option, String text, int defaultPort) {
      Matcher m = ADDRESS.matcher(text);
      if (!m.matches() || (m.group(2) == null && defaultPort < 0)) {
        throw new IllegalArgumentException(
            option
                + " "
                + text
                + ": expected an IP address"
                + (defaultPort < 0 ? " and a port, e.g. 127.0.0.1:8080" : "[:PORT]")
                + " (no host names)");
      }
      int port = m.group(2) == null ? defaultPort : Integer.parseInt(m.group(2));
      if (port > 65535) {
        throw new IllegalArgumentException(option + " " + text + ": port " + port + " > 65535");
      }
      String host = m.group(1);
      if (host.startsWith("[")) {
        host = host.substring(1, host.length() - 1);
      } else if (!host.matches("([0-9]{1,3}\\.){3}[0-9]{1,3}")
          || java.util.Arrays.stream(host.split("\\.")).anyMatch(o -> Integer.parseInt(o) > 255)) {
        throw new IllegalArgumentException(option + " " + text + ": not an IPv4 address");
      }
      try {
        return new InetSocketAddress(InetAddress.getByName(host), port);
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException(option + " " + text + ": " + e.getMessage(), e);
      }
    }
  }
}
