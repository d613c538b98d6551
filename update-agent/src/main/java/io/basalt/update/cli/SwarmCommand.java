package io.basalt.update.cli;

import io.basalt.host.HostPaths;
import io.basalt.host.SwarmConf;
import io.basalt.update.agent.AgentMain;
import io.basalt.update.agent.Durations;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.swarm.DockerCli;
import io.basalt.update.swarm.SwarmJoin;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code basaltctl swarm join}: puts this machine into the Docker Swarm of {@code
 * /etc/basalt/swarm.conf}, meeting the other nodes through the etcd of update.conf ({@link
 * SwarmJoin}). Run by {@code basalt-swarm.service} on every boot. Not thread-safe; one instance per
 * invocation.
 */
@Command(
    name = "swarm",
    mixinStandardHelpOptions = true,
    description = "Join the Docker Swarm this machine's cloud-config names (basalt.swarm).",
    subcommands = {SwarmCommand.Join.class, CommandLine.HelpCommand.class})
final class SwarmCommand implements Runnable {

  /** Time between two looks at etcd while waiting for the tokens. */
  static final Duration POLL = Duration.ofSeconds(2);

  /** Exit code when the join tokens did not appear in etcd in time. */
  static final int EXIT_WAITED = 5;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  @Command(
      name = "join",
      mixinStandardHelpOptions = true,
      description = {
        "Already in a swarm: apply this node's labels. Otherwise meet the other nodes through etcd:"
            + " one manager initialises the swarm and publishes the join tokens, the others join"
            + " with them.",
        "",
        "Exit codes: 0 in the swarm, 1 docker failed, 2 bad settings, 3 etcd unreachable,"
            + " 4 etcd refused, 5 the tokens did not appear in time."
      })
  static final class Join implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--root",
        paramLabel = "DIR",
        description =
            "Read swarm.conf, update.conf and the host name under DIR instead of / (tests).")
    Path root = Path.of("/");

    @Option(
        names = "--wait",
        paramLabel = "DURATION",
        description = "Longest wait for the join tokens in etcd (default 10m).")
    String tokenWait = "10m";

    @Option(
        names = "--init-lease",
        paramLabel = "DURATION",
        description =
            "Lease of a manager's init key while it initialises the swarm; a manager that dies"
                + " holds off the others this long (default 60s).")
    String initLease = "60s";

    @Option(
        names = "--docker",
        paramLabel = "PROGRAM",
        description = "The docker client (default docker).")
    String docker = "docker";

    @Override
    public Integer call() {
      PrintWriterLog log = new PrintWriterLog(spec);
      return LockCommand.guarded(
          spec,
          out -> {
            Path confFile = HostPaths.under(root, HostPaths.SWARM_CONF);
            SwarmConf conf;
            try {
              conf =
                  SwarmConf.parse(
                      Files.readString(confFile, StandardCharsets.UTF_8), confFile.toString());
            } catch (NoSuchFileException e) {
              throw new IllegalArgumentException(
                  confFile + " does not exist: cloud-config writes it from basalt.swarm");
            }
            SwarmJoin.Timing timing =
                new SwarmJoin.Timing(
                    Durations.parse(tokenWait, "--wait"),
                    Durations.parse(initLease, "--init-lease"),
                    POLL);
            EtcdConfig etcdConfig;
            try {
              etcdConfig = AgentMain.etcdConfig(root);
            } catch (IOException e) {
              throw new IllegalArgumentException(e.getMessage(), e); // update.conf: a bad setting
            }
            try (EtcdClient etcd = EtcdClient.create(etcdConfig)) {
              SwarmJoin.Outcome outcome =
                  new SwarmJoin(
                          etcd,
                          new DockerCli(docker, Duration.ofMinutes(5)),
                          conf,
                          nodeName(),
                          timing,
                          Clock.systemUTC(),
                          out::println)
                      .run();
              out.println("swarm join: " + outcome.name().toLowerCase(java.util.Locale.ROOT));
              return 0;
            } catch (SwarmJoin.WaitedTooLongException e) {
              log.error(e.getMessage());
              return EXIT_WAITED;
            }
          });
    }

    /** The host name from /etc/hostname, else "unknown". */
    private String nodeName() {
      try {
        String n =
            Files.readString(HostPaths.under(root, "/etc/hostname"), StandardCharsets.UTF_8)
                .strip();
        return n.isEmpty() ? "unknown" : n;
      } catch (IOException e) {
        return "unknown";
      }
    }
  }

  /** Error lines prefixed with the command's name, as {@link LockCommand#guarded} prints them. */
  private record PrintWriterLog(CommandLine.Model.CommandSpec spec) {
    void error(String message) {
      spec.commandLine().getErr().println(spec.qualifiedName() + ": " + message);
      spec.commandLine().getErr().flush();
    }
  }
}
