package io.basalt.update.cli;

import io.basalt.update.agent.Durations;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.FleetLockServer;
import io.basalt.update.lock.FleetLockToken;
import io.basalt.update.lock.RetryPolicy;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code basalt fleetlock}: the FleetLock protocol server backed by the etcd reboot semaphore.
 * Lives in update-agent next to the lock code; registered in the {@code basalt} root command. Not
 * thread-safe; one instance per invocation.
 */
@Command(
    name = "fleetlock",
    mixinStandardHelpOptions = true,
    description =
        "FleetLock (Zincati's reboot-coordination protocol) backed by Basalt's etcd lock.",
    subcommands = {FleetLockCommand.Serve.class, CommandLine.HelpCommand.class})
public final class FleetLockCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  /** {@code basalt fleetlock serve}. */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = {
        "Serve POST /v1/pre-reboot and /v1/steady-state over the locksmith-format semaphore in "
            + "etcd (group 'default' = locksmith's default key), until interrupted.",
        "Every request must carry 'Authorization: Bearer TOKEN' with the token from "
            + "--token-file (or $BASALT_FLEETLOCK_TOKEN_FILE); --no-auth serves without one "
            + "(for clients such as Zincati that cannot send it: restrict the network instead).",
        "Exit codes: 0 stopped, 2 usage, 1 cannot listen."
      })
  public static final class Serve implements Callable<Integer> {
    /** Environment variable naming the token file when --token-file is not given. */
    public static final String TOKEN_FILE_ENV = "BASALT_FLEETLOCK_TOKEN_FILE";

    private final Map<String, String> env;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Mixin EtcdOptions etcd = new EtcdOptions();

    @Option(
        names = "--listen",
        paramLabel = "HOST:PORT",
        defaultValue = "127.0.0.1:3333",
        description = "Address to serve on (default ${DEFAULT-VALUE}; port 0 picks a free one).")
    String listen;

    @Option(
        names = "--timeout",
        paramLabel = "DURATION",
        defaultValue = "10s",
        description =
            "How long one request keeps retrying etcd before answering 503 "
                + "(default ${DEFAULT-VALUE}).")
    String timeout;

    @Option(
        names = "--token-file",
        paramLabel = "PATH",
        description =
            "File holding the bearer token clients must send (default: "
                + "$BASALT_FLEETLOCK_TOKEN_FILE). One of --token-file and --no-auth is required.")
    java.nio.file.Path tokenFile;

    @Option(
        names = "--no-auth",
        description =
            "Serve without authentication; errors then name no holder. Only behind a network "
                + "that admits the fleet alone.")
    boolean noAuth;

    @Option(
        names = "--read-timeout",
        paramLabel = "DURATION",
        defaultValue = "10s",
        description =
            "How long one request may take to arrive, head and body; slower clients are cut "
                + "(default ${DEFAULT-VALUE}).")
    String readTimeout;

    private final CountDownLatch stop = new CountDownLatch(1);

    public Serve() {
      this(System.getenv());
    }

    /** A command reading etcd settings from {@code env} (for tests). */
    public Serve(Map<String, String> env) {
      this.env = Map.copyOf(env);
    }

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      InetSocketAddress addr;
      Duration giveUp;
      EtcdConfig config;
      FleetLockServer.Settings settings;
      try {
        addr = parseListen(listen);
        giveUp = Durations.parse(timeout, "--timeout");
        Duration read = Durations.parse(readTimeout, "--read-timeout");
        if (read.isZero() || read.isNegative()) {
          throw new IllegalArgumentException("--read-timeout must be positive, got " + readTimeout);
        }
        config = etcd.config(env);
        settings = authSettings().withReadTimeout(read);
      } catch (IllegalArgumentException e) {
        err.println("basalt fleetlock serve: " + e.getMessage());
        return 2;
      } catch (java.io.IOException e) {
        err.println("basalt fleetlock serve: " + e.getMessage());
        return 2;
      }
      EtcdClient client = EtcdClient.create(config);
      FleetLockServer server;
      try {
        server =
            FleetLockServer.start(
                client,
                addr,
                Clock.systemUTC(),
                RetryPolicy.defaults().withGiveUpAfter(giveUp),
                settings,
                line -> {
                  synchronized (out) {
                    out.println(line);
                    out.flush();
                  }
                });
      } catch (java.io.IOException e) {
        err.println("basalt fleetlock serve: cannot listen on " + listen + ": " + e.getMessage());
        return 1;
      }
      Thread hook = new Thread(stop::countDown, "fleetlock-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        out.println(
            "fleetlock: serving on http://"
                + server.address().getHostString()
                + ":"
                + server.address().getPort()
                + " (etcd "
                + config.endpoints()
                + (settings.token() == null
                    ? "; no authentication: restrict who can reach this port"
                    : "; bearer token required")
                + ")");
        out.flush();
        stop.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        server.close();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook is what stopped us
        }
      }
      out.println("fleetlock: stopped");
      out.flush();
      return 0;
    }

    private FleetLockServer.Settings authSettings() throws java.io.IOException {
      java.nio.file.Path file = tokenFile;
      String what = "--token-file";
      if (file == null && env.get(TOKEN_FILE_ENV) != null && !env.get(TOKEN_FILE_ENV).isEmpty()) {
        file = java.nio.file.Path.of(env.get(TOKEN_FILE_ENV));
        what = TOKEN_FILE_ENV;
      }
      if (file != null && noAuth) {
        throw new IllegalArgumentException(
            what + " and --no-auth exclude each other; give one of them");
      }
      if (file != null) {
        return FleetLockServer.Settings.withToken(FleetLockToken.read(file, what));
      }
      if (!noAuth) {
        throw new IllegalArgumentException(
            "no client authentication configured: give --token-file PATH (or "
                + TOKEN_FILE_ENV
                + "), or --no-auth to serve without it");
      }
      return FleetLockServer.Settings.noAuth();
    }

    static InetSocketAddress parseListen(String s) {
      int colon = s.lastIndexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("--listen '" + s + "': expected HOST:PORT");
      }
      String host = s.substring(0, colon).replaceAll("^\\[|\\]$", "");
      int port;
      try {
        port = Integer.parseInt(s.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--listen '" + s + "': port is not a number");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("--listen '" + s + "': port must be 0..65535");
      }
      return new InetSocketAddress(host.isEmpty() ? "0.0.0.0" : host, port);
    }
  }
}
